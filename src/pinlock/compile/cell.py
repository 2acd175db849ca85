"""One cell of the matrix: one input resolved for one target and flavour, rendered as a lock.

The lock already there is kept when it still holds (``pinlock.compile.existing``); otherwise the
inputs are resolved, preferring its pins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pinlock.compile.existing import (
    CellFrame,
    CellLock,
    kept_lock,
    left_out,
    remember,
)
from pinlock.compile.naming import lock_format
from pinlock.compile.pins import PinSources, lock_packages
from pinlock.compile.policy import (
    emitted,
    file_constraints,
    format_control,
    lock_options,
    pip_precedence,
    preferences,
    upgrade_limits,
)
from pinlock.compile.project import ProjectInputs
from pinlock.compile.request import CompileRequest, LockFormat
from pinlock.compile.resolve import Constraint, ResolveOptions, resolve
from pinlock.compile.uptodate import (
    LockRecord,
    context_digest,
    inputs_digest,
    lock_changes,
    pin_changes,
    pin_facts,
)
from pinlock.compile.vcs import parse_vcs_url
from pinlock.flavour import Flavour
from pinlock.lock.model import Lock, LockedPackage
from pinlock.progress import RESOLVING
from pinlock.reqfile import ParsedRequirements, ReqLine
from pinlock.target import Target

if TYPE_CHECKING:
    from pinlock.compile.session import CompileSession

__all__ = ["CellLock", "compile_one"]


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
    ``out``; ``layer`` holds the pins of the inputs it builds on.

    An existing lock that still holds (``pinlock.compile.confirm``) is kept as it is, with no
    request to any index; otherwise the inputs are resolved, preferring the existing pins.
    """
    settings = session.base.with_options(source.options)
    fmt = lock_format(request, out)
    pip = session.pip
    lock_binary = format_control(request, source)
    only_binary, no_binary = format_control(request, source, over=pip)
    pre = request.pre or pip.pre or source.options.pre
    constraints = [
        *file_constraints(source.constraints, target),
        *file_constraints(session.pip_constraints, target),
        *layer,
        *upgrade_limits(request),
    ]
    # Read as it is, line endings included: a lock is unchanged only byte for byte.
    previous = out.read_bytes().decode("utf-8", "replace") if out and out.is_file() else None
    cell = CellFrame(
        request=request,
        path=path,
        out=out,
        target=target,
        flavour=flavour,
        default_index=settings.index_url,
        options=lock_options(
            source.options, request, flavour, only_binary=lock_binary[0], no_binary=lock_binary[1]
        ),
        previous=previous,
        fmt=fmt,
    )
    record = LockRecord(
        context=context_digest(
            settings, pip, target, flavour, build_isolation=request.build_isolation
        ),
        inputs=inputs_digest(
            source.requirements,
            constraints,
            target=target,
            pre=pre,
            left_out=left_out(request, projects),
        ),
    )
    kept = kept_lock(session, cell, source, constraints, projects, pre=pre, record=record)
    if kept is not None:
        return kept
    existing = cell.existing()
    finder = session.finder(settings, flavour)
    hint_key = f"{path.resolve()}|{target.name}|{flavour.name if flavour else ''}"
    finder.prefetch(session.remembered_names(hint_key))
    options = ResolveOptions(
        target=target,
        pre=pre,
        prefer=preferences(existing, request),
        only_binary=pip_precedence(only_binary, no_binary),
        no_binary=pip_precedence(no_binary, only_binary),
        prefer_binary=pip.prefer_binary,
        flavour=flavour,
    )
    requirements, vcs_urls = _pin_vcs(session, source.requirements)
    progress = session.progress
    if progress is not None:
        progress.stage(RESOLVING, label=_cell_label(path, target, flavour))
    try:
        resolution = resolve(
            requirements,
            files=finder,
            metadata=session.metadata,
            options=options,
            constraints=constraints,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.end(RESOLVING)
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
    packages = emitted(packages, resolution, request, projects, vcs_urls)
    warnings = tuple(f"set aside {note}" for note in resolution.set_aside)
    warnings += _hash_warnings(packages, request, fmt)
    txt = cell.render(packages)
    if fmt == "txt":
        text = txt
    else:
        text = cell.finished(_pylock_text(cell.lock(packages), request, target, flavour))
    yanked = (p.name for p in resolution.packages if p.files and all(f.yanked for f in p.files))
    made = replace(
        record, yanked=frozenset(yanked), resolution=resolution, pins=pin_facts(packages)
    )
    remember(session, request, text, made)
    stale = None
    if text != previous and request.check:
        stale = (
            "no lock yet" if previous is None else lock_changes(previous, text, existing, packages)
        )
    done = cell.result(
        text,
        len(packages),
        warnings=warnings,
        stale=stale,
        build_logs=resolution.build_logs,
        rounds=resolution.rounds,
        changes=pin_changes(existing.packages if existing is not None else (), packages),
    )
    return CellLock(result=done, resolution=resolution, txt=txt)


def _cell_label(path: Path, target: Target, flavour: Flavour | None) -> str:
    """What a resolution is for, as a progress display names it: ``main.in (py312, cpu)``."""
    cell = [target.name] if target.name != "host" else []
    cell += [flavour.name] if flavour is not None else []
    return f"{path.name} ({', '.join(cell)})" if cell else path.name


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
    from pinlock.lock.pylock import render_pylock  # for pylock.toml locks only (see existing_lock)

    return render_pylock(lock, environments=[environment], tool=tool)
