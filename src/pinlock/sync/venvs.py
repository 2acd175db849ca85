"""Creating the virtual environment ``--venv`` names: complete, or not there at all.

A venv cannot be built elsewhere and renamed into place (its scripts and ``activate`` name
their folder), so it is made in place under a mark: an empty folder holding the environment's
lock file (``envlock``) and a ``.pinlock-creating`` marker is renamed into place first (two
runs cannot both create it), ``python -m venv`` fills it, and the marker goes only once that
finished. A failed or stopped creation removes the folder. A creation killed outright leaves the
marker: the next sync that may create the venv clears the folder and makes it again, and any
other run refuses it (``check_complete``) rather than call a venv without pip "synced".
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from pinlock.errors import EnvironmentProblem
from pinlock.processes import run_child
from pinlock.sync.envlock import LOCK_NAME, EnvironmentLock, acquire, inherited_fds
from pinlock.sync.signals import uninterruptible

__all__ = ["MARKER", "check_complete", "ensure_venv"]

MARKER = ".pinlock-creating"
_ATTEMPTS = 5


def check_complete(prefix: Path) -> None:
    """Refuse an environment whose creation never finished."""
    if (prefix / MARKER).exists():
        raise EnvironmentProblem(
            f"{prefix} is a virtual environment whose creation was interrupted ({MARKER} is "
            f"still in it); run `pinlock sync --venv {prefix}` to create it again, or delete it"
        )


def ensure_venv(
    creator: Path,
    folder: Path,
    *,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """Make ``folder`` a complete venv made by ``creator`` (``python -m venv``): create it when
    missing, make it again when its creation was interrupted, else leave it as it is."""
    for _ in range(_ATTEMPTS):
        if not os.path.lexists(folder):
            lock = _claim(folder)
            if lock is None:
                continue  # another run created it meanwhile: look again
        elif not (folder / MARKER).exists():
            return
        else:
            lock = acquire(folder, exclusive=True, timeout=timeout, on_wait=on_wait)
            if lock is None:
                check_complete(folder)  # cannot lock it, so cannot make it again: refuse
                return
            if not os.path.lexists(folder) or not (folder / MARKER).exists():
                lock.release()  # the run waited for finished it, or gave up and removed it
                continue
            _clear(folder)
        try:
            _make(creator, folder)
        finally:
            lock.release()
        return
    raise EnvironmentProblem(f"could not create {folder}: other runs kept changing it")


def _claim(folder: Path) -> EnvironmentLock | None:
    """An empty, marked, locked folder renamed to ``folder``; None if another run was first."""
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.pinlock-new-", dir=folder.parent))
    lock = acquire(staging, exclusive=True)
    try:
        (staging / MARKER).write_text(f"pid {os.getpid()}\n", encoding="ascii")
        staging.chmod(0o755)  # mkdtemp's 0700 is no venv's mode
        staging.rename(folder)
    except OSError:
        if lock is not None:
            lock.release()
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.lexists(folder):
            return None
        raise
    if lock is None:
        raise EnvironmentProblem(f"cannot lock {folder} while creating it")
    lock.moved_to(folder)
    return lock


def _clear(folder: Path) -> None:
    """Remove what an interrupted creation left, but the lock file and the marker."""
    for entry in folder.iterdir():
        if entry.name in (LOCK_NAME, MARKER):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _make(creator: Path, folder: Path) -> None:
    try:
        try:
            # It holds the lock too: killed with pinlock, it still keeps others out till done.
            done = run_child([str(creator), "-m", "venv", str(folder)], pass_fds=inherited_fds())
        except OSError as exc:
            raise EnvironmentProblem(f"cannot run {creator}: {exc}") from exc
        if done.returncode != 0:
            raise EnvironmentProblem(
                f"could not create a virtual environment at {folder} with {creator}:\n"
                f"{done.output.strip()}"
            )
        if not (folder / "pyvenv.cfg").is_file():
            raise EnvironmentProblem(f"{creator} -m venv made no virtual environment at {folder}")
        (folder / MARKER).unlink()
    except BaseException:
        # Half a venv would pass for one next time: none at all is better.
        with uninterruptible(), contextlib.suppress(OSError):
            shutil.rmtree(folder)
        raise
