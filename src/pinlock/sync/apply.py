"""Carrying out a plan all-or-nothing: the order of the steps; ``install`` and ``snapshot`` do them.

Order: fetch and verify every file, build every sdist into a wheel, check that the
environment-to-be holds every dependency of its packages and that its folders can be written,
snapshot the files of every distribution that will go away (and write the snapshot down), and
only then let pip change the environment. If anything fails or the run is stopped after that
point (an exception, or SIGINT/SIGTERM/SIGHUP, which ``piprun`` turns into pip's group stopped
and waited for), what was newly installed is removed and the snapshot is put back, with every
further signal held off, and the caller learns whether the environment is as it was. A run
killed outright leaves its work folder, journal included, for the next one
(``pinlock.sync.recovery``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import NormalizedName

from pinlock.cache import Cache
from pinlock.errors import EnvironmentProblem, PinlockError, StorageError, SyncFailed
from pinlock.index.models import FileKind
from pinlock.progress import INSTALLING, REMOVING, Progress
from pinlock.sync.consistency import (
    Member,
    check_dependencies,
    kept_members,
    metadata_requirements,
    project_requirements,
    wheel_requirements,
)
from pinlock.sync.environment import Environment, InstalledDist, read_installed
from pinlock.sync.fetch import FetchedFile, FileSource, fetch_files
from pinlock.sync.install import (
    _build_sdists,
    _direct_url,
    _install,
    _install_from_source,
    _record_lock_urls,
    _source_of,
)
from pinlock.sync.locks import builds_from_source
from pinlock.sync.piprun import pip_command, run_pip
from pinlock.sync.plan import Plan
from pinlock.sync.recovery import JOURNAL, WORK_PREFIX
from pinlock.sync.signals import uninterruptible
from pinlock.sync.snapshot import _Snapshot
from pinlock.urls import local_path

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings
    from pinlock.sync.wheelinstall import Prepared

__all__ = ["INSTALLERS", "ApplyResult", "Installer", "apply_plan"]

Checkpoint = Callable[[str], None]
# What installs the wheels: pinlock itself (``wheelinstall``), or one pip run.
Installer = Literal["pinlock", "pip"]
INSTALLERS: tuple[Installer, ...] = ("pinlock", "pip")


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplyResult:
    """What a finished sync did; ``unchecked`` names packages whose dependencies were not
    checked (their metadata could not be read)."""

    installed: tuple[NormalizedName, ...] = ()
    removed: tuple[NormalizedName, ...] = ()
    built: tuple[NormalizedName, ...] = ()
    unchecked: tuple[str, ...] = ()


def apply_plan(
    plan: Plan,
    env: Environment,
    *,
    source: FileSource,
    cache: Cache,
    index: IndexSettings | None = None,
    break_system_packages: bool = False,
    environ: Mapping[str, str] | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Progress | None = None,
    installer: Installer = "pinlock",
    compile_bytecode: bool = True,
) -> ApplyResult:
    """Make ``env`` match ``plan``; raise ``SyncFailed`` (after restoring) if it cannot.

    ``index`` is where pip finds the build requirements of an sdist or an editable, handed
    to pip without a secret on its command line (``pipindex``); None leaves pip its own
    configuration. ``checkpoint`` is called with the name of each stage once it is done
    (``"fetched"``, ``"uninstalled"``, ``"installed"``); ``progress`` hears of each download,
    build, removal and install (``pinlock.progress``). ``installer`` says what installs the
    wheels: ``"pinlock"`` in this process, several at once (``wheelinstall``), the old versions
    removed by their RECORD first; ``"pip"`` one pip run (and ``pip uninstall`` before it).
    Either way pip builds and installs editables, VCS commits and local folders, and
    ``compile_bytecode`` says whether the installed modules are byte-compiled (pip's default).
    Errors before the environment changes (a hash mismatch, a missing file, a failed build, a
    missing dependency, a read-only folder) propagate as they are: nothing was touched.
    """
    if plan.is_empty:
        return ApplyResult()
    mark = checkpoint or (lambda _stage: None)
    # Editables, VCS commits and local folders are built by pip from their source.
    from_source = [p for p in plan.to_install if builds_from_source(p)]
    for package in from_source:
        _source_of(package)
    pinned = [p for p in plan.to_install if not builds_from_source(p)]
    fetched = fetch_files(
        pinned,
        source=source,
        cache=cache,
        tags=env.tags,
        target=f"Python {'.'.join(map(str, env.python_version))} at {env.python}",
        progress=progress,
    )
    extra = ["--break-system-packages"] if break_system_packages else []
    with _work_dir(env) as work:
        build_environ = _build_environment(index, env, work, environ)
        wheels = _build_sdists(
            fetched, env, work=work, cache=cache, environ=build_environ, progress=progress
        )
        # pinlock's installer unpacks each wheel into the cache (no change to the environment);
        # the dependency check then reads the unpacked metadata, not the archives.
        prepared = _prepare(wheels, env, cache) if installer == "pinlock" else None
        unchecked = check_dependencies(_members(plan, wheels, prepared), env.target)
        mark("fetched")
        _check_writable(env)
        removing = [
            dist.display_name
            for dist in plan.to_uninstall
            if not _pip_replaces_itself(dist, plan, env)
        ]
        try:
            snapshot = _Snapshot.take(
                env,
                plan.to_uninstall,
                work / "backup",
                work=work,
                incoming=[wheel for _item, wheel, _digest in wheels] if prepared is None else (),
                overwritten=[path for item in prepared or () for path in item.destinations],
                journal=work / JOURNAL,
            )
        except OSError as error:
            raise StorageError(error.filename or work, error) from error
        pip_extra = extra if compile_bytecode else [*extra, "--no-compile"]
        try:
            if prepared is None:
                if removing:
                    _begin(progress, REMOVING, len(removing))
                    _pip_uninstall(removing, env, extra, environ)
                    _end(progress, REMOVING, len(removing))
                    mark("uninstalled")
                _begin(progress, INSTALLING, len(wheels) + len(from_source))
                _install(wheels, env, work, pip_extra, environ, progress=progress)
                _record_lock_urls(wheels, env)
            else:
                if plan.to_uninstall:
                    _begin(progress, REMOVING, len(plan.to_uninstall))
                    # pip's removals first: pip itself may be among those removed by RECORD.
                    by_pip = [d for d in plan.to_uninstall if not _has_record(d)]
                    _pip_uninstall([d.display_name for d in by_pip], env, extra, environ)
                    _remove_in_process(plan.to_uninstall, env, progress)
                    _end(progress, REMOVING, len(by_pip))
                    mark("uninstalled")
                _begin(progress, INSTALLING, len(wheels) + len(from_source))
                _install_in_process(prepared, env, work, compile_bytecode, progress)
            _install_from_source(from_source, env, pip_extra, build_environ, progress=progress)
            _end(progress, INSTALLING)
            mark("installed")
            _verify(plan, env)
            # Done: a run killed from here on leaves nothing to undo.
            (work / JOURNAL).unlink(missing_ok=True)
        except BaseException as exc:
            with uninterruptible():
                restored = snapshot.restore(env)
            raise SyncFailed(exc, restored=restored) from exc
    return ApplyResult(
        installed=tuple(p.name for p in plan.to_install),
        removed=tuple(d.name for d in plan.to_uninstall),
        built=tuple(f.package.name for f in fetched if f.kind is FileKind.SDIST),
        unchecked=unchecked,
    )


def _pip_uninstall(
    names: Sequence[str], env: Environment, extra: Sequence[str], environ: Mapping[str, str] | None
) -> None:
    if names:
        run_pip(["uninstall", "--yes", *extra, *names], python=env.python, environ=environ)


def _has_record(dist: InstalledDist) -> bool:
    """Whether ``dist`` can be removed by its RECORD; the others are pip's to remove
    (``.egg-info`` installs, ``.egg-link`` develop installs)."""
    return dist.info_dir.suffix == ".dist-info" and (dist.info_dir / "RECORD").is_file()


def _remove_in_process(
    dists: Sequence[InstalledDist], env: Environment, progress: Progress | None
) -> None:
    """Remove each of ``dists`` that has a RECORD, by it."""
    from pinlock.sync.snapshot import remove_dist

    stops = {*env.site_dirs, env.scripts, env.prefix}
    for dist in dists:
        if _has_record(dist):
            remove_dist(dist, stops=stops)
            if progress is not None:
                progress.advance(REMOVING, item=dist.display_name)


def _prepare(
    wheels: Sequence[tuple[FetchedFile, Path, str]], env: Environment, cache: Cache
) -> list[Prepared]:
    """Every wheel unpacked in the cache for pinlock's own installer (``wheelinstall``)."""
    # Imported here: only a sync that installs wheels this way loads installer.
    from pinlock.sync import wheelinstall

    jobs = [
        wheelinstall.WheelJob(
            wheel=wheel,
            sha256=digest,
            name=item.package.display_name,
            direct_url=_direct_url(item) if item.package.url is not None else None,
        )
        for item, wheel, digest in wheels
    ]
    return wheelinstall.prepare(jobs, env, cache)


def _install_in_process(
    prepared: Sequence[Prepared],
    env: Environment,
    work: Path,
    compile_bytecode: bool,
    progress: Progress | None,
) -> None:
    from pinlock.sync import wheelinstall

    installed = wheelinstall.install_wheels(
        prepared, env, byte_code=compile_bytecode, progress=progress
    )
    if compile_bytecode:
        from pinlock.sync.bytecode import compile_bytecode as compile_modules

        compile_modules(installed, env, work)


def _begin(progress: Progress | None, stage: str, total: int) -> None:
    if progress is not None:
        progress.stage(stage, total=total)


def _end(progress: Progress | None, stage: str, done: int = 0) -> None:
    if progress is not None:
        if done:
            progress.advance(stage, done)
        progress.end(stage)


def _members(
    plan: Plan,
    wheels: Sequence[tuple[FetchedFile, Path, str]],
    prepared: Sequence[Prepared] | None = None,
) -> list[Member]:
    members = kept_members(plan.steps)
    by_name = {item.package.name: wheel for item, wheel, _digest in wheels}
    unpacked = {item.job.wheel: item.unpacked for item in prepared or ()}
    for package in plan.to_install:
        wheel = by_name.get(package.name)
        version, requires = package.version, None
        if wheel in unpacked:
            found = unpacked[wheel]
            requires = metadata_requirements(found.root / found.dist_info / "METADATA")
        elif wheel is not None:
            requires = wheel_requirements(wheel)
        elif builds_from_source(package):
            folder = local_path(package.url or "")
            if folder is not None and folder.is_dir():  # a VCS commit is checked out by pip
                version, requires = project_requirements(folder)
        members.append(
            Member(
                name=package.name,
                display_name=package.display_name,
                version=version,
                requires=requires,
                where=str(package.origin) if package.origin else "",
            )
        )
    return members


def _build_environment(
    index: IndexSettings | None, env: Environment, work: Path, environ: Mapping[str, str] | None
) -> Mapping[str, str] | None:
    """The environment of the pips that build: ``index`` given to them as pip reads it."""
    if index is None:
        return environ
    from pinlock.sync.pipindex import pip_index_environment

    own = pip_command(env.python)[0] == sys.executable
    pip_python = tuple(sys.version_info[:3]) if own else env.python_version
    return pip_index_environment(index, work, environ, pip_python=pip_python)


def _check_writable(env: Environment) -> None:
    """Refuse, before any change, an environment whose folders cannot be written."""
    for folder in dict.fromkeys((*env.site_dirs, env.scripts)):
        if not folder.is_dir():
            continue
        try:
            fd, probe = tempfile.mkstemp(prefix=".pinlock-write-test-", dir=folder)
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                reason += "; nothing was changed"
            raise EnvironmentProblem(f"cannot change {env.prefix}: {folder}: {reason}") from error
        os.close(fd)
        Path(probe).unlink()


@contextlib.contextmanager
def _work_dir(env: Environment) -> Iterator[Path]:
    # Next to the environment, so the snapshot can hard-link instead of copying, and so the
    # next run finds it if this one is killed.
    try:
        path = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=env.prefix))
    except OSError:
        try:
            path = Path(tempfile.mkdtemp(prefix="pinlock-sync-"))
        except OSError as error:
            raise StorageError(Path(tempfile.gettempdir()) / "pinlock-sync-", error) from error
    try:
        yield path
    finally:
        with uninterruptible():
            shutil.rmtree(path, ignore_errors=True)


def _pip_replaces_itself(dist: InstalledDist, plan: Plan, env: Environment) -> bool:
    """Whether ``dist`` is the target's own pip, which drives the install that replaces it.

    Uninstalled first, it could not run the install; pip swaps its own version safely.
    """
    if dist.name != "pip" or all(package.name != "pip" for package in plan.to_install):
        return False
    return pip_command(env.python)[0] != sys.executable


def _verify(plan: Plan, env: Environment) -> None:
    now = {dist.name: dist for dist in read_installed(env.site_dirs)}
    for package in plan.to_install:
        dist = now.get(package.name)
        if dist is None:
            raise PinlockError(f"{package.display_name} is not installed after pip ran")
        if package.version is not None and dist.version != package.version:
            raise PinlockError(
                f"{package.display_name} is {dist.raw_version} after pip ran, not {package.version}"
            )
    for gone in plan.to_uninstall:
        if gone.name not in {p.name for p in plan.to_install} and gone.name in now:
            raise PinlockError(f"{gone.display_name} is still installed after pip ran")
