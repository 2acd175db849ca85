"""Getting the exact files a lock names onto this machine, verified, before anything changes.

For each package the file is the one whose sha256 the lock lists: a wheel the target accepts
(best tag first), else the sdist. Files come from, and land in, the machine's artifact store
(``pinlock.store``), keyed by their sha256: what compile or an earlier sync downloaded is taken
from there, checked, without the network. Which file an index offers is the best for a pin is
remembered for its hashes and the target's tags: an unchanged lock is synced again without
asking the index (the lock's hashes bound the files it may be; the tags decide among them).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from packaging.tags import Tag

from pinlock.cache import Cache
from pinlock.digests import check_digests, file_digest, group_digests
from pinlock.errors import HashMismatch, NoMatchingDistribution
from pinlock.index.models import DistFile, FileKind, parse_dist_filename
from pinlock.lock.model import LockedPackage
from pinlock.progress import BYTES, DOWNLOADING, Progress, size_text
from pinlock.store import ArtifactStore
from pinlock.urls import file_url_to_path, is_file_url, redact_url, url_filename

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings
    from pinlock.index.finder import PackageFinder
    from pinlock.index.http import HttpSession

__all__ = [
    "FetchedFile",
    "FileSource",
    "IndexFileSource",
    "fetch_files",
]


class FileSource(Protocol):
    """Where files come from: the lock's indexes and find-links, and any URL."""

    def files(self, package: LockedPackage) -> Sequence[DistFile]:
        """Every file of ``package``'s project that the sources list."""
        ...

    def download(self, url: str, dest: Path, expected: Sequence[str]) -> str:
        """Download ``url`` to ``dest``; return ``"sha256:<hex>"``; raise HashMismatch."""
        ...


class IndexFileSource:
    """A ``FileSource`` over pinlock's index layer (pip configuration plus the lock's options).

    Built on ``session`` when given (which learns ``settings``' credentials and trusted hosts,
    and stays open), else on a session of its own; with ``cache``, index pages are kept there
    with their validators (``pinlock.index.pagecache``), as compile keeps them. A context
    manager: leaving it closes the finder's threads, and the session if it is its own.
    ``progress`` hears the bytes of every download, and a note of each file downloaded.
    """

    def __init__(
        self,
        settings: IndexSettings,
        *,
        session: HttpSession | None = None,
        progress: Progress | None = None,
        cache: Cache | None = None,
    ) -> None:
        self._settings = settings
        self._given = session
        self._cache = cache
        self._progress = progress
        self._guard = threading.Lock()
        self._opened: tuple[HttpSession, PackageFinder] | None = None
        self._refetching: PackageFinder | None = None

    def _open(self) -> tuple[HttpSession, PackageFinder]:
        # Made on first use: a sync whose files are all in the store never needs the network.
        with self._guard:
            if self._opened is None:
                from pinlock.index.finder import PackageFinder
                from pinlock.index.http import HttpSession

                given = self._given
                session = (
                    HttpSession(self._settings) if given is None else given.include(self._settings)
                )
                pages = None
                if self._cache is not None:
                    from pinlock.index.pagecache import PageCache

                    pages = PageCache(self._cache)
                self._opened = (session, PackageFinder(self._settings, session, pages=pages))
            return self._opened

    def files(self, package: LockedPackage) -> Sequence[DistFile]:
        """With a ``cache``, index pages as last read while fresh (``Cache-Control``), else
        revalidated; a kept page without a file of the pin the lock's hashes allow is asked for
        again (a release, or a file, newer than the page)."""
        session, finder = self._open()
        found = finder.find(package.name)
        wanted = {h.partition(":")[2] for h in package.hashes if h.startswith("sha256:")}

        def usable(dist: DistFile) -> bool:
            return dist.version == package.version and (
                not wanted or dist.sha256 is None or dist.sha256 in wanted
            )

        if self._cache is None or any(usable(dist) for dist in found):
            return found
        with self._guard:
            if self._refetching is None:
                from pinlock.index.finder import PackageFinder
                from pinlock.index.pagecache import PageCache

                fresh = PageCache(self._cache, refresh=True)
                self._refetching = PackageFinder(self._settings, session, pages=fresh)
        return self._refetching.find(package.name)

    def download(self, url: str, dest: Path, expected: Sequence[str]) -> str:
        session, _finder = self._open()
        progress = self._progress
        if progress is None:
            return session.download(url, dest, expected=tuple(expected))
        digest = session.download(
            url,
            dest,
            expected=tuple(expected),
            on_bytes=lambda size: progress.tally(DOWNLOADING, BYTES, size),
        )
        progress.note(f"downloaded {redact_url(url)} ({size_text(dest.stat().st_size)})")
        return digest

    def close(self) -> None:
        if self._opened is None:
            return
        session, finder = self._opened
        finder.close()
        if self._refetching is not None:
            self._refetching.close()
        if self._given is None:
            session.close()

    def __enter__(self) -> IndexFileSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchedFile:
    """A verified local file for one locked package."""

    package: LockedPackage
    path: Path
    sha256: str
    kind: FileKind


def fetch_files(
    packages: Sequence[LockedPackage],
    *,
    source: FileSource,
    cache: Cache,
    tags: Sequence[Tag],
    target: str,
    workers: int = 8,
    progress: Progress | None = None,
) -> tuple[FetchedFile, ...]:
    """Fetch and verify one file per package, in parallel; raise before returning anything.

    ``progress`` hears of each file that is ready (``DOWNLOADING``, one step per package,
    whether it came from the network or the artifact store)."""
    if not packages:
        return ()
    ranks = {tag: i for i, tag in reversed(list(enumerate(tags)))}
    store = ArtifactStore(cache)
    tags_digest = hashlib.sha256(" ".join(map(str, tags)).encode()).hexdigest()

    def fetch(package: LockedPackage) -> FetchedFile:
        key = _choice_key(package, tags_digest)
        remembered = None if key is None else _remembered(package, store, key)
        if remembered is not None:
            fetched = remembered
        else:
            fetched = _fetch_one(package, source, store, ranks, target)
            if key is not None and fetched.package.url is None:
                store.remember(key, fetched.sha256, fetched.path.name)
        if progress is not None:
            progress.advance(DOWNLOADING, item=package.display_name)
        return fetched

    if progress is not None:
        progress.stage(DOWNLOADING, total=len(packages))
    pool = ThreadPoolExecutor(max_workers=min(workers, len(packages)))
    try:
        futures = [pool.submit(fetch, package) for package in packages]
        return tuple(future.result() for future in futures)
    finally:
        # On a failure or a stop signal, files not yet begun are not fetched at all; those under
        # way finish (or fail) into the store's staging folders, which they clean up.
        pool.shutdown(wait=True, cancel_futures=True)
        if progress is not None:
            progress.end(DOWNLOADING)


def _choice_key(package: LockedPackage, tags_digest: str) -> str | None:
    """What names the file chosen for ``package`` on a target: its pin and its hashes (the
    files it may be), and the target's tags (which of them is best). None when the choice
    depends on the index (a pin without sha256 hashes) or is no choice (a URL, a pylock's
    files)."""
    hashes = sorted(h for h in package.hashes if h.startswith("sha256:"))
    if not hashes or package.url is not None or package.files or package.version is None:
        return None
    return f"sync-choice:{package.name}=={package.version}:{tags_digest}:{','.join(hashes)}"


def _remembered(package: LockedPackage, store: ArtifactStore, key: str) -> FetchedFile | None:
    """The file an earlier sync chose for the same pin, hashes and target, checked again;
    the index need not be asked which file it is."""
    found = store.recall(key)
    if found is None or found[1] not in package.hashes:
        return None
    path, digest = found
    others = [h for h in package.hashes if not h.startswith("sha256:")]
    if others:
        check_digests(path.name, path, package.hashes)
    parsed = parse_dist_filename(path.name)
    kind = parsed[2] if parsed else FileKind.SDIST
    return FetchedFile(package=package, path=path, sha256=digest, kind=kind)


def _fetch_one(
    package: LockedPackage,
    source: FileSource,
    store: ArtifactStore,
    ranks: dict[Tag, int],
    target: str,
) -> FetchedFile:
    if package.url is not None:
        return _fetch_url(package, package.url, source, store)
    # A pylock.toml names each file of a pin: no index is asked.
    listed = _listed_files(package) if package.files else source.files(package)
    candidates = _candidates(package, listed, ranks)
    if not candidates:
        wanted = ", ".join(package.hashes) or "any hash"
        raise NoMatchingDistribution(
            package.shown_text,
            target,
            f"no file of {package.name} {package.version} on the lock's indexes matches "
            f"({wanted}) and suits this interpreter",
        )
    last_error: HashMismatch | None = None
    for candidate in candidates:
        try:
            return _fetch_dist(package, candidate, source, store)
        except HashMismatch as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def _listed_files(package: LockedPackage) -> list[DistFile]:
    """The files a lock lists for ``package`` (a pylock.toml does), as index entries."""
    found: list[DistFile] = []
    for file in package.files:
        parsed = parse_dist_filename(file.filename)
        if parsed is None or package.version is None:
            continue
        name, version, kind, tags = parsed
        found.append(
            DistFile(
                name=name,
                version=version,
                filename=file.filename,
                url=file.url,
                kind=kind,
                source=file.url,
                wheel_tags=tags,
                hashes=dict(h.partition(":")[::2] for h in file.hashes),
            )
        )
    return found


def _candidates(
    package: LockedPackage, files: Sequence[DistFile], ranks: dict[Tag, int]
) -> list[DistFile]:
    wanted = {h.partition(":")[2] for h in package.hashes if h.startswith("sha256:")}
    ranked: list[tuple[int, DistFile]] = []
    for dist in files:
        if dist.version != package.version or (dist.yanked and not wanted):
            continue
        if wanted and dist.sha256 is not None and dist.sha256 not in wanted:
            continue
        if dist.is_wheel:
            rank = min((ranks[t] for t in dist.wheel_tags if t in ranks), default=None)
            if rank is None:
                continue
        else:
            rank = len(ranks)
        ranked.append((rank, dist))
    # Files whose digest the index states come before those that must be downloaded to know.
    ranked.sort(key=lambda item: (item[0], item[1].sha256 is None, item[1].filename))
    return [dist for _, dist in ranked]


def _fetch_dist(
    package: LockedPackage, dist: DistFile, source: FileSource, store: ArtifactStore
) -> FetchedFile:
    # A lock without hashes still holds the file to the digest its index states.
    index_digest = [f"sha256:{dist.sha256}"] if dist.sha256 else []
    expected = package.hashes or index_digest
    path, digest = _stored(store, source, dist.url, dist.filename, expected)
    return FetchedFile(package=package, path=path, sha256=digest, kind=dist.kind)


def _fetch_url(
    package: LockedPackage, url: str, source: FileSource, store: ArtifactStore
) -> FetchedFile:
    filename = url_filename(url)
    parsed = parse_dist_filename(filename)
    kind = parsed[2] if parsed else FileKind.SDIST
    local = file_url_to_path(url) if is_file_url(url) else None
    if local is not None and local.is_file():
        # Checked in every algorithm the lock gives, as any other file.
        digest = (
            check_digests(redact_url(url), local, package.hashes)
            if package.hashes
            else file_digest(local)
        )
        return FetchedFile(package=package, path=local, sha256=digest, kind=kind)
    path, digest = _stored(store, source, url, filename, package.hashes)
    return FetchedFile(package=package, path=path, sha256=digest, kind=kind)


def _stored(
    store: ArtifactStore, source: FileSource, url: str, filename: str, expected: Sequence[str]
) -> tuple[Path, str]:
    path, digest = store.fetch(url, filename, source.download, expected=expected)
    # Sources and the store check what they hand over; a source that does not still cannot
    # slip a file by: its sha256 is known, a lock without one costs a second read.
    wanted = group_digests(expected)
    if "sha256" in wanted:
        if digest.partition(":")[2] not in wanted["sha256"]:
            raise HashMismatch(redact_url(url), expected, digest)
    elif wanted:
        check_digests(redact_url(url), path, expected)
    return path, digest
