"""Whether an existing lock still holds for its inputs, told from the lock and the cache alone.

No resolver and no index: the pins of the lock are checked as a resolution would have to find
them. A lock holds (``Verdict.resolution``) when

- every input line that applies to the target names a pinned package, at a version the line
  allows (``-c`` constraints, pip's configured ones and the pins of a base layer likewise);
- every pinned package's dependencies for the target (its core metadata, read from the cache
  under the hashes the lock lists, as compile keeps it) are pinned, at versions they allow, and
  its Requires-Python admits the target;
- nothing else is pinned.

The caller renders that resolution with the lock's own hashes and compares it with the lock's
text, which settles what the header (the command and its options), the index lines and the
``# via`` annotations say. A lock found wanting is ``stale`` with the reason a person needs
("input line added", "pin no longer allowed", "dependency missing"); when the cache lacks what
would tell (metadata never read, a project whose metadata must be built, a VCS reference), the
verdict is ``undecided`` and the caller resolves as usual.

Like a resolution preferring the locked versions, this keeps every pin that still fits; unlike
one it does not see files uploaded since for the pinned versions, nor yanked releases
(``--refresh`` or ``--upgrade`` resolve afresh).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.resolve import Constraint, Resolution, ResolvedPackage
from pinlock.coremetadata import CoreMetadata
from pinlock.lock.model import Lock, LockedPackage
from pinlock.reqfile import ReqLine
from pinlock.target import Target
from pinlock.urls import local_path

__all__ = ["KnownMetadata", "Verdict", "confirm_lock", "lock_resolution"]


class KnownMetadata(Protocol):
    """Metadata known without asking an index (``pinlock.compile.metadata.MetadataFetcher``)."""

    def cached_for(self, package: LockedPackage) -> CoreMetadata | None:
        """The metadata kept for a pinned file, found by any of the pin's hashes; None when
        none is kept, or the files of the pin disagree about dependencies."""
        ...

    def static_source_tree(self, path: Path) -> CoreMetadata | None:
        """A local project's metadata when it is static; None when a backend must build it."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """``resolution`` (the lock's pins with their annotations) when the lock holds; else why
    it does not (``stale``) or what the cache lacks to tell (``undecided``)."""

    resolution: Resolution | None = None
    stale: str | None = None
    undecided: str | None = None


class _Stale(Exception):
    pass


class _Undecided(Exception):
    pass


def confirm_lock(
    lock: Lock,
    requirements: Sequence[ReqLine],
    constraints: Sequence[Constraint],
    *,
    target: Target,
    pre: bool,
    metadata: KnownMetadata,
    left_out: Iterable[NormalizedName] = (),
    yanked: Iterable[NormalizedName] = (),
) -> Verdict:
    """Whether ``lock`` pins what ``requirements`` need on ``target`` under ``constraints``.

    ``pre`` allows pre-releases everywhere; ``left_out`` are names a lock leaves out by choice
    (``--no-emit-package``): needing one makes the verdict undecided. ``yanked`` pins stay only
    while something pins them exactly (``==``), as PEP 592 has the resolver keep them.
    """
    try:
        return Verdict(
            resolution=_Walk(
                lock,
                constraints=constraints,
                target=target,
                pre=pre,
                metadata=metadata,
                left_out=left_out,
                yanked=yanked,
            ).run(requirements)
        )
    except _Stale as stale:
        return Verdict(stale=str(stale))
    except _Undecided as undecided:
        return Verdict(undecided=str(undecided))


class _Walk:
    """The dependency graph of the inputs, walked through the lock's pins."""

    def __init__(
        self,
        lock: Lock,
        *,
        constraints: Sequence[Constraint],
        target: Target,
        pre: bool,
        metadata: KnownMetadata,
        left_out: Iterable[NormalizedName],
        yanked: Iterable[NormalizedName],
    ) -> None:
        self.pins = {package.name: package for package in lock.packages}
        self.limits: dict[NormalizedName, list[Constraint]] = defaultdict(list)
        for constraint in constraints:
            self.limits[constraint.name].append(constraint)
        self.target = target
        self.pre = pre
        self.metadata = metadata
        self.left_out = frozenset(left_out)
        self.yanked = frozenset(yanked)
        # Versions each name is pinned to exactly (``==``) by some requirement or constraint.
        self.exact: dict[NormalizedName, set[Version]] = defaultdict(set)
        self.via: dict[NormalizedName, set[str]] = defaultdict(set)
        # Projects the inputs give by path: the only candidate their name may have.
        self.explicit: dict[NormalizedName, tuple[str, bool, CoreMetadata]] = {}
        self.known: dict[NormalizedName, CoreMetadata] = {}
        self.missing: list[str] = []
        # Whether some specifier asking for a name allows pre-releases (as the resolver asks).
        self.asks_pre: dict[NormalizedName, bool] = defaultdict(bool)
        for constraint in constraints:
            self._note(constraint.name, constraint.specifier)

    def run(self, requirements: Sequence[ReqLine]) -> Resolution:
        queue: list[tuple[NormalizedName, frozenset[NormalizedName]]] = []
        for line in requirements:
            req = line.requirement
            # As the resolver takes its roots.
            marker, extras = (
                (req.marker, req.extras) if req is not None else (line.marker, line.extras)
            )
            if not self.target.evaluate(marker, extras):
                continue
            name = self._root(line)
            self.via[name].add(line.via)
            queue.append((name, frozenset(canonicalize_name(e) for e in extras)))
        for name, limits in self.limits.items():
            pin = self.pins.get(name)
            if pin is None or pin.version is None:
                continue
            for limit in limits:
                if not limit.specifier.contains(pin.version, prereleases=True):
                    raise _Stale(
                        f"pin no longer allowed: {name}=={pin.version} is outside "
                        f"{limit.specifier} ({limit.label})"
                    )
        seen: set[tuple[NormalizedName, frozenset[NormalizedName]]] = set()
        while queue:
            node = queue.pop()
            if node in seen:
                continue
            seen.add(node)
            queue.extend(self._dependencies(*node))
        if self.missing:
            raise _Undecided(f"no metadata in the cache for {', '.join(sorted(self.missing))}")
        reached = {name for name, _extras in seen}
        extra = sorted(set(self.pins) - reached)
        if extra:
            raise _Stale(f"{', '.join(extra)} no longer needed: no input or pin asks for it")
        return Resolution(packages=tuple(self._resolved(name) for name in sorted(reached)))

    # -- the inputs ----------------------------------------------------------------------

    def _root(self, line: ReqLine) -> NormalizedName:
        """The pinned name an input line asks for, checked against the pin."""
        if line.link is not None:
            return self._explicit_root(line)
        req = line.requirement
        assert req is not None  # reqfile gives every line without a link a requirement
        name = canonicalize_name(req.name)
        pin = self._pin(name, f"input line added: {line.text} ({line.via})")
        if pin.url is not None:
            raise _Stale(
                f"input line changed: {line.text} ({line.via}) asks for {name} from an index, "
                f"the lock has it from {pin.url}"
            )
        assert pin.version is not None
        if not req.specifier.contains(pin.version, prereleases=True):
            raise _Stale(
                f"pin no longer allowed: {name}=={pin.version} does not satisfy "
                f"{line.text} ({line.via})"
            )
        self._note(name, req.specifier)
        return name

    def _explicit_root(self, line: ReqLine) -> NormalizedName:
        assert line.link is not None
        folder = local_path(line.link)
        if folder is None or not folder.is_dir():
            raise _Undecided(f"{line.text} is a URL, a file or a VCS reference")
        meta = self.metadata.static_source_tree(folder)
        if meta is None:
            raise _Undecided(f"the metadata of {line.text} is built by its backend")
        link = str(folder) if line.editable else folder.as_uri()
        known = self.explicit.get(meta.name)
        if known is not None and known[0] != link:
            raise _Undecided(f"{meta.name} is given by two paths")
        self.explicit[meta.name] = (link, line.editable, meta)
        self.known[meta.name] = meta
        if meta.name not in self.pins and meta.name in self.left_out:
            # Left out of the lock by choice (--no-emit-project): its metadata is at hand.
            self.pins[meta.name] = LockedPackage(
                name=meta.name, display_name=meta.display_name, version=meta.version, url=link
            )
        self._pin(meta.name, f"input line added: {line.text} ({line.via})")
        return meta.name

    # -- the graph -----------------------------------------------------------------------

    def _dependencies(
        self, name: NormalizedName, extras: frozenset[NormalizedName]
    ) -> list[tuple[NormalizedName, frozenset[NormalizedName]]]:
        pin = self._pin(name, f"dependency missing: {name}")
        meta = self._metadata(name, pin)
        if meta is None:
            return []
        version = meta.version if name in self.explicit else pin.version
        found: list[tuple[NormalizedName, frozenset[NormalizedName]]] = []
        if extras:
            found.append((name, frozenset()))  # an extra's dependencies come with its base's
        elif not self.target.accepts_python(meta.requires_python):
            raise _Stale(
                f"pin no longer allowed: {name} {version} requires Python "
                f"{meta.requires_python}, not {self.target.python_full_version}"
            )
        for req in meta.requires_dist:
            if not self._applies(req, extras):
                continue
            if req.url:
                raise _Undecided(f"{name} {version} depends on {req.name} @ {req.url}")
            dep = canonicalize_name(req.name)
            self._check_dependency(name, version, req, dep)
            if dep != name:
                self.via[dep].add(name)
            found.append((dep, frozenset(canonicalize_name(e) for e in req.extras)))
        return found

    def _check_dependency(
        self, parent: NormalizedName, version: Version | None, req: Requirement, dep: NormalizedName
    ) -> None:
        pin = self._pin(
            dep, f"dependency missing: {parent} {version} requires {req}; the lock has no {dep}"
        )
        if dep in self.explicit:
            if not str(req.specifier):
                return  # a path satisfies a bare name, as in the resolver
            pinned = self.explicit[dep][2].version
        elif pin.version is None:
            raise _Stale(f"{dep} is pinned by URL in the lock, but no input names it by path")
        else:
            pinned = pin.version
        if not req.specifier.contains(pinned, prereleases=True):
            raise _Stale(
                f"dependency not met: {parent} {version} requires {req}; "
                f"the lock pins {dep} {pinned}"
            )
        self._note(dep, req.specifier)

    def _note(self, name: NormalizedName, specifier: SpecifierSet) -> None:
        """What a specifier asking for ``name`` says of pre-releases and exact pins."""
        self.asks_pre[name] |= bool(str(specifier)) and bool(specifier.prereleases)
        for spec in specifier:
            if spec.operator in ("==", "===") and "*" not in spec.version:
                try:
                    self.exact[name].add(Version(spec.version))
                except ValueError:
                    continue

    def _applies(self, req: Requirement, extras: frozenset[NormalizedName]) -> bool:
        # As the resolver's factory: an extras candidate adds what only its extras bring.
        if req.marker is None:
            return not extras
        if extras:
            return self.target.evaluate(req.marker, extras) and not self.target.evaluate(
                req.marker, ()
            )
        return self.target.evaluate(req.marker, ())

    def _pin(self, name: NormalizedName, missing: str) -> LockedPackage:
        pin = self.pins.get(name)
        if pin is not None:
            return pin
        if name in self.left_out:
            raise _Undecided(f"{name} is left out of the lock (its dependencies are not listed)")
        raise _Stale(missing)

    def _metadata(self, name: NormalizedName, pin: LockedPackage) -> CoreMetadata | None:
        meta = self.known.get(name)
        if meta is not None:
            return meta
        if pin.url is not None and name not in self.explicit:
            raise _Stale(f"{name} is pinned by URL in the lock, but no input names it by path")
        meta = self.metadata.cached_for(pin)
        if meta is None:
            self.missing.append(f"{name}=={pin.version}")
            return None
        self.known[name] = meta
        return meta

    # -- the result ----------------------------------------------------------------------

    def _resolved(self, name: NormalizedName) -> ResolvedPackage:
        pin = self.pins[name]
        labels = set(self.via[name])
        labels |= {limit.label for limit in self.limits.get(name, ()) if limit.annotate}
        explicit = self.explicit.get(name)
        meta = self.known[name]
        if explicit is None:
            assert pin.version is not None
            if pin.version.is_prerelease and not self.pre and not self.asks_pre[name]:
                # The resolver takes a pre-release only when no final release fits, which
                # only the index page tells.
                raise _Undecided(f"{name}=={pin.version} is a pre-release")
            if name in self.yanked and pin.version not in self.exact[name]:
                raise _Stale(
                    f"pin no longer allowed: {name} {pin.version} is yanked, kept only while "
                    "pinned with =="
                )
        return ResolvedPackage(
            name=name,
            display_name=meta.display_name,
            version=meta.version if explicit is not None else pin.version,  # type: ignore[arg-type]
            files=(),
            via=tuple(sorted(labels, key=str.lower)),
            link=explicit[0] if explicit is not None else None,
            editable=explicit[1] if explicit is not None else False,
        )


def lock_resolution(lock: Lock) -> Resolution:
    """A lock's pins as they stand, for what builds on them (a layered input of a check)."""
    return Resolution(
        packages=tuple(
            ResolvedPackage(
                name=package.name,
                display_name=package.display_name,
                version=package.version or Version("0"),
                files=(),
                via=package.via,
                link=package.url,
                editable=package.editable,
            )
            for package in lock.packages
        )
    )
