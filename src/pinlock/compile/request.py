"""What a compile run is asked (``CompileRequest``) and what it gives back (``CompileResult``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pinlock.compile.resolve import BuildLog
from pinlock.flavour import Flavour
from pinlock.index.config import PipConfiguration
from pinlock.index.options import IndexStrategy
from pinlock.target import Target

__all__ = [
    "AnnotationStyle",
    "CompileRequest",
    "CompileResult",
    "LockFormat",
    "Newline",
    "PinChanges",
]

AnnotationStyle = Literal["split", "line"]
LockFormat = Literal["txt", "pylock"]
# lf, crlf, native (the platform's), preserve (the existing lock's, else the input's, else lf).
Newline = Literal["lf", "crlf", "native", "preserve"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileRequest:
    """Everything one ``pinlock compile`` run is asked to do.

    ``output`` is a path, ``"-"`` for standard output, or None for the default name next to each
    input; with several inputs and an ``output`` they are merged into that one lock.
    ``index_overrides`` are command-line index options (pip's option names).
    ``pip_site_prefix`` is ``sys.prefix`` of the environment whose ``pip.conf`` is pip's site
    configuration: the ``--python`` target's when there is exactly one; None for pinlock's own.
    ``pip_configuration`` is pip's configuration as already loaded (``load_pip_configuration``
    with the same ``index_overrides`` and site prefix), e.g. by a caller that showed it; None:
    the run loads it.
    ``index_strategy`` says how several indexes answer for one project (``first-index``: the
    first that has it, extra indexes before the default one). ``offline`` runs from the cache
    alone (index pages, metadata, files) and names what is missing there; ``refresh`` asks the
    indexes again for everything kept in the cache (pages, metadata) and resolves afresh.
    ``check`` writes nothing and tells, per lock, whether it still holds (``CompileResult.stale``
    says why not); it asks no index when the cache knows enough.
    ``constraints`` are ``-c FILE``s for every input. ``extras``, ``all_extras`` and ``groups``
    choose what of project inputs (pyproject.toml, setup.cfg, setup.py) is locked besides their
    dependencies; ``build_isolation`` is how their backends prepare metadata when it is dynamic.
    ``no_emit_packages`` (names) and ``no_emit_project`` (local project folders and the projects
    read as inputs) stay out of the locks. ``output_format`` None means by the lock's name
    (``pylock.toml``, ``pylock.<name>.toml`` are PEP 751). ``stdin`` is what input ``-`` reads.
    ``header``, ``annotate`` (``# via``), ``emit_index_url``, ``emit_find_links`` and
    ``emit_trusted_host`` say what a requirements.txt lock shows besides its pins, ``newline``
    its line endings. ``uploaded_prior_to`` leaves out remote files uploaded at or after it
    (None: pip configuration's ``uploaded-prior-to``, if any).
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
    pip_site_prefix: Path | None = None
    pip_configuration: PipConfiguration | None = None
    offline: bool = False
    refresh: bool = False
    check: bool = False
    index_strategy: IndexStrategy = "first-index"
    constraints: tuple[Path, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    build_isolation: bool = True
    no_emit_packages: tuple[str, ...] = ()
    no_emit_project: bool = False
    output_format: LockFormat | None = None
    stdin: str | None = None
    header: bool = True
    annotate: bool = True
    emit_index_url: bool = True
    emit_find_links: bool = True
    emit_trusted_host: bool = True
    newline: Newline = "preserve"
    uploaded_prior_to: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class PinChanges:
    """How a lock's pins differ from those of the lock it replaces (or would replace): each pin
    as ``(name, version)``, a direct reference's URL standing for its version; ``changed``
    as ``(name, old, new)``. Sorted by name."""

    added: tuple[tuple[str, str], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True, kw_only=True, slots=True)
class CompileResult:
    """One lock: where it goes (None for standard output), its text, and whether it changed.

    ``warnings`` are one line each (a run's warnings about all its locks come with its last
    lock); ``build_logs`` hold what the build backends printed, for a verbose view;
    ``rounds`` the resolver's rounds.
    ``confirmed``: the existing lock still held and was kept without resolving (no request to
    any index). ``stale``, with ``CompileRequest.check``: why the existing lock no longer holds
    (None when it does). ``changes``: the pins added, removed and changed against the existing
    lock (none when it was kept; every pin when there was none). ``format``: the lock's.
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
    confirmed: bool = False
    stale: str | None = None
    changes: PinChanges = PinChanges()
    format: LockFormat = "txt"

    def as_json(self) -> dict[str, Any]:
        """The lock as ``pinlock compile --json`` lists it (JSON-ready values; docs/json.md)."""
        changes = self.changes
        return {
            "input": str(self.input),
            "path": None if self.output is None else str(self.output),
            "format": self.format,
            "target": self.target.name,
            "python_version": self.target.python_version,
            "flavour": None if self.flavour is None else self.flavour.name,
            "packages": self.package_count,
            "changed": self.changed,
            "confirmed": self.confirmed,
            "stale": self.stale,
            "added": [{"name": name, "version": version} for name, version in changes.added],
            "removed": [{"name": name, "version": version} for name, version in changes.removed],
            "updated": [
                {"name": name, "old": old, "new": new} for name, old, new in changes.changed
            ],
            "warnings": list(self.warnings),
        }
