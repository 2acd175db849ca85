"""Which versions of a project a target may use, which of their files, and whose metadata to read.

A version is usable when at least one of its files is: a wheel whose tags fit the target, or an
sdist (which builds anywhere), allowed by ``--only-binary``/``--no-binary``, the flavour and the
index's Requires-Python. Its files are ranked as pip ranks them: wheels before sdists, the best
tag first, and among equal tags the highest build tag.

Metadata is read without building wherever possible: from the best usable file when it is a
wheel; when no wheel fits the target, from a wheel of the same version built for another
platform (its dependencies are almost always the same, and a warning says it was done); an
sdist is read (and perhaps built) only for a version that has no wheel at all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, NormalizedName, parse_wheel_filename
from packaging.version import Version

from pinlock.flavour import Flavour
from pinlock.index.models import (
    DistFile,
    FileKind,
    FileRecord,
    ProjectListing,
    dist_from_record,
    requires_python_of,
)
from pinlock.target import Target

__all__ = ["FilePolicy", "ProjectVersions", "exact_pins", "project_versions"]


@dataclass(frozen=True, kw_only=True, slots=True)
class FilePolicy:
    """What decides whether a file may be used, besides the target."""

    target: Target
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    flavour: Flavour | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectVersions:
    """The versions of one project, newest first.

    ``usable`` maps each usable version to its usable files, best first; ``yanked_only`` the
    versions whose usable files are all yanked (PEP 592). ``rejected`` maps a reason to the
    versions that have no usable file for that reason (a version with any usable file is never
    listed there). ``foreign_wheels`` holds, for usable versions none of whose wheels fits the
    target, the wheel of another platform their metadata is read from.
    """

    usable: Mapping[Version, tuple[DistFile, ...]]
    yanked_only: Mapping[Version, tuple[DistFile, ...]]
    rejected: Mapping[str, frozenset[Version]]
    foreign_wheels: Mapping[Version, DistFile]
    newest_listed: Mapping[Version, tuple[tuple[FileRecord, str], ...]] = field(
        default_factory=dict
    )

    def every_file(self, version: Version) -> tuple[DistFile, ...] | None:
        """Every file the listing has of ``version``, whatever it runs on (a lock lists all
        their hashes), in listing order; None unless ``version`` is among the newest usable
        ones, whose records are kept: most pins are, and the others' come from the page."""
        listed = self.newest_listed.get(version)
        if listed is None:
            return None
        return tuple(dist_from_record(record, source) for record, source in listed)

    def metadata_file(self, version: Version, files: tuple[DistFile, ...]) -> DistFile:
        """The file to read ``version``'s metadata from, given its usable ``files``."""
        best = files[0]
        if best.is_wheel:
            return best
        return self.foreign_wheels.get(version, best)


def project_versions(listing: ProjectListing, policy: FilePolicy) -> ProjectVersions:
    """Sort a project's files into usable versions, yanked ones and those set aside (and why).

    Files are judged from their records; DistFiles are made only of the usable files of a
    version someone asks for (and of the wheel of another platform a version's metadata is
    read from): a page lists thousands of files, a resolution looks at a few versions.
    """
    usable: dict[Version, list[_Entry]] = defaultdict(list)
    yanked: dict[Version, list[_Entry]] = defaultdict(list)
    with_wheels: set[tuple[bool, Version]] = set()
    rejected: dict[str, set[Version]] = defaultdict(set)
    foreign: dict[Version, list[tuple[FileRecord, str, frozenset[Tag]]]] = defaultdict(list)
    target = policy.target
    flavour = policy.flavour
    # A page repeats a few (kind, tags, Requires-Python) thousands of times: each judged once.
    judged: dict[tuple[NormalizedName, FileKind, frozenset[Tag], str | None], _Verdict] = {}
    listed: dict[Version, list[tuple[FileRecord, str]]] = defaultdict(list)
    for record, source in listing.entries():
        name, version, kind, tags = record[8]
        listed[version].append((record, source))
        if flavour is not None and flavour.owns(name) and not flavour.accepts(version):
            rejected[f"not a {flavour.name} build"].add(version)
            continue
        key = (name, kind, tags, record[3])
        verdict = judged.get(key)
        if verdict is None:
            verdict = judged[key] = _judge(name, kind, tags, record[3], policy)
        reason, readable_elsewhere = verdict
        if reason is None:
            is_yanked = record[4] is not None
            (yanked if is_yanked else usable)[version].append((record, source, kind, tags))
            if kind is FileKind.WHEEL:
                with_wheels.add((is_yanked, version))
            continue
        rejected[reason].add(version)
        if readable_elsewhere:
            foreign[version].append((record, source, tags))
    shown = set(usable) | set(yanked)
    yanked_only = {v: yanked[v] for v in sorted(yanked, reverse=True) if v not in usable}
    newest = sorted(usable, reverse=True)[:_NEWEST_KEPT]
    return ProjectVersions(
        newest_listed={version: tuple(listed[version]) for version in newest},
        usable=_Files({v: usable[v] for v in sorted(usable, reverse=True)}, target),
        yanked_only=_Files(yanked_only, target),
        rejected={
            reason: frozenset(versions - shown)
            for reason, versions in rejected.items()
            if versions - shown
        },
        foreign_wheels={
            version: wheel
            for is_yanked, versions in ((False, usable), (True, yanked_only))
            for version in versions
            if (is_yanked, version) not in with_wheels
            and (wheel := _closest_wheel(foreign.get(version, []), target)) is not None
        },
    )


# How many of a project's newest usable versions keep every file's record for the lock, which
# would otherwise read the page's records again for each pin (a third of a warm compile's tail).
_NEWEST_KEPT = 3
_Rank = tuple[int, int, "_Descending", str]
_Entry = tuple[FileRecord, str, FileKind, frozenset[Tag]]
# Why a file cannot be used (None: it can), and whether its metadata may stand for the target's.
_Verdict = tuple[str | None, bool]


class _Files(Mapping[Version, tuple[DistFile, ...]]):
    """Each version's usable files, best first, made into DistFiles when first asked for."""

    __slots__ = ("_entries", "_made", "_target")

    def __init__(self, entries: dict[Version, list[_Entry]], target: Target) -> None:
        self._entries = entries
        self._target = target
        self._made: dict[Version, tuple[DistFile, ...]] = {}

    def __getitem__(self, version: Version) -> tuple[DistFile, ...]:
        files = self._made.get(version)
        if files is None:
            target = self._target
            ranked = sorted(
                (_rank(record[0], record[1], kind, tags, target), record, source)
                for record, source, kind, tags in self._entries[version]
            )
            files = tuple(dist_from_record(record, source) for _key, record, source in ranked)
            self._made[version] = files
        return files

    def __iter__(self) -> Iterator[Version]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, version: object) -> bool:
        return version in self._entries


def _judge(
    name: NormalizedName,
    kind: FileKind,
    tags: frozenset[Tag],
    requires_python: str | None,
    policy: FilePolicy,
) -> _Verdict:
    """Why a file (not ruled out by the flavour) cannot be used, None when it can; and whether
    it is a wheel set aside only for its tags, whose metadata may still be read."""
    target = policy.target
    if kind is FileKind.WHEEL:
        if _listed(policy.no_binary, name):
            return "wheels excluded by --no-binary", False
        fits_python = target.accepts_python(requires_python)
        if target.tag_rank(tags) is None:
            return f"no wheel for {target.description}", fits_python
    elif _listed(policy.only_binary, name):
        return "sdists excluded by --only-binary", False
    if not target.accepts_python(requires_python):
        needed = requires_python_of(requires_python)
        return f"requires Python {needed}, not {target.python_full_version}", False
    return None, False


def _rank(filename: str, url: str, kind: FileKind, tags: frozenset[Tag], target: Target) -> _Rank:
    """pip's order: wheels first, best tag first, then the highest build tag; URL for ties."""
    if kind is FileKind.WHEEL:
        rank = target.tag_rank(tags) or 0
        return (0, rank, _Descending(build_tag(filename)), url)
    return (1, 0, _Descending(()), url)


def build_tag(filename: str) -> tuple[int, str] | tuple[()]:
    """A wheel's PEP 427 build tag (``()`` when it has none or the name cannot be parsed)."""
    # Most wheels have none: five dash-separated parts. Only a sixth part is parsed.
    if filename.count("-") != 5:
        return ()
    try:
        return parse_wheel_filename(filename)[2]
    except InvalidWheelFilename:
        return ()


_INTERPRETER = re.compile(r"(?:cp|py|pp)(\d)(\d*)\Z")


def _closest_wheel(
    wheels: list[tuple[FileRecord, str, frozenset[Tag]]], target: Target
) -> DistFile | None:
    """The wheel whose metadata best stands for the target's: built for the newest Python not
    newer than the target's (old setup.py files computed dependencies per Python version, so a
    wheel for another major version, or only for newer Pythons, never stands in), then the
    highest build tag, then the file name, so the choice is deterministic."""
    wanted = (target.python_full_version.major, target.python_full_version.minor)
    ranked: list[tuple[tuple[int, _Descending, str], FileRecord, str]] = []
    for record, source, tags in wheels:
        pythons = [_python_of(tag) for tag in tags]
        fitting = [p for p in pythons if p is not None and p[0] == wanted[0] and p <= wanted]
        if fitting:
            filename = record[0]
            key = (-max(fitting)[1], _Descending(build_tag(filename)), filename)
            ranked.append((key, record, source))
    if not ranked:
        return None
    _key, record, source = min(ranked, key=lambda item: item[0])
    return dist_from_record(record, source)


def _python_of(tag: Tag) -> tuple[int, int] | None:
    match = _INTERPRETER.match(tag.interpreter)
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2) or 0))


def _listed(names: frozenset[str], name: NormalizedName) -> bool:
    if name in names:
        return True
    return ":all:" in names and f"-{name}" not in names


class _Descending:
    """Sorts its value highest first inside an ascending tuple key."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def exact_pins(specifiers: Iterable[SpecifierSet]) -> set[Version]:
    """The versions ``specifiers`` pin exactly (``==1.0``, no wildcard)."""
    pins: set[Version] = set()
    for spec_set in specifiers:
        for spec in spec_set:
            if spec.operator in ("==", "===") and "*" not in spec.version:
                try:
                    pins.add(Version(spec.version))
                except ValueError:
                    continue
    return pins
