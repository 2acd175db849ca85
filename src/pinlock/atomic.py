"""Atomic file replacement: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["current_umask", "link_or_copy", "write_atomic"]


def write_atomic(path: Path | str, data: str | bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Text is written as UTF-8 with ``\\n`` line endings on every platform, so locks are identical
    wherever they are compiled. The file keeps the permissions of the file it replaces.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            tmp.chmod(mode)
        elif target.exists():
            tmp.chmod(target.stat().st_mode & 0o7777)
        else:
            tmp.chmod(0o666 & ~current_umask())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux: the
    ``Umask:`` line of ``/proc/self/status``). Elsewhere it can only be read by setting it for
    a moment, which another thread would see: read it once, on the main thread, and pass it on.
    """
    try:
        with Path("/proc/self/status").open(encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def link_or_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """``target`` made the same file as ``source``: a hard link, else (another file system, a
    file system without links) a copy with its times, since byte code checks its module's
    modification time. An existing ``target`` is an error, never written through: it may be a
    link to a file that must not change (the cache's unpacked wheels, a snapshot's backups)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:
        shutil.copy2(source, target)
