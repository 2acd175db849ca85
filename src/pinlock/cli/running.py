"""The one place a command's failure becomes a message and an exit code.

The library raises ``PinlockError`` subclasses that carry their context and their ``exit_code``;
here they are printed as ``error: ...`` on standard error, without a traceback. Ctrl-C exits with
130 (another stop signal with 128 + its number) and says what it left behind. typer is not
imported: ``pinlock sync`` runs without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from pinlock.errors import Interrupted, PinlockError
from pinlock.urls import redact_text

__all__ = ["INTERRUPTED", "echo", "exit_code_of"]

# The exit status of a process stopped by SIGINT, as shells report it.
INTERRUPTED = 130


def echo(text: str, *, err: bool = False) -> None:
    """Print a line to standard output, or to standard error with ``err``.

    Every URL in it is shown with its credentials masked, whatever produced the text: the last
    guard between a secret and a build log.
    """
    stream = sys.stderr if err else sys.stdout
    stream.write(redact_text(text) + "\n")
    stream.flush()


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
