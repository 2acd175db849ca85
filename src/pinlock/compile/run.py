"""One compile run: inputs x targets x flavours -> one lock each.

Inputs are compiled in dependency order (a file that includes ``-c main.txt`` or ``-r main.in``
comes after ``main.in``, and keeps the versions ``main`` pinned); several inputs with one
``output`` are merged into that lock instead. The run's shared state (HTTP session, finders,
metadata) is ``pinlock.compile.session``; one cell of the matrix is ``pinlock.compile.cell``;
what an input is, ``pinlock.compile.inputs``; where locks go, ``pinlock.compile.naming``. This
module orders the inputs, writes the locks, and layers inputs on the locks of those they include.
"""

from __future__ import annotations

import os
import shlex
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from pinlock.atomic import write_atomic
from pinlock.cache import Cache
from pinlock.compile.cell import compile_one
from pinlock.compile.inputs import STDIN, merge, read_constraints, read_input
from pinlock.compile.naming import check_outputs, lock_path, output_for, plain_lock
from pinlock.compile.project import ProjectInputs, ProjectSelection
from pinlock.compile.request import CompileRequest, CompileResult
from pinlock.compile.resolve import Constraint, MetadataOrigin, Resolution
from pinlock.compile.session import CompileSession
from pinlock.errors import ConfigError, LockConflict, PinlockError, ReqFileError
from pinlock.flavour import Flavour
from pinlock.index.config import PipConfiguration, load_pip_configuration
from pinlock.index.options import IndexOptions
from pinlock.index.uploaded import parse_cutoff
from pinlock.progress import Progress
from pinlock.reqfile import ParsedRequirements, ReqLine, parse_file
from pinlock.target import Target
from pinlock.urls import file_url_to_path, is_file_url

__all__ = [
    "CompileRequest",
    "CompileResult",
    "compile_locks",
    "configured_constraints",
    "lock_path",
]

# Stands for pip's configuration as the file that includes its constraint files (never read).
_PIP_CONFIGURATION = Path("(pip configuration)")


def compile_locks(
    request: CompileRequest,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> list[CompileResult]:
    """Compile every input for every target and flavour; write the locks unless ``dry_run``.

    ``progress`` hears of each resolution, download and build (``pinlock.progress``); a lock
    kept as it is tells it nothing."""
    env = os.environ if environ is None else environ
    _check_request(request)
    targets = request.targets or (Target.host(),)
    flavours: tuple[Flavour | None, ...] = request.flavours or (None,)
    multi_target = len(targets) > 1
    cells = [(t, f) for t in targets for f in flavours]
    projects = ProjectInputs(
        ProjectSelection(
            extras=request.extras,
            all_extras=request.all_extras,
            groups=request.groups,
            build_isolation=request.build_isolation,
        )
    )
    read = partial(read_input, projects=projects, environ=env, stdin=request.stdin)
    # Locks this run produces stand in for their files on disk, which may be stale or missing:
    # a layered input (``-c main.txt``) reads its base lock as compiled for the same cell.
    planned = (plain_lock(p).resolve() for p in request.inputs if p != STDIN)
    missing = {lock: "" for lock in planned if not lock.exists()}
    parsed = {p: read(p, contents=missing) for p in request.inputs}
    constraints = read_constraints(request.constraints, projects=projects, environ=env)
    projects.check_selection()
    merged = request.output is not None and len(request.inputs) > 1
    units = (
        [tuple(request.inputs)]
        if merged
        else [(path,) for path in _dependency_order(request.inputs, parsed)]
    )
    if request.output is not None and len(cells) > 1:
        raise ConfigError(
            "--output-file",
            request.output,
            f"takes one target/flavour, not {len(cells)}; "
            "several locks are named after their inputs (see --output-template)",
        )
    check_outputs(request, [unit[0] for unit in units], cells, multi_target, inputs=request.inputs)
    pip = request.pip_configuration or load_pip_configuration(
        env, overrides=request.index_overrides, site_prefix=request.pip_site_prefix
    )
    pip.check()
    _check_hashes_wanted(pip, request)
    base_settings = replace(pip.index, index_strategy=request.index_strategy)
    session = CompileSession(
        base_settings,
        cache=Cache(request.cache_dir),
        configurations=[
            base_settings.with_options(p.options) for p in [*parsed.values(), constraints]
        ],
        flavours=request.flavours,
        environ=env,
        pip=pip,
        pip_constraints=configured_constraints(pip, environ=env),
        offline=request.offline,
        refresh=request.refresh,
        build_isolation=request.build_isolation,
        uploaded_prior_to=_cutoff(request, pip),
        progress=progress,
    )
    results: list[CompileResult] = []
    fresh: dict[tuple[str, str], dict[Path, str]] = {
        _cell(target, flavour): dict(missing) for target, flavour in cells
    }
    layers: dict[tuple[Path, str, str], Resolution] = {}
    try:
        for unit in units:
            for target, flavour in cells:
                cell = _cell(target, flavour)
                parts = [read(path, contents=fresh[cell]) for path in unit]
                if request.constraints:
                    parts.append(constraints)
                source = merge(parts) if len(parts) > 1 else parts[0]
                out = output_for(request, unit[0], target, flavour, multi_target)
                done = compile_one(
                    session,
                    request,
                    path=unit[0],
                    source=source,
                    out=out,
                    target=target,
                    flavour=flavour,
                    layer=_layer_constraints(source, cell, layers),
                    projects=projects,
                )
                for path in unit:
                    layers[(path, cell[0], cell[1])] = done.resolution
                    base = plain_lock(path).resolve()
                    if path != STDIN and base != path.resolve():  # a .txt input stays itself
                        fresh[cell][base] = done.txt
                if out is not None:
                    fresh[cell][out.resolve()] = done.txt
                results.append(done.result)
    finally:
        session.close()
    results = _with_run_warnings(results, layers)
    if not (request.dry_run or request.check):
        for result in results:
            if result.output is not None:
                _write_lock(result)
    return results


def _check_request(request: CompileRequest) -> None:
    if request.offline and request.refresh:
        raise ConfigError(
            "--refresh",
            "--offline",
            "cannot both be given: one reads only the cache, the other reads nothing from it",
        )
    if request.check and request.output == "-":
        raise ConfigError("--check", "--output-file -", "checks lock files, not standard output")
    if request.check and (request.upgrade or request.upgrade_packages):
        raise ConfigError("--check", "--upgrade", "a check changes no pin; leave out --upgrade")


def _write_lock(result: CompileResult) -> None:
    """Write a changed lock; touch an unchanged one, so a Make rule that made it settles."""
    assert result.output is not None
    try:
        if result.changed:
            write_atomic(result.output, result.text)
        else:
            os.utime(result.output)
    except OSError as error:
        raise PinlockError(
            f"cannot write the lock {result.output}: {error.strerror or error}"
        ) from None


def _cutoff(request: CompileRequest, pip: PipConfiguration) -> datetime | None:
    """``--uploaded-prior-to``, else pip configuration's, read once for the whole run."""
    if request.uploaded_prior_to is not None or pip.uploaded_prior_to is None:
        return request.uploaded_prior_to
    return parse_cutoff(
        pip.uploaded_prior_to,
        source=pip.origin("uploaded-prior-to") or "pip configuration",
    )


def configured_constraints(
    pip: PipConfiguration, *, environ: Mapping[str, str] | None = None
) -> tuple[ReqLine, ...]:
    """The lines of the constraint files pip's configuration names (``constraint``), labelled
    ``-c FILE (pip configuration)`` for ``# via``.

    They limit every cell as pip limits every ``pip install`` on this machine; they are not
    copied into locks, as pip reads them again wherever a lock installs. pip applies the options
    of such files too (an index, ``--pre``): pinlock refuses a file that has any.
    """
    if not pip.constraints:
        return ()
    origin = pip.origin("constraint") or "pip configuration"
    includes = []
    for name in pip.constraints:
        if "://" in name and not is_file_url(name):
            raise ConfigError(
                origin, "constraint", f"{name}: remote constraint files are not supported"
            )
        path = file_url_to_path(name) if is_file_url(name) else Path(name)
        if not path.is_file():
            raise ConfigError(origin, "constraint", f"{name}: no such file")
        includes.append(f"-c {shlex.quote(str(path))}")
    wrapper = _PIP_CONFIGURATION.resolve()
    parsed = parse_file(
        _PIP_CONFIGURATION, environ=environ, contents={wrapper: "\n".join(includes) + "\n"}
    )
    if parsed.options != IndexOptions():
        raise ConfigError(
            origin,
            "constraint",
            f"{' '.join(pip.constraints)}: options in a constraint file named by pip "
            "configuration (an index, --pre, --only-binary ...) are not applied by pinlock; "
            "set them in pip configuration instead",
        )
    return tuple(
        replace(line, via=f"{line.via} (pip configuration)") for line in parsed.constraints
    )


def _check_hashes_wanted(pip: PipConfiguration, request: CompileRequest) -> None:
    """pip configured with ``require-hashes`` refuses a lock without hashes."""
    if pip.require_hashes and not request.generate_hashes:
        raise ConfigError(
            pip.origin("require-hashes") or "pip configuration",
            "require-hashes",
            "pip here requires hashes, so it would refuse a lock written with --no-hashes",
        )


def _cell(target: Target, flavour: Flavour | None) -> tuple[str, str]:
    return (target.name, flavour.name if flavour else "")


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


def _dependency_order(
    inputs: Sequence[Path], parsed: Mapping[Path, ParsedRequirements]
) -> list[Path]:
    """Inputs sorted so that each comes after the inputs (or their locks) it reads."""
    by_file: dict[Path, Path] = {}
    for path in inputs:
        by_file[_same_file(path)] = path
        by_file[_same_file(plain_lock(path))] = path
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
