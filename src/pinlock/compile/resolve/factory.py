"""Builds and caches candidates for the provider, and remembers what it needs to explain a failure.

The "which versions may this target use" policy lives here (with the per-file rules in
``versions``): PEP 592 yanked files, PEP 440 pre-release rules, ``-c`` constraints and the
preference for already-pinned versions. A candidate whose metadata cannot be had (its build
fails, its metadata is invalid or names another project, its file is corrupt) is set aside with
a note, as pip does, and the next version is tried. The provider stays a thin adapter to
resolvelib.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.resolve.admissions import Admissions
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
from pinlock.compile.resolve.sources import FileSource, MetadataSource
from pinlock.compile.resolve.versions import (
    FilePolicy,
    ProjectVersions,
    exact_pins,
    project_versions,
)
from pinlock.coremetadata import CoreMetadata
from pinlock.errors import BuildError, MetadataError
from pinlock.flavour import Flavour
from pinlock.target import Target

__all__ = ["Factory", "ResolveOptions"]


# What makes a candidate's metadata impossible to have. A network failure is not among them:
# it says nothing about the candidate, and ends the run. Nor is a file whose bytes disagree with
# the digest the index states: as in pip, that ends the run (the index, or the way to it, cannot
# be trusted).
UNREADABLE_METADATA = (BuildError, MetadataError)


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
        self._policy = FilePolicy(
            target=self.target,
            only_binary=options.only_binary,
            no_binary=options.no_binary,
            flavour=options.flavour,
        )
        self._versions: dict[NormalizedName, ProjectVersions] = {}
        self._lock = threading.Lock()
        self._dependencies: dict[Candidate, tuple[Requirement, ...]] = {}
        self._made: dict[tuple[NormalizedName, frozenset[NormalizedName], Version], Candidate] = {}
        self._admissions = Admissions()
        # name -> the candidates (or None for the input files) that asked for it: explains chains.
        self.required_by: dict[NormalizedName, set[Candidate | None]] = defaultdict(set)
        # Direct references given in the inputs (URLs, paths, editables), by name.
        self.explicit: dict[NormalizedName, Candidate] = {}
        # Versions set aside because their metadata cannot be had, with the error that said so.
        self.set_aside: dict[Candidate, Exception] = {}
        # Versions left out by forward checking: the dependency that could not be met, and the
        # requirements of others it clashed with (the latest such clash of each version).
        self.clashes: dict[Candidate, tuple[Requirement, tuple[Requirement, ...]]] = {}
        self._in_force: Mapping[str, Iterable[Requirement]] = {}

    # -- versions and files -------------------------------------------------------------------

    def versions(self, name: NormalizedName) -> ProjectVersions:
        """Every version of ``name`` with files the target can use, sorted newest first."""
        with self._lock:
            known = self._versions.get(name)
        if known is not None:
            return known
        result = project_versions(self.files.listing(name), self._policy)
        with self._lock:
            self._versions[name] = result
        return result

    def admits(self, specifier: SpecifierSet, version: Version) -> bool:
        """Whether ``specifier`` admits ``version``, pre-releases included (see Admissions)."""
        return self._admissions.admits(specifier, version)

    # -- matches ------------------------------------------------------------------------------

    def find_matches(
        self,
        identifier: str,
        requirements: Sequence[Requirement],
        incompatible: set[AnyCandidate],
        *,
        others: Mapping[str, Iterable[Requirement]] | None = None,
    ) -> list[AnyCandidate] | Callable[[], Iterator[AnyCandidate]]:
        """The candidates for ``identifier``, best first.

        Index candidates come lazily: each one's metadata is read as resolvelib reaches it, and
        one whose metadata cannot be had is set aside and skipped (pip's behaviour), so a
        broken old release never ends a resolution that a newer or older one can finish.

        ``others`` are the requirements already on every other project (resolvelib's criteria).
        A candidate one of whose dependencies no version can meet together with them is left
        out (forward checking): resolvelib would reject it anyway, but only when pinning it,
        and then it blames the dependency's other requirers instead of whoever asked for this
        project, and backtracks to the wrong place. Candidates are checked when reached against
        the latest criteria resolvelib has shown (what it would check them against itself);
        holding each call's own would keep every past state alive.
        """
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
        allowed = self._allowed_versions(name, requirements)
        if others is not None:
            self._in_force = others

        def readable() -> Iterator[AnyCandidate]:
            return (
                candidate
                for candidate in self._candidates(name, extras, allowed, incompatible)
                if self._readable(candidate) and self._fits(candidate, self._in_force)
            )

        return readable

    def can_match(self, requirement: SpecifierRequirement) -> bool:
        """Whether any version the index lists could meet ``requirement`` (its metadata unread)."""
        name, extras = split_identifier(requirement.identifier)
        if name in self.explicit:
            return True
        allowed = self._allowed_versions(name, [requirement])
        return next(self._candidates(name, extras, allowed, set()), None) is not None

    def _allowed_versions(
        self, name: NormalizedName, requirements: Sequence[Requirement]
    ) -> list[Version]:
        """The listed versions that meet ``requirements`` and the constraints, best first."""
        specifiers = [r.specifier for r in requirements if isinstance(r, SpecifierRequirement)]
        specifiers += [c.specifier for c in self.constraints.get(name, ())]
        allow_pre = self.options.pre or any(s.prereleases for s in specifiers if len(s))
        versions = self.versions(name)
        # Newest first, as ``versions`` sorts them; a yanked version pinned exactly joins them.
        allowed = list(versions.usable)
        pinned = [v for v in exact_pins(specifiers) if v in versions.yanked_only]
        if pinned:
            # PEP 592: a yanked file is used only when the version is pinned exactly.
            allowed = sorted([*allowed, *pinned], reverse=True)
        for specifier in specifiers:
            if len(specifier):
                admitted = self._admissions.listed(name, specifier, versions)
                allowed = [v for v in allowed if v in admitted]
        if not allow_pre:
            finals = [v for v in allowed if not v.is_prerelease]
            if finals:
                allowed = finals
        preferred = self.options.prefer.get(name)
        if self.options.prefer_binary:
            usable = versions.usable
            allowed.sort(  # stable: newest first within each group
                key=lambda v: (
                    v != preferred,
                    not any(f.is_wheel for f in usable.get(v, versions.yanked_only.get(v, ()))),
                )
            )
        elif preferred is not None and preferred in allowed:
            allowed.remove(preferred)
            allowed.insert(0, preferred)
        return allowed

    def _candidates(
        self,
        name: NormalizedName,
        extras: frozenset[NormalizedName],
        allowed: list[Version],
        incompatible: set[AnyCandidate],
    ) -> Iterator[Candidate]:
        """The candidates of ``allowed`` versions, made as the resolver reaches them (most
        resolutions look at one or two versions of a project that lists hundreds)."""
        versions = self.versions(name)
        made = self._made
        for version in allowed:
            key = (name, extras, version)
            candidate = made.get(key)
            if candidate is None:
                files = versions.usable.get(version) or versions.yanked_only[version]
                candidate = made[key] = Candidate(
                    name=name,
                    version=version,
                    extras=extras,
                    files=files,
                    metadata_file=versions.metadata_file(version, files),
                )
            if candidate not in incompatible and candidate.base not in self.set_aside:
                yield candidate

    def _readable(self, candidate: Candidate) -> bool:
        """Whether ``candidate``'s dependencies can be read; if not it is set aside for good."""
        base = candidate.base
        if base in self.set_aside:
            return False
        try:
            self.dependencies(candidate)
            self.dependencies(base)  # an extras candidate brings its base's (see _fits)
        except UNREADABLE_METADATA as error:
            self.set_aside[base] = error
            return False
        return True

    def _fits(self, candidate: Candidate, others: Mapping[str, Iterable[Requirement]]) -> bool:
        """Whether every dependency of ``candidate`` can still be met with the requirements
        other projects already put on it (``others``); if not, ``clashes`` says why.

        An extras candidate brings its base's dependencies too (through the base at the same
        version): they are checked with its own, or an extra would be chosen at a version whose
        base cannot be, and the clash found only later and blamed on someone else.
        """
        deps = self.dependencies(candidate)
        if candidate.extras:
            deps += self.dependencies(candidate.base)
        for dep in deps:
            if isinstance(dep, PythonRequirement):
                if not self.admits(dep.specifier, self.python.version):
                    self.clashes[candidate.base] = (dep, ())
                    return False
                continue
            if not isinstance(dep, SpecifierRequirement):
                continue
            against: list[Requirement] = []
            for identifier in dict.fromkeys((dep.identifier, dep.name)):
                if identifier in others:
                    against.extend(
                        other
                        for other in others[identifier]
                        if not isinstance(other, SpecifierRequirement)
                        or other.required_by is None
                        or other.required_by.name != candidate.name
                    )
            if against and not self._satisfiable(dep, against):
                self.clashes[candidate.base] = (dep, tuple(against))
                return False
        return True

    def _satisfiable(self, dep: SpecifierRequirement, against: Sequence[Requirement]) -> bool:
        """Whether some version of ``dep``'s project (pre-releases and yanked ones included:
        this only rules out what can never be chosen) meets ``dep``, ``against`` and the
        constraints at once."""
        explicit = [r.candidate for r in against if isinstance(r, ExplicitRequirement)]
        if explicit or dep.name in self.explicit:
            wanted = explicit or [self.explicit[dep.name]]
            return all(self.is_satisfied_by(dep, c) for c in wanted)
        specifiers = [dep.specifier]
        specifiers += [r.specifier for r in against if isinstance(r, SpecifierRequirement)]
        specifiers += [c.specifier for c in self.constraints.get(dep.name, ())]
        versions = self.versions(dep.name)
        admitted = sorted(
            (self._admissions.listed(dep.name, s, versions) for s in specifiers), key=len
        )
        return any(all(v in other for other in admitted[1:]) for v in admitted[0])

    def is_satisfied_by(self, requirement: Requirement, candidate: AnyCandidate) -> bool:
        # resolvelib asks this for every pin and every requirement on it, every round.
        if type(requirement) is SpecifierRequirement and type(candidate) is Candidate:
            if candidate.link is None or str(requirement.specifier):
                return self.admits(requirement.specifier, candidate.version)
            return True
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
                deps.append(from_packaging(req, required_by=candidate))
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
        elif candidate.metadata_file is not None:
            meta = self.metadata.fetch(candidate.metadata_file)
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


def from_packaging(
    req: PackagingRequirement, *, required_by: Candidate | None = None
) -> SpecifierRequirement:
    """A resolver requirement from a parsed PEP 508 requirement (markers already evaluated)."""
    text = f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}"
    return SpecifierRequirement(
        name=canonicalize_name(req.name),
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        specifier=req.specifier,
        text=f"{text}{req.specifier}",
        required_by=required_by,
    )
