"""Whether the environment a sync would make holds everything its packages need.

A lock missing a dependency (idna dropped from a requests lock) installs cleanly, since pinlock
installs with ``--no-deps``, and breaks at import time. Before anything changes, every member
of the environment-to-be (the lock's packages and the kept distributions) has its
``Requires-Dist`` checked, markers evaluated for the target with the extras asked of it: each
dependency must be a member, at a version its specifier admits. The requirements come from
core metadata read where it is without the network: installed distributions' ``METADATA``, the
verified wheels about to be installed, or (for ``--check``) the lock's wheels in the artifact
store. A member whose metadata is not at hand is left unchecked and named.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.errors import MissingDependencies

if TYPE_CHECKING:
    from pinlock.sync.environment import InstalledDist
    from pinlock.sync.plan import Step
    from pinlock.target import Target

__all__ = [
    "Member",
    "check_dependencies",
    "installed_requirements",
    "kept_members",
    "metadata_requirements",
    "project_requirements",
    "wheel_requirements",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Member:
    """One distribution of the environment-to-be; ``requires`` (its ``Requires-Dist`` values,
    as written) None when not known."""

    name: NormalizedName
    display_name: str
    version: Version | None
    requires: tuple[str, ...] | None
    where: str = ""  # the lock line that wants it, for messages


def check_dependencies(members: Iterable[Member], target: Target) -> tuple[str, ...]:
    """Raise ``MissingDependencies`` listing every unmet requirement; return the names of the
    members whose requirements could not be read (left unchecked)."""
    by_name = {member.name: member for member in members}
    unknown: list[str] = []
    problems: dict[tuple[str, str], str] = {}
    pending: list[tuple[NormalizedName, frozenset[str]]] = [(name, frozenset()) for name in by_name]
    seen: set[tuple[NormalizedName, frozenset[str]]] = set()
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        name, extras = key
        member = by_name[name]
        if member.requires is None:
            if not extras:
                unknown.append(member.display_name)
            continue
        for line in member.requires:
            if _only_for_other_extras(line, extras):
                continue
            requirement = _parsed(line)
            if requirement is None:
                unknown.append(member.display_name)
                continue
            if requirement.marker is not None and not target.evaluate(
                requirement.marker, sorted(extras)
            ):
                continue
            needed = canonicalize_name(requirement.name)
            found = by_name.get(needed)
            reason = _unmet(requirement, found)
            if reason is not None:
                who = f"{member.display_name} {member.version or ''}".strip()
                if member.where:
                    who += f" ({member.where})"
                spec = f"{requirement.name}{requirement.specifier}"
                if extras:
                    spec += f" (for extra {', '.join(sorted(extras))})"
                problems.setdefault((who, spec), reason)
                continue
            if requirement.extras:
                wanted = frozenset(canonicalize_name(extra) for extra in requirement.extras)
                pending.append((needed, wanted))
    if problems:
        raise MissingDependencies(
            [f"{who} needs {spec}{reason}" for (who, spec), reason in sorted(problems.items())]
        )
    return tuple(sorted(unknown))


def kept_members(steps: Sequence[Step]) -> list[Member]:
    """Members of the environment-to-be that stay as installed (``consistency``)."""
    members: list[Member] = []
    for step in steps:
        dist = step.installed
        if step.is_change or dist is None:
            continue
        where = str(step.wanted.origin) if step.wanted and step.wanted.origin else ""
        members.append(
            Member(
                name=dist.name,
                display_name=dist.display_name,
                version=dist.version,
                requires=installed_requirements(dist),
                where=where,
            )
        )
    return members


# ``extra == "name"`` in a marker; most Requires-Dist lines are for extras nobody asked for.
_EXTRA_CLAUSE = re.compile(r"""\bextra\s*==\s*(['"])([^'"]+)\1""")
_OR = re.compile(r"\bor\b")


def _only_for_other_extras(line: str, extras: frozenset[str]) -> bool:
    """Whether ``line``'s marker is an ``and`` of clauses, one of them ``extra == X`` for an X
    not in ``extras``: false whatever the target, known without parsing (which is slow)."""
    _, semicolon, marker = line.partition(";")
    if not semicolon or "extra" not in marker or _OR.search(marker):
        return False
    named = [canonicalize_name(match.group(2)) for match in _EXTRA_CLAUSE.finditer(marker)]
    return bool(named) and any(name not in extras for name in named)


@functools.lru_cache(maxsize=4096)
def _parsed(line: str) -> Requirement | None:
    try:
        return Requirement(line)
    except InvalidRequirement:
        return None


def _unmet(requirement: Requirement, found: Member | None) -> str | None:
    if found is None:
        return ", which no lock line provides"
    if requirement.url or found.version is None or not requirement.specifier:
        return None
    if requirement.specifier.contains(found.version, prereleases=True):
        return None
    return f", but the lock has {found.display_name} {found.version}"


def project_requirements(folder: Path) -> tuple[Version | None, tuple[str, ...] | None]:
    """Version and ``Requires-Dist`` of a local project (an editable) from its static
    ``[project]`` table; ``(None, None)`` when they are dynamic or unreadable."""
    from pinlock.errors import MetadataError
    from pinlock.pyproject import static_project_metadata

    try:
        metadata = static_project_metadata(folder)
    except MetadataError:
        return None, None
    if metadata is None:
        return None, None
    return metadata.version, tuple(str(requirement) for requirement in metadata.requires_dist)


def installed_requirements(dist: InstalledDist) -> tuple[str, ...] | None:
    """``Requires-Dist`` of an installed distribution (``requires.txt`` of an egg-info is not
    read: None)."""
    return metadata_requirements(dist.info_dir / "METADATA")


def metadata_requirements(metadata: Path) -> tuple[str, ...] | None:
    """``Requires-Dist`` of a ``METADATA`` file (an installed or unpacked wheel's); None if
    it cannot be read."""
    try:
        text = metadata.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _requirements(text)


def wheel_requirements(wheel: Path) -> tuple[str, ...] | None:
    """``Requires-Dist`` of a wheel, read from its ``*.dist-info/METADATA``; None if absent."""
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                top, _, rest = name.partition("/")
                if top.endswith(".dist-info") and rest == "METADATA":
                    return _requirements(archive.read(name).decode("utf-8", "replace"))
    except (OSError, zipfile.BadZipFile):
        return None
    return None


def _requirements(text: str) -> tuple[str, ...]:
    """The ``Requires-Dist`` headers of core metadata (headers end at the first blank line)."""
    found: list[str] = []
    value: str | None = None
    for line in [*text.split("\n\n", 1)[0].splitlines(), ""]:
        if value is not None and line[:1] in (" ", "\t"):
            value += " " + line.strip()  # a folded header line
            continue
        if value is not None:
            found.append(value)
            value = None
        key, colon, rest = line.partition(":")
        if colon and key.strip().lower() == "requires-dist":
            value = rest.strip()
    return tuple(found)
