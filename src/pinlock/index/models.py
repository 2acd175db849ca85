"""What an index says about one file of a project: the value every later stage works from."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = [
    "DistFile",
    "FileKind",
    "FileRecord",
    "ProjectListing",
    "dist_from_record",
    "flat_pairs",
    "parse_dist_filename",
    "record_of",
    "requires_python_of",
]


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


def parse_dist_filename(filename: str) -> _DistFacts | None:
    """Name, version, kind and tags of a wheel or sdist file name; None for anything else.

    Sdists are ``.tar.gz`` or ``.zip``; other archive names (``.exe``, ``.egg``, ``.tar.bz2``)
    are ignored, as pip ignores them. The rules are packaging's ``parse_wheel_filename`` and
    ``parse_sdist_filename``; the parts' answers are shared: a page of thousands of files
    repeats the same few names, versions and tag sets (every file name is new, so keeping
    whole names' answers would cost more than it saves).
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
    # A build tag must start with a digit; pinlock has no use for its value.
    if dashes == 5 and parts[2][:1] not in _ASCII_DIGITS:
        return None
    name_and_version = _wheel_name_and_version(parts[0], parts[1])
    tags = _tags(parts[-1])
    if name_and_version is None or tags is None:
        return None
    return name_and_version[0], name_and_version[1], FileKind.WHEEL, tags


@functools.lru_cache(maxsize=1 << 14)
def _wheel_name_and_version(
    name_part: str, version_part: str
) -> tuple[NormalizedName, Version] | None:
    if "__" in name_part or _WHEEL_NAME.match(name_part) is None:
        return None
    version = _version(version_part)
    return None if version is None else (_name(name_part), version)


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


# One file of a page, compact: what a DistFile is made of, as plain values (a page lists
# thousands; a target can use a few). Fields: filename, URL (no fragment), digests as flat
# (algorithm, hex, ...) pairs, Requires-Python text (a valid one, or None), yank reason (None
# when not yanked), PEP 658 metadata digests as flat pairs (None when not advertised), size,
# PEP 700 upload time as the index wrote it; and what the file name says (name, version, kind,
# tags: ``parse_dist_filename``), kept with the rest, as reading it again costs more than
# unpickling it (a page's records share their few versions and tag sets).
FileRecord = tuple[
    str,
    str,
    tuple[str, ...],
    str | None,
    str | None,
    tuple[str, ...] | None,
    int | None,
    str | None,
    "_DistFacts",
]


@dataclass(frozen=True, slots=True)
class ProjectListing:
    """Every file of one project, as records grouped by the source that listed them, without
    duplicate URLs. DistFiles are made only when asked for (``files``, ``entries`` give the
    records for a caller that picks first)."""

    parts: tuple[tuple[str, Collection[FileRecord]], ...] = ()

    @classmethod
    def of(cls, files: Iterable[DistFile]) -> ProjectListing:
        parts: list[tuple[str, list[FileRecord]]] = []
        seen: set[str] = set()
        for dist in files:
            if dist.url in seen:
                continue
            seen.add(dist.url)
            if not parts or parts[-1][0] != dist.source:
                parts.append((dist.source, []))
            parts[-1][1].append(record_of(dist))
        return cls(tuple((source, tuple(records)) for source, records in parts))

    def entries(self) -> Iterator[tuple[FileRecord, str]]:
        for source, records in self.parts:
            for record in records:
                yield record, source

    def files(self, version: Version | None = None) -> tuple[DistFile, ...]:
        """The files (of ``version`` only, when given), in source order then page order."""
        found = []
        for record, source in self.entries():
            if version is None or record[8][1] == version:
                found.append(dist_from_record(record, source))
        return tuple(found)

    def __len__(self) -> int:
        return sum(len(records) for _source, records in self.parts)


def record_of(dist: DistFile) -> FileRecord:
    return (
        dist.filename,
        dist.url,
        flat_pairs(dist.hashes),
        None if dist.requires_python is None else str(dist.requires_python),
        (dist.yanked_reason or "") if dist.yanked else None,
        None if dist.metadata_hashes is None else flat_pairs(dist.metadata_hashes),
        dist.size,
        None if dist.upload_time is None else dist.upload_time.isoformat(),
        (dist.name, dist.version, dist.kind, dist.wheel_tags),
    )


def dist_from_record(record: FileRecord, source: str) -> DistFile:
    """The DistFile a record stands for."""
    filename, url, hashes, requires_python, yanked, metadata, size, uploaded, facts = record
    name, version, kind, tags = facts
    return DistFile(
        name=name,
        version=version,
        filename=filename,
        url=url,
        kind=kind,
        source=source,
        wheel_tags=tags,
        hashes=_pairs(hashes),
        requires_python=requires_python_of(requires_python),
        yanked=yanked is not None,
        yanked_reason=yanked or "",
        metadata_hashes=None if metadata is None else _pairs(metadata),
        size=size,
        upload_time=_timestamp(uploaded),
    )


@functools.lru_cache(maxsize=1024)
def requires_python_of(text: str | None) -> SpecifierSet | None:
    """A Requires-Python value; None for none, and for one that cannot be read (pip ignores
    those rather than rejecting the file). Shared: pages repeat a few values thousands of times."""
    if not text or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _pairs(flat: tuple[str, ...]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def flat_pairs(mapping: Mapping[str, str]) -> tuple[str, ...]:
    """A record's digests: ``{"sha256": hex}`` as ``("sha256", hex)``, algorithm names interned."""
    if len(mapping) == 1:  # the usual case, one sha256
        ((key, value),) = mapping.items()
        return (sys.intern(key), value)
    return tuple(item for key, value in mapping.items() for item in (sys.intern(key), value))


def _timestamp(value: str | None) -> datetime | None:
    """A PEP 700 ``upload-time`` (ISO 8601, ``Z`` for UTC); None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
