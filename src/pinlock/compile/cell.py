"""One cell of the matrix: one input resolved for one target and flavour, rendered as a lock."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.naming import lock_format
from pinlock.compile.pins import PinSources, lock_packages
from pinlock.compile.project import ProjectInputs
from pinlock.compile.request import CompileRequest, CompileResult, LockFormat, Newline
from pinlock.compile.resolve import Constraint, Resolution, ResolveOptions, resolve
from pinlock.compile.session import CompileSession
from pinlock.compile.vcs import parse_vcs_url
from pinlock.errors import ConfigError, PinlockError
from pinlock.flavour import Flavour
from pinlock.index.config import PipConfiguration
from pinlock.index.options import IndexOptions, layer_format_control
from pinlock.lock.model import Lock, LockedPackage
from pinlock.lock.pylock import read_pylock, render_pylock
from pinlock.lock.txt import LockHeader, read_lock, render_lock
from pinlock.reqfile import ParsedRequirements, ReqLine
from pinlock.target import Target
from pinlock.urls import local_path

__all__ = ["CellLock", "compile_one"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CellLock:
    """A cell's lock (``result``), its resolution, and the lock as requirements.txt text, which
    a layered input of the same run reads (``-c main.txt``) whatever format was written."""

    result: CompileResult
    resolution: Resolution
    txt: str


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
    projects: ProjectInputs,
) -> CellLock:
    """The lock of ``source`` (read from ``path``) for ``target`` and ``flavour``, going to
    ``out``; ``layer`` holds the pins of the inputs it builds on."""
    settings = session.base.with_options(source.options)
    finder = session.finder(settings, flavour)
    fmt = lock_format(request, out)
    existing = _existing_lock(out, fmt)
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
    requirements, vcs_urls = _pin_vcs(session, source.requirements)
    resolution = resolve(
        requirements,
        files=finder,
        metadata=session.metadata,
        options=options,
        constraints=constraints,
    )
    session.remember_names(hint_key, resolution.by_name())
    packages = lock_packages(
        session,
        request,
        resolution,
        finder,
        target,
        flavour=flavour,
        lock_dir=out.parent if out is not None else Path.cwd(),
        sources=PinSources.of(source.requirements, vcs_urls),
        with_files=fmt == "pylock",
    )
    packages = _emitted(packages, resolution, request, projects, vcs_urls)
    warnings = tuple(f"set aside {note}" for note in resolution.set_aside)
    warnings += _hash_warnings(packages, request, fmt)
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
    txt = render_lock(
        lock,
        header if request.header else None,
        annotation_style=request.annotation_style,
        annotate=request.annotate,
        emit_hashes=request.generate_hashes,
        emit_index=request.emit_index_url,
        emit_find_links=request.emit_find_links,
        emit_trusted_host=request.emit_trusted_host,
        default_index=settings.index_url,
    )
    text = txt if fmt == "txt" else _pylock_text(lock, request, target, flavour)
    # Read as it is, line endings included: a lock is unchanged only byte for byte.
    previous = out.read_bytes().decode("utf-8", "replace") if out and out.is_file() else None
    text = text.replace("\n", _line_ending(request.newline, previous, path))
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
    return CellLock(result=result, resolution=resolution, txt=txt)


def _line_ending(newline: Newline, previous: str | None, path: Path) -> str:
    """What ends each line of the lock: ``preserve`` keeps the existing lock's, else the
    input's, else LF (pip-compile's rule)."""
    if newline == "preserve":
        texts = [previous] if previous is not None else []
        if not texts and path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
        for text in texts:
            if "\r\n" in text:
                return "\r\n"
        return "\n"
    return {"lf": "\n", "crlf": "\r\n", "native": os.linesep}[newline]


def _pin_vcs(
    session: CompileSession, lines: Sequence[ReqLine]
) -> tuple[list[ReqLine], dict[str, str]]:
    """VCS references as their checkouts at the commit each names now, and the pinned VCS URL
    of each checkout's location (what the lock writes instead of the folder)."""
    pinned: list[ReqLine] = []
    urls: dict[str, str] = {}
    for line in lines:
        ref = parse_vcs_url(line.link) if line.link is not None else None
        if ref is None:
            pinned.append(line)
            continue
        commit, folder = session.vcs.checkout(ref)
        where = folder / ref.subdirectory if ref.subdirectory else folder
        pinned.append(replace(line, link=str(where)))
        urls[str(where) if line.editable else where.as_uri()] = ref.pinned(commit)
    return pinned, urls


def _emitted(
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


def _hash_warnings(
    packages: Sequence[LockedPackage], request: CompileRequest, fmt: LockFormat
) -> tuple[str, ...]:
    """Plain pip refuses a hashed lock holding what cannot be hashed: say so once.

    A pylock.toml always hashes its files, so pip checks hashes for all of it.
    """
    if fmt == "txt" and not request.generate_hashes:
        return ()
    unhashable = sorted(p.requirement_text for p in packages if not p.hashes)
    if not unhashable:
        return ()
    otherwise = ", or compile with --no-hashes" if fmt == "txt" else ""
    return (
        f"this hashed lock holds {', '.join(unhashable)}, which pip cannot hash-check: plain "
        "pip (pip install -r, tox deps) refuses the whole lock; pinlock sync installs it. "
        "Keep local projects out with --no-emit-project (or --no-emit-package NAME) and install "
        f"them after the lock with pip install --no-deps -e PATH{otherwise}",
    )


def _pylock_text(
    lock: Lock, request: CompileRequest, target: Target, flavour: Flavour | None
) -> str:
    markers = target.markers
    keys = ["implementation_name", "python_version"]
    if not target.platform_open:
        keys += ["sys_platform", "platform_machine"]
    environment = " and ".join(f'{key} == "{markers[key]}"' for key in keys)
    tool = {"command": request.command}
    if target.name != "host":
        tool["target"] = target.description
    if flavour is not None:
        tool["flavour"] = flavour.name
    return render_pylock(lock, environments=[environment], tool=tool)


def _existing_lock(out: Path | None, fmt: LockFormat) -> Lock | None:
    if out is None or not out.is_file():
        return None
    try:
        return read_pylock(out) if fmt == "pylock" else read_lock(out)
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
