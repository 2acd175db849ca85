"""Speculative parallel fetching of index pages and metadata ahead of the resolver.

resolvelib asks for one thing at a time and each request costs a round trip. The prefetcher
walks the dependency tree as the resolver would most likely walk it (newest usable version of
each project) on a thread pool, so pages and metadata are in the memo caches by the time the
single-threaded resolver asks. A guess that turns out wrong costs bandwidth, never correctness:
errors are swallowed here and surface when the resolver itself asks.

It only ever reads cheap metadata (a PEP 658 ``.metadata`` file, range reads of a wheel, the
cache): it never downloads an sdist or a whole wheel and never builds. A version whose
metadata needs that is left to the resolver, which may never ask for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pinlock.compile.resolve.factory import Factory
from pinlock.errors import PinlockError

__all__ = ["Prefetcher"]


class Prefetcher:
    def __init__(self, factory: Factory, *, workers: int = 12, limit: int = 2000) -> None:
        self._factory = factory
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pinlock-prefetch")
        self._seen: set[NormalizedName] = set()
        self._lock = threading.Lock()
        self._limit = limit
        self._futures: list[Future[None]] = []
        self._closed = False

    def submit(self, requirements: Iterable[Requirement]) -> None:
        """Start walking from these requirements (markers are evaluated for the target)."""
        for req in requirements:
            if req.url or not self._factory.target.evaluate(req.marker, req.extras):
                continue
            name = canonicalize_name(req.name)
            with self._lock:
                if self._closed or name in self._seen or len(self._seen) >= self._limit:
                    continue
                self._seen.add(name)
                self._futures.append(self._pool.submit(self._visit, req))

    def _visit(self, req: Requirement) -> None:
        factory = self._factory
        name = canonicalize_name(req.name)
        try:
            versions = factory.versions(name)
            preferred = factory.options.prefer.get(name)
            order = sorted(versions.usable, key=lambda v: v != preferred)
            for version in order:
                if version.is_prerelease and not factory.options.pre:
                    continue
                if factory.admits(req.specifier, version):
                    files = versions.usable[version]
                    meta = factory.metadata.peek(versions.metadata_file(version, files))
                    if meta is None:
                        return
                    self.submit(
                        r
                        for r in meta.requires_dist
                        if r.marker is None or factory.target.evaluate(r.marker, req.extras)
                    )
                    return
        except PinlockError:
            return

    def close(self, *, wait: bool = False) -> None:
        """Stop walking: walks not yet started are dropped, and those under way are waited
        for (a fetch cannot be cut short), so nothing of this run still runs when the resolver
        returns, nor writes the cache after it. With ``wait``, every walk is finished first."""
        if wait:
            while True:
                with self._lock:
                    pending = [f for f in self._futures if not f.done()]
                if not pending:
                    break
                for future in pending:
                    future.result()
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
