"""What an index says about one file of a project: the value every later stage works from."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = ["DistFile", "FileKind", "parse_dist_filename"]


class FileKind(Enum):
    WHEEL = "wheel"
    SDIST = "sdist"


@dataclass(frozen=True, kw_only=True, slots=True)
class DistFile:
    """One downloadable file of a project version, as an index or find-links source lists it.

    ``hashes`` maps an algorithm name to a hex digest, as the index gave it (``sha256`` is filled
    in by pinlock when the index gives none and the file had to be read anyway).
    ``metadata_hashes`` is None when no PEP 658 ``.metadata`` file is advertised, and a (possibly
    empty) mapping of its digests when one is.
    ``source`` is the index or find-links URL the file was found through. ``size`` (bytes) and
    ``upload_time`` are known when a PEP 691 JSON page states them (a pylock.toml lists them).
    """

    name: NormalizedName
    version: Version
    filename: str
    url: str
    kind: FileKind
    source: str
    wheel_tags: frozenset[Tag] = frozenset()
    hashes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    requires_python: SpecifierSet | None = None
    yanked: bool = False
    yanked_reason: str = ""
    metadata_hashes: Mapping[str, str] | None = field(default=None, compare=False, hash=False)
    size: int | None = field(default=None, compare=False)
    upload_time: datetime | None = field(default=None, compare=False)

    @property
    def is_wheel(self) -> bool:
        return self.kind is FileKind.WHEEL

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def metadata_url(self) -> str | None:
        """The PEP 658 metadata file's URL, when the index advertises one."""
        return None if self.metadata_hashes is None else self.url + ".metadata"


_DistFacts = tuple[NormalizedName, Version, FileKind, frozenset[Tag]]

# PEP 427: what an escaped project name in a wheel file name may hold (as packaging checks it).
_WHEEL_NAME = re.compile(r"[\w.]+\Z")
_ASCII_DIGITS = frozenset("0123456789")


@functools.lru_cache(maxsize=1 << 16)
def parse_dist_filename(filename: str) -> _DistFacts | None:
    """Name, version, kind and tags of a wheel or sdist file name; None for anything else.

    Sdists are ``.tar.gz`` or ``.zip``; other archive names (``.exe``, ``.egg``, ``.tar.bz2``)
    are ignored, as pip ignores them. The rules are packaging's ``parse_wheel_filename`` and
    ``parse_sdist_filename``; the answers are shared: a page of thousands of files repeats
    the same few versions and tag sets, and a file seen through several sources is parsed once.
    """
    if filename.endswith(".whl"):
        return _parse_wheel_filename(filename[: -len(".whl")])
    for extension in (".tar.gz", ".zip"):
        if filename.endswith(extension):
            name_part, dash, version_part = filename[: -len(extension)].rpartition("-")
            version = _version(version_part)
            if not dash or not name_part or version is None:
                return None
            return _name(name_part), version, FileKind.SDIST, frozenset()
    return None


def _parse_wheel_filename(stem: str) -> _DistFacts | None:
    dashes = stem.count("-")
    if dashes not in (4, 5):
        return None
    parts = stem.split("-", dashes - 2)
    name_part = parts[0]
    if "__" in name_part or _WHEEL_NAME.match(name_part) is None:
        return None
    # A build tag must start with a digit; pinlock has no use for its value.
    if dashes == 5 and parts[2][:1] not in _ASCII_DIGITS:
        return None
    version = _version(parts[1])
    tags = _tags(parts[-1])
    if version is None or tags is None:
        return None
    return _name(name_part), version, FileKind.WHEEL, tags


@functools.lru_cache(maxsize=1 << 12)
def _name(text: str) -> NormalizedName:
    return canonicalize_name(text)


@functools.lru_cache(maxsize=1 << 14)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=1 << 12)
def _tags(text: str) -> frozenset[Tag] | None:
    try:
        return parse_tag(text)
    except ValueError:  # packaging's InvalidTag (26.3+)
        return None
