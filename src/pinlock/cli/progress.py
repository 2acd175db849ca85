"""What a person sees while a command runs: ``pinlock.progress`` on a terminal, and ``-v``'s notes.

On a terminal (standard error a TTY whose ``TERM`` is not ``dumb``), without ``-q``, each stage
under way is a line of a live display that goes when the run ends: the resolution (packages
pinned, backtracks, the project being pinned), downloads (files, bytes), builds, removals and
installs (n of N). Colours only there, and never with ``NO_COLOR`` (rich reads it). Notes (what
was fetched, built, set aside, and why) are printed with ``-v`` (``-vv`` for more) whether or not
output goes to a terminal, above the display when there is one; every URL masked.

rich is imported only when the display first shows something: a compile that keeps its locks
and a sync with nothing to do never load it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pinlock.cli.running import echo
from pinlock.progress import (
    BACKTRACKS,
    BUILDING,
    BYTES,
    DOWNLOADING,
    INSTALLING,
    REMOVING,
    RESOLVING,
    size_text,
)
from pinlock.urls import redact_text

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

__all__ = ["TerminalProgress", "on_terminal", "watching"]

# What each stage counts, as the display says it.
_UNITS = {
    RESOLVING: "pinned",
    DOWNLOADING: "files",
    BUILDING: "built",
    REMOVING: "removed",
    INSTALLING: "installed",
}


def on_terminal() -> bool:
    """Whether a live display can be shown: standard error is a terminal that can move its
    cursor."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
    return tty and os.environ.get("TERM") != "dumb"


@contextmanager
def watching(verbosity: int) -> Iterator[TerminalProgress | None]:
    """The ``Progress`` a command hands the library for ``verbosity`` (``-v`` count minus
    ``-q`` count): None when there is nothing to show (not a terminal and no ``-v``, or
    ``-q``), so the library does no work for it. The display is gone when this ends."""
    live = verbosity >= 0 and on_terminal()
    if not live and verbosity <= 0:
        yield None
        return
    progress = TerminalProgress(verbosity=verbosity, live=live)
    try:
        yield progress
    finally:
        progress.close()


class TerminalProgress:
    """A ``pinlock.progress.Progress`` for people: a live display when ``live``, and the notes
    of ``verbosity``'s level. Thread-safe."""

    def __init__(self, *, verbosity: int, live: bool) -> None:
        self.verbosity = verbosity
        self.live = live
        self._guard = threading.RLock()
        self._display: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._labels: dict[str, str] = {}
        self._done: dict[str, int] = {}
        self._totals: dict[str, int | None] = {}
        self._tallies: dict[str, dict[str, int]] = {}

    # -- pinlock.progress.Progress ------------------------------------------------------------

    def stage(self, name: str, *, total: int | None = None, label: str = "") -> None:
        if not self.live:
            return
        with self._guard:
            display = self._started()
            if name in self._tasks:
                display.remove_task(self._tasks.pop(name))
            self._labels[name], self._totals[name] = label, total
            self._done[name], self._tallies[name] = 0, {}
            self._tasks[name] = display.add_task(
                self._description(name), total=total, counts=self._counts(name), item=""
            )
            # Shown at once, however short the stage: the refresh thread may not come round.
            display.refresh()

    def advance(self, name: str, amount: int = 1, *, item: str = "") -> None:
        if not self.live:
            return
        with self._guard:
            if name not in self._tasks:
                self.stage(name)
            self._done[name] += amount
            fields: dict[str, Any] = {"counts": self._counts(name)}
            if item:
                fields["item"] = redact_text(item)
            self._started().update(self._tasks[name], advance=amount, **fields)

    def tally(self, name: str, counter: str, amount: int = 1) -> None:
        if not self.live:
            return
        with self._guard:
            if name not in self._tasks:
                self.stage(name)
            counts = self._tallies[name]
            counts[counter] = counts.get(counter, 0) + amount
            self._started().update(self._tasks[name], counts=self._counts(name))

    def end(self, name: str) -> None:
        with self._guard:
            task = self._tasks.pop(name, None)
            if task is not None and self._display is not None:
                # The stage's last count is shown before it goes, however fast it went.
                self._display.refresh()
                self._display.remove_task(task)

    def note(self, text: str, *, level: int = 1) -> None:
        if level > self.verbosity:
            return
        with self._guard:
            if self._display is None:
                echo(text, err=True)
                return
            from rich.text import Text

            # Above the display; as plain text: a note is no rich markup.
            self._display.console.print(Text(redact_text(text)), highlight=False)

    # -- the display --------------------------------------------------------------------------

    def close(self) -> None:
        """Take the display away (the terminal is left as it was)."""
        with self._guard:
            if self._display is not None:
                self._display.stop()
                self._display = None
                self._tasks.clear()

    def _started(self) -> RichProgress:
        if self._display is None:
            self._display = _make_display()
            self._display.start()
        return self._display

    def _description(self, name: str) -> str:
        label = self._labels.get(name)
        return f"{name} {label}" if label else name

    def _counts(self, name: str) -> str:
        done, total = self._done.get(name, 0), self._totals.get(name)
        unit = _UNITS.get(name, "")
        if unit == "files" and (total or done) == 1:
            unit = "file"
        if name == RESOLVING or total is None:
            text = f"{done} {unit}"
        elif name == DOWNLOADING:
            text = f"{done}/{total} {unit}"
        else:
            text = f"{done} of {total}"
        tallies = self._tallies.get(name, {})
        if tallies.get(BACKTRACKS):
            count = tallies[BACKTRACKS]
            text += f", {count} backtrack" + ("s" if count != 1 else "")
        if tallies.get(BYTES):
            text += f", {size_text(tallies[BYTES])}"
        return text


def _make_display() -> RichProgress:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TextColumn
    from rich.text import Text

    class Bar(BarColumn):
        """A bar for a stage whose end is known; none for one whose end is not (the
        spinner says it is working)."""

        def render(self, task: Task) -> Any:
            return Text("") if task.total is None else super().render(task)

    console = Console(stderr=True)
    # Braille dots need UTF-8; a terminal in another encoding gets ASCII.
    spinner = "dots" if (sys.stderr.encoding or "").lower().startswith("utf") else "line"
    return Progress(
        SpinnerColumn(spinner),
        TextColumn("{task.description}", markup=False),
        Bar(bar_width=24),
        TextColumn("{task.fields[counts]}", markup=False),
        TextColumn("{task.fields[item]}", style="dim", markup=False),
        console=console,
        transient=True,
        # stdout may be a lock (-o -) or JSON: never taken into the display's stream.
        redirect_stdout=False,
        refresh_per_second=8,
    )
