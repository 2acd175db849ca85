"""Installing verified wheels in this process, several at once, with pypa/installer.

What pip would do with the same wheels, laid out as pip lays them out: the target's own scheme
paths (``Environment.scheme``, from the probe of the target interpreter, which need not be the
one pinlock runs in), console and GUI scripts whose shebang is the target interpreter, a RECORD
of every file with its sha256 and size, ``INSTALLER`` (``pinlock``: the tool that installed it,
as pip writes ``pip`` and uv ``uv``), ``REQUESTED`` (pip marks everything a requirements file
names), and ``direct_url.json`` for a package the lock gives by URL. Byte code is then compiled
by the target interpreter itself, on all its cores (``_compile_script``), and its files added to
RECORD as pip adds them.

Every wheel here was verified against the lock (``fetch``) or built from a verified sdist. The
caller (``apply``) has taken the snapshot before: on any failure or stop signal the workers stop
before their next file, are waited for, and the caller restores. Wheels that write a same file
(a shared namespace ``__init__.py``) are installed one after the other, in lock order, so the
last one wins as with pip, never a mix of both.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.records import Hash, RecordEntry
from installer.sources import WheelFile
from installer.utils import Scheme, copyfileobj_with_hashing, get_launcher_kind

from pinlock.errors import InstallFailed
from pinlock.processes import run_child
from pinlock.progress import INSTALLING, Progress
from pinlock.sync.envlock import inherited_fds
from pinlock.sync.signals import uninterruptible
from pinlock.sync.snapshot import wheel_destinations

if TYPE_CHECKING:
    from pinlock.sync.environment import Environment

__all__ = ["INSTALLER_NAME", "WheelJob", "compile_bytecode", "install_wheels"]

INSTALLER_NAME = "pinlock"
# Threads, not processes: unzipping, hashing and writing release the GIL for the bulk of it.
_WORKERS = min(8, (os.cpu_count() or 1) + 2)


@dataclass(frozen=True, kw_only=True, slots=True)
class WheelJob:
    """One wheel to install: the file, the name pip would be given (for the headers folder),
    and the ``direct_url.json`` to write (None for a pin found on an index)."""

    wheel: Path
    name: str
    direct_url: bytes | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Installed:
    """What installing one wheel wrote: its RECORD, and its modules (for byte-compiling)."""

    job: WheelJob
    record: Path
    root: Path
    sources: tuple[Path, ...]


class _Stopped(Exception):
    """Another worker failed, or the run is being stopped: write nothing more."""


@dataclass(kw_only=True)
class _Destination(SchemeDictionaryDestination):
    """installer's destination, made safe to run on several threads beside a snapshot.

    A file that exists is unlinked before it is written, as pip does: the snapshot holds it as a
    hard link, and writing into it would change the saved copy too. Folders are made without a
    race, modes come from the umask read once (installer reads it by setting it to 0 for a
    moment, which another thread would see), and nothing is written once ``stop`` is set.
    """

    stop: threading.Event = field(default_factory=threading.Event)
    umask: int = 0o022
    written: list[tuple[Scheme, str]] = field(default_factory=list)

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        if self.stop.is_set():
            raise _Stopped
        target = self._path_with_destdir(scheme, path)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            digest, size = copyfileobj_with_hashing(stream, handle, self.hash_algorithm)
        if is_executable:
            target.chmod(0o777 & ~self.umask | 0o111)
        self.written.append((scheme, path))
        return RecordEntry(path, Hash(self.hash_algorithm, digest), size)


def install_wheels(
    jobs: Sequence[WheelJob], env: Environment, *, progress: Progress | None = None
) -> list[Installed]:
    """Install ``jobs`` into ``env`` on a pool of threads; each told to ``progress`` when done.

    Raises ``InstallFailed`` for the first wheel that cannot be installed, once every worker has
    stopped; a stop signal (``Interrupted``) likewise goes on only when they have.
    """
    if not jobs:
        return []
    umask = os.umask(0o022)
    os.umask(umask)
    stop = threading.Event()
    finished: queue.SimpleQueue[Installed] = queue.SimpleQueue()
    install_chain = functools.partial(
        _install_chain, env=env, stop=stop, umask=umask, finished=finished
    )
    results: list[Installed] = []
    pool = concurrent.futures.ThreadPoolExecutor(_WORKERS, thread_name_prefix="pinlock-install")
    try:
        futures = [pool.submit(install_chain, chain) for chain in _chains(jobs, env)]
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=0.1, return_when=concurrent.futures.FIRST_EXCEPTION
            )
            _drain(finished, results, progress)
            for future in done:
                error = future.exception()
                if error is not None:
                    raise error
        _drain(finished, results, progress)
    except BaseException:
        stop.set()
        with uninterruptible():
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _drain(
    finished: queue.SimpleQueue[Installed], results: list[Installed], progress: Progress | None
) -> None:
    while True:
        try:
            installed = finished.get_nowait()
        except queue.Empty:
            return
        results.append(installed)
        if progress is not None:
            progress.advance(INSTALLING, item=installed.job.name)
            progress.note(f"installed {installed.job.wheel.name}", level=2)


def _install_chain(
    chain: Sequence[WheelJob],
    *,
    env: Environment,
    stop: threading.Event,
    umask: int,
    finished: queue.SimpleQueue[Installed],
) -> None:
    for job in chain:
        if stop.is_set():
            return
        try:
            finished.put(_install_one(job, env, stop=stop, umask=umask))
        except _Stopped:
            return
        except Exception as error:
            stop.set()
            raise InstallFailed(job.wheel.name, error) from error


def _install_one(
    job: WheelJob, env: Environment, *, stop: threading.Event, umask: int
) -> Installed:
    scheme = {key: str(path) for key, path in env.scheme(job.name).items()}
    destination = _Destination(
        scheme_dict=scheme,
        interpreter=str(env.executable),
        script_kind="posix" if os.name == "posix" else get_launcher_kind(),
        hash_algorithm="sha256",
        overwrite_existing=True,
        stop=stop,
        umask=umask,
    )
    metadata = {"INSTALLER": f"{INSTALLER_NAME}\n".encode(), "REQUESTED": b""}
    if job.direct_url is not None:
        metadata["direct_url.json"] = job.direct_url
    with WheelFile.open(job.wheel) as source:
        install(source=source, destination=destination, additional_metadata=metadata)
        root_scheme = _root_scheme(destination.written, source.dist_info_dir)
        record = Path(scheme[root_scheme], source.dist_info_dir, "RECORD")
    sources = tuple(
        Path(scheme[where], path)
        for where, path in destination.written
        if where in ("purelib", "platlib") and path.endswith(".py")
    )
    return Installed(job=job, record=record, root=Path(scheme[root_scheme]), sources=sources)


def _root_scheme(written: Sequence[tuple[Scheme, str]], dist_info: str) -> Scheme:
    for where, path in written:
        if path.startswith(f"{dist_info}/"):
            return where
    raise ValueError(f"no {dist_info} was written")  # installer always writes it


def _chains(jobs: Sequence[WheelJob], env: Environment) -> list[list[WheelJob]]:
    """``jobs`` in groups that share no file; within a group, in the order given."""
    owner: dict[Path, int] = {}
    parent = list(range(len(jobs)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for index, job in enumerate(jobs):
        for path in wheel_destinations(job.wheel, env):
            other = owner.setdefault(path, index)
            if other != index:
                parent[root(index)] = root(other)
    groups: dict[int, list[WheelJob]] = {}
    for index, job in enumerate(jobs):
        groups.setdefault(root(index), []).append(job)
    # The biggest wheels first, so that the last to finish is a small one.
    return sorted(groups.values(), key=lambda g: -sum(j.wheel.stat().st_size for j in g))


@functools.cache
def _compile_script() -> str:
    return Path(__file__).with_name("_compile_script.py").read_text(encoding="utf-8")


def compile_bytecode(installed: Sequence[Installed], env: Environment, work: Path) -> None:
    """Byte-compile the modules of ``installed`` with the target interpreter, in parallel, and
    add the files written to each RECORD (without hash, as pip does)."""
    sources = [(item, source) for item in installed for source in item.sources]
    if not sources:
        return
    listing = work / "compile.txt"
    listing.write_text("".join(f"{source}\n" for _item, source in sources), encoding="utf-8")
    done = run_child(
        [str(env.python), "-I", "-c", _compile_script(), str(listing)],
        merge_output=False,
        pass_fds=inherited_fds(),
    )
    written = _answer(done.output) if done.returncode == 0 else None
    if written is None or len(written) != len(sources):
        tail = "\n".join(done.errors.strip().splitlines()[-5:])
        raise InstallFailed("byte code", f"{env.python} could not compile the modules\n{tail}")
    rows: dict[Path, list[str]] = {}
    for (item, _source), pyc in zip(sources, written, strict=True):
        if pyc is not None:
            relative = os.path.relpath(pyc, item.root).replace(os.sep, "/")
            rows.setdefault(item.record, []).append(f"{_csv_path(relative)},,\n")
    for record, lines in rows.items():
        with record.open("a", encoding="utf-8", newline="") as handle:
            handle.writelines(lines)


def _answer(output: str) -> list[str | None] | None:
    import json

    try:
        answer = json.loads(output)
    except ValueError:
        return None
    if not isinstance(answer, list):
        return None
    return [item if isinstance(item, str) else None for item in answer]


def _csv_path(path: str) -> str:
    """A RECORD path as the csv module writes it (quoted when it holds a comma or a quote)."""
    if any(char in path for char in ',"\n\r'):
        return '"' + path.replace('"', '""') + '"'
    return path
