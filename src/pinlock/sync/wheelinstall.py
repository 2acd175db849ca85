"""Installing verified wheels in this process, several at once, with pypa/installer.

What pip would do with the same wheels, laid out as pip lays them out: the target's own scheme
paths (``Environment.scheme``, from the probe of the target interpreter, which need not be the
one pinlock runs in), console and GUI scripts whose shebang is the target interpreter, a RECORD
of every file with its sha256 and size, ``INSTALLER`` (``pinlock``: the tool that installed it,
as pip writes ``pip`` and uv ``uv``), ``REQUESTED`` (pip marks everything a requirements file
names), and ``direct_url.json`` for a package the lock gives by URL.

Each wheel is unpacked once into the cache (``unpacked``; ``prepare``, before the snapshot:
nothing in the environment changes yet) and installed by linking its files from there, as uv
does; installer decides where each goes and writes scripts, metadata and RECORD. Byte code is
compiled once per wheel and interpreter, by the target interpreter itself, on all its cores
(``_compile_script``), beside the unpacked modules; it is linked in and added to RECORD as pip
adds it.

Every wheel here was verified against the lock (``fetch``) or built from a verified sdist. The
caller (``apply``) has taken the snapshot before: on any failure or stop signal the workers stop
before their next file, are waited for, and the caller restores. Wheels that write a same file
(a shared namespace ``__init__.py``) are installed one after the other, in lock order, so the
last one wins as with pip, never a mix of both.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.records import Hash, RecordEntry
from installer.utils import (
    Scheme,
    copyfileobj_with_hashing,
    get_launcher_kind,
    parse_metadata_file,
)

from pinlock.atomic import current_umask, link_or_copy
from pinlock.errors import InstallFailed
from pinlock.progress import INSTALLING, Progress
from pinlock.sync.signals import uninterruptible
from pinlock.sync.snapshot import destinations
from pinlock.sync.unpacked import Linkable, Unpacked, UnpackedSource, repair, unpack

if TYPE_CHECKING:
    from pinlock.cache import Cache
    from pinlock.sync.environment import Environment

__all__ = [
    "INSTALLER_NAME",
    "Installed",
    "Prepared",
    "WheelJob",
    "install_wheels",
    "prepare",
]

INSTALLER_NAME = "pinlock"
# Threads, not processes: linking and unzipping are system calls and zlib, outside the GIL.
# The rest is Python under the GIL: more threads than cores only contend (measured: on 2
# cores, 2 threads install the jupyter set fastest, 4 and 8 slower, 1 slower too).
_WORKERS = min(4, max(2, os.cpu_count() or 1))
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, kw_only=True, slots=True)
class WheelJob:
    """One wheel to install: the file and its ``sha256:<hex>``, the name pip would be given
    (it names the headers folder), and the ``direct_url.json`` to write (None for a pin found
    on an index)."""

    wheel: Path
    sha256: str
    name: str
    direct_url: bytes | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Prepared:
    """A wheel unpacked in the cache, and the files installing it writes (``destinations``)."""

    job: WheelJob
    unpacked: Unpacked
    destinations: frozenset[str]


@dataclass(frozen=True, kw_only=True, slots=True)
class Installed:
    """What installing one wheel wrote: its RECORD (in ``root``), and its modules as
    ``(installed path, member of the unpacked wheel)``, for byte code (unless ``compiled``)."""

    prepared: Prepared
    record: Path
    root: Path
    modules: tuple[tuple[str, str], ...]
    compiled: bool = False  # its byte code was linked in with it


class _Stopped(Exception):
    """Another worker failed, or the run is being stopped: write nothing more."""


@dataclass(kw_only=True)
class _Destination(SchemeDictionaryDestination):
    """installer's destination, linking from the unpacked wheel, safe on several threads.

    A file that exists is unlinked before it is written, as pip does: the snapshot (and the
    cache) hold files as hard links, and writing into one would change them too. Folders are
    made without a race, modes come from the umask read once (installer reads it by setting it
    to 0 for a moment, which another thread would see), nothing is written once ``stop`` is
    set, and a member of the unpacked wheel is linked, not copied.
    """

    stop: threading.Event = field(default_factory=threading.Event)
    umask: int = 0o022
    folders: set[str] = field(default_factory=set)  # made already (shared by the workers)
    written: list[tuple[Scheme, str, str | None]] = field(default_factory=list)
    # Byte code compiled before beside the unpacked modules (module -> byte code, members),
    # linked in with each module; the byte code's paths, for RECORD.
    pycs: dict[str, str] | None = None
    unpacked: str = ""
    # Entries for RECORD beyond those installer collects: the files ``link_root`` linked,
    # byte code (without hash or size, as pip lists it).
    listed: list[tuple[Scheme, RecordEntry]] = field(default_factory=list)

    def link_root(self, scheme: Scheme, members: dict[str, tuple[str, int, bool]]) -> None:
        """Link ``members`` (paths in the wheel's root, as the unpacked manifest has them)
        into ``scheme``, the wheel's root scheme: where installer would put them, in one tight
        loop instead of its per-file path (most files of most wheels are here)."""
        root = self.scheme_dict[scheme] + os.sep
        source = self.unpacked + os.sep
        native = os.sep == "/"
        for member, (record_hash, size, _executable) in members.items():
            if self.stop.is_set():
                raise _Stopped
            path = member if native else member.replace("/", os.sep)
            target = root + path
            folder = target.rpartition(os.sep)[0]
            if folder not in self.folders:
                os.makedirs(folder, exist_ok=True)
                self.folders.add(folder)
            try:
                link_or_copy(source + path, target)
            except FileExistsError:
                os.unlink(target)
                link_or_copy(source + path, target)
            self.written.append((scheme, member, member))
            algorithm, _, digest = record_hash.partition("=")
            self.listed.append((scheme, RecordEntry(member, Hash(algorithm, digest), size)))
            pyc = self.pycs.get(member) if self.pycs is not None else None
            if pyc is not None:
                self._link_byte_code(scheme, member, folder, pyc)

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        if self.stop.is_set():
            raise _Stopped
        if path.startswith(("/", "\\")) or ".." in path.replace("\\", "/").split("/"):
            raise ValueError(f"{path} would be written outside {self.scheme_dict[scheme]}")
        target = self.scheme_dict[scheme] + os.sep + path
        folder = target.rpartition(os.sep)[0]
        if folder not in self.folders:
            os.makedirs(folder, exist_ok=True)
            self.folders.add(folder)
        if isinstance(stream, Linkable):
            try:
                link_or_copy(stream.path, target)  # modes come with the file
            except FileExistsError:
                os.unlink(target)
                link_or_copy(stream.path, target)
            self.written.append((scheme, path, stream.member))
            pyc = self.pycs.get(stream.member) if self.pycs is not None else None
            if pyc is not None and scheme in ("purelib", "platlib"):
                self._link_byte_code(scheme, path, folder, pyc)
            algorithm, _, digest = stream.digest.partition("=")
            return RecordEntry(path, Hash(algorithm, digest), stream.size)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        with open(target, "wb") as handle:
            digest, size = copyfileobj_with_hashing(stream, handle, self.hash_algorithm)
        if is_executable:
            os.chmod(target, 0o777 & ~self.umask | 0o111)
        self.written.append((scheme, path, None))
        return RecordEntry(path, Hash(self.hash_algorithm, digest), size)

    def _link_byte_code(self, scheme: Scheme, path: str, folder: str, pyc: str) -> None:
        name = pyc.rpartition("/")[2]
        cache = folder + os.sep + "__pycache__"
        if cache not in self.folders:
            os.makedirs(cache, exist_ok=True)
            self.folders.add(cache)
        target = cache + os.sep + name
        try:
            link_or_copy(self.unpacked + os.sep + pyc, target)
        except FileExistsError:
            os.unlink(target)
            link_or_copy(self.unpacked + os.sep + pyc, target)
        inside = path.rpartition("/")[0]
        entry = RecordEntry(f"{inside}/__pycache__/{name}".lstrip("/"), None, None)
        self.listed.append((scheme, entry))

    def finalize_installation(
        self,
        scheme: Scheme,
        record_file_path: str,
        records: Iterable[tuple[Scheme, RecordEntry]],
    ) -> None:
        super().finalize_installation(scheme, record_file_path, [*records, *self.listed])


def prepare(jobs: Sequence[WheelJob], env: Environment, cache: Cache) -> list[Prepared]:
    """Unpack ``jobs`` into ``cache`` (where not already), several at once; with the files each
    will write in ``env``. Changes nothing in ``env``."""

    umask = current_umask()

    def one(job: WheelJob) -> Prepared:
        unpacked = unpack(job.wheel, job.sha256, cache, umask=umask)
        entry_points = None
        if f"{unpacked.dist_info}/entry_points.txt" in unpacked.members:
            entry_points = (unpacked.root / unpacked.dist_info / "entry_points.txt").read_text(
                encoding="utf-8", errors="replace"
            )
        found = destinations(unpacked.members, entry_points, env.scheme(job.name))
        return Prepared(job=job, unpacked=unpacked, destinations=frozenset(found))

    return _in_parallel(one, jobs)


def install_wheels(
    prepared: Sequence[Prepared],
    env: Environment,
    *,
    byte_code: bool = False,
    progress: Progress | None = None,
) -> list[Installed]:
    """Install ``prepared`` wheels into ``env`` on a pool of threads; each told to ``progress``
    when done. With ``byte_code``, the byte code an earlier sync compiled for this interpreter
    is linked in with the modules (``compile_bytecode`` does the rest). Raises
    ``InstallFailed`` for the first wheel that cannot be installed, once every worker has
    stopped; a stop signal (``Interrupted``) likewise goes on only when they have."""
    if not prepared:
        return []
    umask = current_umask()
    stop = threading.Event()
    finished: queue.SimpleQueue[Installed] = queue.SimpleQueue()
    install_chain = functools.partial(
        _install_chain,
        env=env,
        stop=stop,
        umask=umask,
        finished=finished,
        folders=set(),
        tag=env.cache_tag if byte_code else "",
    )
    results: list[Installed] = []

    def tell() -> None:
        while True:
            try:
                installed = finished.get_nowait()
            except queue.Empty:
                return
            results.append(installed)
            if progress is not None:
                progress.advance(INSTALLING, item=installed.prepared.job.name)
                progress.note(f"installed {installed.prepared.job.wheel.name}", level=2)

    _in_parallel(install_chain, _chains(prepared), stop=stop, tick=tell)
    tell()
    return results


def _in_parallel(
    work: Callable[[_T], _R],
    items: Sequence[_T],
    *,
    stop: threading.Event | None = None,
    tick: Callable[[], None] = lambda: None,
) -> list[_R]:
    """``work`` on each of ``items`` on a pool of threads; ``tick`` called meanwhile. The first
    error, or a signal, sets ``stop`` and goes on once every worker has returned."""
    pool = concurrent.futures.ThreadPoolExecutor(_WORKERS, thread_name_prefix="pinlock-install")
    try:
        futures = [pool.submit(work, item) for item in items]
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=0.05, return_when=concurrent.futures.FIRST_EXCEPTION
            )
            tick()
            for future in done:
                error = future.exception()
                if error is not None:
                    raise error
    except BaseException:
        if stop is not None:
            stop.set()
        with uninterruptible():
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [future.result() for future in futures]


def _install_chain(
    chain: Sequence[Prepared],
    *,
    env: Environment,
    stop: threading.Event,
    umask: int,
    finished: queue.SimpleQueue[Installed],
    folders: set[str],
    tag: str,
) -> None:
    for prepared in chain:
        if stop.is_set():
            return
        install_one = functools.partial(
            _install_one, env=env, stop=stop, umask=umask, folders=folders, tag=tag
        )
        try:
            try:
                installed = install_one(prepared)
            except FileNotFoundError as error:
                if not str(error.filename).startswith(f"{prepared.unpacked.root}{os.sep}"):
                    raise
                # A file of the unpacked wheel is gone: unpacked again, once; installing
                # again writes over what the first try wrote.
                job = prepared.job
                again = repair(prepared.unpacked, job.wheel, job.sha256, umask=umask)
                installed = install_one(dataclasses.replace(prepared, unpacked=again))
            finished.put(installed)
        except _Stopped:
            return
        except Exception as error:
            stop.set()
            raise InstallFailed(prepared.job.wheel.name, error) from error


def _install_one(
    prepared: Prepared,
    env: Environment,
    *,
    stop: threading.Event,
    umask: int,
    folders: set[str] | None = None,
    tag: str = "",
) -> Installed:
    job = prepared.job
    pycs = prepared.unpacked.compiled(tag) if tag else None
    scheme = {key: str(path) for key, path in env.scheme(job.name).items()}
    destination = _Destination(
        scheme_dict=scheme,
        interpreter=str(env.executable),
        script_kind="posix" if os.name == "posix" else get_launcher_kind(),
        hash_algorithm="sha256",
        overwrite_existing=True,
        stop=stop,
        umask=umask,
        folders=set() if folders is None else folders,
        pycs=pycs,
        unpacked=str(prepared.unpacked.root),
    )
    metadata = {"INSTALLER": f"{INSTALLER_NAME}\n".encode(), "REQUESTED": b""}
    if job.direct_url is not None:
        metadata["direct_url.json"] = job.direct_url
    unpacked = prepared.unpacked
    root_files = unpacked.root_files()
    source = UnpackedSource(unpacked, skip=root_files.keys())
    destination.link_root(_root_scheme(source), root_files)
    # installer does the rest: metadata, .data files, scripts, RECORD.
    install(source=source, destination=destination, additional_metadata=metadata)
    dist_info = source.dist_info_dir
    root_scheme = next(
        where for where, path, _ in destination.written if path.startswith(f"{dist_info}/")
    )
    modules = tuple(
        (os.path.join(scheme[where], path), member)
        for where, path, member in destination.written
        if member is not None and where in ("purelib", "platlib") and path.endswith(".py")
    )
    return Installed(
        prepared=prepared,
        record=Path(scheme[root_scheme], dist_info, "RECORD"),
        root=Path(scheme[root_scheme]),
        modules=modules,
        compiled=pycs is not None,
    )


def _root_scheme(source: UnpackedSource) -> Scheme:
    """Where the wheel's root goes, as installer decides it (``Root-Is-Purelib``)."""
    wheel = parse_metadata_file(source.read_dist_info("WHEEL"))
    return Scheme("purelib" if wheel["Root-Is-Purelib"] == "true" else "platlib")


def _chains(prepared: Sequence[Prepared]) -> list[list[Prepared]]:
    """``prepared`` in groups that share no file; within a group, in the order given."""
    owner: dict[str, int] = {}
    parent = list(range(len(prepared)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for index, item in enumerate(prepared):
        for path in item.destinations:
            other = owner.setdefault(path, index)
            if other != index:
                parent[root(index)] = root(other)
    groups: dict[int, list[Prepared]] = {}
    for index, item in enumerate(prepared):
        groups.setdefault(root(index), []).append(item)
    # The biggest first, so that the last to finish is a small one.
    return sorted(groups.values(), key=lambda group: -sum(len(i.destinations) for i in group))
