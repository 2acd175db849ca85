"""How a sync ends when it is told to stop: SIGINT, SIGTERM and SIGHUP all alike.

Within ``interruptible()`` the first of those signals raises ``Interrupted`` (a
``KeyboardInterrupt``) where the main thread is, so the code that runs then unwinds through its
``finally`` and ``except BaseException`` blocks: pip's process group is stopped and waited for
(``piprun``), the environment is put back (``apply``), work folders go. Every later signal is
only noted: a second Ctrl-C or a CI runner's SIGTERM after SIGINT cannot cut that unwinding
short. ``uninterruptible()`` holds every such signal off for a stretch that must finish (a
restore after a failure), and the handlers that were there before come back on leaving.

Signal handlers belong to the main thread: elsewhere (a sync run from a worker thread) both are
no-ops and the caller's own handling stays in charge.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from pinlock.errors import Interrupted

__all__ = ["HANDLED", "interruptible", "noted", "uninterruptible"]

# SIGHUP does not exist on Windows.
HANDLED: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

_Handler = Callable[[int, FrameType | None], object] | int | None


class _State:
    """The signals seen since the outermost ``interruptible()`` began."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.raising = 0  # depth of interruptible() blocks
        self.holding = 0  # depth of uninterruptible() blocks


_state = _State()


def noted() -> tuple[int, ...]:
    """The signals that arrived while handled here (the first one raised, the others not)."""
    return tuple(_state.seen)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    first = not _state.seen
    _state.seen.append(signum)
    if first and _state.raising and not _state.holding:
        raise Interrupted(signum)


def _begin() -> None:
    if _state.raising == 0 and _state.holding == 0:
        _state.seen.clear()


def _install() -> dict[signal.Signals, _Handler]:
    previous: dict[signal.Signals, _Handler] = {}
    for signum in HANDLED:
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, _on_signal)
    return previous


def _reinstate(previous: dict[signal.Signals, _Handler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def interruptible(*, last: bool = False) -> Iterator[None]:
    """The first SIGINT, SIGTERM or SIGHUP raises ``Interrupted``; later ones are noted only.

    ``last``: the process ends with this block (the command line). Once a stop signal has come,
    every further one is then ignored, not handed back to the handlers from before, so nothing
    can cut the exit short.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _begin()
    previous = _install()
    _state.raising += 1
    try:
        yield
    finally:
        _state.raising -= 1
        if last and _state.seen:
            previous = dict.fromkeys(previous, signal.SIG_IGN)
        _reinstate(previous)


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Every SIGINT, SIGTERM or SIGHUP is noted and none acted upon until this block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _begin()
    previous = _install()
    _state.holding += 1
    try:
        yield
    finally:
        _state.holding -= 1
        _reinstate(previous)
