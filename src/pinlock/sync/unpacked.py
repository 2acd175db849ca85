"""Wheels unpacked once into the cache, so that installing one is linking its files.

Layout: ``<cache>/unpacked/<sha256>/`` holds a verified wheel's members as they are in the
archive (the sha256 is the wheel's), and ``pinlock-manifest.json`` the RECORD hash, size and
executable bit of each member as written. The folder is made in a staging folder beside it and
renamed into place whole, the manifest last: a folder with a manifest is complete, and two
processes unpacking the same wheel write the same bytes. Byte code an interpreter compiled there
sits in ``__pycache__`` beside the modules, and ``pinlock-compiled-<cache tag>.json`` lists it.

Installing links (hard links; a copy keeping the times where linking fails): the venv's files
share the cache's, as uv does. A file is never written through such a link: pinlock's installer
unlinks before it writes, and so do pip and importlib.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import shutil
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from installer.sources import WheelSource
from installer.utils import copyfileobj_with_hashing

from pinlock.atomic import write_atomic
from pinlock.digests import check_stream
from pinlock.errors import InstallFailed, StorageError

if TYPE_CHECKING:
    from installer.sources import WheelContentElement

    from pinlock.cache import Cache

__all__ = ["Linkable", "Unpacked", "UnpackedSource", "repair", "unpack"]

_BUCKET = "unpacked"
MANIFEST = "pinlock-manifest.json"
# As the store names its own: recovery.clean_store removes those of processes gone.
STAGING_PREFIX = ".staging-"
# Damaged folders moved aside (``repair``): nothing reads them, recovery removes them.
STALE_PREFIX = ".stale-"


@dataclass(frozen=True, kw_only=True, slots=True)
class Unpacked:
    """An unpacked wheel: its folder, and ``member -> (record hash, size, executable)``."""

    root: Path
    members: dict[str, tuple[str, int, bool]]

    @property
    def dist_info(self) -> str:
        found = {name.partition("/")[0] for name in self.members}
        infos = [name for name in found if name.endswith(".dist-info")]
        if len(infos) != 1:
            raise ValueError(f"{self.root}: not exactly one .dist-info folder: {sorted(infos)}")
        return infos[0]

    def root_files(self) -> dict[str, tuple[str, int, bool]]:
        """The members in the wheel's root (neither metadata nor ``.data``), which go where
        the root goes; byte code a wheel should not hold aside (installer skips it too)."""
        info = self.dist_info
        data = info.removesuffix(".dist-info") + ".data"
        return {
            name: entry
            for name, entry in self.members.items()
            if name.partition("/")[0] not in (info, data)
            and "__pycache__" not in name.split("/")[:-1]
        }

    def compiled(self, tag: str) -> dict[str, str] | None:
        """``module -> byte code`` (members) compiled for interpreters of ``tag``, if any was."""
        try:
            data = json.loads((self.root / f"pinlock-compiled-{tag}.json").read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def remember_compiled(self, tag: str, pycs: dict[str, str]) -> None:
        write_atomic(self.root / f"pinlock-compiled-{tag}.json", json.dumps(pycs))


def unpack(wheel: Path, sha256: str, cache: Cache, *, umask: int) -> Unpacked:
    """The wheel ``wheel`` (verified: its digest is ``sha256:<hex>``) unpacked in ``cache``;
    executable members get the modes ``umask`` (``atomic.current_umask``, read once by the
    caller: this runs on several threads) allows."""
    folder = cache.path(_BUCKET, sha256.partition(":")[2] or sha256)
    known = _load(folder)
    if known is not None:
        return known
    return _unpack_into(folder, wheel, sha256, umask)


def repair(unpacked: Unpacked, wheel: Path, sha256: str, *, umask: int) -> Unpacked:
    """``unpacked``, found damaged (a file it lists is gone), moved aside and unpacked again
    from ``wheel``."""
    _move_aside(unpacked.root)
    return _unpack_into(unpacked.root, wheel, sha256, umask)


def _unpack_into(folder: Path, wheel: Path, sha256: str, umask: int) -> Unpacked:
    parent = folder.parent
    if os.path.lexists(folder):
        # Folders go into place whole, with their manifest: one without is damaged (a disk
        # cleaner, a hand), and would be refused at every run.
        _move_aside(folder)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=parent))
    except OSError as error:
        raise StorageError(parent, error) from error
    try:
        try:
            members = _extract(wheel, sha256, staging, umask)
        except (FileExistsError, NotADirectoryError, IsADirectoryError, ValueError) as error:
            # A wheel at odds with itself (a file and a folder of one name, a member outside).
            raise InstallFailed(wheel.name, error) from None
        (staging / MANIFEST).write_text(json.dumps(members), encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:
            if _load(folder) is None:  # not another process's complete copy: a real failure
                raise
    except OSError as error:
        raise StorageError(Path(error.filename or folder), error) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Unpacked(root=folder, members=members)


def _move_aside(folder: Path) -> None:
    """``folder`` renamed out of the way at once (a process linking from it sees it gone, not
    half removed), then removed; what is left of it, recovery removes (``STALE_PREFIX``)."""
    aside = folder.parent / f"{STALE_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
    try:
        folder.rename(aside)
    except FileNotFoundError:
        return
    except OSError as error:
        raise StorageError(folder, error) from error
    shutil.rmtree(aside, ignore_errors=True)
    with contextlib.suppress(OSError):
        aside.unlink()  # it was a file


def _load(folder: Path) -> Unpacked | None:
    try:
        data = json.loads((folder / MANIFEST).read_bytes())
        members = {k: (str(v[0]), int(v[1]), bool(v[2])) for k, v in data.items()}
    except (OSError, ValueError, TypeError, LookupError, AttributeError):
        return None  # none, or not one pinlock wrote: unpacked again
    return Unpacked(root=folder, members=members)


def _extract(wheel: Path, sha256: str, dest: Path, umask: int) -> dict[str, tuple[str, int, bool]]:
    with wheel.open("rb") as file:
        # Checked again, through the handle the members are read from: a local file a lock
        # names (file://) was checked by fetch, but may have changed since (HashMismatch).
        check_stream(str(wheel), file, [sha256])
        file.seek(0)
        return _extract_members(wheel, zipfile.ZipFile(file), dest, umask)


def _extract_members(
    wheel: Path, archive: zipfile.ZipFile, dest: Path, umask: int
) -> dict[str, tuple[str, int, bool]]:
    members: dict[str, tuple[str, int, bool]] = {}
    made: set[str] = set()
    with archive:
        for info in archive.infolist():
            name = info.filename
            if name.endswith("/"):
                continue
            parts = name.split("/")
            if name.startswith("/") or "\\" in name or ".." in parts or ":" in parts[0]:
                raise ValueError(f"{wheel.name}: {name!r} points outside the wheel")
            target = os.path.join(dest, *parts)
            folder = os.path.dirname(target)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            with archive.open(info) as source, open(target, "wb") as handle:
                digest, size = copyfileobj_with_hashing(cast("BinaryIO", source), handle, "sha256")
            mode = info.external_attr >> 16
            executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
            if executable:
                os.chmod(target, 0o777 & ~umask | 0o111)
            members[name] = (f"sha256={digest}", size, executable)
    return members


class Linkable:
    """A member of an unpacked wheel, opened only if read: the installer links it instead.

    Duck-typed as the binary stream installer expects (it reads only scripts, for their
    shebang); one is made per installed file, so it is kept light."""

    __slots__ = ("_file", "digest", "member", "path", "size")

    def __init__(self, path: str, member: str, digest: str, size: int) -> None:
        self.path = path
        self.member = member
        self.digest = digest
        self.size = size
        self._file: io.BufferedReader | None = None

    def _opened(self) -> io.BufferedReader:
        if self._file is None:
            self._file = open(self.path, "rb")  # noqa: SIM115
        return self._file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._opened().read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._opened().readline(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._opened().seek(offset, whence)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class UnpackedSource(WheelSource):
    """installer's view of an unpacked wheel: its members as ``Linkable`` streams, but those
    in ``skip`` (linked by the caller: ``wheelinstall``)."""

    def __init__(self, unpacked: Unpacked, *, skip: Collection[str] = ()) -> None:
        self.unpacked = unpacked
        self._skip = skip
        self._dist_info = unpacked.dist_info
        name, _, version = self._dist_info.removesuffix(".dist-info").partition("-")
        super().__init__(name, version)

    @property
    def dist_info_dir(self) -> str:
        return self._dist_info

    @property
    def dist_info_filenames(self) -> list[str]:
        prefix = f"{self._dist_info}/"
        return [name[len(prefix) :] for name in self.unpacked.members if name.startswith(prefix)]

    def read_dist_info(self, filename: str) -> str:
        path = self.unpacked.root / self._dist_info / filename
        return path.read_text(encoding="utf-8")

    def get_contents(self) -> Iterator[WheelContentElement]:
        root = str(self.unpacked.root) + os.sep
        native = os.sep == "/"
        record = posixpath.join(self._dist_info, "RECORD")
        for name, (digest, size, executable) in self.unpacked.members.items():
            if name == record or name in self._skip:
                continue
            if "__pycache__" in name.split("/")[:-1]:
                # Byte code a wheel should not hold: left out, as pip and installer leave it
                # (installer would warn, from a worker thread); it is compiled afresh.
                continue
            path = root + (name if native else name.replace("/", os.sep))
            stream = Linkable(path, name, digest, size)
            try:
                yield (name, digest, str(size)), cast("BinaryIO", stream), executable
            finally:
                stream.close()
