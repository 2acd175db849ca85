"""One cell of the matrix: one input resolved for one target and flavour, rendered as a lock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.request import CompileRequest, CompileResult
from pinlock.compile.resolve import Constraint, Resolution, ResolvedPackage, ResolveOptions, resolve
from pinlock.compile.session import CompileSession
from pinlock.errors import ConfigError, PinlockError
from pinlock.flavour import Flavour
from pinlock.index.config import PipConfiguration
from pinlock.index.finder import PackageFinder
from pinlock.index.models import DistFile
from pinlock.index.options import IndexOptions, layer_format_control
from pinlock.lock.model import Lock, LockedPackage
from pinlock.lock.txt import LockHeader, read_lock, render_lock
from pinlock.reqfile import ParsedRequirements, ReqLine
from pinlock.target import Target

__all__ = ["compile_one"]


def compile_one(
    session: CompileSession,
    request: CompileRequest,
    *,
    path: Path,
    source: ParsedRequirements,
    out: Path | None,
    target: Target,
    flavour: Flavour | None,
    layer: Sequence[Constraint],
) -> tuple[CompileResult, Resolution]:
    """The lock of ``source`` (read from ``path``) for ``target`` and ``flavour``, going to
    ``out``; ``layer`` holds the pins of the inputs it builds on."""
    settings = session.base.with_options(source.options)
    finder = session.finder(settings, flavour)
    existing = _existing_lock(out)
    hint_key = f"{path.resolve()}|{target.name}|{flavour.name if flavour else ''}"
    finder.prefetch(session.remembered_names(hint_key))
    pip = session.pip
    lock_binary = _format_control(request, source)
    only_binary, no_binary = _format_control(request, source, over=pip)
    options = ResolveOptions(
        target=target,
        pre=request.pre or pip.pre or source.options.pre,
        prefer=_preferences(existing, request),
        only_binary=_pip_precedence(only_binary, no_binary),
        no_binary=_pip_precedence(no_binary, only_binary),
        prefer_binary=pip.prefer_binary,
        flavour=flavour,
    )
    constraints = [
        *_file_constraints(source.constraints, target),
        *_file_constraints(session.pip_constraints, target),
        *layer,
        *_upgrade_limits(request),
    ]
    resolution = resolve(
        source.requirements,
        files=finder,
        metadata=session.metadata,
        options=options,
        constraints=constraints,
    )
    session.remember_names(hint_key, resolution.by_name())
    packages = _lock_packages(session, request, resolution, finder, target=target, flavour=flavour)
    warnings = tuple(
        f"{p.name} {p.version}: metadata was built from its sdist on this machine; its "
        f"dependencies may differ on {target.description}"
        for p in resolution.packages
        if target.name != "host" and p.files and session.metadata.was_built(p.files[0])
    )
    lock = Lock(
        packages=packages,
        options=_lock_options(
            source.options,
            request,
            flavour,
            only_binary=lock_binary[0],
            no_binary=lock_binary[1],
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
    )
    return result, resolution


def _lock_packages(
    session: CompileSession,
    request: CompileRequest,
    resolution: Resolution,
    finder: PackageFinder,
    *,
    target: Target,
    flavour: Flavour | None,
) -> tuple[LockedPackage, ...]:
    hashed: list[tuple[int, DistFile]] = []
    per_package: list[list[DistFile]] = []
    for package in resolution.packages:
        files = (
            _hash_files(package, finder, target)
            if request.generate_hashes and not package.editable
            else []
        )
        per_package.append(files)
        hashed.extend((len(per_package) - 1, f) for f in files)
    digests = list(session.hash_pool.map(lambda item: finder.sha256(item[1]), hashed))
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
            index=_pin_index(package, finder, flavour),
        )
        for i, package in enumerate(resolution.packages)
    )


def _pin_index(
    package: ResolvedPackage, finder: PackageFinder, flavour: Flavour | None
) -> str | None:
    """The index (or indexes, when merged) the pin's files came from, when none of them came
    from the default one: what a reader of the lock needs to know of a package the default
    index does not serve it from. Find-links sources are not indexes and are not named."""
    settings = finder.settings
    indexes = set(settings.index_urls)
    if flavour is not None and "://" in flavour.index:
        indexes.add(flavour.index)
    sources = [s for s in dict.fromkeys(f.source for f in package.files) if s in indexes]
    if not sources or settings.index_url in sources:
        return None
    return ", ".join(sources)


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


def _file_constraints(lines: Iterable[ReqLine], target: Target) -> list[Constraint]:
    limits = []
    for line in lines:
        req = line.requirement
        if req is None or not target.evaluate(req.marker, req.extras):
            continue
        limits.append(
            Constraint(name=canonicalize_name(req.name), specifier=req.specifier, label=line.via)
        )
    return limits


def _format_control(
    request: CompileRequest, source: ParsedRequirements, *, over: PipConfiguration | None = None
) -> tuple[frozenset[str], frozenset[str]]:
    """``(only_binary, no_binary)`` as pip layers them: its configuration (``over``), then the
    command line, then the input's own options. Locks carry those of the last two only."""
    base = (over.only_binary, over.no_binary) if over is not None else ((), ())
    given = layer_format_control(_names(request.only_binary), _names(request.no_binary), over=base)
    return layer_format_control(
        _names(source.options.only_binary), _names(source.options.no_binary), over=given
    )


def _pip_precedence(names: frozenset[str], other: frozenset[str]) -> frozenset[str]:
    """``names`` for the resolver: under ``:all:`` the projects named in the other set are
    excepted (``-name``), as pip's named choice beats the other option's ``:all:``."""
    if ":all:" not in names:
        return names
    return names | {f"-{name}" for name in other if name != ":all:"}


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
