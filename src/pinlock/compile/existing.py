"""The lock already at a cell's output: read when needed, and kept as it is while it holds.

A cell (``pinlock.compile.cell``) asks ``kept_lock`` first. The lock is kept, with no request to
any index, when the cache's record of it (``pinlock.compile.uptodate``) says it holds for these
very inputs, or else when its pins are confirmed against the inputs (``pinlock.compile.confirm``)
and render as the lock. A compile keeps only locks the cache saw made; ``--check`` judges any
lock, and reports why one is stale.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from pinlock.compile.confirm import confirm_lock, lock_resolution
from pinlock.compile.policy import emitted
from pinlock.compile.project import ProjectInputs
from pinlock.compile.request import CompileRequest, CompileResult, LockFormat, Newline
from pinlock.compile.resolve import Constraint, Resolution
from pinlock.compile.uptodate import (
    LockRecord,
    PinFacts,
    confirmed_packages,
    pin_facts,
    recall_lock,
    remember_lock,
    text_difference,
)
from pinlock.errors import PinlockError
from pinlock.flavour import Flavour
from pinlock.index.options import IndexOptions
from pinlock.lock.model import Lock, LockedPackage
from pinlock.lock.txt import LockHeader, read_lock, render_lock
from pinlock.reqfile import ParsedRequirements
from pinlock.target import Target
from pinlock.urls import strip_userinfo

if TYPE_CHECKING:
    from pinlock.compile.session import CompileSession

__all__ = ["CellFrame", "CellLock", "existing_lock", "kept_lock", "left_out", "remember"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CellLock:
    """A cell's lock (``result``), its resolution, and the lock as requirements.txt text, which
    a layered input of the same run reads (``-c main.txt``) whatever format was written."""

    result: CompileResult
    resolution: Resolution
    txt: str


@dataclass(kw_only=True, slots=True)
class CellFrame:
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
            self._existing, self._read = existing_lock(self.out, self.fmt), True
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
        request = self.request
        text = render_lock(
            self.lock(packages),
            header if request.header else None,
            annotation_style=request.annotation_style,
            annotate=request.annotate,
            emit_hashes=request.generate_hashes,
            emit_index=request.emit_index_url,
            emit_find_links=request.emit_find_links,
            emit_trusted_host=request.emit_trusted_host,
            default_index=self.default_index,
        )
        return self.finished(text)

    def finished(self, text: str) -> str:
        """``text`` with the lock's line endings (``--newline``), or the lock already there when
        the two differ only in the command its header records: the command says how to remake
        the lock, so a plain ``pinlock compile`` keeps a ``make lock`` header (no churn between
        a Makefile and a pre-commit hook) and ``--check`` does not call such a lock stale."""
        text = text.replace("\n", _line_ending(self.request.newline, self.previous, self.path))
        previous = self.previous
        if previous is not None and _differs_in_command_only(previous, text, self.request.command):
            return previous
        return text

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
            format=self.fmt,
            **details,
        )


def kept_lock(
    session: CompileSession,
    cell: CellFrame,
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
    stale: str | None = None
    if known is not None and known.context != record.context:
        stale = "option changed: pip's configuration, the indexes or the target"
    else:
        kept = _kept_by_record(cell, record, known, projects)
        if kept is None:
            kept, stale = _kept_by_walk(
                session, cell, source, constraints, projects, pre=pre, known=known
            )
        if kept is not None:
            resolution, packages = kept
            made = replace(
                record,
                yanked=known.yanked if known is not None else frozenset(),
                resolution=resolution,
                pins=pin_facts(packages),
            )
            remember(session, request, previous, made)
            done = cell.result(previous, len(packages), confirmed=True)
            return CellLock(result=done, resolution=resolution, txt=previous)
    existing = cell.existing()
    if request.check and stale is not None and existing is not None:
        done = cell.result(previous, len(existing.packages), stale=stale)
        return CellLock(result=done, resolution=lock_resolution(existing), txt=previous)
    return None


def _kept_by_record(
    cell: CellFrame, record: LockRecord, known: LockRecord | None, projects: ProjectInputs
) -> tuple[Resolution, tuple[LockedPackage, ...]] | None:
    """The resolution the cache recorded for this very lock and these very inputs, when it
    still renders as the lock: no metadata read, not even the lock parsed."""
    if known is None or known.resolution is None or known.pins is None:
        return None
    if record.inputs is None or known.inputs != record.inputs:
        return None
    packages = _lock_packages(cell, known.resolution, known.pins, projects)
    return (known.resolution, packages) if cell.render(packages) == cell.previous else None


def _kept_by_walk(
    session: CompileSession,
    cell: CellFrame,
    source: ParsedRequirements,
    constraints: Sequence[Constraint],
    projects: ProjectInputs,
    *,
    pre: bool,
    known: LockRecord | None,
) -> tuple[tuple[Resolution, tuple[LockedPackage, ...]] | None, str | None]:
    """The lock's pins checked against the inputs (``confirm_lock``): the resolution they make
    when they hold and render as the lock, else None and why not (None when undecided)."""
    existing = cell.existing()
    if existing is None:
        return None, None
    verdict = confirm_lock(
        existing,
        source.requirements,
        constraints,
        target=cell.target,
        pre=pre,
        metadata=session.metadata,
        left_out=left_out(cell.request, projects),
        yanked=known.yanked if known is not None else (),
    )
    if verdict.resolution is None:
        return None, verdict.stale
    packages = _lock_packages(cell, verdict.resolution, pin_facts(existing.packages), projects)
    txt = cell.render(packages)
    if txt != cell.previous:
        return None, text_difference(cell.previous or "", txt)
    return (verdict.resolution, packages), None


def _lock_packages(
    cell: CellFrame, resolution: Resolution, pins: PinFacts, projects: ProjectInputs
) -> tuple[LockedPackage, ...]:
    assert cell.out is not None
    # A lock record keeps indexes without credentials: the configured URLs stand in for them.
    configured = [cell.default_index, cell.options.index_url, *cell.options.extra_index_urls]
    if cell.flavour is not None:
        configured.append(cell.flavour.index)
    by_plain = {strip_userinfo(url)[0]: url for url in configured if url}
    pins = {
        name: (hashes, None if index is None else by_plain.get(index, index))
        for name, (hashes, index) in pins.items()
    }
    packages = confirmed_packages(resolution, pins, lock_dir=cell.out.parent)
    return emitted(packages, resolution, cell.request, projects, {})


def left_out(request: CompileRequest, projects: ProjectInputs) -> frozenset[NormalizedName]:
    """Names the lock leaves out by choice (``--no-emit-package``, ``--no-emit-project``)."""
    left_out = {canonicalize_name(name) for name in request.no_emit_packages}
    if request.no_emit_project:
        left_out |= projects.names
    return frozenset(left_out)


def remember(
    session: CompileSession, request: CompileRequest, text: str, record: LockRecord
) -> None:
    """Record how a lock this run keeps or writes was made (a check or dry run blesses none)."""
    if not (request.check or request.dry_run):
        remember_lock(session.cache, text, record)


def existing_lock(out: Path | None, fmt: LockFormat) -> Lock | None:
    if out is None or not out.is_file():
        return None
    try:
        if fmt == "pylock":
            # packaging.pylock is loaded for pylock.toml locks only: it costs a compile
            # writing requirements.txt locks 5 ms of its start.
            from pinlock.lock.pylock import read_pylock

            return read_pylock(out)
        return read_lock(out)
    except PinlockError:
        # An unreadable old lock only loses its preferences; the new one replaces it.
        return None


def _differs_in_command_only(previous: str, text: str, command: str) -> bool:
    """Whether the texts differ in one line only, the one recording ``command`` in ``text`` and
    another command in ``previous`` (the same line up to the command). Line ends count: a
    lock whose ``--newline`` changes is rewritten."""
    old_lines, new_lines = previous.splitlines(keepends=True), text.splitlines(keepends=True)
    if len(old_lines) != len(new_lines):
        return False
    changed = [(old, new) for old, new in zip(old_lines, new_lines, strict=True) if old != new]
    if len(changed) != 1:
        return False
    old, new = changed[0]
    start = new.find(command)
    return start > 0 and old.startswith(new[:start])


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
