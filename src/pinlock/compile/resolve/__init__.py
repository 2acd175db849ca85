"""Dependency resolution for one target (and flavour) on resolvelib.

``resolve()`` takes the parsed input lines, resolves them with the factory/provider pair and
returns the pinned set with the annotations a lock needs (who asked for each package), and what
a user may want to know about how it was found: the versions set aside because their metadata
could not be had, where each pin's metadata came from, the output of every build, the rounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import resolvelib
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.resolve.candidates import (
    AnyCandidate,
    Candidate,
    Constraint,
    ExplicitRequirement,
    MetadataOrigin,
    Requirement,
    SpecifierRequirement,
    split_identifier,
)
from pinlock.compile.resolve.explain import explain_conflict, explain_set_aside, set_aside_note
from pinlock.compile.resolve.factory import Factory, ResolveOptions
from pinlock.compile.resolve.factory import from_packaging as _from_packaging
from pinlock.compile.resolve.prefetch import Prefetcher
from pinlock.compile.resolve.provider import Provider
from pinlock.compile.resolve.sources import FileSource, MetadataSource
from pinlock.errors import BuildError, ReqFileError, ResolutionImpossible
from pinlock.index.models import DistFile, parse_dist_filename
from pinlock.progress import BACKTRACKS, RESOLVING, Progress
from pinlock.reqfile import ReqLine
from pinlock.urls import local_path, url_filename

__all__ = [
    "BuildLog",
    "Constraint",
    "FileSource",
    "MetadataOrigin",
    "MetadataSource",
    "Resolution",
    "ResolveOptions",
    "ResolvedPackage",
    "resolve",
]

_MAX_ROUNDS = 20_000


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedPackage:
    """One pinned package; ``files`` are those of its version usable on the target, best first."""

    name: NormalizedName
    display_name: str
    version: Version
    files: tuple[DistFile, ...]
    via: tuple[str, ...]
    link: str | None = None
    editable: bool = False
    metadata_origin: MetadataOrigin = MetadataOrigin.WHEEL
    metadata_file: DistFile | None = None
    # Every file of the version, for whatever it runs on, when the resolver kept them (see
    # ``ProjectVersions.every_file``); None: ask the index's listing.
    every_file: tuple[DistFile, ...] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildLog:
    """What a PEP 517 backend printed while preparing metadata here: shown to a user on
    failure or on request (``-v``), never on the terminal as it happens."""

    what: str
    output: str
    failed: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    """The pins, and how they were found.

    ``set_aside`` holds one line per version skipped because its metadata could not be had;
    ``rounds`` is the number of resolver rounds (one pin or one backtrack each).
    """

    packages: tuple[ResolvedPackage, ...]
    rounds: int = 0
    set_aside: tuple[str, ...] = ()
    build_logs: tuple[BuildLog, ...] = ()

    def by_name(self) -> dict[NormalizedName, ResolvedPackage]:
        return {p.name: p for p in self.packages}


class _RoundCounter(resolvelib.BaseReporter[Requirement, AnyCandidate, str]):
    def __init__(self) -> None:
        self.rounds = 0

    def starting_round(self, index: int) -> None:
        self.rounds = index + 1


class _Watched(_RoundCounter):
    """The round counter that also tells ``progress`` what is pinned, and each backtrack; used
    only when someone watches, so a plain resolution does no work for it."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress
        self._pinned = 0

    def pinning(self, candidate: AnyCandidate) -> None:
        if isinstance(candidate, Candidate):
            self._progress.advance(RESOLVING, 0, item=candidate.name)

    def ending_round(self, index: int, state: Any) -> None:
        pinned = sum(1 for pin in state.mapping.values() if isinstance(pin, Candidate))
        if pinned != self._pinned:
            self._progress.advance(RESOLVING, pinned - self._pinned)
            self._pinned = pinned

    def ending(self, state: Any) -> None:
        self.ending_round(self.rounds, state)

    def resolving_conflicts(self, causes: Any) -> None:
        self._progress.tally(RESOLVING, BACKTRACKS)


def resolve(
    requirements: Sequence[ReqLine],
    *,
    files: FileSource,
    metadata: MetadataSource,
    options: ResolveOptions,
    constraints: Sequence[Constraint] = (),
    progress: Progress | None = None,
) -> Resolution:
    """Pin every package the inputs need on ``options.target``; ``progress`` hears of each pin
    and backtrack (``RESOLVING``).

    Raises ``ResolutionImpossible`` with an explanation of the clash, or the error of whatever
    could not be fetched or read.
    """
    target = options.target
    limits: dict[NormalizedName, list[Constraint]] = defaultdict(list)
    for constraint in constraints:
        limits[constraint.name].append(constraint)
    factory = Factory(files=files, metadata=metadata, options=options, constraints=limits)

    roots: list[Requirement] = []
    root_labels: dict[NormalizedName, list[str]] = defaultdict(list)
    # Which input lines wrote each root requirement: a conflict names those lines only, not
    # every line that mentions the same project.
    root_lines: dict[Requirement, list[str]] = defaultdict(list)
    for line in requirements:
        req = line.requirement
        marker, extras = (req.marker, req.extras) if req is not None else (line.marker, line.extras)
        if not target.evaluate(marker, extras):
            continue
        root: Requirement
        if line.link is not None:
            root = _direct_root(line, factory)
        elif req is not None:
            root = _from_packaging(req)
        else:  # pragma: no cover - reqfile gives every non-link line a requirement
            raise ReqFileError(line.origin.path, line.origin.line, line.text, "no requirement")
        name = split_identifier(root.identifier)[0]
        if line.via not in root_labels[name]:
            root_labels[name].append(line.via)
        if line.via not in root_lines[root]:
            root_lines[root].append(line.via)
        factory.required_by[name].add(None)
        roots.append(root)

    prefetcher = Prefetcher(factory)
    prefetcher.submit(line.requirement for line in requirements if line.requirement is not None)
    # A re-compile knows most names from the existing lock: ask for all their pages at once.
    files.prefetch([*root_labels, *options.prefer])
    input_order = {root.identifier: index for index, root in reversed(list(enumerate(roots)))}
    counter = _RoundCounter() if progress is None else _Watched(progress)
    resolver: resolvelib.Resolver[Requirement, AnyCandidate, str] = resolvelib.Resolver(
        Provider(factory, input_order=input_order), counter
    )
    try:
        result = resolver.resolve(_hopeless_first(roots, factory), max_rounds=_MAX_ROUNDS)
    except resolvelib.ResolutionImpossible as exc:
        explanation = explain_conflict(exc.causes, factory, root_labels, root_lines=root_lines)
        raise _impossible(explanation, factory, counter.rounds) from None
    except resolvelib.ResolutionTooDeep:
        explanation = (
            f"gave up after {_MAX_ROUNDS} resolution rounds for {target.description}: "
            "the requirements leave too many combinations to try; pin some packages more tightly"
        ) + explain_set_aside(factory)
        raise _impossible(explanation, factory, counter.rounds) from None
    finally:
        prefetcher.close()
    return _collect(result, factory, root_labels, limits, rounds=counter.rounds)


def _hopeless_first(roots: list[Requirement], factory: Factory) -> list[Requirement]:
    """The roots, those no listed version can meet first: resolvelib reads the metadata of each
    root's first candidate as it adds the root, so a run bound to fail fails before that."""
    hopeless = [
        r for r in roots if isinstance(r, SpecifierRequirement) and not factory.can_match(r)
    ]
    return hopeless + [r for r in roots if r not in hopeless]


def _impossible(explanation: str, factory: Factory, rounds: int) -> ResolutionImpossible:
    """The error, listing the versions set aside on the way and carrying their build output."""
    output = "".join(f"--- {log.what}\n{log.output}" for log in _failed_builds(factory))
    return ResolutionImpossible(explanation, rounds=rounds, build_output=output)


def _failed_builds(factory: Factory) -> list[BuildLog]:
    return [
        BuildLog(what=error.what, output=error.output, failed=True)
        for error in factory.set_aside.values()
        if isinstance(error, BuildError)
    ]


def _direct_root(line: ReqLine, factory: Factory) -> ExplicitRequirement:
    """A URL, path or editable input as the one candidate its project may have."""
    assert line.link is not None
    link = line.link
    local = local_path(link)
    if local is not None and local.is_dir():
        meta = factory.metadata.for_source_tree(local)
        candidate = Candidate(
            name=meta.name,
            version=meta.version,
            link=str(local) if line.editable else local.as_uri(),
            editable=line.editable,
            source_dir=str(local),
        )
    else:
        url = local.as_uri() if local is not None else link.split("#", 1)[0]
        filename = url_filename(url)
        parsed = parse_dist_filename(filename)
        if parsed is None:
            raise ReqFileError(
                line.origin.path,
                line.origin.line,
                line.text,
                "a direct reference must point at a project folder, a wheel or an sdist",
            )
        name, version, kind, tags = parsed
        dist = DistFile(
            name=name,
            version=version,
            filename=filename,
            url=url,
            kind=kind,
            source=url,
            wheel_tags=tags,
        )
        candidate = Candidate(name=name, version=version, files=(dist,), link=url)
    if line.requirement is not None and canonicalize_name(line.requirement.name) != candidate.name:
        raise ReqFileError(
            line.origin.path,
            line.origin.line,
            line.text,
            f"the reference is {candidate.name}, not {line.requirement.name}",
        )
    factory.explicit[candidate.name] = candidate
    extras = line.requirement.extras if line.requirement is not None else line.extras
    wanted = candidate.with_extras(frozenset(canonicalize_name(e) for e in extras))
    return ExplicitRequirement(candidate=wanted, text=line.text)


def _collect(
    result: resolvelib.resolvers.Result[Requirement, AnyCandidate, str],
    factory: Factory,
    root_labels: Mapping[NormalizedName, Sequence[str]],
    limits: Mapping[NormalizedName, Sequence[Constraint]],
    *,
    rounds: int,
) -> Resolution:
    via: dict[NormalizedName, set[str]] = defaultdict(set)
    chosen: dict[NormalizedName, Candidate] = {}
    for identifier, candidate in result.mapping.items():
        if not isinstance(candidate, Candidate):
            continue
        name = candidate.name
        chosen.setdefault(name, candidate.base)
        for parent in result.graph.iter_parents(identifier):
            if parent is None:
                continue
            parent_name = split_identifier(parent)[0]
            if parent_name != name and parent in result.mapping:
                via[name].add(parent_name)
    packages = []
    builds = _failed_builds(factory)
    for name, candidate in sorted(chosen.items()):
        labels = set(via[name]) | set(root_labels.get(name, ()))
        labels |= {c.label for c in limits.get(name, ()) if c.annotate}
        meta = factory.metadata_for(candidate)
        origin, source = _metadata_origin(candidate, factory)
        if origin is MetadataOrigin.BUILT and source is not None:
            output = factory.metadata.build_output(source) or ""
            builds.append(BuildLog(what=source.filename, output=output, failed=False))
        packages.append(
            ResolvedPackage(
                name=name,
                display_name=meta.display_name,
                version=candidate.version,
                files=candidate.files,
                via=tuple(sorted(labels, key=str.lower)),
                link=candidate.link,
                editable=candidate.editable,
                metadata_origin=origin,
                metadata_file=source,
                every_file=None
                if candidate.link is not None
                else factory.versions(name).every_file(candidate.version),
            )
        )
    return Resolution(
        packages=tuple(packages),
        rounds=rounds,
        set_aside=tuple(set_aside_note(c, e) for c, e in factory.set_aside.items()),
        build_logs=tuple(builds),
    )


def _metadata_origin(
    candidate: Candidate, factory: Factory
) -> tuple[MetadataOrigin, DistFile | None]:
    if candidate.source_dir is not None:
        return MetadataOrigin.SOURCE, None
    source = candidate.metadata_file or (candidate.files[0] if candidate.files else None)
    if source is None:  # pragma: no cover - metadata_for has failed for such a candidate
        return MetadataOrigin.SOURCE, None
    if source.is_wheel:
        fits = source in candidate.files
        return (MetadataOrigin.WHEEL if fits else MetadataOrigin.OTHER_WHEEL), source
    if factory.metadata.build_output(source) is not None:
        return MetadataOrigin.BUILT, source
    return MetadataOrigin.SDIST, source
