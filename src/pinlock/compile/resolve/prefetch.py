"""Speculative parallel fetching of index pages and metadata ahead of the resolver.

resolvelib asks for one thing at a time and each request costs a round trip. The prefetcher
walks the dependency tree as the resolver would most likely walk it (newest usable version of
each project) on a few threads, so pages and metadata are in the memo caches by the time the
single-threaded resolver asks. A guess that turns out wrong costs bandwidth, never correctness:
errors are swallowed here and surface when the resolver itself asks.

The walk goes deepest first: a run lasts as long as its longest chain of dependencies (each
link a page and a metadata read), and the projects that start new links wait least so. A
project asked for with extras is walked again for what those extras bring.

It only ever reads cheap metadata (a PEP 658 ``.metadata`` file, range reads of a wheel, the
cache): it never downloads an sdist or a whole wheel and never builds. A version whose
metadata needs that is left to the resolver, which may never ask for it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterable

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pinlock.compile.resolve.factory import Factory
from pinlock.errors import PinlockError

__all__ = ["Prefetcher"]

# A walk waiting to start: (minus its depth, the order it came in, the requirement, its depth).
_Walk = tuple[int, int, Requirement, int]


class Prefetcher:
    def __init__(self, factory: Factory, *, workers: int = 12, limit: int = 2000) -> None:
        self._factory = factory
        self._workers = workers
        self._limit = limit
        self._seen: set[tuple[NormalizedName, frozenset[str]]] = set()
        self._waiting: list[_Walk] = []
        self._order = itertools.count()
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._changed = threading.Condition()
        self._closed = False
        self._failure: BaseException | None = None

    def submit(self, requirements: Iterable[Requirement]) -> None:
        """Start walking from these requirements (markers are evaluated for the target)."""
        target = self._factory.target
        self._enqueue((r for r in requirements if target.evaluate(r.marker, r.extras)), depth=0)

    def _enqueue(self, requirements: Iterable[Requirement], *, depth: int) -> None:
        for req in requirements:
            if req.url:
                continue
            key = (canonicalize_name(req.name), frozenset(req.extras))
            with self._changed:
                if self._closed or key in self._seen or len(self._seen) >= self._limit:
                    continue
                self._seen.add(key)
                heapq.heappush(self._waiting, (-depth, next(self._order), req, depth))
                idle = len(self._threads) - self._busy
                if len(self._waiting) > idle and len(self._threads) < self._workers:
                    # A daemon: should close() be missed, an idle walker never holds the
                    # process open (what a walker writes to the cache is renamed into place
                    # whole, so one ended mid-walk leaves nothing half-written).
                    self._start_walker()
                self._changed.notify()

    def _start_walker(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"pinlock-prefetch_{len(self._threads)}", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # no thread to be had (a pids limit): walk with those there are
            self._workers = len(self._threads)
            if not self._threads:  # none at all: the resolver reads everything itself
                self._waiting.clear()
            return
        self._threads.append(thread)

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                _priority, _order, req, depth = heapq.heappop(self._waiting)
                self._busy += 1
            try:
                self._visit(req, depth)
            except BaseException as error:  # not an index's or a file's fault: a defect
                # Kept for close(wait=True) to raise; the run goes on (the resolver meets
                # whatever this walk would have read when it asks).
                self._failure = self._failure or error
            finally:
                with self._changed:
                    self._busy -= 1
                    self._changed.notify_all()

    def _visit(self, req: Requirement, depth: int) -> None:
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
                    # Markers are evaluated with the extras asked for here; the dependency's
                    # own extras say what to walk of it in turn.
                    self._enqueue(
                        (
                            r
                            for r in meta.requires_dist
                            if r.marker is None or factory.target.evaluate(r.marker, req.extras)
                        ),
                        depth=depth + 1,
                    )
                    return
        except PinlockError:
            return

    def close(self, *, wait: bool = False) -> None:
        """Stop walking: walks not yet started are dropped, and those under way are waited
        for (a fetch cannot be cut short), so nothing of this run still runs when the resolver
        returns, nor writes the cache after it. With ``wait``, every walk is finished first,
        and an error no walk should meet (a defect, not a failed read) is raised."""
        with self._changed:
            if wait:
                while self._waiting or self._busy:
                    self._changed.wait()
            self._closed = True
            self._waiting.clear()
            self._changed.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        if wait and self._failure is not None:
            raise self._failure
