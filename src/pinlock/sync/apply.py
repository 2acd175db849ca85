"""Carrying out a plan all-or-nothing.

Order: fetch and verify every file, build every sdist into a wheel, snapshot the files of every
distribution that will go away, and only then let pip change the environment. If anything fails
or the run is interrupted after that point, what was newly installed is removed and the snapshot
is put back, and the caller learns whether the environment is as it was.
"""

from __future__ import annotations

import configparser
import contextlib
import csv
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName

from pinlock.cache import Cache
from pinlock.digests import record_digest
from pinlock.errors import EnvironmentProblem, PinlockError, SyncFailed
from pinlock.index.models import FileKind
from pinlock.lock.model import LockedPackage
from pinlock.store import ArtifactStore
from pinlock.sync.environment import Environment, InstalledDist, read_installed
from pinlock.sync.fetch import (
    FetchedFile,
    FileSource,
    fetch_files,
)
from pinlock.sync.piprun import pip_command, run_pip
from pinlock.sync.plan import Plan
from pinlock.urls import local_path

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
    editables = [p for p in plan.to_install if p.editable]
    for package in editables:
        _editable_path(package)
    pinned = [p for p in plan.to_install if not p.editable]
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
            for package in editables:
                path = _editable_path(package)
                # Building an editable installs its build requirements: it needs the indexes.
                run_pip(
                    ["install", "--no-deps", *pip_args, *extra, "--editable", str(path)],
                    python=env.python,
                    environ=environ,
                )
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


def _editable_path(package: LockedPackage) -> Path:
    url = package.url or ""
    path = local_path(url) or Path(url)
    if not path.is_dir():
        raise EnvironmentProblem(f"editable {package.display_name}: {url} is not a folder")
    return path


def _build_sdists(
    fetched: Sequence[FetchedFile],
    env: Environment,
    *,
    work: Path,
    cache: Cache,
    pip_args: Sequence[str],
    environ: Mapping[str, str] | None,
) -> list[tuple[FetchedFile, Path, str]]:
    """Every fetched file as an installable wheel: ``(fetched, wheel, "sha256:..")``."""
    wheels: list[tuple[FetchedFile, Path, str]] = []
    tag = env.soabi or "py{}{}".format(*env.python_version[:2])
    store = ArtifactStore(cache)
    for item in fetched:
        if item.kind is FileKind.WHEEL:
            wheels.append((item, item.path, item.sha256))
            continue
        # The wheel built from this sdist for this interpreter, kept in the artifact store.
        key = f"built:{item.sha256}-{tag}"
        built = store.recall(key)
        if built is None:
            out = work / "build" / item.package.name
            out.mkdir(parents=True)
            run_pip(
                ["wheel", "--no-deps", "--wheel-dir", str(out), *pip_args, str(item.path)],
                python=env.python,
                environ=environ,
            )
            made = sorted(out.glob("*.whl"))
            if len(made) != 1:
                raise EnvironmentProblem(f"building {item.path.name} gave no single wheel")
            built = store.add_file(made[0])
            store.remember(key, built[1], made[0].name)
        wheels.append((item, *built))
    return wheels


def _install(
    wheels: Sequence[tuple[FetchedFile, Path, str]],
    env: Environment,
    work: Path,
    extra: Sequence[str],
    environ: Mapping[str, str] | None,
) -> None:
    if not wheels:
        return
    # Pinned packages come from a folder holding exactly the verified wheels, by name==version,
    # so pip records no direct URL for them; URL packages keep their URL.
    stage = work / "wheels"
    stage.mkdir()
    lines: list[str] = []
    for item, wheel, digest in wheels:
        staged = stage / wheel.name
        _link_or_copy(wheel, staged)
        package = item.package
        hash_option = f"--hash={digest}"
        if package.url is not None:
            lines.append(f"{package.display_name} @ {staged.as_uri()} {hash_option}")
        else:
            lines.append(f"{package.display_name}=={package.version} {hash_option}")
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_pip(
        [
            "install",
            "--no-deps",
            "--require-hashes",
            "--no-index",
            "--find-links",
            str(stage),
            *extra,
            "--requirement",
            str(requirements),
        ],
        python=env.python,
        environ=environ,
    )


def _record_lock_urls(wheels: Sequence[tuple[FetchedFile, Path, str]], env: Environment) -> None:
    """Point ``direct_url.json`` of URL packages at the lock's URL, not the staged copy.

    pip records the URL it installed from, which for a verified, staged file is a temporary
    path: the next sync would see another URL and reinstall. RECORD keeps matching the file.
    """
    by_url = {item.package.name: item for item, _wheel, _digest in wheels if item.package.url}
    if not by_url:
        return
    for dist in read_installed(env.site_dirs):
        item = by_url.get(dist.name)
        if item is None or item.package.url is None:
            continue
        algorithm, _, digest = item.sha256.partition(":")
        data = json.dumps(
            {
                "url": item.package.url,
                "archive_info": {"hash": f"{algorithm}={digest}", "hashes": {algorithm: digest}},
            },
            sort_keys=True,
        ).encode()
        (dist.info_dir / "direct_url.json").write_bytes(data)
        _update_record(dist, "direct_url.json", data)


def _update_record(dist: InstalledDist, filename: str, data: bytes) -> None:
    record = dist.info_dir / "RECORD"
    if not record.is_file():
        return
    entry = f"{dist.info_dir.name}/{filename}"
    with record.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and row[0] != entry]
    rows.append([entry, record_digest(data), str(len(data))])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    record.write_text(buffer.getvalue(), encoding="utf-8")


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


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


@dataclass(kw_only=True, slots=True)
class _Snapshot:
    """Copies (hard links where possible) of every file of the distributions that go away."""

    root: Path
    originals: frozenset[Path]
    walked: tuple[Path, ...] = ()
    skipped: Path | None = None
    tree: frozenset[Path] = frozenset()
    files: list[tuple[Path, Path]] = field(default_factory=list)

    @classmethod
    def take(
        cls,
        env: Environment,
        dists: Sequence[InstalledDist],
        root: Path,
        *,
        work: Path,
        incoming: Sequence[Path] = (),
    ) -> _Snapshot:
        """Save the files of ``dists``, and every existing file the ``incoming`` wheels write.

        A new wheel may overwrite a file a kept distribution owns (a shared ``__init__.py``, a
        script of the same name); removing the new one on restore must give that file back.
        """
        root.mkdir(parents=True, exist_ok=True)
        originals = frozenset(d.info_dir for d in read_installed(env.site_dirs))
        # A venv is walked whole, so data files a failed install put beside site-packages
        # (share/, etc/) go too; a system prefix such as /usr is far too big for that.
        places = (*env.site_dirs, env.scripts)
        if env.is_venv:
            places = (env.prefix, *(p for p in places if not p.is_relative_to(env.prefix)))
        walked = tuple(dict.fromkeys(places))
        snapshot = cls(
            root=root,
            originals=originals,
            walked=walked,
            skipped=work,
            tree=_tree(walked, skip=work),
        )
        saved: set[Path] = set()
        for dist in dists:
            saved.update(_files_of(dist))
        for wheel in incoming:
            saved.update(_wheel_destinations(wheel, env))
        for path in sorted(saved):
            if path.is_symlink() or path.is_file():
                snapshot._keep(path)
        return snapshot

    def _keep(self, path: Path) -> None:
        backup = self.root / str(len(self.files))
        if path.is_symlink():
            backup.symlink_to(path.readlink())
        else:
            _link_or_copy(path, backup)
        self.files.append((path, backup))

    def restore(self, env: Environment) -> bool:
        """Remove what pip newly installed, put every saved file back; True when it all holds."""
        try:
            for dist in read_installed(env.site_dirs):
                if dist.info_dir not in self.originals:
                    _remove_dist(dist, stops={*env.site_dirs, env.scripts, env.prefix})
            for original, backup in self.files:
                original.parent.mkdir(parents=True, exist_ok=True)
                if original.is_symlink() or original.exists():
                    original.unlink()
                if backup.is_symlink():
                    original.symlink_to(backup.readlink())
                else:
                    _link_or_copy(backup, original)
            self._remove_strays()
            after = frozenset(d.info_dir for d in read_installed(env.site_dirs))
            return after == self.originals and all(
                original.is_symlink() or original.exists() for original, _ in self.files
            )
        except OSError:
            return False

    def _remove_strays(self) -> None:
        """Delete what a failed install left without a RECORD naming it."""
        new = _tree(self.walked, skip=self.skipped) - self.tree
        for path in sorted(new, key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not path.is_symlink():
                with contextlib.suppress(OSError):
                    path.rmdir()
            else:
                path.unlink(missing_ok=True)


def _wheel_destinations(wheel: Path, env: Environment) -> set[Path]:
    """Where installing ``wheel`` into ``env`` writes files, console scripts included."""
    schemes = {
        "purelib": env.purelib,
        "platlib": env.platlib,
        "scripts": env.scripts,
        "data": env.prefix,
        "headers": env.prefix / "include",
    }
    found: set[Path] = set()
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith("/"):
                continue
            top, _, rest = name.partition("/")
            if top.endswith(".data"):
                scheme, _, inner = rest.partition("/")
                if scheme in schemes and inner:
                    found.add(Path(os.path.normpath(schemes[scheme] / inner)))
                continue
            found.update({env.purelib / name, env.platlib / name})
            if top.endswith(".dist-info") and rest == "entry_points.txt":
                entry_points = configparser.ConfigParser(delimiters=("=",), interpolation=None)
                entry_points.optionxform = str  # type: ignore[assignment,method-assign]
                with contextlib.suppress(configparser.Error, UnicodeDecodeError):
                    entry_points.read_string(archive.read(name).decode("utf-8"))
                for section in ("console_scripts", "gui_scripts"):
                    if entry_points.has_section(section):
                        found.update(env.scripts / script for script in entry_points[section])
    return found


def _tree(roots: Sequence[Path], *, skip: Path | None = None) -> frozenset[Path]:
    """Every file and folder under ``roots`` but ``skip`` (symlinks not followed)."""
    found: set[Path] = set()
    for root in roots:
        for folder, dirs, names in os.walk(root):
            base = Path(folder)
            dirs[:] = [name for name in dirs if base / name != skip]
            found.update(base / name for name in dirs)
            found.update(base / name for name in names)
    return frozenset(found)


def _files_of(dist: InstalledDist) -> set[Path]:
    """Every file a distribution owns: its RECORD entries plus its metadata folder."""
    paths: set[Path] = set()
    record = dist.info_dir / "RECORD"
    if record.is_file():
        with record.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                if row and row[0]:
                    paths.add(Path(os.path.normpath(dist.site_dir / row[0])))
    installed_files = dist.info_dir / "installed-files.txt"
    if installed_files.is_file():
        for line in installed_files.read_text(encoding="utf-8").splitlines():
            if line.strip():
                paths.add(Path(os.path.normpath(dist.info_dir / line.strip())))
    for folder, _dirs, names in os.walk(dist.info_dir):
        paths.update(Path(folder) / name for name in names)
    return paths


def _remove_dist(dist: InstalledDist, *, stops: set[Path]) -> None:
    files = _files_of(dist)
    for path in files:
        if path.is_symlink() or path.is_file():
            path.unlink()
    shutil.rmtree(dist.info_dir, ignore_errors=True)
    parents = sorted({p.parent for p in files}, key=lambda p: len(p.parts), reverse=True)
    for folder in parents:
        # Byte code written after the install (by pip or by running the code) is not in RECORD.
        pycache = folder / "__pycache__"
        with contextlib.suppress(OSError):
            if pycache.is_dir() and all(p.suffix == ".pyc" for p in pycache.iterdir()):
                shutil.rmtree(pycache)
        with contextlib.suppress(OSError):
            while folder not in stops and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
