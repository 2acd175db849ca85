"""What a compile request and an input's options mean for one cell: the pins to prefer, the
limits on versions, which files are binary-only, the index lines a lock carries, and which
packages it leaves out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.project import ProjectInputs
from pinlock.compile.request import CompileRequest
from pinlock.compile.resolve import Constraint, Resolution
from pinlock.errors import ConfigError
from pinlock.flavour import Flavour
from pinlock.index.config import PipConfiguration
from pinlock.index.options import IndexOptions, layer_format_control
from pinlock.lock.model import Lock, LockedPackage
from pinlock.reqfile import ParsedRequirements, ReqLine
from pinlock.target import Target
from pinlock.urls import local_path

__all__ = [
    "emitted",
    "file_constraints",
    "format_control",
    "lock_options",
    "pip_precedence",
    "preferences",
    "upgrade_limits",
]


def preferences(existing: Lock | None, request: CompileRequest) -> dict[NormalizedName, Version]:
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


def upgrade_limits(request: CompileRequest) -> list[Constraint]:
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


def file_constraints(lines: Iterable[ReqLine], target: Target) -> list[Constraint]:
    limits = []
    for line in lines:
        req = line.requirement
        if req is None or not target.evaluate(req.marker, req.extras):
            continue
        limits.append(
            Constraint(name=canonicalize_name(req.name), specifier=req.specifier, label=line.via)
        )
    return limits


def format_control(
    request: CompileRequest, source: ParsedRequirements, *, over: PipConfiguration | None = None
) -> tuple[frozenset[str], frozenset[str]]:
    """``(only_binary, no_binary)`` as pip layers them: its configuration (``over``), then the
    command line, then the input's own options. Locks carry those of the last two only."""
    base = (over.only_binary, over.no_binary) if over is not None else ((), ())
    given = layer_format_control(_names(request.only_binary), _names(request.no_binary), over=base)
    return layer_format_control(
        _names(source.options.only_binary), _names(source.options.no_binary), over=given
    )


def pip_precedence(names: frozenset[str], other: frozenset[str]) -> frozenset[str]:
    """``names`` for the resolver: under ``:all:`` the projects named in the other set are
    excepted (``-name``), as pip's named choice beats the other option's ``:all:``."""
    if ":all:" not in names:
        return names
    return names | {f"-{name}" for name in other if name != ":all:"}


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v if v.startswith(":") else canonicalize_name(v) for v in values)


def lock_options(
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


def emitted(
    packages: Sequence[LockedPackage],
    resolution: Resolution,
    request: CompileRequest,
    projects: ProjectInputs,
    vcs_urls: dict[str, str],
) -> tuple[LockedPackage, ...]:
    """The packages the lock lists: without ``--no-emit-package`` names, and with
    ``--no-emit-project`` without local project folders and the projects read as inputs."""
    left_out = {canonicalize_name(name) for name in request.no_emit_packages}
    if request.no_emit_project:
        left_out |= projects.names
        for package in resolution.packages:
            link = package.link
            local = local_path(link) if link is not None and link not in vcs_urls else None
            if local is not None and local.is_dir():
                left_out.add(package.name)
    return tuple(p for p in packages if p.name not in left_out)
