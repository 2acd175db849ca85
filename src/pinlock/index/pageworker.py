"""Index pages read, parsed and kept by a helper process that works beside a compile.

A cold compile spends half its CPU on index pages: reading them over TLS, decoding their JSON
or HTML, and filing the files they list (``pinlock.index.pagecache``). In one process that
work takes turns under the interpreter lock with the resolver, the metadata reads and the walk
ahead of them; a helper process does it on another core. (Wheels' metadata stays with the
compile: a range read costs little CPU, and a helper doing both became the slower half.) The
helper is an accelerator only: it reads a page just as the finder would (the same
``PackageFinder``), keeps it in the run's cache and says so, and the finder reads the kept page
as if it had just fetched it. A page the helper did not keep (the helper not started yet,
gone, stuck, or failing otherwise than on the network) the finder fetches itself: the helper
never speaks to the user.

The helper reads its settings and then its requests (pickles) from a pipe, and answers (pickles
too) that it is ready, then each request's outcome: kept, not kept, or the network failure met
(which the compile raises as its own: a failing index is not asked twice as often); it ends as
soon as its request pipe closes: the compile has ended, whatever way it did. Loading what it
runs (the HTTP stack, the page parsers) takes a tenth of a second, so a compile command starts
it first thing (``prestart``), and it loads them on the other core while the compile reads its
inputs; a run that then reads nothing (its locks are up to date) ends, and the helper with it.
On Linux the helper is a copy of the compile's process (``processes.fork_helper``), which
starts at once; elsewhere, or once the compile runs threads, a new interpreter.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pinlock.errors import NetworkError
from pinlock.processes import Helper, fork_helper, start_helper

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings

__all__ = ["PageWorker", "WorkerSettings", "prestart"]

_READY = -1  # the serial of the helper's first answer: it serves from now on
# What the helper answers a request: kept (True), not kept (False: the compile reads the page
# itself), or the failure met reading it (a NetworkError's URL, attempts and reason).
_Outcome = bool | tuple[str, int, str]
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


_HELPER_MAIN = (
    "import sys\n"
    "if sys.path and sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "from pinlock.index.pageworker import main\n"
    "main()\n"
)

_prestarted: list[Helper] = []
_prestart_lock = threading.Lock()


def prestart() -> None:
    """Start a helper now, for the next ``PageWorker`` of this process to take: it loads what
    it runs beside this process's own start, and then waits for its settings."""
    with _prestart_lock:
        if not _prestarted:
            with contextlib.suppress(OSError):
                _prestarted.append(_start())


def _start() -> Helper:
    forked = fork_helper(_serve_from)
    if forked is not None:
        return forked
    # Run by its module's name (not as __main__): the settings pickle names its classes so.
    # -c puts the working folder first on sys.path: it is taken off, or a project's own
    # json.py (any module named as one the helper loads) would run in the helper.
    return start_helper([sys.executable, "-c", _HELPER_MAIN])


def _helper_for(settings: WorkerSettings) -> Helper:
    with _prestart_lock:
        helper = _prestarted.pop() if _prestarted else None
    helper = helper or _start()
    try:
        helper.requests.write(pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL))
        helper.requests.flush()
    except OSError:
        pass  # it is gone: its answers end at once, and the compile reads every page itself
    return helper


def _longest_read(timeout: float, retries: int) -> float:
    pauses = sum(min(0.25 * 2.0 ** (attempt - 1), 8.0) for attempt in range(1, retries + 1))
    # A timeout bounds each wait for a byte, not a whole answer: two of them a read.
    return 2 * timeout * (retries + 1) + pauses


class PageWorker:
    """The compile's side of the helper; thread-safe. Raises ``OSError`` when the helper
    cannot start."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._helper = _helper_for(settings)
        self._lock = threading.Lock()
        self._serial = itertools.count()
        self._waiting: dict[int, Future[_Outcome]] = {}
        self._ready = threading.Event()
        self._ended = threading.Event()
        # The longest a read of the helper's may take: every attempt timing out, with the
        # pauses between them. A helper that takes longer is stuck (stopped, say): it is given
        # up, and the compile reads for itself.
        self._patience = _longest_read(settings.base.timeout, settings.base.retries) + 5.0
        threading.Thread(
            target=self._read_answers,
            args=(self._helper.answers,),
            name="pinlock-page-worker",
            daemon=True,
        ).start()

    @property
    def pid(self) -> int:
        return self._helper.pid

    def keep_page(self, index_url: str, name: str) -> bool:
        """Whether the helper read the page of ``name`` on ``index_url`` and kept it (or its
        absence) in the cache; False when it did not, or is not serving (yet, or any more).
        Raises the ``NetworkError`` the helper met, as reading the page here would have."""
        if not self._ready.is_set():
            return False
        answer: Future[_Outcome] = Future()
        with self._lock:
            if self._ended.is_set():
                return False
            serial = next(self._serial)
            self._waiting[serial] = answer
            self._send((serial, index_url, name))
        try:
            outcome = answer.result(timeout=self._patience)
        except TimeoutError:
            self._give_up()
            return False
        if isinstance(outcome, tuple):
            raise NetworkError(*outcome)
        return outcome

    def wait_until_ready(self, timeout: float) -> bool:
        """Whether the helper came to serve pages within ``timeout`` seconds (False at once
        when it ended before), for a caller that would rather wait for it than read the
        first pages itself."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self._ended.is_set() or time.monotonic() > deadline:
                return False
        return True

    def close(self) -> None:
        """End the helper: its request pipe closes, and it exits at once; whoever waits for
        it reads for itself."""
        with self._lock:
            self._end_locked()
        if not self._ready.is_set():
            self._helper.kill()  # still starting: it would read nothing
        self._helper.end()

    def _give_up(self) -> None:
        with self._lock:
            self._end_locked()
        self._helper.kill()

    def _send(self, message: object) -> None:
        try:
            self._helper.requests.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
            self._helper.requests.flush()
        except OSError:
            self._end_locked()

    def _read_answers(self, answers: IO[bytes]) -> None:
        try:
            while True:
                serial, outcome = pickle.load(answers)
                if serial == _READY:
                    self._ready.set()
                    continue
                with self._lock:
                    waiting = self._waiting.pop(serial, None)
                if waiting is not None:
                    waiting.set_result(outcome)
        except Exception:  # the helper ended (EOF), or its pipe is broken
            pass
        with self._lock:
            self._end_locked()

    def _end_locked(self) -> None:
        self._ended.set()
        waiting, self._waiting = self._waiting, {}
        for answer in waiting.values():
            answer.set_result(False)


# -- the helper ------------------------------------------------------------------------------


def _serve_from(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Load what serving takes, then read the settings and serve (a helper's whole life)."""
    import gc

    # It makes hundreds of thousands of objects a run and few cycles (a failed read's
    # traceback): the collector's passes over them would cost more than those few hold.
    gc.set_threshold(100_000, 50, 1000)
    from pinlock.index import finder, http, pagecache  # noqa: F401  (before the settings)

    settings = pickle.load(requests)
    if isinstance(settings, WorkerSettings):
        _serve(settings, requests, answers)


def _serve(settings: WorkerSettings, requests: IO[bytes], answers: IO[bytes]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from packaging.utils import canonicalize_name

    from pinlock.cache import Cache
    from pinlock.index.credentials import Credentials
    from pinlock.index.finder import PackageFinder
    from pinlock.index.http import HttpSession
    from pinlock.index.pagecache import PageCache

    # The run's environment, which may not be the one this helper started in (``prestart``).
    if os.environ != settings.environ:
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

    def answer(serial: int, outcome: _Outcome) -> None:
        with lock:
            pickle.dump((serial, outcome), answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()

    def keep(serial: int, index_url: str, name: str) -> None:
        outcome: _Outcome = False
        try:
            finder.keep_index_page(index_url, canonicalize_name(name))
            outcome = True
        except NetworkError as error:  # the same failure the compile would meet: it is told
            outcome = (error.url, error.attempts, error.reason)
        except BaseException:  # anything else: the compile reads the page for itself
            outcome = False
        answer(serial, outcome)

    answer(_READY, True)
    pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="pinlock-worker")
    while True:
        try:
            serial, index_url, name = pickle.load(requests)
        except EOFError:
            return
        pool.submit(keep, serial, index_url, name)


def main() -> None:
    """A helper started as a new interpreter, serving on its standard input and output."""
    with contextlib.suppress(BaseException):
        _serve_from(sys.stdin.buffer, sys.stdout.buffer)
    # The compile has ended (or this helper cannot serve it): pages still being read are of
    # no use, and every kept one was written whole.
    os._exit(0)
