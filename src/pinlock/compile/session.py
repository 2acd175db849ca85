"""What every cell of one compile run shares: one HTTP session, the cache, finders, metadata.

A run compiles inputs x targets x flavours; each cell asks the same indexes about mostly the
same projects. One ``HttpSession`` (one credential store, one set of trusted hosts, one pool of
connections) serves them all, so a private index named anywhere in the run (pip configuration,
the command line, a requirement file, a flavour) answers pages, metadata, range reads and
downloads alike. Index pages are read once per index configuration, metadata once per file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from packaging.utils import NormalizedName, canonicalize_name

from pinlock.cache import Cache
from pinlock.compile.metadata import MetadataFetcher
from pinlock.compile.vcs import VcsCheckouts
from pinlock.flavour import Flavour
from pinlock.index.config import IndexSettings, PipConfiguration
from pinlock.index.credentials import Credentials
from pinlock.index.finder import PackageFinder
from pinlock.index.http import HttpSession
from pinlock.index.pagecache import PageCache
from pinlock.reqfile import ReqLine
from pinlock.store import ArtifactStore

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
    ) -> None:
        self.base = base
        # pip's configuration: its policy (pre-releases, binaries) and constraint files apply
        # to every cell, as pip applies them to every install on this machine.
        self.pip = pip or PipConfiguration(index=base)
        self.pip_constraints = tuple(pip_constraints)
        self.cache = cache
        self.store = ArtifactStore(cache)
        # ``refresh``: pages and metadata kept from earlier runs are asked for again.
        self.pages = PageCache(cache, refresh=refresh)
        # Offline, the session fetches nothing: pages come from ``pages``, metadata from the
        # cache, files from the store, and whatever is missing is named (``OfflineMiss``).
        self.http = HttpSession(base, credentials=Credentials(environ), offline=offline)
        # Every index the run will use lends its credentials before the first request, so the
        # metadata of a file is fetched as its page was, whichever configuration listed it.
        for settings in configurations:
            self.http.include(settings)
        self.http.include(base, urls=[flavour.index for flavour in flavours])
        self.metadata = MetadataFetcher(
            self.http, cache, store=self.store, build_isolation=build_isolation, refresh=refresh
        )
        self.vcs = VcsCheckouts(cache, environ=environ)
        self.hash_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pinlock-hash")
        self._finders: dict[tuple[IndexSettings, str], PackageFinder] = {}

    def finder(self, settings: IndexSettings, flavour: Flavour | None) -> PackageFinder:
        """The finder of one index configuration (and flavour), made once per run."""
        key = (settings, flavour.name if flavour else "")
        finder = self._finders.get(key)
        if finder is None:
            self.http.include(settings)
            owned = dict.fromkeys(flavour.packages, (flavour.index,)) if flavour else None
            finder = PackageFinder(
                settings, self.http, package_indexes=owned, store=self.store, pages=self.pages
            )
            self._finders[key] = finder
        return finder

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
        self.hash_pool.shutdown(wait=True)
        for finder in self._finders.values():
            finder.close()
        self.http.close()
