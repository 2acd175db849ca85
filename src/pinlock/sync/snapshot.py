"""The snapshot that makes a sync all-or-nothing: save, and on failure put back.

Before pip changes anything, every file of the distributions that go away and every existing file
the incoming wheels will overwrite is saved (hard links where possible). ``restore`` removes
what was newly installed, puts the saved files back and deletes what a failed install left.

The snapshot is also written down (``recovery.JOURNAL``, in the work folder beside the saved
files), so a sync killed outright (SIGKILL, a power cut) is undone by the next one with the same
``restore`` (``pinlock.sync.recovery``).
"""

from __future__ import annotations

import configparser
import contextlib
import csv
import json
import os
import shutil
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pinlock.atomic import link_or_copy, write_atomic
from pinlock.sync.environment import Environment, InstalledDist, read_installed

__all__ = ["destinations", "remove_dist", "wheel_destinations"]


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
        overwritten: Iterable[str] = (),
        journal: Path | None = None,
    ) -> _Snapshot:
        """Save the files of ``dists``, and every existing file the ``incoming`` wheels write;
        then write the ``journal`` (when given), which makes the snapshot complete.

        ``overwritten`` are such files already known (``wheelinstall.prepare``).
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
        saved: set[str] = set(overwritten)
        for dist in dists:
            saved.update(map(os.fspath, _files_of(dist)))
        for wheel in incoming:
            saved.update(wheel_destinations(wheel, env))
        folders: dict[str, bool] = {}  # whether it exists: a new package's files need no look
        for name in sorted(saved):
            parent = os.path.dirname(name)
            there = folders.get(parent)
            if there is None:
                there = folders[parent] = os.path.isdir(parent)
            if there and (os.path.islink(name) or os.path.isfile(name)):
                snapshot._keep(Path(name))
        if journal is not None:
            snapshot._write(journal)
        return snapshot

    def _write(self, journal: Path) -> None:
        record = {
            "version": 1,
            "root": str(self.root),
            "originals": sorted(map(str, self.originals)),
            "walked": list(map(str, self.walked)),
            "skipped": None if self.skipped is None else str(self.skipped),
            "tree": sorted(map(str, self.tree)),
            "files": [[str(original), str(backup)] for original, backup in self.files],
        }
        write_atomic(journal, json.dumps(record))

    @classmethod
    def load(cls, journal: Path) -> _Snapshot | None:
        """The snapshot a journal records; None when there is no complete one."""
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
            if record.get("version") != 1:
                return None
            skipped = record["skipped"]
            return cls(
                root=Path(record["root"]),
                originals=frozenset(map(Path, record["originals"])),
                walked=tuple(map(Path, record["walked"])),
                skipped=None if skipped is None else Path(skipped),
                tree=frozenset(map(Path, record["tree"])),
                files=[(Path(original), Path(backup)) for original, backup in record["files"]],
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _keep(self, path: Path) -> None:
        backup = self.root / str(len(self.files))
        if path.is_symlink():
            backup.symlink_to(path.readlink())
        else:
            link_or_copy(path, backup)
        self.files.append((path, backup))

    def restore(self, env: Environment) -> bool:
        """Remove what pip newly installed, put every saved file back; True when it all holds."""
        try:
            for dist in read_installed(env.site_dirs):
                if dist.info_dir not in self.originals:
                    remove_dist(dist, stops={*env.site_dirs, env.scripts, env.prefix})
            for original, backup in self.files:
                if _unchanged(original, backup):
                    continue  # nothing to put back (and a read-only folder needs no write)
                original.parent.mkdir(parents=True, exist_ok=True)
                if original.is_symlink() or original.exists():
                    original.unlink()
                if backup.is_symlink():
                    original.symlink_to(backup.readlink())
                else:
                    link_or_copy(backup, original)
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


def _unchanged(original: Path, backup: Path) -> bool:
    """Whether ``original`` still is what ``backup`` saved (the same file, or the same link)."""
    try:
        if backup.is_symlink():
            return original.is_symlink() and original.readlink() == backup.readlink()
        return not original.is_symlink() and original.samefile(backup)
    except OSError:
        return False


def wheel_destinations(wheel: Path, env: Environment) -> set[str]:
    """Where installing ``wheel`` into ``env`` writes files, console scripts included."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = None
        for name in names:
            top, _, rest = name.partition("/")
            if top.endswith(".dist-info") and rest == "entry_points.txt":
                with contextlib.suppress(UnicodeDecodeError):
                    entry_points = archive.read(name).decode("utf-8")
    return destinations(names, entry_points, env.scheme(wheel.name.partition("-")[0]))


def destinations(
    names: Iterable[str], entry_points: str | None, schemes: Mapping[str, Path]
) -> set[str]:
    """Where a wheel whose members are ``names`` writes files under ``schemes`` (its install
    scheme), with the scripts its ``entry_points.txt`` text makes: normalised paths, as text
    (a wheel has thousands of files; ``Path`` objects would cost more than the rest)."""
    roots = {key: os.fspath(value) for key, value in schemes.items()}
    libs = dict.fromkeys((roots["purelib"], roots["platlib"]))
    found: set[str] = set()
    for name in names:
        if name.endswith("/"):
            continue
        top, _, rest = name.partition("/")
        if top.endswith(".data"):
            scheme, _, inner = rest.partition("/")
            if scheme in roots and inner:
                found.add(os.path.normpath(os.path.join(roots[scheme], inner)))
            continue
        found.update(os.path.normpath(os.path.join(lib, name)) for lib in libs)
    if entry_points:
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        with contextlib.suppress(configparser.Error):
            parser.read_string(entry_points)
        for section in ("console_scripts", "gui_scripts"):
            if parser.has_section(section):
                found.update(os.path.join(roots["scripts"], name) for name in parser[section])
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


def remove_dist(dist: InstalledDist, *, stops: set[Path]) -> None:
    """Remove every file ``dist`` owns (its RECORD), its metadata folder, the byte code beside
    its modules, and the folders that are left empty, up to ``stops``."""
    files = _files_of(dist)
    modules: dict[Path, set[str]] = {}
    for path in files:
        if path.is_symlink() or path.is_file():
            path.unlink()
        if path.suffix == ".py":
            modules.setdefault(path.parent, set()).add(path.stem)
    shutil.rmtree(dist.info_dir, ignore_errors=True)
    for folder, stems in modules.items():
        _remove_byte_code(folder / "__pycache__", stems)
    parents = sorted({p.parent for p in files}, key=lambda p: len(p.parts), reverse=True)
    for folder in parents:
        with contextlib.suppress(OSError):
            # A package folder left with only byte code (of modules RECORD did not list).
            pycache = folder / "__pycache__"
            if (
                folder not in stops
                and os.listdir(folder) == ["__pycache__"]
                and all(name.endswith(".pyc") for name in os.listdir(pycache))
            ):
                shutil.rmtree(pycache)
        with contextlib.suppress(OSError):
            while folder not in stops and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent


def _remove_byte_code(pycache: Path, stems: set[str]) -> None:
    """The byte code of the modules ``stems`` in ``pycache`` (any interpreter, any optimisation
    level), and the folder once empty: byte code written after the install (by pip or by running
    the code) is not in RECORD, and a folder such as site-packages' own ``__pycache__`` also holds
    other distributions' byte code, which stays."""
    try:
        names = os.listdir(pycache)
    except OSError:
        return
    for name in names:
        if name.endswith(".pyc") and name.partition(".")[0] in stems:
            with contextlib.suppress(OSError):
                (pycache / name).unlink()
    with contextlib.suppress(OSError):
        pycache.rmdir()
