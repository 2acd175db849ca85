"""From a resolution to the packages of a lock: files and hashes, and where each pin comes from.

A pin lists the files it may install from (their sha256, size and upload time when the index
states them) and the index they came from. A direct reference keeps its URL, its hash taken
from the URL's ``#sha256=`` fragment or computed; a VCS reference its pinned commit. A local
file or project folder inside the project is written relative to the lock's folder (``-e .``,
``./vendor/x.whl``), as pinlock and uv read it; one outside stays absolute.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from packaging.specifiers import SpecifierSet

from pinlock.compile.request import CompileRequest
from pinlock.compile.resolve import Resolution, ResolvedPackage
from pinlock.flavour import Flavour
from pinlock.index.models import DistFile
from pinlock.lock.model import LockedFile, LockedPackage
from pinlock.reqfile import ReqLine
from pinlock.target import Target
from pinlock.urls import is_file_url, local_path

if TYPE_CHECKING:
    from pinlock.compile.session import CompileSession
    from pinlock.index.finder import PackageFinder

__all__ = ["PinSources", "lock_packages", "pin_location", "project_root"]

# What marks a project's top folder, the limit of paths written relative to a lock.
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


@dataclass(frozen=True, kw_only=True, slots=True)
class PinSources:
    """What the inputs said of direct references: digests their URLs carry, by URL without
    fragment, and the VCS URL (pinned to a commit) of each checkout folder's location."""

    fragment_hashes: Mapping[str, str]
    vcs_urls: Mapping[str, str]

    @classmethod
    def of(cls, lines: Sequence[ReqLine], vcs_urls: Mapping[str, str]) -> PinSources:
        digests: dict[str, str] = {}
        for line in lines:
            if line.link is None or "#" not in line.link:
                continue
            url, _, fragment = line.link.partition("#")
            digest = dict(parse_qsl(fragment)).get("sha256")
            if digest:
                digests[url] = digest.lower()
        return cls(fragment_hashes=digests, vcs_urls=vcs_urls)


def lock_packages(
    session: CompileSession,
    request: CompileRequest,
    resolution: Resolution,
    finder: PackageFinder,
    target: Target,
    *,
    flavour: Flavour | None,
    lock_dir: Path,
    sources: PinSources,
    with_files: bool,
) -> tuple[LockedPackage, ...]:
    """The lock's packages; ``with_files`` lists (and hashes) their files even without hashes
    in the lock's text, as a pylock.toml needs them."""
    hashed: list[tuple[int, DistFile]] = []
    per_package: list[list[DistFile]] = []
    for package in resolution.packages:
        wanted = (request.generate_hashes or with_files) and not package.editable
        direct_vcs = package.link is not None and package.link in sources.vcs_urls
        files = _hash_files(package, finder, target) if wanted and not direct_vcs else []
        per_package.append(files)
        hashed.extend((len(per_package) - 1, f) for f in files)

    def digest_of(item: tuple[int, DistFile]) -> str:
        dist = item[1]
        return sources.fragment_hashes.get(dist.url) or finder.sha256(dist)

    def known(dist: DistFile) -> bool:
        return dist.url in sources.fragment_hashes or bool(dist.sha256)

    # Only files whose digest must be read go to the pool: indexes state most digests, and a
    # future per file costs more than looking one up.
    digests = [digest_of(item) if known(item[1]) else "" for item in hashed]
    unknown = [index for index, digest in enumerate(digests) if not digest]
    for index, digest in zip(
        unknown, session.hash_pool.map(digest_of, [hashed[i] for i in unknown]), strict=True
    ):
        digests[index] = digest
    locked_files: list[list[LockedFile]] = [[] for _ in per_package]
    for (index, dist), digest in zip(hashed, digests, strict=True):
        locked_files[index].append(
            LockedFile(
                filename=dist.filename,
                url=dist.url,
                hashes=(f"sha256:{digest}",),
                size=dist.size if dist.size is not None else _local_size(dist.url),
                upload_time=dist.upload_time,
            )
        )
    root = project_root(lock_dir)
    return tuple(
        LockedPackage(
            name=package.name,
            display_name=package.name,  # pip-compile writes canonical names
            version=package.version,
            url=pin_location(package, sources, lock_dir, root),
            editable=package.editable,
            hashes=tuple(sorted({h for f in locked_files[i] for h in f.hashes})),
            via=package.via,
            files=tuple(sorted(locked_files[i], key=lambda f: f.filename)),
            index=_index_of(package, finder, flavour),
            requires_python=_requires_python(session, package),
        )
        for i, package in enumerate(resolution.packages)
    )


def project_root(folder: Path) -> Path:
    """The top folder of the project ``folder`` is in: the nearest holding pyproject.toml,
    setup.py, setup.cfg or .git (``folder`` itself when none does)."""
    folder = folder.absolute()
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _PROJECT_MARKERS):
            return candidate
    return folder


def _hash_files(package: ResolvedPackage, finder: PackageFinder, target: Target) -> list[DistFile]:
    """The files whose hashes a lock lists for one pin.

    A target with a platform lists only what can install there (its usable files); a target left
    open lists every file of the version, so the lock installs anywhere.
    """
    if not target.platform_open or package.link is not None:
        return list(package.files)
    if package.every_file is not None:
        return list(package.every_file)
    return list(finder.find_version(package.name, package.version))


def pin_location(
    package: ResolvedPackage, sources: PinSources, lock_dir: Path, root: Path
) -> str | None:
    """Where a lock says a pin comes from: None from an index, else its URL or path."""
    link = package.link
    if link is None:
        return None
    if link in sources.vcs_urls:
        return sources.vcs_urls[link]
    path = local_path(link) if is_file_url(link) or package.editable else None
    if path is None:
        return link
    try:
        path.absolute().relative_to(root.absolute())
    except ValueError:
        return link  # outside the project: as the input named it
    relative = Path(os.path.relpath(path.absolute(), lock_dir.absolute())).as_posix()
    if relative == ".":
        return "."
    return relative if relative.startswith("../") or relative == ".." else f"./{relative}"


def _index_of(
    package: ResolvedPackage, finder: PackageFinder, flavour: Flavour | None
) -> str | None:
    """The index a pin's files were listed by (not a find-links source or a direct URL): the
    default one when any of them came from it, else the first other index that listed them."""
    if package.link is not None or not package.files:
        return None
    settings = finder.settings
    indexes = set(settings.index_urls)
    if flavour is not None and "://" in flavour.index:
        indexes.add(flavour.index)
    sources = [s for s in dict.fromkeys(f.source for f in package.files) if s in indexes]
    if not sources:
        return None
    return settings.index_url if settings.index_url in sources else sources[0]


def _requires_python(session: CompileSession, package: ResolvedPackage) -> SpecifierSet | None:
    """The version's Requires-Python, from the metadata the resolver read (never a new build)."""
    if package.link is not None or package.metadata_file is None:
        return None
    return session.metadata.fetch(package.metadata_file).requires_python


def _local_size(url: str) -> int | None:
    path = local_path(url) if is_file_url(url) else None
    try:
        return path.stat().st_size if path is not None else None
    except OSError:
        return None
