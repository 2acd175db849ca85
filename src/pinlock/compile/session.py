"""What every cell of one compile run shares: one HTTP session, the cache, finders, metadata.

A run compiles inputs x targets x flavours; each cell asks the same indexes about mostly the
same projects. One ``HttpSession`` (one credential store, one set of trusted hosts, one pool of
connections) serves them all, so a private index named anywhere in the run (pip configuration,
the command line, a requirement file, a flavour) answers pages, metadata, range reads and
downloads alike. Index pages are read once per index configuration, metadata once per file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name

from pinlock.cache import Cache
from pinlock.compile.metadata import MetadataFetcher
from pinlock.compile.vcs import VcsCheckouts
from pinlock.flavour import Flavour
from pinlock.index.config import IndexSettings, PipConfiguration
from pinlock.index.credentials import Credentials
from pinlock.progress import Progress
from pinlock.reqfile import ReqLine
from pinlock.store import ArtifactStore
from pinlock.urls import local_path

if TYPE_CHECKING:
    from pinlock.index.finder import PackageFinder
    from pinlock.index.http import HttpSession
    from pinlock.index.pagecache import PageCache
    from pinlock.index.pageworker import PageWorker

__all__ = ["CompileSession"]

# Cache bucket of project names each input needed last time (see remembered_names).
_HINTS_BUCKET = "resolution-hints"


class CompileSession:
    """The shared state of one run; ``close`` ends its threads and connections."""

    def __init__(
        self,
        base: IndexSettings,
        *,
        cache: Cache,
        configurations: Iterable[IndexSettings] = (),
        flavours: Sequence[Flavour] = (),
        environ: Mapping[str, str] | None = None,
        pip: PipConfiguration | None = None,
        pip_constraints: Sequence[ReqLine] = (),
        offline: bool = False,
        refresh: bool = False,
        build_isolation: bool = True,
        uploaded_prior_to: datetime | None = None,
        progress: Progress | None = None,
        worker: bool = True,
    ) -> None:
        self.base = base
        # Whoever watches the run (None: nobody): resolutions, downloads, builds.
        self.progress = progress
        # Every finder leaves out what was uploaded too late (--uploaded-prior-to).
        self.uploaded_prior_to = uploaded_prior_to
        # pip's configuration: its policy (pre-releases, binaries) and constraint files apply
        # to every cell, as pip applies them to every install on this machine.
        self.pip = pip or PipConfiguration(index=base)
        self.pip_constraints = tuple(pip_constraints)
        self.cache = cache
        cache.remove_old_layout()
        self.store = ArtifactStore(cache)
        self.vcs = VcsCheckouts(cache, environ=environ)
        self.hash_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pinlock-hash")
        self._finders: dict[tuple[IndexSettings, str], PackageFinder] = {}
        self._environ = environ
        self._configurations = [*configurations, base]
        self._flavour_indexes = [flavour.index for flavour in flavours]
        self._offline = offline
        self._refresh = refresh
        self._build_isolation = build_isolation
        # The HTTP session and what uses it are made on first use: a run that keeps every lock
        # asks no index, and need not load urllib3 and TLS.
        self._guard = threading.Lock()
        self._http: HttpSession | None = None
        self._metadata: MetadataFetcher | None = None
        self._pages: PageCache | None = None
        # The page worker (``pinlock.index.pageworker``), started with the first finder.
        self._worker_wanted = worker and not offline
        self._worker: PageWorker | None = None

    @property
    def http(self) -> HttpSession:
        """The run's one HTTP session. Offline it fetches nothing: pages come from ``pages``,
        metadata from the cache, files from the store, and what is missing is named."""
        with self._guard:
            if self._http is None:
                from pinlock.index.http import HttpSession

                http = HttpSession(
                    self.base, credentials=Credentials(self._environ), offline=self._offline
                )
                # Every index the run will use lends its credentials before the first request,
                # so the metadata of a file is fetched as its page was, whichever configuration
                # listed it.
                for settings in self._configurations:
                    http.include(settings)
                http.include(self.base, urls=self._flavour_indexes)
                self._http = http
            return self._http

    @property
    def metadata(self) -> MetadataFetcher:
        """Core metadata of files and projects; ``refresh`` reads it again from its source."""
        with self._guard:
            metadata = self._metadata
        if metadata is None:
            made = MetadataFetcher(
                self.http,
                self.cache,
                store=self.store,
                build_isolation=self._build_isolation,
                refresh=self._refresh,
                progress=self.progress,
            )
            with self._guard:
                metadata = self._metadata = self._metadata or made
        return metadata

    @property
    def pages(self) -> PageCache:
        """Index pages as last read; ``refresh`` asks for them again."""
        with self._guard:
            if self._pages is None:
                from pinlock.index.pagecache import PageCache

                self._pages = PageCache(self.cache, refresh=self._refresh)
            return self._pages

    def finder(self, settings: IndexSettings, flavour: Flavour | None) -> PackageFinder:
        """The finder of one index configuration (and flavour), made once per run."""
        key = (settings, flavour.name if flavour else "")
        finder = self._finders.get(key)
        if finder is None:
            # The worker first: when none was started ahead, it is made as a copy of this
            # process, which must be before the session's threads start.
            worker = self._start_worker()
            self.http.include(settings)
            owned = dict.fromkeys(flavour.packages, (flavour.index,)) if flavour else None
            from pinlock.index.finder import PackageFinder

            finder = PackageFinder(
                settings,
                self.http,
                package_indexes=owned,
                store=self.store,
                pages=self.pages,
                uploaded_prior_to=self.uploaded_prior_to,
                worker=worker,
            )
            self._finders[key] = finder
        return finder

    def _start_worker(self) -> PageWorker | None:
        """The run's page worker, started on first use when some index of the run is asked
        over the network; None when it is not wanted or cannot start."""
        with self._guard:
            if not self._worker_wanted:
                return self._worker
            self._worker_wanted = False
            indexes = [url for s in self._configurations for url in s.index_urls]
            if all(local_path(url) for url in (*indexes, *self._flavour_indexes)):
                return None
            from pinlock.index.pageworker import PageWorker, WorkerSettings

            settings = WorkerSettings(
                base=self.base,
                configurations=tuple(self._configurations),
                flavour_indexes=tuple(self._flavour_indexes),
                environ=dict(os.environ if self._environ is None else self._environ),
                cache_root=self.cache.root.absolute(),
                refresh=self._refresh,
            )
            try:
                self._worker = PageWorker(settings)
            except OSError:
                return None
            return self._worker

    def remembered_names(self, key: str) -> list[NormalizedName]:
        """Projects the last resolution of this input needed: their pages are asked for at once
        instead of level by level as the tree is discovered. Only timing depends on this."""
        data = self.cache.get(_HINTS_BUCKET, key)
        if data is None:
            return []
        return [canonicalize_name(name) for name in data.decode("utf-8", "replace").split()]

    def remember_names(self, key: str, names: Iterable[str]) -> None:
        self.cache.put(_HINTS_BUCKET, key, "\n".join(names).encode())

    def close(self) -> None:
        # The worker first: a finder's threads still waiting for it go on at once.
        if self._worker is not None:
            self._worker.close()
        self.hash_pool.shutdown(wait=True)
        if self._metadata is not None:
            self._metadata.close()
        for finder in self._finders.values():
            finder.close()
        if self._http is not None:
            self._http.close()
