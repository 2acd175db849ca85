"""One sync, start to end: a request in, a report out (``sync``).

Find and inspect the target, choose the flavour's lock, read the locks, plan, and, unless it is a
dry run or there is nothing to do, apply. What the command line, the tests and a tox plugin call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pinlock.errors import ConfigError, EmptyLock
from pinlock.lock.txt import read_lock
from pinlock.progress import Progress
from pinlock.sync.consistency import (
    Member,
    check_dependencies,
    kept_members,
    wheel_requirements,
)
from pinlock.sync.environment import (
    Environment,
    check_allowed,
    find_python,
    inspect_environment,
    protected_names,
    read_installed,
)
from pinlock.sync.envlock import hold_environment
from pinlock.sync.keep import kept_names
from pinlock.sync.locks import check_hashes, merge_options, select_packages
from pinlock.sync.plan import Plan, make_plan
from pinlock.sync.recovery import pending_repairs, recover
from pinlock.sync.report import SyncReport
from pinlock.sync.signals import interruptible
from pinlock.sync.venvs import check_complete

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings
    from pinlock.lock.model import Lock
    from pinlock.sync.apply import ApplyResult, Installer

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
    ``pip install -r``. Locks with no line for the target are refused when they would remove
    anything, unless ``allow_empty``. ``lock_timeout`` bounds the wait for another run on the
    same environment (None: as long as it takes). ``keep`` names
    installed distributions no lock lists that stay (with what they require), or project
    folders (``.``) whose project stays: the package under test. ``installer`` installs the
    wheels: ``"pinlock"`` in this process, several at once; ``"pip"`` one pip run, as before.
    ``compile_bytecode`` byte-compiles what is installed, as pip does by default.
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
    allow_empty: bool = False
    lock_timeout: float | None = None
    keep: tuple[str, ...] = ()
    installer: Installer = "pinlock"
    compile_bytecode: bool = True


def sync(
    request: SyncRequest,
    *,
    before_changes: Callable[[SyncReport], None] | None = None,
    notify: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Make the target environment contain exactly what the locks say; report what happened.

    ``before_changes`` sees the report of what is about to change (``applied`` still None)
    just before the environment is touched, so a caller can show the plan while it runs.
    ``notify`` hears what is worth saying while the run goes on (waiting for another run on the
    same environment). ``progress`` hears of downloads, builds, removals and installs
    (``pinlock.progress``); a sync with nothing to do tells it nothing. Raises ``PinlockError``
    subclasses; ``SyncFailed`` says whether the environment was restored.

    The run holds the environment's lock (``envlock``: exclusive, shared for a dry run) from
    before it reads what is installed to its end, and first repairs what a killed run left
    (``recovery``). SIGINT, SIGTERM and SIGHUP (in the main thread) stop it alike: before any
    change as ``Interrupted`` (a ``KeyboardInterrupt``), after as ``SyncFailed`` once pip is
    stopped and the environment restored; ``exit_code`` is 128 + the signal's number.
    """
    with interruptible():
        return _sync(request, before_changes, notify or (lambda _message: None), progress)


def _sync(
    request: SyncRequest,
    before_changes: Callable[[SyncReport], None] | None,
    notify: Callable[[str], None],
    progress: Progress | None = None,
) -> SyncReport:
    if request.installer not in ("pinlock", "pip"):
        raise ConfigError("--installer", request.installer, "expected 'pinlock' or 'pip'")
    interpreter = find_python(
        python=request.python,
        venv=request.venv,
        system=request.system,
        create=not request.dry_run,
        lock_timeout=request.lock_timeout,
        on_wait=notify,
    )
    env = inspect_environment(interpreter, installed=False)
    check_allowed(env, system=request.system, break_system_packages=request.break_system_packages)
    with hold_environment(
        # A venv holds its own lock file; an interpreter that is none, in its site-packages.
        env.prefix if env.is_venv else env.purelib,
        exclusive=not request.dry_run,
        timeout=request.lock_timeout,
        on_wait=notify,
    ):
        check_complete(env.prefix)  # under the lock: a run creating it has finished by now
        repaired: tuple[str, ...] = ()
        pending: tuple[str, ...] = ()
        if request.dry_run:
            pending = pending_repairs(env)
        else:
            repaired = recover(env)
        env = replace(env, installed=read_installed(env.site_dirs))
        report, locks = _plan(request, env, repaired=repaired, pending=pending)
        plan = report.plan
        if request.dry_run:
            return replace(report, unchecked=_check_offline(report, request))
        if plan.is_empty:
            # Nothing changes, so nothing is checked: reading every METADATA would double the
            # time of a sync with nothing to do. --check checks.
            return report
        if before_changes is not None:
            before_changes(report)
        applied = _apply(plan, env, locks, request, progress)
        return replace(report, applied=applied, unchecked=applied.unchecked)


def _plan(
    request: SyncRequest,
    env: Environment,
    *,
    repaired: tuple[str, ...],
    pending: tuple[str, ...],
) -> tuple[SyncReport, list[Lock]]:
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
    check_hashes(locks)
    wanted = select_packages(locks, env.marker_environment)
    plan = make_plan(
        wanted.packages,
        env.installed,
        python_version=env.python_version,
        protected=protected_names(env),
        kept=kept_names(env, request.keep),
        skipped=wanted.skipped,
    )
    if not wanted.packages and plan.to_uninstall and not request.allow_empty:
        raise EmptyLock(
            [str(path) for path in lock_paths],
            len(wanted.skipped),
            env.prefix,
            [dist.display_name for dist in plan.to_uninstall],
        )
    report = SyncReport(
        environment=env,
        locks=tuple(lock_paths),
        plan=plan,
        flavour=choice,
        notes=tuple(notes),
        repaired=repaired,
        pending_repairs=pending,
    )
    return report, locks


def _check_offline(report: SyncReport, request: SyncRequest) -> tuple[str, ...]:
    """Dependencies of what the environment would hold, for a dry run (``--check``): the
    installed distributions' metadata, and the lock's wheels in the artifact store, never the
    network. The names whose metadata is not at hand come back unchecked."""
    plan = report.plan
    members = kept_members(plan.steps)
    if plan.to_install:
        from pinlock.cache import Cache
        from pinlock.store import ArtifactStore

        store = ArtifactStore(Cache(request.cache_dir))
        for package in plan.to_install:
            wheel = store.find_wheel(package.hashes)
            members.append(
                Member(
                    name=package.name,
                    display_name=package.display_name,
                    version=package.version,
                    requires=None if wheel is None else wheel_requirements(wheel),
                    where=str(package.origin) if package.origin else "",
                )
            )
    return check_dependencies(members, report.environment.target)


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


def _apply(
    plan: Plan,
    env: Environment,
    locks: list[Lock],
    request: SyncRequest,
    progress: Progress | None,
) -> ApplyResult:
    # Imported here: a sync with nothing to do never loads the HTTP and install machinery.
    from pinlock.cache import Cache
    from pinlock.sync.apply import apply_plan
    from pinlock.sync.fetch import IndexFileSource
    from pinlock.sync.recovery import clean_store

    settings = index_settings(locks, request.index_overrides, site_prefix=env.prefix)
    cache = Cache(request.cache_dir)
    clean_store(cache)
    with IndexFileSource(settings, progress=progress, cache=cache) as source:
        return apply_plan(
            plan,
            env,
            source=source,
            cache=cache,
            index=settings,
            break_system_packages=request.break_system_packages,
            progress=progress,
            installer=request.installer,
            compile_bytecode=request.compile_bytecode,
        )
