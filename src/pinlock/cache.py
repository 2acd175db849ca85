"""An on-disk cache of immutable things (metadata of a pinned file, digests of a URL's bytes).

Distribution files themselves live in the artifact store under ``<root>/files``
(``pinlock.store``), built on this cache.

Entries never change once written, so readers need no locks: a writer fills a temporary file in
the entry's folder and renames it into place, and two processes writing the same entry both
write the same bytes. A cold compile writes hundreds of entries, so a write is four system calls
(create, write, close, rename): the temporary name is made unique by the process id and a
counter rather than drawn at random, and each folder is made once per ``Cache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import shutil
from pathlib import Path

import platformdirs

__all__ = ["Cache"]

_HEX_DIGEST = re.compile(r"[0-9a-f]{32,128}")
# Before buckets were single folders, entries sat in two-hex-digit shard folders of their
# bucket, and page bodies in a bucket of their own; this marker says they were removed.
_OLD_SHARD = re.compile(r"[0-9a-f]{2}")
_OLD_BUCKETS = ("page-bodies",)
_LAYOUT_MARKER = ".layout-flat"
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A new file only (never through an existing one or a link), closed in children, binary on Windows.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_CREATE |= getattr(os, "O_BINARY", 0)
# Temporary names are unique in the process (the counter) and across processes (the pid).
_SERIAL = itertools.count()
# Tries at a fresh temporary name: a name is only taken when a process of the same id crashed
# with one of its temporary files in place.
_NAME_TRIES = 100


class Cache:
    """Byte blobs filed by bucket (a kind of thing) and key (which one)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(platformdirs.user_cache_dir("pinlock")) if root is None else Path(root)
        # Folders known to exist: made (or found) by this object. One that is removed during the
        # run is made again when a write into it fails.
        self._folders: set[Path] = set()

    def path(self, bucket: str, key: str) -> Path:
        """Where the entry lives; keys that are not already hex digests are hashed."""
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"bad cache bucket name: {bucket!r}")
        name = key if _HEX_DIGEST.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()
        # One folder per bucket: a cold compile files hundreds of entries, and every folder
        # made for them costs more than the file itself (file systems spread new folders).
        # One join: a run asks for hundreds of entries, and each / of a Path costs.
        return self.root / f"{bucket}/{name}"

    def get(self, bucket: str, key: str) -> bytes | None:
        try:
            return self.path(bucket, key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, bucket: str, key: str, data: bytes, *more: bytes) -> Path:
        """Write the entry (``data`` and then each of ``more``, which spares joining large
        parts in memory): whole or not at all, whatever other threads and processes write."""
        target = self.path(bucket, key)
        folder = target.parent
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        try:
            self._write(folder, target, (data, *more))
        except FileNotFoundError:
            # The folder went away since it was made (the cache was cleared): once more.
            folder.mkdir(parents=True, exist_ok=True)
            self._write(folder, target, (data, *more))
        return target

    def remove_old_layout(self) -> None:
        """Remove, once per cache, what pinlock kept there before buckets were single folders
        (shard folders of every bucket, unpacked wheels among them, and page bodies): no
        pinlock reads them any more, and they would stay for good."""
        marker = self.root / _LAYOUT_MARKER
        if marker.exists() or not self.root.is_dir():
            return
        try:
            buckets = [entry for entry in self.root.iterdir() if entry.is_dir()]
        except OSError:
            return
        for bucket in buckets:
            if bucket.name in _OLD_BUCKETS:
                shutil.rmtree(bucket, ignore_errors=True)
                continue
            with contextlib.suppress(OSError):
                for entry in bucket.iterdir():
                    if _OLD_SHARD.fullmatch(entry.name) and entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
        with contextlib.suppress(OSError):
            marker.touch()

    def _write(self, folder: Path, target: Path, parts: tuple[bytes, ...]) -> None:
        prefix = f"{folder}{os.sep}.tmp-{os.getpid()}-"
        for _ in range(_NAME_TRIES):
            tmp_name = f"{prefix}{next(_SERIAL)}"
            try:
                fd = os.open(tmp_name, _CREATE, 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free temporary name in {folder}")
        try:
            try:
                for part in parts:
                    view = memoryview(part)
                    while view:
                        view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            Path(tmp_name).replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()
            raise
