"""The one place a command's failure becomes a message and an exit code.

The library raises ``PinlockError`` subclasses that carry their context and their ``exit_code``;
here they are printed as ``error: ...`` on standard error, without a traceback. Ctrl-C exits with
130 (another stop signal with 128 + its number) and says what it left behind. typer is not
imported: ``pinlock sync`` runs without it.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

from pinlock.errors import Interrupted, PinlockError, SyncFailed
from pinlock.urls import redact_text

__all__ = [
    "INTERRUPTED",
    "JSON_VERSION",
    "echo",
    "echo_json",
    "end_command",
    "error_json",
    "exit_code_of",
    "finish_process",
    "print_version",
    "run_script",
]

# The exit status of a process stopped by SIGINT, as shells report it.
INTERRUPTED = 130
# The version of the schema of --json documents (docs/json.md): raised when a field changes
# meaning or goes away; new fields may come without it.
JSON_VERSION = 1


def echo(text: str, *, err: bool = False) -> None:
    """Print a line to standard output, or to standard error with ``err``.

    Every URL in it is shown with its credentials masked, whatever produced the text: the last
    guard between a secret and a build log.
    """
    stream = sys.stderr if err else sys.stdout
    stream.write(redact_text(text) + "\n")
    stream.flush()


def echo_json(document: Mapping[str, object]) -> None:
    """Print a ``--json`` document on standard output, with the schema's ``version`` first."""
    echo(json.dumps({"version": JSON_VERSION, **document}, indent=2))


def error_json(exc: BaseException, *, interrupted: str) -> dict[str, object]:
    """An error as a ``--json`` document shows it: ``{"error": {...}}``'s inside.

    ``interrupted`` says what a stop signal left behind (`` before anything changed``)."""
    if isinstance(exc, PinlockError):
        shown: dict[str, object] = {
            "type": type(exc).__name__,
            "message": str(exc),
            "exit_code": exc.exit_code,
        }
        if isinstance(exc, SyncFailed):
            shown["restored"] = exc.restored
        return shown
    name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
    code = exc.exit_code if isinstance(exc, Interrupted) else INTERRUPTED
    return {
        "type": "Interrupted",
        "message": f"interrupted by {name}{interrupted}",
        "exit_code": code,
        "signal": name,
    }


def print_version() -> int:
    """``--version``, on every command and script: ``pinlock 0.1.0``."""
    from pinlock import __version__

    echo(f"pinlock {__version__}")
    return 0


def exit_code_of(work: Callable[[], int], *, interrupted: str) -> int:
    """Run ``work`` and return its exit code; errors and Ctrl-C are printed, not raised.

    ``interrupted`` says what a Ctrl-C that reaches here left behind (``no lock was written``).
    A stop signal a sync handled (``Interrupted``: SIGINT, SIGTERM, SIGHUP) names itself there
    and exits with 128 + its number, as a shell reports a process it ended.
    """
    try:
        return work()
    except PinlockError as exc:
        echo(f"error: {exc}", err=True)
        return exc.exit_code
    except Interrupted as exc:
        # "interrupted before anything changed" -> "interrupted by SIGTERM before ..."
        by = f"interrupted by {exc.signal_name}"
        text = interrupted.replace("interrupted", by, 1)
        echo(f"error: {text if text != interrupted else f'{by}: {interrupted}'}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        echo(f"error: {interrupted}", err=True)
        return INTERRUPTED


def finish_process(code: int) -> NoReturn:
    """End this process with ``code``, as a command run from its script does.

    The interpreter is not torn down: a compile holds a few hundred thousand small objects
    (index records, versions, requirements), and freeing them one by one took ~50 ms of a
    0.6 s run, for memory the system takes back at once. What an ordinary exit does that
    matters still happens: the exit functions run (temporary folders, logging) and standard
    output and error are flushed. An ordinary exit waits for a thread still at work (not a
    daemon thread, which it would stop as this does), so with one left, that exit is taken.
    """
    if any(thread.is_alive() and not thread.daemon for thread in _other_threads()):
        raise SystemExit(code)
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is None:  # closed when the process started (`>&-`): nothing to flush
                continue
            try:
                stream.flush()
            except (OSError, ValueError):
                code = code or 120  # what Python exits with when it cannot flush them
        os._exit(code)


def _other_threads() -> list[threading.Thread]:
    main = threading.main_thread()
    return [thread for thread in threading.enumerate() if thread is not main]


def end_command(code: int, *, own_process: bool) -> NoReturn:
    """End a command with ``code``: the process itself when the command is the process (its
    script), else SystemExit, for a caller in this process to catch."""
    if own_process:
        finish_process(code)
    raise SystemExit(code)


def run_script(
    argv: Sequence[str] | None,
    *,
    own_process: bool,
    quick: Callable[[list[str]], int | None],
    full: Callable[[list[str]], object],
) -> None:
    """A command's script: the quick reader ``quick`` (None when the command line is not an
    ordinary one), else the typer command ``full``; ``argv`` defaults to the process's."""
    args = list(sys.argv[1:] if argv is None else argv)
    code = quick(args)
    if code is None:
        full(args)
        return
    end_command(code, own_process=own_process)
