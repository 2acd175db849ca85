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

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.errors import MissingDependencies

if TYPE_CHECKING:
    from pinlock.sync.environment import InstalledDist
    from pinlock.target import Target

__all__ = ["Member", "check_dependencies", "installed_requirements", "wheel_requirements"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Member:
    """One distribution of the environment-to-be; ``requires`` None when not known."""

    name: NormalizedName
    display_name: str
    version: Version | None
    requires: tuple[Requirement, ...] | None
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
        for requirement in member.requires:
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


def _unmet(requirement: Requirement, found: Member | None) -> str | None:
    if found is None:
        return ", which no lock line provides"
    if requirement.url or found.version is None or not requirement.specifier:
        return None
    if requirement.specifier.contains(found.version, prereleases=True):
        return None
    return f", but the lock has {found.display_name} {found.version}"


def installed_requirements(dist: InstalledDist) -> tuple[Requirement, ...] | None:
    """``Requires-Dist`` of an installed distribution (``requires.txt`` of an egg-info is not
    read: None)."""
    metadata = dist.info_dir / "METADATA"
    try:
        text = metadata.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _requirements(text)


def wheel_requirements(wheel: Path) -> tuple[Requirement, ...] | None:
    """``Requires-Dist`` of a wheel, read from its ``*.dist-info/METADATA``; None if absent."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                top, _, rest = name.partition("/")
                if top.endswith(".dist-info") and rest == "METADATA":
                    return _requirements(archive.read(name).decode("utf-8", "replace"))
    except (OSError, zipfile.BadZipFile):
        return None
    return None


def _requirements(text: str) -> tuple[Requirement, ...] | None:
    """The ``Requires-Dist`` headers of core metadata (headers end at the first blank line)."""
    found: list[Requirement] = []
    value: str | None = None
    for line in [*text.split("\n\n", 1)[0].splitlines(), ""]:
        if value is not None and line[:1] in (" ", "\t"):
            value += " " + line.strip()  # a folded header line
            continue
        if value is not None:
            try:
                found.append(Requirement(value))
            except InvalidRequirement:
                return None
            value = None
        key, colon, rest = line.partition(":")
        if colon and key.strip().lower() == "requires-dist":
            value = rest.strip()
    return tuple(found)
