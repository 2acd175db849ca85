"""Index pages read, parsed and kept by a helper process that works beside a compile.

A cold compile spends half its CPU on index pages: reading them over TLS, decoding their JSON
or HTML, and filing the files they list (``pinlock.index.pagecache``). In one process that
work takes turns under the interpreter lock with the resolver, the metadata reads and the walk
ahead of them; a helper process does it on another core. (Wheels' metadata stays with the
compile: a range read costs little CPU, and a helper doing both became the slower half.) The
helper is an accelerator only: it reads a page just as the finder would (the same
``PackageFinder``), keeps it in the run's cache and says so, and the finder reads the kept page
as if it had just fetched it. A page the helper did not keep (any failure at all, the helper
not started yet, or gone) the finder fetches itself, with its own errors and messages: the
helper never speaks to the user.

The helper reads its settings and then its requests from its standard input (pickles), and
answers ``ready`` once, then ``<serial> ok`` or ``<serial> failed`` a line. It ends as soon as
its standard input closes: the compile has ended, whatever way it did. Its interpreter and
imports take a tenth of a second, so a compile command starts it before it reads its inputs
(``prestart``); a run that then reads nothing (its locks are up to date) ends, and the helper
with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pinlock.processes import start_helper, stop_group

if TYPE_CHECKING:
    import subprocess

    from pinlock.index.config import IndexSettings

__all__ = ["PageWorker", "WorkerSettings", "prestart"]

_READY = b"ready\n"
_OK = b"ok"
# As many pages at once as the finder itself asks for.
_THREADS = 16


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerSettings:
    """What the helper needs to read pages as the run would: the run's index configurations
    (their credentials and trusted hosts), the flavours' index URLs, the environment (netrc,
    proxies, certificate bundles), the cache, and whether kept pages are ignored
    (``--refresh``)."""

    base: IndexSettings
    configurations: tuple[IndexSettings, ...]
    flavour_indexes: tuple[str, ...]
    environ: Mapping[str, str]
    cache_root: Path
    refresh: bool


_prestarted: list[subprocess.Popen[bytes]] = []
_prestart_lock = threading.Lock()


def prestart() -> None:
    """Start a helper now, for the next ``PageWorker`` of this process to take."""
    with _prestart_lock:
        if not _prestarted:
            with contextlib.suppress(OSError):
                _prestarted.append(_start())


def _start() -> subprocess.Popen[bytes]:
    # Run by its module's name (not as __main__): the settings pickle names its classes so.
    return start_helper([sys.executable, "-c", "from pinlock.index.pageworker import main; main()"])


def _prestarted_or_new() -> subprocess.Popen[bytes]:
    with _prestart_lock:
        if _prestarted:
            return _prestarted.pop()
    return _start()


class PageWorker:
    """The compile's side of the helper; thread-safe. Raises ``OSError`` when the helper
    cannot start."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._process = _prestarted_or_new()
        self._lock = threading.Lock()
        self._serial = itertools.count()
        self._waiting: dict[int, Future[bool]] = {}
        self._ready = threading.Event()
        self._gone = False
        assert self._process.stdin is not None and self._process.stdout is not None
        self._requests: IO[bytes] = self._process.stdin
        self._send(settings)
        threading.Thread(
            target=self._read_answers,
            args=(self._process.stdout,),
            name="pinlock-page-worker",
            daemon=True,
        ).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def keep_page(self, index_url: str, name: str) -> bool:
        """Whether the helper read the page of ``name`` on ``index_url`` and kept it (or its
        absence) in the cache; False when it did not, or is not running yet."""
        if not self._ready.is_set():
            return False
        answer: Future[bool] = Future()
        with self._lock:
            if self._gone:
                return False
            serial = next(self._serial)
            self._waiting[serial] = answer
            self._send((serial, index_url, name))
        return answer.result()

    def wait_until_ready(self, timeout: float) -> bool:
        """Whether the helper came to serve pages within ``timeout`` seconds (for a caller
        that would rather wait for it than read the first pages itself)."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        """End the helper: its standard input closes and it exits at once (one still starting
        is stopped: it would read nothing)."""
        with self._lock:
            self._end_locked()
            with contextlib.suppress(OSError):
                self._requests.close()
        if not self._ready.is_set():
            with contextlib.suppress(OSError):
                self._process.kill()
        try:
            self._process.wait(timeout=5)
        except Exception:
            stop_group(self._process)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def _send(self, message: object) -> None:
        try:
            self._requests.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
            self._requests.flush()
        except OSError:
            self._end_locked()

    def _read_answers(self, answers: IO[bytes]) -> None:
        try:
            for line in answers:
                if line == _READY:
                    self._ready.set()
                    continue
                serial, _, outcome = line.rstrip().partition(b" ")
                with self._lock:
                    waiting = self._waiting.pop(int(serial), None)
                if waiting is not None:
                    waiting.set_result(outcome == _OK)
        except (OSError, ValueError):
            pass
        with self._lock:
            self._end_locked()

    def _end_locked(self) -> None:
        self._gone = True
        waiting, self._waiting = self._waiting, {}
        for answer in waiting.values():
            answer.set_result(False)


# -- the helper ------------------------------------------------------------------------------


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    import gc
    from concurrent.futures import ThreadPoolExecutor

    from packaging.utils import canonicalize_name

    from pinlock.cache import Cache
    from pinlock.index.credentials import Credentials
    from pinlock.index.finder import PackageFinder
    from pinlock.index.http import HttpSession
    from pinlock.index.pagecache import PageCache

    # What it reads is filed and dropped page by page: there are no cycles to collect.
    gc.disable()
    settings = pickle.load(requests)
    if not isinstance(settings, WorkerSettings):
        return
    # The run's environment, which may not be the one this helper started in (``prestart``).
    os.environ.clear()
    os.environ.update(settings.environ)
    http = HttpSession(settings.base, credentials=Credentials(settings.environ))
    for configuration in settings.configurations:
        http.include(configuration)
    http.include(settings.base, urls=settings.flavour_indexes)
    for configuration in (settings.base, *settings.configurations):
        for index_url in configuration.index_urls:
            http.warm(index_url)
    pages = PageCache(Cache(settings.cache_root), refresh=settings.refresh)
    finder = PackageFinder(settings.base, http, pages=pages)
    lock = threading.Lock()

    def answer(line: bytes) -> None:
        with lock:
            answers.write(line)
            answers.flush()

    def keep(serial: int, index_url: str, name: str) -> None:
        try:
            finder.keep_index_page(index_url, canonicalize_name(name))
        except BaseException:
            answer(f"{serial} failed\n".encode())
        else:
            answer(f"{serial} ok\n".encode())

    answer(_READY)
    pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="pinlock-worker")
    while True:
        try:
            serial, index_url, name = pickle.load(requests)
        except EOFError:
            return
        pool.submit(keep, serial, index_url, name)


def main() -> None:
    with contextlib.suppress(BaseException):
        _serve(sys.stdin.buffer, sys.stdout.buffer)
    # The compile has ended (or this helper cannot serve it): pages still being read are of
    # no use, and every kept one was written whole.
    os._exit(0)
