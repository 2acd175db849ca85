"""Core metadata of distributions, read the cheapest way each file allows.

For a wheel: the PEP 658 ``.metadata`` file when the index offers one, else HTTP range reads of
the wheel's zip directory, else a full download kept in the artifact store (``pinlock.store``).
For an sdist: its PKG-INFO when trustworthy, else its build backend (see
``pinlock.compile.sdist``). Results are remembered in
memory and, keyed by the file's sha256 (or its URL when the index gives no digest), on disk.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pinlock.compile import wheelzip
from pinlock.compile.buildenv import BuildEnvironments
from pinlock.coremetadata import CoreMetadata, parse_metadata
from pinlock.digests import check_all_digests
from pinlock.errors import BuildError, HashMismatch, MetadataError, PinlockError
from pinlock.progress import BUILDING, BYTES, DOWNLOADING, Progress, size_text
from pinlock.pyproject import static_project_metadata
from pinlock.store import ArtifactStore
from pinlock.urls import local_path, url_filename

if TYPE_CHECKING:
    from pinlock.cache import Cache
    from pinlock.index.http import HttpSession
    from pinlock.index.models import DistFile
    from pinlock.lock.model import LockedPackage

__all__ = ["MetadataFetcher"]

_BUILT_BUCKET = "metadata-built"
_METADATA_BUCKET = "metadata"


class MetadataFetcher:
    """Core metadata of index files and local projects; safe to share between threads.

    A file whose metadata cannot be had (its build fails, its metadata is invalid or names
    another project) fails the same way every time it is asked for in a run, without another
    build or download.
    """

    def __init__(
        self,
        client: HttpSession,
        cache: Cache,
        *,
        build_isolation: bool = True,
        store: ArtifactStore | None = None,
        refresh: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self._client = client
        # Hears of downloads and builds, and with -vv where each file's metadata came from.
        self._progress = progress
        # ``refresh``: what the cache holds is read again from the source (and kept anew).
        self._refresh = refresh
        self._cache = cache
        self._store = ArtifactStore(cache) if store is None else store
        self._build_isolation = build_isolation
        self._memo: dict[str, CoreMetadata] = {}
        self._failed: dict[str, PinlockError] = {}
        # key -> the backend's output, for each file whose metadata was built on this machine
        # ("" when that happened in an earlier run and only the cache remembers it).
        self._built: dict[str, str] = {}
        self._guard = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._no_ranges: set[str] = set()  # wheel URLs whose server sent no byte range
        self._environments = BuildEnvironments()

    def fetch(self, dist: DistFile) -> CoreMetadata:
        """The metadata of ``dist``, checked to name the file's project and version."""
        metadata = self._get(dist, cheap=False)
        assert metadata is not None
        return metadata

    def peek(self, dist: DistFile) -> CoreMetadata | None:
        """The metadata of ``dist`` when it can be had cheaply: from memory or the cache, a PEP
        658 ``.metadata`` file, range reads of a wheel or a local wheel (or another thread's
        read of it, waited for). None when only a whole download or a build would tell."""
        return self._get(dist, cheap=True)

    def close(self) -> None:
        """Remove the build environments this fetcher made (they are reused until then)."""
        self._environments.close()

    def was_built(self, dist: DistFile) -> bool:
        """Whether ``dist``'s metadata came from building its sdist on this machine."""
        return self.build_output(dist) is not None

    def build_output(self, dist: DistFile) -> str | None:
        """What the backend printed building ``dist``'s metadata here; None if it was not built."""
        with self._guard:
            return self._built.get(_cache_key(dist))

    def cached_for(self, package: LockedPackage) -> CoreMetadata | None:
        """The metadata kept for a pin's files, found by any of its hashes (the keys this cache
        files metadata under); None when none is kept, or when the pin's files disagree about
        what they depend on (the resolver would read the one it ranks first)."""
        found: list[CoreMetadata] = []
        for digest in package.hashes:
            algorithm, _, value = digest.partition(":")
            key = value.lower() if algorithm == "sha256" else f"{algorithm}:{value.lower()}"
            with self._guard:
                metadata = self._memo.get(key)
            if metadata is None:
                data = self._cache.get(_METADATA_BUCKET, key)
                if data is None:
                    continue
                try:
                    metadata = parse_metadata(data, what=f"{package.name}=={package.version}")
                except MetadataError:
                    continue
                with self._guard:
                    self._memo.setdefault(key, metadata)
            if metadata.name == package.name and metadata.version == package.version:
                found.append(metadata)
        if not found:
            return None
        first = found[0]
        if any(_dependencies(m) != _dependencies(first) for m in found[1:]):
            return None
        return first

    def static_source_tree(self, path: Path) -> CoreMetadata | None:
        """A local project's metadata when its ``[project]`` table states it all, else None."""
        return static_project_metadata(Path(path))

    def for_source_tree(self, path: Path) -> CoreMetadata:
        """Metadata of a local project folder: its static ``[project]`` table when dependencies,
        requires-python, name and version are all static, else the backend's answer."""
        path = Path(path)
        static = static_project_metadata(path)
        if static is not None:
            return static
        self._building(str(path))
        from pinlock.compile import sdist  # sdists only: tarfile and the build machinery

        built = sdist.build_metadata(
            path,
            build_isolation=self._build_isolation,
            what=str(path),
            environments=self._environments,
        )
        self._built_one(str(path))
        return parse_metadata(built.data, what=str(path))

    # -- one file ------------------------------------------------------------------------

    def _get(self, dist: DistFile, *, cheap: bool) -> CoreMetadata | None:
        key = _cache_key(dist)
        with self._guard:
            known = self._memo.get(key)
            if known is not None:
                return known
            failure = self._failed.get(key)
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        if failure is not None:
            if cheap:
                return None
            raise failure
        # A cheap read waits for another thread's read of the same file too: the prefetcher's
        # walk goes on from its answer (the resolver, just behind the walk, often reads the
        # file the walk reaches; giving up there left that file's dependencies unwalked).
        key_lock.acquire()
        try:
            with self._guard:
                known = self._memo.get(key)
                failure = self._failed.get(key)
            if known is not None:
                return known
            if failure is not None:
                if cheap:
                    return None
                raise failure
            try:
                metadata = self._load(dist, key, cheap=cheap)
            except (MetadataError, BuildError, HashMismatch) as error:
                if not cheap:
                    with self._guard:
                        self._failed[key] = error
                raise
            if metadata is not None:
                with self._guard:
                    self._memo[key] = metadata
            return metadata
        finally:
            key_lock.release()

    def _load(self, dist: DistFile, key: str, *, cheap: bool) -> CoreMetadata | None:
        # A local file without a digest may be rebuilt under the same name: read it afresh.
        persistent = key != dist.url or local_path(dist.url) is None
        cached = (
            self._cache.get(_METADATA_BUCKET, key) if persistent and not self._refresh else None
        )
        if cached is not None:
            try:
                metadata = self._checked(parse_metadata(cached, what=dist.filename), dist)
            except MetadataError:
                pass  # a damaged entry is read again from the source below
            else:
                if self._cache.get(_BUILT_BUCKET, key) is not None:
                    self._mark_built(key, "")
                return metadata
        if cheap:
            data = self._cheap_read(dist)
            if data is None:
                return None
            built: str | None = None
        else:
            data, built = self._read(dist)
        metadata = self._checked(parse_metadata(data, what=dist.filename), dist)
        if built is not None:
            self._mark_built(key, built)
        if persistent:
            if built is not None:
                self._cache.put(_BUILT_BUCKET, key, b"")
            self._cache.put(_METADATA_BUCKET, key, data)
        return metadata

    def _mark_built(self, key: str, output: str) -> None:
        with self._guard:
            if output or key not in self._built:
                self._built[key] = output

    def _read(self, dist: DistFile) -> tuple[bytes, str | None]:
        """The metadata bytes, and the backend's output when they were built here."""
        if not dist.is_wheel:
            local = local_path(dist.url)
            archive = local if local is not None else self._download(dist)
            from pinlock.compile import sdist  # sdists only: tarfile and the build machinery

            found = sdist.read_sdist_metadata(
                archive,
                build_isolation=self._build_isolation,
                name=dist.filename,
                environments=self._environments,
                building=None if self._progress is None else self._building,
            )
            if found.built:
                self._built_one(dist.filename)
            else:
                self._note(dist, "the sdist's PKG-INFO")
            return found.data, found.output if found.built else None
        data = self._cheap_read(dist)
        if data is None:
            data = _wheel_file_metadata(self._download(dist), dist.filename)
            self._note(dist, "the whole wheel")
        return data, None

    def _cheap_read(self, dist: DistFile) -> bytes | None:
        """A wheel's metadata without downloading it whole; None for an sdist, or when the
        server offers neither a ``.metadata`` file nor range requests."""
        if not dist.is_wheel:
            return None
        local = local_path(dist.url)
        if local is not None:
            return _wheel_file_metadata(local, dist.filename)
        if dist.metadata_url is not None:
            data = self._pep658(dist, dist.metadata_url)
            if data is not None:
                self._note(dist, "its .metadata file (PEP 658)")
                return data
        with self._guard:
            if dist.url in self._no_ranges:
                return None
        data = wheelzip.read_metadata(self._client, dist.url)
        if data is not None:
            self._note(dist, "range reads of the wheel")
        else:
            # The server sends whole files only: asking again (the resolver after the
            # prefetcher's peek) would cost another request for the same answer.
            with self._guard:
                self._no_ranges.add(dist.url)
        return data

    def _pep658(self, dist: DistFile, url: str) -> bytes | None:
        response = self._client.get(url)
        if response.status != 200:
            return None
        expected = dict(dist.metadata_hashes or {})
        check_all_digests(url, response.body, expected)
        return response.body

    def _download(self, dist: DistFile) -> Path:
        """The whole file, from (or into) the artifact store."""
        expected = [f"{algorithm}:{digest}" for algorithm, digest in dist.hashes.items()]
        path, _digest = self._store.fetch(dist.url, dist.filename, self._save, expected=expected)
        return path

    def _save(self, url: str, dest: Path, expected: Sequence[str]) -> str:
        progress = self._progress
        if progress is None:
            return self._client.download(url, dest, expected=expected)
        name = url_filename(url)
        progress.advance(DOWNLOADING, 0, item=name)
        digest = self._client.download(
            url, dest, expected=expected, on_bytes=lambda n: progress.tally(DOWNLOADING, BYTES, n)
        )
        progress.advance(DOWNLOADING)
        progress.note(f"downloaded {name} ({size_text(dest.stat().st_size)}) for its metadata")
        return digest

    # -- what a watcher hears (nothing when nobody watches) -----------------------------------

    def _building(self, what: str) -> None:
        if self._progress is not None:
            self._progress.advance(BUILDING, 0, item=what)

    def _built_one(self, what: str) -> None:
        if self._progress is not None:
            self._progress.advance(BUILDING)
            self._progress.note(f"built the metadata of {what}")

    def _note(self, dist: DistFile, source: str) -> None:
        if self._progress is not None:
            self._progress.note(f"metadata of {dist.filename}: from {source}", level=2)

    def _checked(self, metadata: CoreMetadata, dist: DistFile) -> CoreMetadata:
        if metadata.name != dist.name or metadata.version != dist.version:
            found = f"{metadata.display_name} {metadata.version}"
            raise MetadataError(
                dist.filename,
                f"the file is {dist.name} {dist.version} but its metadata says {found}",
            )
        return metadata


# Strongest first: the digest that names a file's bytes in the caches when sha256 is not given.
_KEY_ALGORITHMS = ("sha512", "sha384", "blake2b", "sha3_512", "sha3_384", "sha3_256", "sha224")


def _cache_key(dist: DistFile) -> str:
    """What names ``dist``'s bytes: its sha256, else another digest the index gave, else its URL."""
    if dist.sha256:
        return dist.sha256.lower()
    for algorithm in _KEY_ALGORITHMS:
        digest = dist.hashes.get(algorithm)
        if digest:
            return f"{algorithm}:{digest.lower()}"
    return dist.url


def _dependencies(metadata: CoreMetadata) -> tuple[frozenset[str], str]:
    return (
        frozenset(str(req) for req in metadata.requires_dist),
        str(metadata.requires_python or ""),
    )


def _wheel_file_metadata(path: Path, what: str) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(wheelzip.find_metadata_member(archive.namelist(), what))
    except (zipfile.BadZipFile, OSError) as error:
        raise MetadataError(what, f"not a readable wheel: {error}") from None
