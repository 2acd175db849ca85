"""One compile run: input files x targets x flavours -> one lock each.

Inputs are compiled in dependency order (a file that includes ``-c main.txt`` or ``-r main.in``
comes after ``main.in``, and keeps the versions ``main`` pinned). Index pages and metadata are
fetched once per run and shared by every cell of the matrix.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.atomic import write_atomic
from pinlock.cache import Cache
from pinlock.compile.metadata import MetadataFetcher
from pinlock.compile.resolve import (
    BuildLog,
    Constraint,
    MetadataOrigin,
    Resolution,
    ResolvedPackage,
    ResolveOptions,
    resolve,
)
from pinlock.errors import ConfigError, LockConflict, PinlockError, ReqFileError
from pinlock.flavour import Flavour
from pinlock.index.config import IndexSettings, load_pip_settings
from pinlock.index.finder import PackageFinder
from pinlock.index.http import HttpClient
from pinlock.index.models import DistFile
from pinlock.index.options import IndexOptions
from pinlock.lock.model import Lock, LockedPackage
from pinlock.lock.txt import LockHeader, read_lock, render_lock
from pinlock.reqfile import ParsedRequirements, parse_file
from pinlock.target import Target

__all__ = ["CompileRequest", "CompileResult", "compile_locks", "lock_path"]

AnnotationStyle = Literal["split", "line"]

# Cache bucket of project names each input needed last time (see _Run._remembered_names).
_HINTS_BUCKET = "resolution-hints"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileRequest:
    """Everything one ``pinlock compile`` run is asked to do.

    ``output`` is a path, ``"-"`` for standard output, or None for the default name next to each
    input. ``index_overrides`` are command-line index options (pip's option names).
    """

    inputs: tuple[Path, ...]
    output: str | None = None
    targets: tuple[Target, ...] = ()
    flavours: tuple[Flavour, ...] = ()
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    generate_hashes: bool = True
    annotation_style: AnnotationStyle = "split"
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    index_overrides: Mapping[str, str | bool | Sequence[str]] = field(default_factory=dict)
    cache_dir: Path | None = None
    dry_run: bool = False
    command: str = "pinlock compile"
    name_template: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileResult:
    """One lock: where it goes (None for standard output), its text, and whether it changed.

    ``warnings`` are one line each (a run's warnings about all its locks come with its last
    lock); ``build_logs`` hold what the build backends printed, for a verbose view;
    ``rounds`` the resolver's rounds.
    """

    input: Path
    output: Path | None
    text: str
    changed: bool
    target: Target
    flavour: Flavour | None
    package_count: int
    warnings: tuple[str, ...] = ()
    build_logs: tuple[BuildLog, ...] = ()
    rounds: int = 0


def compile_locks(
    request: CompileRequest, *, environ: Mapping[str, str] | None = None
) -> list[CompileResult]:
    """Compile every input for every target and flavour; write the locks unless ``dry_run``."""
    env = os.environ if environ is None else environ
    targets = request.targets or (Target.host(),)
    flavours: tuple[Flavour | None, ...] = request.flavours or (None,)
    multi_target = len(targets) > 1
    cells = [(t, f) for t in targets for f in flavours]
    # Locks this run produces stand in for their files on disk, which may be stale or missing:
    # a layered input (``-c main.txt``) reads its base lock as compiled for the same cell.
    planned = (_plain_lock(p).resolve() for p in request.inputs)
    missing = {lock: "" for lock in planned if not lock.exists()}
    parsed = {p: parse_file(p, environ=env, contents=missing) for p in request.inputs}
    order = _dependency_order(request.inputs, parsed)
    if request.output is not None and (len(order) > 1 or len(cells) > 1):
        raise ConfigError(
            "--output-file",
            request.output,
            f"takes one input and one target/flavour, not {len(order)} x {len(cells)}; "
            "several locks are named after their inputs (see --output-template)",
        )
    _check_outputs(request, order, cells, multi_target)
    base_settings = load_pip_settings(env, overrides=request.index_overrides)
    run = _Run(request, base_settings)
    results: list[CompileResult] = []
    fresh: dict[tuple[str, str], dict[Path, str]] = {
        _cell(target, flavour): dict(missing) for target, flavour in cells
    }
    layers: dict[tuple[Path, str, str], Resolution] = {}
    try:
        for path in order:
            for target, flavour in cells:
                cell = _cell(target, flavour)
                source = parse_file(path, environ=env, contents=fresh[cell])
                out = _output_for(request, path, target, flavour, multi_target)
                result, resolution = run.compile_one(
                    path=path,
                    source=source,
                    out=out,
                    target=target,
                    flavour=flavour,
                    layer=_layer_constraints(source, cell, layers),
                )
                layers[(path, cell[0], cell[1])] = resolution
                fresh[cell][_plain_lock(path).resolve()] = result.text
                if out is not None:
                    fresh[cell][out.resolve()] = result.text
                results.append(result)
    finally:
        run.close()
    results = _with_run_warnings(results, layers)
    if not request.dry_run:
        for result in results:
            if result.output is not None and result.changed:
                try:
                    write_atomic(result.output, result.text)
                except OSError as error:
                    raise PinlockError(
                        f"cannot write the lock {result.output}: {error.strerror or error}"
                    ) from None
    return results


def lock_path(
    request: CompileRequest,
    path: Path,
    target: Target,
    flavour: Flavour | None,
    multi_target: bool,
) -> Path:
    """Where the lock of ``path`` for a target/flavour goes by default.

    One target and no flavour: ``x.in`` -> ``x.txt``. Otherwise the target name (with several
    targets) and the flavour join the stem: ``main-py312-linux-cu121.txt``. A name template
    (``{stem}``, ``{target}``, ``{flavour}``, ``{python}``) overrides this.
    """
    stem = path.stem if path.suffix else path.name
    if request.name_template:
        try:
            name = request.name_template.format(
                stem=stem,
                target=target.name,
                flavour=flavour.name if flavour else "",
                python=target.python_version.replace(".", ""),
            )
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(
                "--output-template",
                request.name_template,
                f"cannot fill it in ({type(error).__name__}: {error}); "
                "the placeholders are {stem}, {target}, {flavour} and {python}",
            ) from None
        # A template may name a folder beside the input ("locks/{stem}-{target}.txt").
        return path.parent / name.replace("--", "-").replace("-.", ".")
    parts = [stem]
    if multi_target:
        parts.append(target.name)
    if flavour is not None:
        parts.append(flavour.name)
    return path.with_name("-".join(parts) + ".txt")


def _output_for(
    request: CompileRequest,
    path: Path,
    target: Target,
    flavour: Flavour | None,
    multi_target: bool,
) -> Path | None:
    if request.output == "-":
        return None
    if request.output is not None:
        return Path(request.output)
    return lock_path(request, path, target, flavour, multi_target)


def _check_outputs(
    request: CompileRequest,
    inputs: Sequence[Path],
    cells: Sequence[tuple[Target, Flavour | None]],
    multi_target: bool,
) -> None:
    """Each lock gets a file of its own, and never an input's: a clash would overwrite it."""
    input_files = {path.resolve(): path for path in inputs}
    taken: dict[Path, str] = {}
    for path in inputs:
        for target, flavour in cells:
            out = _output_for(request, path, target, flavour, multi_target)
            if out is None:
                continue
            what = f"the lock of {path} for {target.description}"
            what += f" ({flavour.name})" if flavour else ""
            where = out.resolve()
            if where in input_files:
                raise ConfigError(
                    "output", str(out), f"{what} would overwrite the input {input_files[where]}"
                )
            if where in taken:
                raise ConfigError(
                    "output",
                    str(out),
                    f"{taken[where]} and {what} would both be written there; "
                    "name the locks apart (--output-template with {target} and {flavour})",
                )
            taken[where] = what


def _cell(target: Target, flavour: Flavour | None) -> tuple[str, str]:
    return (target.name, flavour.name if flavour else "")


class _Run:
    """Clients shared by every cell of one run: one finder per index configuration."""

    def __init__(self, request: CompileRequest, base: IndexSettings) -> None:
        self.request = request
        self.base = base
        self.cache = Cache(request.cache_dir)
        self._clients: dict[IndexSettings, HttpClient] = {}
        self._finders: dict[tuple[IndexSettings, str], PackageFinder] = {}
        self._metadata: MetadataFetcher | None = None
        self._hash_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pinlock-hash")

    def client(self, settings: IndexSettings) -> HttpClient:
        client = self._clients.get(settings)
        if client is None:
            client = self._clients[settings] = HttpClient(settings)
        return client

    def finder(self, settings: IndexSettings, flavour: Flavour | None) -> PackageFinder:
        key = (settings, flavour.name if flavour else "")
        finder = self._finders.get(key)
        if finder is None:
            owned = dict.fromkeys(flavour.packages, (flavour.index,)) if flavour else None
            finder = PackageFinder(settings, self.client(settings), package_indexes=owned)
            self._finders[key] = finder
        return finder

    def metadata(self) -> MetadataFetcher:
        if self._metadata is None:
            self._metadata = MetadataFetcher(self.client(self.base), self.cache)
        return self._metadata

    def compile_one(
        self,
        *,
        path: Path,
        source: ParsedRequirements,
        out: Path | None,
        target: Target,
        flavour: Flavour | None,
        layer: Sequence[Constraint],
    ) -> tuple[CompileResult, Resolution]:
        request = self.request
        settings = self.base.with_options(source.options)
        finder = self.finder(settings, flavour)
        existing = _existing_lock(out)
        hint_key = f"{path.resolve()}|{target.name}|{flavour.name if flavour else ''}"
        finder.prefetch(self._remembered_names(hint_key))
        options = ResolveOptions(
            target=target,
            pre=request.pre or source.options.pre,
            prefer=_preferences(existing, request),
            only_binary=_names(request.only_binary) | _names(source.options.only_binary),
            no_binary=_names(request.no_binary) | _names(source.options.no_binary),
            flavour=flavour,
        )
        constraints = [*_file_constraints(source, target), *layer, *_upgrade_limits(request)]
        resolution = resolve(
            source.requirements,
            files=finder,
            metadata=self.metadata(),
            options=options,
            constraints=constraints,
        )
        self.cache.put(_HINTS_BUCKET, hint_key, "\n".join(resolution.by_name()).encode())
        packages = self._lock_packages(resolution, finder, target)
        warnings = tuple(f"set aside {note}" for note in resolution.set_aside)
        lock = Lock(
            packages=packages,
            options=_lock_options(
                source.options,
                request,
                flavour,
                only_binary=options.only_binary,
                no_binary=options.no_binary,
            ),
            path=str(out) if out else None,
        )
        header = LockHeader(
            command=request.command,
            python_version=target.python_version,
            target=None if target.name == "host" else target.description,
            flavour=flavour.name if flavour else None,
        )
        text = render_lock(
            lock,
            header,
            annotation_style=request.annotation_style,
            emit_hashes=request.generate_hashes,
        )
        previous = out.read_text(encoding="utf-8") if out and out.is_file() else None
        result = CompileResult(
            input=path,
            output=out,
            text=text,
            changed=previous != text,
            target=target,
            flavour=flavour,
            package_count=len(packages),
            warnings=warnings,
            build_logs=resolution.build_logs,
            rounds=resolution.rounds,
        )
        return result, resolution

    def _remembered_names(self, key: str) -> list[NormalizedName]:
        """Projects the last resolution of this input needed: their pages are asked for at once
        instead of level by level as the tree is discovered. Only timing depends on this."""
        data = self.cache.get(_HINTS_BUCKET, key)
        if data is None:
            return []
        return [canonicalize_name(name) for name in data.decode("utf-8", "replace").split()]

    def _lock_packages(
        self, resolution: Resolution, finder: PackageFinder, target: Target
    ) -> tuple[LockedPackage, ...]:
        hashed: list[tuple[int, DistFile]] = []
        per_package: list[list[DistFile]] = []
        for package in resolution.packages:
            files = (
                _hash_files(package, finder, target)
                if self.request.generate_hashes and not package.editable
                else []
            )
            per_package.append(files)
            hashed.extend((len(per_package) - 1, f) for f in files)
        digests = list(self._hash_pool.map(lambda item: finder.sha256(item[1]), hashed))
        hashes: list[set[str]] = [set() for _ in per_package]
        for (index, _dist), digest in zip(hashed, digests, strict=True):
            hashes[index].add(f"sha256:{digest}")
        return tuple(
            LockedPackage(
                name=package.name,
                display_name=package.name,  # pip-compile writes canonical names
                version=package.version,
                url=package.link,
                editable=package.editable,
                hashes=tuple(sorted(hashes[i])),
                via=package.via,
            )
            for i, package in enumerate(resolution.packages)
        )

    def close(self) -> None:
        self._hash_pool.shutdown(wait=True)
        if self._metadata is not None:
            self._metadata.close()
        for finder in self._finders.values():
            finder.close()
        for client in self._clients.values():
            client.close()


def _with_run_warnings(
    results: list[CompileResult], resolutions: Mapping[tuple[Path, str, str], Resolution]
) -> list[CompileResult]:
    """Add to the last lock one warning per kind for the whole run: the packages whose
    dependencies were read from a wheel for another platform, and those whose metadata was
    built here for another target (both may list dependencies that differ on the target)."""
    targets = {r.target.name: r.target for r in results}
    foreign: dict[str, set[str]] = defaultdict(set)
    built: dict[str, set[str]] = defaultdict(set)
    for (_input, target_name, _flavour), resolution in resolutions.items():
        for package in resolution.packages:
            pin = f"{package.name} {package.version}"
            if package.metadata_origin is MetadataOrigin.OTHER_WHEEL:
                foreign[pin].add(targets[target_name].description)
            elif package.metadata_origin is MetadataOrigin.BUILT and target_name != "host":
                built[pin].add(targets[target_name].description)
    warnings = []
    if foreign:
        warnings.append(
            "no wheel fits the target, so dependencies were read from a wheel for another "
            f"platform (they may differ on the target): {_pins_with_targets(foreign)}"
        )
    if built:
        warnings.append(
            "metadata was built from the sdist on this machine (its dependencies may differ on "
            f"the target): {_pins_with_targets(built)}"
        )
    if not warnings or not results:
        return results
    last = results[-1]
    return [*results[:-1], replace(last, warnings=(*last.warnings, *warnings))]


def _pins_with_targets(pins: Mapping[str, set[str]]) -> str:
    every = set().union(*pins.values())
    if len(every) == 1:
        return f"{', '.join(sorted(pins))} for {every.pop()}"
    return ", ".join(f"{pin} ({'; '.join(sorted(pins[pin]))})" for pin in sorted(pins))


def _hash_files(package: ResolvedPackage, finder: PackageFinder, target: Target) -> list[DistFile]:
    """The files whose hashes a lock lists for one pin.

    A target with a platform lists only what can install there (its usable files); a target left
    open lists every file of the version, so the lock installs anywhere.
    """
    if not target.platform_open or package.link is not None:
        return list(package.files)
    return [d for d in finder.find(package.name) if d.version == package.version]


def _existing_lock(out: Path | None) -> Lock | None:
    if out is None or not out.is_file():
        return None
    try:
        return read_lock(out)
    except PinlockError:
        # An unreadable old lock only loses its preferences; the new one replaces it.
        return None


def _preferences(existing: Lock | None, request: CompileRequest) -> dict[NormalizedName, Version]:
    if existing is None or request.upgrade:
        return {}
    upgrading = {_upgrade_name(spec) for spec in request.upgrade_packages}
    return {
        p.name: p.version
        for p in existing.packages
        if p.version is not None and p.name not in upgrading
    }


def _upgrade_requirement(spec: str) -> PackagingRequirement:
    try:
        req = PackagingRequirement(spec)
    except InvalidRequirement as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise ConfigError(
            "--upgrade-package", spec, f"expected NAME or NAME==VERSION ({reason})"
        ) from None
    if req.url or req.marker is not None:
        raise ConfigError("--upgrade-package", spec, "expected NAME or NAME==VERSION")
    return req


def _upgrade_name(spec: str) -> NormalizedName:
    return canonicalize_name(_upgrade_requirement(spec).name)


def _upgrade_limits(request: CompileRequest) -> list[Constraint]:
    """``-P name==1.2`` both frees ``name`` from its old pin and limits it to the given range."""
    limits = []
    for spec in request.upgrade_packages:
        req = _upgrade_requirement(spec)
        if str(req.specifier):
            limits.append(
                Constraint(
                    name=canonicalize_name(req.name),
                    specifier=req.specifier,
                    label=f"--upgrade-package {spec}",
                )
            )
    return limits


def _file_constraints(source: ParsedRequirements, target: Target) -> list[Constraint]:
    limits = []
    for line in source.constraints:
        req = line.requirement
        if req is None or not target.evaluate(req.marker, req.extras):
            continue
        limits.append(
            Constraint(name=canonicalize_name(req.name), specifier=req.specifier, label=line.via)
        )
    return limits


def _layer_constraints(
    source: ParsedRequirements,
    cell: tuple[str, str],
    layers: Mapping[tuple[Path, str, str], Resolution],
) -> list[Constraint]:
    """Pins of inputs compiled earlier in this run that this input includes (``-r main.in``).

    The layered workflow: what ``dev.in`` shares with ``main.in`` keeps the versions ``main``'s
    lock pins for the same target and flavour, so the two locks install together.
    """
    read = {Path(f).resolve() for f in source.files}
    limits = [
        Constraint(
            name=package.name,
            specifier=SpecifierSet(f"=={package.version}"),
            label=f"the lock of {base_input}",
            annotate=False,
        )
        for (base_input, *base_cell), resolution in layers.items()
        if tuple(base_cell) == cell and base_input.resolve() in read
        for package in resolution.packages
        if package.link is None
    ]
    return _without_duplicates(limits)


def _without_duplicates(limits: Iterable[Constraint]) -> list[Constraint]:
    seen: dict[NormalizedName, Constraint] = {}
    for limit in limits:
        known = seen.get(limit.name)
        if known is not None and known.specifier != limit.specifier:
            raise LockConflict(
                limit.name, f"{known.label}: {known.specifier}", f"{limit.label}: {limit.specifier}"
            )
        seen.setdefault(limit.name, limit)
    return list(seen.values())


def _plain_lock(path: Path) -> Path:
    """The lock name an input has in a single-target run: what ``-c main.txt`` refers to."""
    return path.with_suffix(".txt")


def _dependency_order(
    inputs: Sequence[Path], parsed: Mapping[Path, ParsedRequirements]
) -> list[Path]:
    """Inputs sorted so that each comes after the inputs (or their locks) it reads."""
    by_file: dict[Path, Path] = {}
    for path in inputs:
        by_file[_same_file(path)] = path
        by_file[_same_file(_plain_lock(path))] = path
    deps = {
        path: {
            by_file[_same_file(Path(f))]
            for f in parsed[path].files
            if _same_file(Path(f)) in by_file and by_file[_same_file(Path(f))] != path
        }
        for path in inputs
    }
    order: list[Path] = []
    visiting: set[Path] = set()

    def visit(path: Path) -> None:
        if path in order:
            return
        if path in visiting:
            raise ReqFileError(path, 0, "", "input files include each other in a cycle")
        visiting.add(path)
        for dep in sorted(deps[path]):
            visit(dep)
        visiting.discard(path)
        order.append(path)

    for path in inputs:
        visit(path)
    return order


def _same_file(path: Path) -> Path:
    return path.resolve()


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v if v.startswith(":") else canonicalize_name(v) for v in values)


def _lock_options(
    options: IndexOptions,
    request: CompileRequest,
    flavour: Flavour | None,
    *,
    only_binary: frozenset[str] = frozenset(),
    no_binary: frozenset[str] = frozenset(),
) -> IndexOptions:
    """Index lines a lock carries: those of its inputs and command line, and its flavour's index.

    pip configuration is not copied into locks: pip reads it again wherever the lock installs.
    Format controls are kept (as pip-compile does): they change which files plain pip installs.
    """
    overrides = request.index_overrides
    # pip lets a requirement file's --index-url replace the command line's, and resolution
    # followed pip: the lock must name the index its pins came from.
    index_url = options.index_url or _as_str(overrides.get("index-url"))
    extra = [*options.extra_index_urls, *_as_list(overrides.get("extra-index-url"))]
    find_links = [*options.find_links, *_as_list(overrides.get("find-links"))]
    if flavour is not None:
        if "://" in flavour.index and not flavour.index.startswith("file:"):
            extra.append(flavour.index)
        else:
            find_links.append(flavour.index)
    return IndexOptions(
        index_url=index_url,
        extra_index_urls=tuple(dict.fromkeys(extra)),
        find_links=tuple(dict.fromkeys(find_links)),
        no_index=options.no_index or bool(overrides.get("no-index")),
        trusted_hosts=tuple(
            dict.fromkeys([*options.trusted_hosts, *_as_list(overrides.get("trusted-host"))])
        ),
        only_binary=only_binary,
        no_binary=no_binary,
    )


def _as_str(value: str | bool | Sequence[str] | None) -> str | None:
    return value if isinstance(value, str) else None


def _as_list(value: str | bool | Sequence[str] | None) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, str):
        return value.split()
    return list(value)
