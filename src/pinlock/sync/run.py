"""One sync, start to end: a request in, a report out (``sync``).

Find and inspect the target, choose the flavour's lock, read the locks, plan, and, unless it is a
dry run or there is nothing to do, apply. What the command line, the tests and a tox plugin call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pinlock.lock.txt import read_lock
from pinlock.sync.environment import (
    Environment,
    check_allowed,
    find_python,
    inspect_environment,
    protected_names,
)
from pinlock.sync.keep import kept_names
from pinlock.sync.locks import merge_options, select_packages
from pinlock.sync.plan import Plan, make_plan
from pinlock.sync.report import SyncReport

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings
    from pinlock.lock.model import Lock
    from pinlock.sync.apply import ApplyResult

__all__ = ["DEFAULT_LOCK", "SyncRequest", "index_settings", "sync"]

DEFAULT_LOCK = Path("requirements.txt")

IndexOverrides = Mapping[str, str | bool | Sequence[str]]


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncRequest:
    """Everything one sync is asked to do.

    ``locks`` are merged (default: ``requirements.txt``); with ``flavour`` (``auto`` or a
    flavour name) they are one lock per GPU flavour, files or stems, and one is chosen. The
    target is ``venv`` (created when missing), else ``python`` (an interpreter or a venv
    folder), else ``$VIRTUAL_ENV``, else ``./.venv``; ``system`` allows an interpreter that is no
    venv, ``break_system_packages`` one that is externally managed (PEP 668). ``dry_run`` plans
    and changes nothing, not even creating ``venv``. ``index_overrides`` are command-line index
    options by pip's names (``index-url``, ``extra-index-url``, ``find-links``, ``no-index``),
    over pip's configuration; the locks' own index lines apply over them, as in
    ``pip install -r``. ``keep`` names installed distributions no lock lists that stay (with
    what they require), or project folders (``.``) whose project stays: the package under test.
    """

    locks: tuple[Path, ...] = (DEFAULT_LOCK,)
    python: Path | None = None
    venv: Path | None = None
    system: bool = False
    break_system_packages: bool = False
    dry_run: bool = False
    flavour: str | None = None
    index_overrides: IndexOverrides = field(default_factory=dict)
    cache_dir: Path | None = None
    keep: tuple[str, ...] = ()


def sync(
    request: SyncRequest, *, before_changes: Callable[[SyncReport], None] | None = None
) -> SyncReport:
    """Make the target environment contain exactly what the locks say; report what happened.

    ``before_changes`` sees the report of what is about to change (``applied`` still None)
    just before the environment is touched, so a caller can show the plan while it runs.
    Raises ``PinlockError`` subclasses; ``SyncFailed`` says whether the environment was
    restored. A Ctrl-C before the environment changes propagates as ``KeyboardInterrupt``.
    """
    interpreter = find_python(
        python=request.python,
        venv=request.venv,
        system=request.system,
        create=not request.dry_run,
    )
    env = inspect_environment(interpreter)
    check_allowed(env, system=request.system, break_system_packages=request.break_system_packages)
    lock_paths = request.locks or (DEFAULT_LOCK,)
    choice = None
    notes: list[str] = []
    if request.flavour is not None:
        from pinlock.sync.flavours import choose_flavour_lock

        python_label = "py{}{}".format(*env.python_version[:2])
        choice = choose_flavour_lock(
            lock_paths, request.flavour, target_names=(env.target.name, python_label)
        )
        lock_paths = (choice.chosen.path,)
        notes.append(f"flavour {choice.chosen.flavour}: {choice.reason}")
    locks = [_read_lock(path, env) for path in lock_paths]
    wanted = select_packages(locks, env.marker_environment)
    plan = make_plan(
        wanted.packages,
        env.installed,
        python_version=env.python_version,
        protected=protected_names(env),
        kept=kept_names(env, request.keep),
        skipped=wanted.skipped,
    )
    report = SyncReport(
        environment=env, locks=tuple(lock_paths), plan=plan, flavour=choice, notes=tuple(notes)
    )
    if plan.is_empty or request.dry_run:
        return report
    if before_changes is not None:
        before_changes(report)
    applied = _apply(plan, env, locks, request)
    return replace(report, applied=applied)


def _read_lock(path: Path, env: Environment) -> Lock:
    """A requirements.txt lock, or a pylock.toml with what this environment installs of it."""
    from pinlock.lock.pylock import is_pylock_path

    if not is_pylock_path(path):
        return read_lock(path)
    from pinlock.lock.pylock import read_pylock

    return read_pylock(path, environment=env.marker_environment, tags=env.tags)


def index_settings(
    locks: Sequence[Lock], overrides: IndexOverrides, *, site_prefix: Path | None = None
) -> IndexSettings:
    """Where sync fetches from, as pip decides for ``pip --python TARGET install -i X -r lock``:
    the target's own ``pip.conf`` is pip's site configuration, the command line is the top layer,
    and the locks' own index lines apply over it."""
    from pinlock.index.config import load_pip_settings

    settings = load_pip_settings(overrides=overrides, site_prefix=site_prefix)
    return settings.with_options(merge_options(locks))


def _apply(plan: Plan, env: Environment, locks: list[Lock], request: SyncRequest) -> ApplyResult:
    # Imported here: a sync with nothing to do never loads the HTTP and install machinery.
    from pinlock.cache import Cache
    from pinlock.sync.apply import apply_plan
    from pinlock.sync.fetch import IndexFileSource

    settings = index_settings(locks, request.index_overrides, site_prefix=env.prefix)
    with IndexFileSource(settings) as source:
        return apply_plan(
            plan,
            env,
            source=source,
            cache=Cache(request.cache_dir),
            pip_args=_pip_index_args(settings),
            break_system_packages=request.break_system_packages,
        )


def _pip_index_args(settings: IndexSettings) -> list[str]:
    """``settings`` as pip options, for pip's own downloads (build requirements)."""
    args: list[str] = []
    if settings.no_index:
        args.append("--no-index")
    else:
        args += ["--index-url", settings.index_url]
        for url in settings.extra_index_urls:
            args += ["--extra-index-url", url]
    for link in settings.find_links:
        args += ["--find-links", link]
    for host in settings.trusted_hosts:
        args += ["--trusted-host", host]
    return args
