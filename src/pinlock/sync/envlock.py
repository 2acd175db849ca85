"""One pinlock run per environment at a time: a lock file inside the environment.

A sync holds ``<prefix>/.pinlock.lock`` exclusively from before it reads what is installed until
its last change is verified (or undone); ``--check`` and ``--dry-run`` hold it shared, so they
never read an environment another run is halfway through changing. The lock is an OS file lock
(``flock`` on POSIX, ``msvcrt.locking`` on Windows, where shared means exclusive): it goes
with the process that held it, however that process ends, so a killed run never leaves a
stale lock. pip runs started under an exclusive lock inherit it (``inherited_fds``): should
pinlock be killed while pip still runs, the next sync waits for that pip too.

An environment whose folder cannot hold a lock file (a read-only prefix) is used unlocked; a
sync that would change it then fails on writing anyway, before any change (``apply``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pinlock.errors import EnvironmentBusy

__all__ = ["LOCK_NAME", "EnvironmentLock", "acquire", "hold_environment", "inherited_fds"]

LOCK_NAME = ".pinlock.lock"
_POLL_FIRST = 0.02
_POLL_MAX = 0.5
# Exclusive locks this process holds: pip is started with these descriptors open.
_exclusive_fds: set[int] = set()
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


@dataclass(kw_only=True, slots=True)
class EnvironmentLock:
    """A held lock: its file, kind, and descriptor (closed by ``release``)."""

    path: Path
    exclusive: bool
    fd: int

    def release(self) -> None:
        if self.fd < 0:
            return
        if self.exclusive:
            _exclusive_fds.discard(self.fd)
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)  # no longer the holder a waiting run should name
        # Closing, not unlocking: a pip that inherited the descriptor keeps the lock alive.
        os.close(self.fd)
        self.fd = -1

    def moved_to(self, folder: Path) -> None:
        """The folder holding the lock file was renamed (a new venv moved into place)."""
        self.path = folder / LOCK_NAME


def inherited_fds() -> tuple[int, ...]:
    """Descriptors of the exclusive environment locks held now, for pip to inherit."""
    return tuple(sorted(_exclusive_fds))


@contextlib.contextmanager
def hold_environment(
    prefix: Path,
    *,
    exclusive: bool,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[EnvironmentLock | None]:
    """Hold ``prefix``'s lock for the block; None when the folder can hold no lock file.

    Waits while another run holds it (telling ``on_wait`` once, with who and where), at most
    ``timeout`` seconds (``EnvironmentBusy`` then).
    """
    lock = acquire(prefix, exclusive=exclusive, timeout=timeout, on_wait=on_wait)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()


def acquire(
    prefix: Path,
    *,
    exclusive: bool,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> EnvironmentLock | None:
    """Take ``prefix``'s lock (see ``hold_environment``); the caller releases it."""
    path = prefix / LOCK_NAME
    fd = _open(path)
    if fd is None:
        return None
    try:
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        pause = _POLL_FIRST
        told = False
        while not _try_lock(fd, exclusive=exclusive):
            holder = _holder(path)
            if deadline is not None and time.monotonic() >= deadline:
                raise EnvironmentBusy(prefix, path, holder, timeout)
            if not told and on_wait is not None:
                who = f"another pinlock run ({holder})" if holder else "another pinlock run"
                on_wait(f"waiting for {who} to finish with {prefix} (lock file {path})")
                told = True
            time.sleep(pause if deadline is None else min(pause, deadline - time.monotonic()))
            pause = min(pause * 2, _POLL_MAX)
        if exclusive:
            _write_owner(fd)
            _exclusive_fds.add(fd)
    except BaseException:
        os.close(fd)
        raise
    return EnvironmentLock(path=path, exclusive=exclusive, fd=fd)


def _open(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as error:
        if error.errno not in _READ_ONLY and not isinstance(error, FileNotFoundError):
            raise
    # A read-only folder may still hold a lock file from before: lock that one.
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


def _try_lock(fd: int, *, exclusive: bool) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _write_owner(fd: int) -> None:
    """Who holds the lock, for the message of a run that waits (best effort)."""
    if sys.platform == "win32":
        return  # the locked byte cannot be read by others there
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
    if not (text.startswith("pid ") and text[4:].isdigit()):
        return ""
    try:
        os.kill(int(text[4:]), 0)
    except ProcessLookupError:
        # The run was killed, but a program it started (pip, a build) inherited the lock.
        return f"{text}, which has ended: a program it started, such as pip, still holds the lock"
    except OSError:
        pass
    return text


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
