"""Carrying out a plan all-or-nothing: the order of the steps; ``install`` and ``snapshot`` do them.

Order: fetch and verify every file, build every sdist into a wheel, snapshot the files of every
distribution that will go away, and only then let pip change the environment. If anything fails
or the run is interrupted after that point, what was newly installed is removed and the snapshot
is put back, and the caller learns whether the environment is as it was.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName

from pinlock.cache import Cache
from pinlock.errors import PinlockError, SyncFailed
from pinlock.index.models import FileKind
from pinlock.sync.environment import Environment, InstalledDist, read_installed
from pinlock.sync.fetch import FileSource, fetch_files
from pinlock.sync.install import (
    _build_sdists,
    _from_source,
    _install,
    _install_from_source,
    _record_lock_urls,
    _source_of,
)
from pinlock.sync.piprun import pip_command, run_pip
from pinlock.sync.plan import Plan
from pinlock.sync.snapshot import _Snapshot

__all__ = ["ApplyResult", "apply_plan"]

Checkpoint = Callable[[str], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplyResult:
    """What a finished sync did."""

    installed: tuple[NormalizedName, ...] = ()
    removed: tuple[NormalizedName, ...] = ()
    built: tuple[NormalizedName, ...] = ()


def apply_plan(
    plan: Plan,
    env: Environment,
    *,
    source: FileSource,
    cache: Cache,
    pip_args: Sequence[str] = (),
    break_system_packages: bool = False,
    environ: Mapping[str, str] | None = None,
    checkpoint: Checkpoint | None = None,
) -> ApplyResult:
    """Make ``env`` match ``plan``; raise ``SyncFailed`` (after restoring) if it cannot.

    ``pip_args`` are index options for pip when it must build an sdist or an editable
    (their build requirements).
    ``checkpoint`` is called with the name of each stage once it is done (``"fetched"``,
    ``"uninstalled"``, ``"installed"``), which lets a caller report progress.
    Errors before the environment changes (a hash mismatch, a missing file, a failed build)
    propagate as they are: nothing was touched.
    """
    if plan.is_empty:
        return ApplyResult()
    mark = checkpoint or (lambda _stage: None)
    # Editables, VCS commits and local folders are built by pip from their source.
    from_source = [p for p in plan.to_install if _from_source(p)]
    for package in from_source:
        _source_of(package)
    pinned = [p for p in plan.to_install if not _from_source(p)]
    fetched = fetch_files(
        pinned,
        source=source,
        cache=cache,
        tags=env.tags,
        target=f"Python {'.'.join(map(str, env.python_version))} at {env.python}",
    )
    extra = ["--break-system-packages"] if break_system_packages else []
    with _work_dir(env) as work:
        wheels = _build_sdists(
            fetched, env, work=work, cache=cache, pip_args=pip_args, environ=environ
        )
        mark("fetched")
        removing = [
            dist.display_name
            for dist in plan.to_uninstall
            if not _pip_replaces_itself(dist, plan, env)
        ]
        snapshot = _Snapshot.take(
            env,
            plan.to_uninstall,
            work / "backup",
            work=work,
            incoming=[wheel for _item, wheel, _digest in wheels],
        )
        try:
            if removing:
                run_pip(
                    ["uninstall", "--yes", *extra, *removing], python=env.python, environ=environ
                )
                mark("uninstalled")
            _install(wheels, env, work, extra, environ)
            _record_lock_urls(wheels, env)
            _install_from_source(from_source, env, pip_args, extra, environ)
            mark("installed")
            _verify(plan, env)
        except BaseException as exc:
            with _interrupts_ignored():
                restored = snapshot.restore(env)
            cause: BaseException | str = (
                "interrupted" if isinstance(exc, KeyboardInterrupt) else exc
            )
            raise SyncFailed(cause, restored=restored) from exc
    return ApplyResult(
        installed=tuple(p.name for p in plan.to_install),
        removed=tuple(d.name for d in plan.to_uninstall),
        built=tuple(f.package.name for f in fetched if f.kind is FileKind.SDIST),
    )


@contextlib.contextmanager
def _work_dir(env: Environment) -> Iterator[Path]:
    # Next to the environment, so the snapshot can hard-link instead of copying.
    try:
        path = Path(tempfile.mkdtemp(prefix=".pinlock-sync-", dir=env.prefix))
    except OSError:
        path = Path(tempfile.mkdtemp(prefix="pinlock-sync-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """Hold off Ctrl-C while the environment is put back: half a restore is worse than none."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
