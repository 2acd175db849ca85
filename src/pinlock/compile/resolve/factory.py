"""Builds and caches candidates for the provider, and remembers what it needs to explain a failure.

All the "which files and versions may this target use" policy lives here: wheel tags and
Requires-Python of the target, PEP 592 yanked files, PEP 440 pre-release rules, ``-c`` constraints,
``--only-binary``/``--no-binary``, GPU flavour builds, and the preference for already-pinned
versions. The provider stays a thin adapter to resolvelib.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.resolve.candidates import (
    AnyCandidate,
    Candidate,
    Constraint,
    ExplicitRequirement,
    PythonCandidate,
    PythonRequirement,
    Requirement,
    SpecifierRequirement,
    split_identifier,
)
from pinlock.coremetadata import CoreMetadata
from pinlock.errors import MetadataError
from pinlock.flavour import Flavour
from pinlock.index.models import DistFile
from pinlock.target import Target

__all__ = ["Factory", "FileSource", "MetadataSource", "ResolveOptions"]


class FileSource(Protocol):
    """Where the files of a project come from (``pinlock.index.finder.PackageFinder``)."""

    def find(self, name: NormalizedName) -> tuple[DistFile, ...]: ...

    def prefetch(self, names: Iterable[NormalizedName]) -> None: ...


class MetadataSource(Protocol):
    """Where core metadata comes from (``pinlock.compile.metadata.MetadataFetcher``)."""

    def fetch(self, dist: DistFile) -> CoreMetadata: ...

    def for_source_tree(self, path: Path) -> CoreMetadata: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolveOptions:
    """Policy for one resolution.

    ``prefer`` holds versions pinned by the existing lock: tried first while they still fit.
    ``only_binary``/``no_binary`` hold canonical names or ``:all:``.
    ``prefer_binary`` (pip's ``--prefer-binary``): every version with a usable wheel is tried
    before any version with only an sdist, newest first within each group.
    """

    target: Target
    pre: bool = False
    prefer: Mapping[NormalizedName, Version] = field(default_factory=dict)
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    flavour: Flavour | None = None
    prefer_binary: bool = False


@dataclass(frozen=True, slots=True)
class _Versions:
    """The usable files of each version of a project, and why other files were set aside."""

    usable: Mapping[Version, tuple[DistFile, ...]]
    yanked_only: Mapping[Version, tuple[DistFile, ...]]
    rejected: Mapping[str, set[Version]]


class Factory:
    """Candidates and dependencies for the provider, memoized; thread-safe where prefetch needs."""

    def __init__(
        self,
        *,
        files: FileSource,
        metadata: MetadataSource,
        options: ResolveOptions,
        constraints: Mapping[NormalizedName, Sequence[Constraint]] | None = None,
    ) -> None:
        self.files = files
        self.metadata = metadata
        self.options = options
        self.target = options.target
        self.constraints = dict(constraints or {})
        self.python = PythonCandidate(
            version=self.target.python_full_version, description=self.target.description
        )
        self._versions: dict[NormalizedName, _Versions] = {}
        self._lock = threading.Lock()
        self._dependencies: dict[Candidate, tuple[Requirement, ...]] = {}
        self._admitted: dict[int, tuple[SpecifierSet, dict[Version, bool]]] = {}
        # name -> the candidates (or None for the input files) that asked for it: explains chains.
        self.required_by: dict[NormalizedName, set[Candidate | None]] = defaultdict(set)
        # Direct references given in the inputs (URLs, paths, editables), by name.
        self.explicit: dict[NormalizedName, Candidate] = {}

    # -- versions and files -------------------------------------------------------------------

    def versions(self, name: NormalizedName) -> _Versions:
        """Every version of ``name`` with files the target can use, sorted newest first."""
        with self._lock:
            known = self._versions.get(name)
        if known is not None:
            return known
        usable: dict[Version, list[tuple[tuple[int, int], DistFile]]] = defaultdict(list)
        yanked: dict[Version, list[tuple[tuple[int, int], DistFile]]] = defaultdict(list)
        rejected: dict[str, set[Version]] = defaultdict(set)
        for dist in self.files.find(name):
            reason = self._unusable_reason(dist)
            if reason is not None:
                rejected[reason].add(dist.version)
                continue
            rank = self._file_rank(dist)
            (yanked if dist.yanked else usable)[dist.version].append((rank, dist))
        result = _Versions(
            usable={v: _by_rank(fs) for v, fs in sorted(usable.items(), reverse=True)},
            yanked_only={
                v: _by_rank(fs) for v, fs in sorted(yanked.items(), reverse=True) if v not in usable
            },
            rejected=dict(rejected),
        )
        with self._lock:
            self._versions[name] = result
        return result

    def _unusable_reason(self, dist: DistFile) -> str | None:
        flavour = self.options.flavour
        if flavour is not None and flavour.owns(dist.name) and not flavour.accepts(dist.version):
            return f"not a {flavour.name} build"
        if dist.is_wheel:
            if _listed(self.options.no_binary, dist.name):
                return "wheels excluded by --no-binary"
            if self.target.tag_rank(dist.wheel_tags) is None:
                return f"no wheel for {self.target.description}"
        elif _listed(self.options.only_binary, dist.name):
            return "sdists excluded by --only-binary"
        if not self.target.accepts_python(dist.requires_python):
            return f"requires a Python other than {self.target.python_full_version}"
        return None

    def _file_rank(self, dist: DistFile) -> tuple[int, int]:
        if dist.is_wheel:
            return (0, self.target.tag_rank(dist.wheel_tags) or 0)
        return (1, 0)

    def admits(self, specifier: SpecifierSet, version: Version) -> bool:
        """Whether ``specifier`` admits ``version``, pre-releases included (callers decide those).

        Memoized by the specifier's identity: resolvelib re-checks every pin against every
        requirement each round, and hashing a SpecifierSet costs more than the check itself.
        """
        entry = self._admitted.get(id(specifier))
        if entry is None or entry[0] is not specifier:
            entry = self._admitted[id(specifier)] = (specifier, {})
        known = entry[1].get(version)
        if known is None:
            known = entry[1][version] = specifier.contains(version, prereleases=True)
        return known

    # -- matches ------------------------------------------------------------------------------

    def find_matches(
        self,
        identifier: str,
        requirements: Sequence[Requirement],
        incompatible: set[AnyCandidate],
    ) -> list[AnyCandidate]:
        if identifier == self.python.identifier:
            # The one candidate, unless a Requires-Python rules it out: resolvelib must see no
            # match (and backtrack), never a candidate that fails its own requirements.
            python = self.python
            if python in incompatible or not all(
                self.is_satisfied_by(r, python) for r in requirements
            ):
                return []
            return [python]
        name, extras = split_identifier(identifier)
        explicit = [r.candidate for r in requirements if isinstance(r, ExplicitRequirement)]
        explicit_base = self.explicit.get(name)
        if not explicit and explicit_base is not None:
            explicit = [explicit_base]
        if explicit:
            # A direct reference is the only candidate its name can have.
            found: list[AnyCandidate] = []
            for candidate in explicit:
                match = candidate.with_extras(extras)
                if match not in incompatible and all(
                    self.is_satisfied_by(r, match) for r in requirements
                ):
                    found.append(match)
            return found[:1]
        specifiers = [r.specifier for r in requirements if isinstance(r, SpecifierRequirement)]
        specifiers += [c.specifier for c in self.constraints.get(name, ())]
        allow_pre = self.options.pre or any(s.prereleases for s in specifiers if str(s))
        versions = self.versions(name)
        table = dict(versions.usable)
        pinned = _exact_pins(specifiers)
        for version in pinned:
            # PEP 592: a yanked file is used only when the version is pinned exactly.
            if version in versions.yanked_only:
                table[version] = versions.yanked_only[version]
        allowed = [v for v in table if all(self.admits(s, v) for s in specifiers)]
        finals = [v for v in allowed if not v.is_prerelease]
        if not allow_pre and finals:
            allowed = finals
        preferred = self.options.prefer.get(name)
        prefer_binary = self.options.prefer_binary
        allowed.sort(
            key=lambda v: (
                v != preferred,
                prefer_binary and not any(f.is_wheel for f in table[v]),
                _ReverseVersion(v),
            )
        )
        matches: list[AnyCandidate] = []
        for version in allowed:
            candidate = Candidate(name=name, version=version, extras=extras, files=table[version])
            if candidate not in incompatible:
                matches.append(candidate)
        return matches

    def is_satisfied_by(self, requirement: Requirement, candidate: AnyCandidate) -> bool:
        if isinstance(requirement, PythonRequirement):
            return isinstance(candidate, PythonCandidate) and self.admits(
                requirement.specifier, candidate.version
            )
        if not isinstance(candidate, Candidate):
            return False
        if isinstance(requirement, ExplicitRequirement):
            wanted = requirement.candidate
            return (wanted.name, wanted.version, wanted.link) == (
                candidate.name,
                candidate.version,
                candidate.link,
            )
        if candidate.link is not None and not str(requirement.specifier):
            return True
        return self.admits(requirement.specifier, candidate.version)

    # -- dependencies -------------------------------------------------------------------------

    def dependencies(self, candidate: AnyCandidate) -> tuple[Requirement, ...]:
        if isinstance(candidate, PythonCandidate):
            return ()
        known = self._dependencies.get(candidate)
        if known is not None:
            return known
        meta = self.metadata_for(candidate)
        deps: list[Requirement] = []
        if candidate.extras:
            base = candidate.base
            deps.append(ExplicitRequirement(candidate=base, text=f"{base.name}=={base.version}"))
        elif meta.requires_python is not None and str(meta.requires_python):
            deps.append(PythonRequirement(specifier=meta.requires_python))
        for req in meta.requires_dist:
            if not self._applies(req, candidate.extras):
                continue
            if req.url:
                deps.append(self.direct_requirement(req, required_by=candidate))
            else:
                deps.append(from_packaging(req))
        for dep in deps:
            if not isinstance(dep, PythonRequirement):
                self.required_by[split_identifier(dep.identifier)[0]].add(candidate.base)
        result = tuple(deps)
        self._dependencies[candidate] = result
        return result

    def _applies(self, req: PackagingRequirement, extras: frozenset[NormalizedName]) -> bool:
        if req.marker is None:
            return not extras
        if extras:
            # An extras candidate adds only what its extras bring; the base carries the rest.
            return self.target.evaluate(req.marker, extras) and not self.target.evaluate(
                req.marker, ()
            )
        return self.target.evaluate(req.marker, ())

    def metadata_for(self, candidate: Candidate) -> CoreMetadata:
        if candidate.source_dir is not None:
            meta = self.metadata.for_source_tree(Path(candidate.source_dir))
        elif candidate.files:
            meta = self.metadata.fetch(candidate.files[0])
        else:
            raise MetadataError(str(candidate), "no file to read metadata from")
        if meta.name != candidate.name or (
            candidate.link is None and meta.version != candidate.version
        ):
            raise MetadataError(
                str(candidate),
                f"its metadata says {meta.display_name} {meta.version}",
            )
        return meta

    def direct_requirement(
        self, req: PackagingRequirement, *, required_by: Candidate | None = None
    ) -> ExplicitRequirement:
        """A dependency's ``name @ URL``, allowed when an input gives that name one too."""
        name = canonicalize_name(req.name)
        known = self.explicit.get(name)
        if known is None:
            raise MetadataError(
                req.name if required_by is None else str(required_by),
                f"its dependency {req.name} @ {req.url} is a direct reference, which pinlock "
                f"accepts only when an input file names {req.name} by URL or path as well",
            )
        return ExplicitRequirement(candidate=known.base, text=str(req))


def from_packaging(req: PackagingRequirement) -> SpecifierRequirement:
    """A resolver requirement from a parsed PEP 508 requirement (markers already evaluated)."""
    text = f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}"
    return SpecifierRequirement(
        name=canonicalize_name(req.name),
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        specifier=req.specifier,
        text=f"{text}{req.specifier}",
    )


def _by_rank(files: list[tuple[tuple[int, int], DistFile]]) -> tuple[DistFile, ...]:
    return tuple(dist for _rank, dist in sorted(files, key=lambda item: (item[0], item[1].url)))


def _listed(names: frozenset[str], name: NormalizedName) -> bool:
    if name in names:
        return True
    return ":all:" in names and f"-{name}" not in names


def _exact_pins(specifiers: Iterable[SpecifierSet]) -> set[Version]:
    pins: set[Version] = set()
    for spec_set in specifiers:
        for spec in spec_set:
            if spec.operator in ("==", "===") and "*" not in spec.version:
                try:
                    pins.add(Version(spec.version))
                except ValueError:
                    continue
    return pins


class _ReverseVersion:
    """Sorts versions newest first inside a tuple key."""

    __slots__ = ("version",)

    def __init__(self, version: Version) -> None:
        self.version = version

    def __lt__(self, other: _ReverseVersion) -> bool:
        return self.version > other.version
