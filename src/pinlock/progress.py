"""What a long run tells whoever watches it while it runs: the library calls, the CLI shows.

The library never prints. ``pinlock.compile.compile_locks`` and ``pinlock.sync.sync`` take a
``Progress`` (keyword ``progress``) and call it at the boundaries of their stages and for each
thing a stage finishes; ``pinlock.cli.progress`` shows it on a terminal, and prints the notes
that ``-v`` asks for. None (the default) means nobody watches: the library then does no work for
it at all, not even in the resolver's inner loop.

A stage is one line of a display, named by one of the names below: it begins with ``stage``
(from zero; again for each resolution), moves with ``advance`` (an ``advance`` on a stage not
begun begins it, with no known total) and ``tally`` (a counter shown beside it: backtracks,
bytes), and goes with ``end``. Several stages may be under way at once, from several threads
(downloads run in parallel): an implementation must be thread-safe.
"""

from __future__ import annotations

from typing import Protocol

__all__ = [
    "BACKTRACKS",
    "BUILDING",
    "BYTES",
    "DOWNLOADING",
    "INSTALLING",
    "REMOVING",
    "RESOLVING",
    "Progress",
    "size_text",
]

# Stages: what a run is doing.
RESOLVING = "resolving"  # compile: one cell's resolution; advances by pins (a backtrack unpins)
DOWNLOADING = "downloading"  # whole files; tallies BYTES
BUILDING = "building"  # sdists and dynamic projects (compile: metadata; sync: wheels)
REMOVING = "removing"  # sync: distributions uninstalled
INSTALLING = "installing"  # sync: packages installed, of those to install

# Counters shown beside a stage.
BACKTRACKS = "backtracks"
BYTES = "bytes"


class Progress(Protocol):
    """Whoever watches a run: a terminal display, a log, a test."""

    def stage(self, name: str, *, total: int | None = None, label: str = "") -> None:
        """Stage ``name`` begins, from zero: ``total`` steps when known, ``label`` what it works
        on as a whole (``requirements/main.in for py312``)."""
        ...

    def advance(self, name: str, amount: int = 1, *, item: str = "") -> None:
        """``amount`` more steps of ``name`` done (0 only names ``item``; a backtrack in a
        resolution goes back); ``item`` is what the stage works on now."""
        ...

    def tally(self, name: str, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``counter`` of stage ``name`` (``BYTES``, ...)."""
        ...

    def end(self, name: str) -> None:
        """Stage ``name`` is over."""
        ...

    def note(self, text: str, *, level: int = 1) -> None:
        """A line for ``-v`` (``level`` 1) or ``-vv`` (2): what was fetched, built or set aside,
        and why. Shown as it is; URLs in it are masked by whoever shows it."""
        ...


def size_text(size: float) -> str:
    """A number of bytes as a person reads it: ``512 B``, ``3.4 kB``, ``1.2 GB``."""
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("kB", "MB"):
        size /= 1000
        if size < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000:.1f} GB"
