"""Locks in the PEP 751 form (``pylock.toml``), written and read through ``packaging.pylock``.

A pinlock pylock is one target's (and flavour's) lock: ``environments`` says where it holds,
each package lists its version, index, ``requires-python`` and the files the target may install
(wheels and the sdist, with URL, size and upload time when known, and hashes). A direct
reference is an ``archive``, a local project a ``directory`` (``editable`` when it is), a VCS
reference a ``vcs`` entry at its commit. What asked for each package is kept in its
``[packages.tool.pinlock]`` table. pip (>= 26.1: ``pip install -r pylock.toml``), uv and
``pinlock sync`` install it; every pylock written is validated first.

Reading selects what an environment installs as PEP 751 describes (``Pylock.select``): markers,
``requires-python`` and ``environments`` are checked for that environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageDirectory,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockSelectError,
    PylockValidationError,
)
from packaging.tags import Tag
from packaging.version import Version

from pinlock.errors import EnvironmentProblem, PinlockError, ReqFileError
from pinlock.lock._toml import dumps
from pinlock.lock.model import Lock, LockedFile, LockedPackage, is_path
from pinlock.pyproject import read_toml
from pinlock.urls import file_url_to_path, is_file_url, redact_url

__all__ = ["is_pylock_path", "read_pylock", "render_pylock"]

_PYLOCK_NAME = re.compile(r"pylock\.([^.]+)\.toml\Z")
_VCS_URL = re.compile(
    r"(?P<type>git|hg|svn|bzr)\+(?P<url>[^#]+?)@(?P<commit>[^@/#]+)(?:#(?P<fragment>.*))?\Z"
)


def is_pylock_path(path: Path | str) -> bool:
    """Whether a file name is a PEP 751 lock's: ``pylock.toml`` or ``pylock.<name>.toml``."""
    name = Path(path).name
    return name == "pylock.toml" or _PYLOCK_NAME.match(name) is not None


def render_pylock(
    lock: Lock,
    *,
    environments: Sequence[str] = (),
    created_by: str = "pinlock",
    tool: Mapping[str, Any] | None = None,
) -> str:
    """The lock as pylock.toml text (validated by ``packaging.pylock``); local paths relative
    to the lock's folder stay relative, as PEP 751 reads them."""
    pylock = Pylock(
        lock_version=Version("1.0"),
        environments=[Marker(e) for e in environments] or None,
        created_by=created_by,
        packages=[_package(p) for p in sorted(lock.packages, key=lambda p: p.name)],
        tool={"pinlock": dict(tool)} if tool else None,
    )
    try:
        pylock.validate()
    except PylockValidationError as error:  # pragma: no cover - a bug in what pinlock built
        raise PinlockError(f"the pylock.toml pinlock built is not valid: {error}") from None
    return dumps(pylock.to_dict())


def read_pylock(
    path: Path | str,
    *,
    environment: Mapping[str, str] | None = None,
    tags: Sequence[Tag] | None = None,
) -> Lock:
    """Read a pylock.toml. With ``environment`` (and its wheel ``tags``) only what it installs
    is kept, selected as PEP 751 describes; without, every package (with its marker)."""
    path = Path(path)
    try:
        document = read_toml(path)
    except OSError as error:
        raise ReqFileError(
            path, 0, "", f"cannot read the lock: {error.strerror or error}"
        ) from None
    try:
        pylock = Pylock.from_dict(document)
    except PylockValidationError as error:
        raise ReqFileError(path, 0, "", f"not a valid pylock.toml: {error}") from None
    packages: Sequence[Package] = pylock.packages
    if environment is not None:
        try:
            chosen = pylock.select(environment=cast(Any, dict(environment)), tags=tags)
            packages = [package for package, _dist in chosen]
        except PylockSelectError as error:
            raise EnvironmentProblem(f"{path}: does not install here: {error}") from None
    folder = path.parent
    locked = [_locked(p, folder, keep_marker=environment is None) for p in packages]
    return Lock(packages=tuple(sorted(locked, key=lambda p: p.name)), path=str(path))


# -- writing ------------------------------------------------------------------------------


def _package(package: LockedPackage) -> Package:
    via = {"via": sorted(dict.fromkeys(package.via), key=str.lower)} if package.via else None
    common: dict[str, Any] = {
        "name": package.name,
        "marker": package.marker,
        "requires_python": package.requires_python,
        "tool": {"pinlock": via} if via else None,
    }
    url = package.url
    if url is None:
        wheels = [_wheel(f) for f in package.files if f.filename.endswith(".whl")]
        sdists = [f for f in package.files if not f.filename.endswith(".whl")]
        sdist = sorted(sdists, key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))
        return Package(
            version=package.version,
            index=redact_url(package.index) if package.index else None,
            wheels=wheels or None,
            sdist=_sdist(sdist[0]) if sdist else None,
            **common,
        )
    vcs = _VCS_URL.match(url)
    if vcs is not None:
        fragment = dict(
            part.partition("=")[::2] for part in (vcs["fragment"] or "").split("&") if part
        )
        return Package(
            vcs=PackageVcs(
                type=vcs["type"],
                url=vcs["url"],
                commit_id=vcs["commit"],
                subdirectory=fragment.get("subdirectory") or None,
            ),
            **common,
        )
    location = _path_or_url(url)
    if package.editable or not package.files:
        return Package(
            directory=PackageDirectory(
                path=location[0] or str(file_url_to_path(url)),
                editable=True if package.editable else None,
            ),
            **common,
        )
    file = package.files[0]
    path, remote = location
    return Package(
        version=package.version,
        archive=PackageArchive(
            url=remote,
            path=path,
            size=file.size,
            upload_time=file.upload_time,
            hashes=_hashes(file),
        ),
        **common,
    )


def _path_or_url(url: str) -> tuple[str | None, str | None]:
    """A location as PEP 751 spells it: a path (relative to the lock) or a URL."""
    if is_path(url):
        return url, None
    if is_file_url(url):
        return file_url_to_path(url).as_posix(), None
    return None, url


def _wheel(file: LockedFile) -> PackageWheel:
    return PackageWheel(
        name=file.filename,
        url=file.url,
        size=file.size,
        upload_time=file.upload_time,
        hashes=_hashes(file),
    )


def _sdist(file: LockedFile) -> PackageSdist:
    return PackageSdist(
        name=file.filename,
        url=file.url,
        size=file.size,
        upload_time=file.upload_time,
        hashes=_hashes(file),
    )


def _hashes(file: LockedFile) -> dict[str, str]:
    return dict(item.partition(":")[::2] for item in file.hashes)


# -- reading ------------------------------------------------------------------------------


def _locked(package: Package, folder: Path, *, keep_marker: bool) -> LockedPackage:
    via = _via(package.tool)
    base: dict[str, Any] = {
        "name": package.name,
        "display_name": package.name,
        "marker": package.marker if keep_marker else None,
        "via": via,
        "requires_python": package.requires_python,
    }
    if package.vcs is not None:
        vcs = package.vcs
        where = vcs.url or (folder / (vcs.path or "")).as_uri()
        sub = f"#subdirectory={vcs.subdirectory}" if vcs.subdirectory else ""
        return LockedPackage(version=None, url=f"{vcs.type}+{where}@{vcs.commit_id}{sub}", **base)
    if package.directory is not None:
        directory = _local(package.directory.path, folder)
        editable = bool(package.directory.editable)
        return LockedPackage(
            version=None,
            url=str(directory) if editable else directory.as_uri(),
            editable=editable,
            **base,
        )
    if package.archive is not None:
        archive = package.archive
        url = archive.url or _local(archive.path or "", folder).as_uri()
        file = LockedFile(
            filename=url.rstrip("/").rsplit("/", 1)[-1],
            url=url,
            hashes=_hash_texts(archive.hashes),
            size=archive.size,
            upload_time=archive.upload_time,
        )
        return LockedPackage(
            version=package.version, url=url, hashes=file.hashes, files=(file,), **base
        )
    dists: list[PackageWheel | PackageSdist] = [*(package.wheels or ())]
    if package.sdist is not None:
        dists.append(package.sdist)
    files = tuple(
        LockedFile(
            filename=dist.filename,
            url=dist.url or _local(dist.path or "", folder).as_uri(),
            hashes=_hash_texts(dist.hashes),
            size=dist.size,
            upload_time=dist.upload_time,
        )
        for dist in dists
    )
    version = package.version
    if version is None:
        raise ReqFileError(folder, 0, "", f"package {package.name} states no version")
    return LockedPackage(
        version=version,
        hashes=tuple(sorted({h for f in files for h in f.hashes})),
        files=files,
        index=package.index,
        **base,
    )


def _local(path: str, folder: Path) -> Path:
    """A path of the lock: relative ones are taken from the lock's folder (PEP 751)."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = folder / candidate
    return Path(os.path.normpath(candidate.absolute()))


def _hash_texts(hashes: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted(f"{algorithm}:{digest.lower()}" for algorithm, digest in hashes.items()))


def _via(tool: Mapping[str, Any] | None) -> tuple[str, ...]:
    own = (tool or {}).get("pinlock")
    via = own.get("via") if isinstance(own, Mapping) else None
    if isinstance(via, list) and all(isinstance(item, str) for item in via):
        return tuple(via)
    return ()
