"""One cell of the matrix: one input resolved for one target and flavour, rendered as a lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from pinlock.compile.confirm import Verdict, confirm_lock, lock_resolution
from pinlock.compile.naming import lock_format
from pinlock.compile.pins import PinSources, lock_packages
from pinlock.compile.policy import (
    file_constraints,
    format_control,
    lock_options,
    pip_precedence,
    preferences,
    upgrade_limits,
)
from pinlock.compile.project import ProjectInputs
from pinlock.compile.request import CompileRequest, CompileResult, LockFormat
from pinlock.compile.resolve import Constraint, Resolution, ResolveOptions, resolve
from pinlock.compile.uptodate import (
    LockRecord,
    PinFacts,
    confirmed_packages,
    context_digest,
    inputs_digest,
    lock_changes,
    pin_facts,
    recall_lock,
    remember_lock,
    text_difference,
)
from pinlock.compile.vcs import parse_vcs_url
from pinlock.errors import PinlockError
from pinlock.flavour import Flavour
from pinlock.index.options import IndexOptions
from pinlock.lock.model import Lock, LockedPackage
from pinlock.lock.pylock import read_pylock, render_pylock
from pinlock.lock.txt import LockHeader, read_lock, render_lock
from pinlock.reqfile import ParsedRequirements, ReqLine
from pinlock.target import Target
from pinlock.urls import local_path

if TYPE_CHECKING:
    from pinlock.compile.session import CompileSession

__all__ = ["CellLock", "compile_one"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CellLock:
    """A cell's lock (``result``), its resolution, and the lock as requirements.txt text, which
    a layered input of the same run reads (``-c main.txt``) whatever format was written."""

    result: CompileResult
    resolution: Resolution
    txt: str


@dataclass(kw_only=True, slots=True)
class _Cell:
    """What one cell writes around its packages, and the lock already there (``previous``, its
    text; ``existing()``, read when needed)."""

    request: CompileRequest
    path: Path
    out: Path | None
    target: Target
    flavour: Flavour | None
    default_index: str | None
    options: IndexOptions
    previous: str | None
    fmt: LockFormat
    _existing: Lock | None = None
    _read: bool = False

    def existing(self) -> Lock | None:
        if not self._read:
            self._existing, self._read = _existing_lock(self.out, self.fmt), True
        return self._existing

    def render(self, packages: tuple[LockedPackage, ...]) -> str:
        """The requirements.txt text of a lock of ``packages``."""
        target, flavour = self.target, self.flavour
        header = LockHeader(
            command=self.request.command,
            python_version=target.python_version,
            target=None if target.name == "host" else target.description,
            flavour=flavour.name if flavour else None,
        )
        return render_lock(
            self.lock(packages),
            header,
            annotation_style=self.request.annotation_style,
            emit_hashes=self.request.generate_hashes,
            default_index=self.default_index,
        )

    def lock(self, packages: tuple[LockedPackage, ...]) -> Lock:
        return Lock(
            packages=packages, options=self.options, path=str(self.out) if self.out else None
        )

    def result(self, text: str, count: int, **details: Any) -> CompileResult:
        return CompileResult(
            input=self.path,
            output=self.out,
            text=text,
            changed=self.previous != text,
            target=self.target,
            flavour=self.flavour,
            package_count=count,
            **details,
        )


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
    previous = out.read_text(encoding="utf-8") if out and out.is_file() else None
    cell = _Cell(
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
            left_out=_left_out(request, projects),
        ),
    )
    kept = _kept_lock(session, cell, source, constraints, projects, pre=pre, record=record)
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
    warnings = tuple(
        f"{p.name} {p.version}: metadata was built from its sdist on this machine; its "
        f"dependencies may differ on {target.description}"
        for p in resolution.packages
        if target.name != "host" and p.files and session.metadata.was_built(p.files[0])
    ) + _hash_warnings(packages, request, fmt)
    txt = cell.render(packages)
    text = txt if fmt == "txt" else _pylock_text(cell.lock(packages), request, target, flavour)
    yanked = (p.name for p in resolution.packages if p.files and all(f.yanked for f in p.files))
    made = replace(
        record, yanked=frozenset(yanked), resolution=resolution, pins=pin_facts(packages)
    )
    _remember(session, request, text, made)
    stale = None
    if text != previous and request.check:
        stale = (
            "no lock yet" if previous is None else lock_changes(previous, text, existing, packages)
        )
    done = cell.result(text, len(packages), warnings=warnings, stale=stale)
    return CellLock(result=done, resolution=resolution, txt=txt)


def _kept_lock(
    session: CompileSession,
    cell: _Cell,
    source: ParsedRequirements,
    constraints: Sequence[Constraint],
    projects: ProjectInputs,
    *,
    pre: bool,
    record: LockRecord,
) -> CellLock | None:
    """The existing lock, kept when it still holds; with ``--check`` a stale one too (its
    ``stale`` says why). None when the inputs must be resolved."""
    request, previous = cell.request, cell.previous
    if request.check and previous is None:
        done = cell.result("", 0, stale="no lock yet")
        return CellLock(result=done, resolution=Resolution(packages=()), txt="")
    if previous is None or cell.out is None or cell.fmt != "txt":
        return None
    if request.upgrade or request.upgrade_packages or request.refresh:
        return None
    known = recall_lock(session.cache, previous)
    if known is None and not request.check:
        return None  # a lock this cache never saw made (a fresh clone): resolve once
    pins: PinFacts | None = None
    if known is not None and known.context != record.context:
        verdict = Verdict(stale="option changed: pip's configuration, the indexes or the target")
    elif known is not None and known.inputs == record.inputs and known.resolution is not None:
        verdict = Verdict(resolution=known.resolution)  # held for these very inputs before
        pins = known.pins
    else:
        existing = cell.existing()
        if existing is None:
            return None
        verdict = confirm_lock(
            existing,
            source.requirements,
            constraints,
            target=cell.target,
            pre=pre,
            metadata=session.metadata,
            left_out=_left_out(request, projects),
            yanked=known.yanked if known is not None else (),
        )
    stale = verdict.stale
    if verdict.resolution is not None:
        resolution = verdict.resolution
        if pins is None:
            existing = cell.existing()
            pins = pin_facts(existing.packages if existing is not None else ())
        packages = confirmed_packages(resolution, pins, lock_dir=cell.out.parent)
        packages = _emitted(packages, resolution, request, projects, {})
        txt = cell.render(packages)
        if txt == previous:
            made = replace(
                record,
                yanked=known.yanked if known is not None else frozenset(),
                resolution=resolution,
                pins=pin_facts(packages),
            )
            _remember(session, request, previous, made)
            done = cell.result(previous, len(packages), confirmed=True)
            return CellLock(result=done, resolution=resolution, txt=txt)
        stale = text_difference(previous, txt)
    existing = cell.existing()
    if request.check and stale is not None and existing is not None:
        done = cell.result(previous, len(existing.packages), stale=stale)
        return CellLock(result=done, resolution=lock_resolution(existing), txt=previous)
    return None


def _left_out(request: CompileRequest, projects: ProjectInputs) -> frozenset[NormalizedName]:
    """Names the lock leaves out by choice (``--no-emit-package``, ``--no-emit-project``)."""
    left_out = {canonicalize_name(name) for name in request.no_emit_packages}
    if request.no_emit_project:
        left_out |= projects.names
    return frozenset(left_out)


def _remember(
    session: CompileSession, request: CompileRequest, text: str, record: LockRecord
) -> None:
    """Record how a lock this run keeps or writes was made (a check or dry run blesses none)."""
    if not (request.check or request.dry_run):
        remember_lock(session.cache, text, record)


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
