"""What a sync killed outright (SIGKILL, a power cut) left behind, found and repaired by the next.

The next sync holds the environment's lock before it looks, so whatever it finds is stale:

- a work folder (``.pinlock-sync-*``) holding a journal: the killed run had begun to change the
  environment. The journal is its snapshot, so the same ``restore`` that undoes a failed run
  puts every file back and removes what was new, exactly as the run itself would have; then
  the sync goes on from the state before the killed run. (Chosen over patching up what pip
  left: a restore is exact, file by file, and already proven on every failure path.)
- a work folder without a journal: the run was killed before any change; it is removed.
- distributions left half installed: a ``*.dist-info`` without ``METADATA`` (checked on every
  sync: pip itself then fails on the environment), and, after a killed run, one whose
  ``RECORD`` names a missing or changed file. Each is removed (its files that no sound
  distribution also owns, and its metadata folder); the plan installs the lock's version anew.
- in the artifact store, staging folders of processes that no longer run (``clean_store``).

``--check`` and ``--dry-run`` change nothing: ``pending_repairs`` says what a sync would do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pinlock.errors import EnvironmentProblem
from pinlock.sync.environment import Environment
from pinlock.sync.signals import uninterruptible

if TYPE_CHECKING:
    from pinlock.cache import Cache

__all__ = [
    "JOURNAL",
    "WORK_PREFIX",
    "Broken",
    "clean_store",
    "find_broken",
    "pending_repairs",
    "recover",
]

# A sync's work folder in the environment's prefix (``apply``), where its snapshot is kept...
WORK_PREFIX = ".pinlock-sync-"
# ...and written down, complete before pip changes anything (``snapshot``).
JOURNAL = "journal.json"

_STAGING_PREFIX = ".staging-"
_OLD_STAGING_SECONDS = 24 * 3600
# A process that does not answer may still run: in another container sharing the cache (a pid
# of another pid namespace). Its staging folder is removed only once it is this old too: a
# staging folder is written from its start to its rename without a long pause.
_DEAD_STAGING_SECONDS = 10 * 60
# Damaged unpacked wheels moved aside (``unpacked.STALE_PREFIX``): nothing reads them.
_STALE_PREFIX = ".stale-"


@dataclass(frozen=True, kw_only=True, slots=True)
class Broken:
    """A distribution left half installed: its metadata folder, and what is wrong with it."""

    info_dir: Path
    reason: str

    @property
    def label(self) -> str:
        return self.info_dir.name.removesuffix(".dist-info")


def recover(env: Environment) -> tuple[str, ...]:
    """Repair what killed runs left in ``env``; what was done, in a few words each."""
    done: list[str] = []
    leftovers = _work_folders(env.prefix)
    if leftovers:
        # Imported here: a sync that finds nothing left (nearly every one) needs none of it.
        from pinlock.sync.snapshot import _Snapshot
    with uninterruptible():
        for folder in leftovers:
            snapshot = _Snapshot.load(folder / JOURNAL)
            if snapshot is not None:
                if not snapshot.restore(env):
                    raise EnvironmentProblem(
                        f"a sync of {env.prefix} was killed while changing it, and putting "
                        f"back what it had changed failed (its snapshot is in {folder}); "
                        "inspect the environment, or delete and create it again"
                    )
                done.append(f"undid the changes of a sync that was killed ({folder.name})")
            else:
                done.append(f"removed {folder.name}, left by a sync killed before any change")
            shutil.rmtree(folder, ignore_errors=True)
        broken = find_broken(env.site_dirs, deep=bool(leftovers))
        _remove(broken, env.site_dirs)
    done.extend(f"removed {item.label}, left half installed ({item.reason})" for item in broken)
    return tuple(done)


def pending_repairs(env: Environment) -> tuple[str, ...]:
    """What ``recover`` would do to ``env``, for a run that changes nothing."""
    leftovers = _work_folders(env.prefix)
    found = [
        f"{folder.name} was left by a killed sync: the next sync "
        + ("undoes its changes" if (folder / JOURNAL).is_file() else "removes it")
        for folder in leftovers
    ]
    found.extend(
        f"{item.label} is half installed ({item.reason}): the next sync removes it"
        for item in find_broken(env.site_dirs, deep=bool(leftovers))
    )
    return tuple(found)


def find_broken(site_dirs: Iterable[Path], *, deep: bool = False) -> list[Broken]:
    """Metadata folders without ``METADATA``; with ``deep``, also those whose ``RECORD`` is
    missing (when pip installed them) or names a missing or changed file."""
    broken: list[Broken] = []
    for info_dir in _dist_infos(site_dirs):
        if not (info_dir / "METADATA").is_file():
            broken.append(Broken(info_dir=info_dir, reason="no METADATA"))
        elif deep:
            reason = _record_problem(info_dir)
            if reason is not None:
                broken.append(Broken(info_dir=info_dir, reason=reason))
    return broken


def clean_store(cache: Cache) -> None:
    """Remove the staging folders of the artifact store and of the unpacked wheels
    (``unpacked``) whose process no longer runs, and damaged unpacked wheels moved aside (and,
    once, what the cache held in its earlier layout: ``Cache.remove_old_layout``)."""
    cache.remove_old_layout()
    entries: list[Path] = []
    for root in (cache.root / "files", cache.root / "unpacked"):
        with contextlib.suppress(OSError):
            entries.extend(
                entry
                for entry in root.iterdir()
                if entry.name.startswith((_STAGING_PREFIX, _STALE_PREFIX))
            )
    now = time.time()
    for entry in entries:
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        pid_text = entry.name[len(_STAGING_PREFIX) :].partition("-")[0]
        if entry.name.startswith(_STALE_PREFIX):
            stale = True
        elif pid_text.isdigit():
            stale = age > _DEAD_STAGING_SECONDS and not _running(int(pid_text))
        else:
            stale = age > _OLD_STAGING_SECONDS
        if stale:
            shutil.rmtree(entry, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _work_folders(prefix: Path) -> list[Path]:
    try:
        return sorted(
            Path(entry.path)
            for entry in os.scandir(prefix)
            if entry.name.startswith(WORK_PREFIX) and entry.is_dir(follow_symlinks=False)
        )
    except OSError:
        return []


def _dist_infos(site_dirs: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for site in dict.fromkeys(site_dirs):
        with contextlib.suppress(OSError):
            found.extend(
                Path(entry.path)
                for entry in os.scandir(site)
                if entry.name.endswith(".dist-info") and entry.is_dir()
            )
    return sorted(found)


def _record_rows(info_dir: Path) -> list[list[str]] | None:
    import csv

    try:
        with (info_dir / "RECORD").open(encoding="utf-8", newline="") as handle:
            return [row for row in csv.reader(handle) if row and row[0]]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _record_problem(info_dir: Path) -> str | None:
    from pinlock.digests import file_record_digest

    rows = _record_rows(info_dir)
    if rows is None:
        installer = info_dir / "INSTALLER"
        with contextlib.suppress(OSError):
            # Both write a RECORD, always: without one, the install was cut short.
            if installer.read_text(encoding="utf-8").strip() in ("pip", "pinlock"):
                return "no RECORD"
        return None  # RECORD is optional (PEP 627) for what other installers put there
    for row in rows:
        path = Path(os.path.normpath(info_dir.parent / row[0]))
        algorithm, _, expected = (row[1] if len(row) > 1 else "").partition("=")
        if not expected:
            continue  # RECORD itself, byte code
        try:
            digest = file_record_digest(path, algorithm)
        except (OSError, ValueError):
            return f"{row[0]} is missing"
        if digest != expected:
            return f"{row[0]} differs from its RECORD"
    return None


def _owned(info_dir: Path) -> set[Path]:
    rows = _record_rows(info_dir) or []
    return {Path(os.path.normpath(info_dir.parent / row[0])) for row in rows}


def _remove(broken: Sequence[Broken], site_dirs: Iterable[Path]) -> None:
    if not broken:
        return
    bad = {item.info_dir for item in broken}
    kept: set[Path] = set()
    for info_dir in _dist_infos(site_dirs):
        if info_dir not in bad:
            kept |= _owned(info_dir)
    stops = set(site_dirs)
    for item in broken:
        files = _owned(item.info_dir) - kept
        for path in files:
            if not path.is_relative_to(item.info_dir):
                with contextlib.suppress(OSError):
                    path.unlink()
        shutil.rmtree(item.info_dir, ignore_errors=True)
        for folder in sorted({p.parent for p in files}, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                pycache = folder / "__pycache__"
                if pycache.is_dir() and all(p.suffix == ".pyc" for p in pycache.iterdir()):
                    shutil.rmtree(pycache)
                while folder not in stops and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
                    folder = folder.parent
