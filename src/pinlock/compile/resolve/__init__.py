"""Dependency resolution for one target (and flavour) on resolvelib.

``resolve()`` takes the parsed input lines, resolves them with the factory/provider pair and
returns the pinned set with the annotations a lock needs (who asked for each package).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import resolvelib
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.resolve.candidates import (
    AnyCandidate,
    Candidate,
    Constraint,
    ExplicitRequirement,
    Requirement,
    split_identifier,
)
from pinlock.compile.resolve.explain import explain_conflict
from pinlock.compile.resolve.factory import Factory, FileSource, MetadataSource, ResolveOptions
from pinlock.compile.resolve.factory import from_packaging as _from_packaging
from pinlock.compile.resolve.prefetch import Prefetcher
from pinlock.compile.resolve.provider import Provider
from pinlock.errors import ReqFileError, ResolutionImpossible
from pinlock.index.models import DistFile, parse_dist_filename
from pinlock.reqfile import ReqLine
from pinlock.urls import local_path, url_filename

__all__ = [
    "Constraint",
    "FileSource",
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    packages: tuple[ResolvedPackage, ...]

    def by_name(self) -> dict[NormalizedName, ResolvedPackage]:
        return {p.name: p for p in self.packages}


def resolve(
    requirements: Sequence[ReqLine],
    *,
    files: FileSource,
    metadata: MetadataSource,
    options: ResolveOptions,
    constraints: Sequence[Constraint] = (),
) -> Resolution:
    """Pin every package the inputs need on ``options.target``.

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
    resolver: resolvelib.Resolver[Requirement, AnyCandidate, str] = resolvelib.Resolver(
        Provider(factory), resolvelib.BaseReporter()
    )
    try:
        result = resolver.resolve(roots, max_rounds=_MAX_ROUNDS)
    except resolvelib.ResolutionImpossible as exc:
        raise ResolutionImpossible(
            explain_conflict(exc.causes, factory, root_labels, root_lines=root_lines)
        ) from None
    except resolvelib.ResolutionTooDeep:
        raise ResolutionImpossible(
            f"gave up after {_MAX_ROUNDS} resolution rounds for {target.description}: "
            "the requirements leave too many combinations to try; pin some packages more tightly"
        ) from None
    finally:
        prefetcher.close()
    return _collect(result, factory, root_labels, limits)


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
    for name, candidate in sorted(chosen.items()):
        labels = set(via[name]) | set(root_labels.get(name, ()))
        labels |= {c.label for c in limits.get(name, ()) if c.annotate}
        meta = factory.metadata_for(candidate)
        packages.append(
            ResolvedPackage(
                name=name,
                display_name=meta.display_name,
                version=candidate.version,
                files=candidate.files,
                via=tuple(sorted(labels, key=str.lower)),
                link=candidate.link,
                editable=candidate.editable,
            )
        )
    return Resolution(packages=tuple(packages))
