"""Every file of a project across the configured sources: indexes, find-links, local folders.

Answers are memoized per project name and shared between threads: a resolver asks for one
project many times, and prefetching lets the pool fetch the next pages while it thinks.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from packaging.utils import NormalizedName
from packaging.version import Version

from pinlock.digests import file_digest
from pinlock.errors import NetworkError, OfflineMiss
from pinlock.index.config import IndexSettings
from pinlock.index.http import HttpResponse, HttpSession, status_error
from pinlock.index.models import (
    DistFile,
    FileRecord,
    ProjectListing,
    parse_dist_filename,
    record_of,
)
from pinlock.index.pagecache import CachedPage, PageCache
from pinlock.index.pages import html_records, json_records, not_an_index_page
from pinlock.index.uploaded import uploaded_before
from pinlock.store import ArtifactStore
from pinlock.urls import local_path, strip_userinfo, url_filename

__all__ = ["PackageFinder", "PageKeeper"]

SIMPLE_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
_JSON_TYPES = frozenset({"application/vnd.pypi.simple.v1+json", "application/json"})

_K = TypeVar("_K", bound=Hashable)
_Parse = Callable[[bytes | str], list[FileRecord]]


_V = TypeVar("_V")


class _Memo(Generic[_K, _V]):
    """Compute each key once, whatever thread asks first; later askers wait for that answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[_K, Future[_V]] = {}

    def get(self, key: _K, compute: Callable[[], _V]) -> _V:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = Future()
                future.set_running_or_notify_cancel()
                self._futures[key] = future
        if owner:
            try:
                future.set_result(compute())
            except Exception as error:
                future.set_exception(error)
            except BaseException as error:
                # An interrupt is not an answer: let a later call try again.
                with self._lock:
                    self._futures.pop(key, None)
                future.set_exception(error)
                raise
        return future.result()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._futures


class PageKeeper(Protocol):
    """Reads index pages into the kept pages for a finder (``pinlock.index.pageworker``)."""

    def keep_page(self, index_url: str, name: str) -> bool:
        """Whether the page of ``name`` on ``index_url`` was read and kept just now (False:
        the finder reads it itself); raises the ``NetworkError`` met reading it."""
        ...


class PackageFinder:
    """Files of projects from ``settings`` (and ``package_indexes`` for the projects it names).

    Remote pages are kept in ``pages`` as they are read; when the session is offline they are
    read from there alone. With ``uploaded_prior_to``, remote files uploaded at or after that
    moment are left out (``pinlock.index.uploaded``). With a ``worker``, index pages are read
    and kept by it where it can (a helper process: ``pinlock.index.pageworker``).
    """

    def __init__(
        self,
        settings: IndexSettings,
        client: HttpSession,
        *,
        package_indexes: Mapping[NormalizedName, Sequence[str]] | None = None,
        max_workers: int = 16,
        store: ArtifactStore | None = None,
        pages: PageCache | None = None,
        uploaded_prior_to: datetime | None = None,
        worker: PageKeeper | None = None,
    ) -> None:
        self.settings = settings
        self._worker = worker if pages is not None else None
        self.uploaded_prior_to = uploaded_prior_to
        self._client = client
        self._store = store
        self._pages = pages
        self._package_indexes = {
            name: tuple(urls) for name, urls in (package_indexes or {}).items()
        }
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pinlock-find")
        self._projects: _Memo[NormalizedName, ProjectListing] = _Memo()
        self._found: _Memo[NormalizedName, tuple[DistFile, ...]] = _Memo()
        self._link_pages: _Memo[str, tuple[FileRecord, ...]] = _Memo()
        self._digests: _Memo[str, str] = _Memo()

    def find(self, name: NormalizedName) -> tuple[DistFile, ...]:
        """Every file of ``name``, de-duplicated by URL, in source order then page order."""
        return self._found.get(name, lambda: self.listing(name).files())

    def listing(self, name: NormalizedName) -> ProjectListing:
        """``find``'s files as compact records: a resolver makes DistFiles of the few it uses."""
        return self._projects.get(name, lambda: self._collect(name))

    def find_version(self, name: NormalizedName, version: Version) -> tuple[DistFile, ...]:
        """``find``'s files of one version."""
        return self.listing(name).files(version)

    def prefetch(self, names: Iterable[NormalizedName]) -> None:
        """Start fetching these projects in the background; ``find`` picks the answers up."""
        for name in names:
            if name not in self._projects:
                self._pool.submit(self._find_quietly, name)

    def sha256(self, dist: DistFile) -> str:
        """The file's sha256 (hex): the index's when it gave one, else read from the file."""
        if dist.sha256:
            return dist.sha256.lower()
        return self._digests.get(dist.url, lambda: self._compute_sha256(dist))

    def keep_index_page(self, index_url: str, name: NormalizedName) -> None:
        """Read the page of ``name`` on ``index_url`` into the kept pages (the page worker's
        part); raises what reading it raises."""
        self._from_index(index_url, name)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- sources -------------------------------------------------------------------------

    def _find_quietly(self, name: NormalizedName) -> None:
        # A failure stays in the memo and is raised to whoever calls find() for this name.
        try:
            self.listing(name)
        except Exception:
            return

    def _collect(self, name: NormalizedName) -> ProjectListing:
        found = list(self._files_from_sources(name))
        if len(found) > 1:  # the same file listed by two sources: the first listing stands
            seen: set[str] = set()
            for index, (source, records) in enumerate(found):
                kept = [record for record in records if record[1] not in seen]
                seen.update(record[1] for record in kept)
                found[index] = (source, kept)
        listing = ProjectListing(tuple(found))
        if self.uploaded_prior_to is not None:
            return ProjectListing.of(uploaded_before(listing.files(), self.uploaded_prior_to))
        return listing

    def _files_from_sources(
        self, name: NormalizedName
    ) -> Iterable[tuple[str, Collection[FileRecord]]]:
        forced = self._package_indexes.get(name)
        if forced is not None:
            for source in forced:
                yield source, self._from_named_source(source, name)
            return
        if self.settings.index_strategy == "first-index":
            for index_url in self.settings.search_order:
                found = self._from_index(index_url, name)
                if found is not None:
                    # The first index that has the project is its only one: a later index
                    # (the public one last) cannot shadow it with a higher version.
                    yield index_url, found
                    break
        else:
            for index_url in self.settings.index_urls:
                yield index_url, self._from_index(index_url, name) or ()
        # Find-links sources are merged with the index's files under either strategy, as pip
        # and uv do: they are folders and pages the user named, not indexes that compete.
        for link in self.settings.find_links:
            yield link, self._from_find_links(link, name)

    def _from_named_source(self, source: str, name: NormalizedName) -> Collection[FileRecord]:
        """An entry of ``package_indexes``: an index URL, or a local index or wheel folder."""
        folder = local_path(source)
        if folder is not None and folder.is_dir() and not (folder / name).is_dir():
            return [record_of(dist) for dist in _folder_files(folder, source, name)]
        return self._from_index(source, name) or ()

    def _from_index(self, index_url: str, name: NormalizedName) -> Collection[FileRecord] | None:
        """The files the index lists for ``name``; None when it does not have the project."""
        folder = local_path(index_url)
        if folder is not None:
            return _local_index_records(folder, index_url, name)
        page_url = f"{index_url.rstrip('/')}/{name}/"
        kept_now = self._worker is not None and self._worker.keep_page(index_url, name)

        def parser(response: HttpResponse, media_type: str) -> _Parse:
            parse = json_records if media_type in _JSON_TYPES else html_records
            final_url = response.url  # not the response: KeptRecords keeps this function

            def checked(body: bytes | str) -> list[FileRecord]:
                # Checked before the records are kept: a page found wrong is never kept parsed.
                try:
                    files = parse(body, page_url=final_url, project=name)
                except ValueError as error:  # a truncated or garbled answer, JSON or UTF-8
                    reason = f"not a valid JSON project page: {error}"
                    raise NetworkError(page_url, 1, reason) from None
                if not files:
                    raw = body.encode() if isinstance(body, str) else body
                    problem = not_an_index_page(raw, media_type=media_type, project=name)
                    if problem is not None:
                        raise NetworkError(page_url, 1, problem)
                return files

            return checked

        return self._page_records(
            page_url,
            SIMPLE_ACCEPT,
            what=f"the index page of {name}",
            source=index_url,
            project=name,
            parser=parser,
            kept_now=kept_now,
        )

    def _from_find_links(self, link: str, name: NormalizedName) -> Sequence[FileRecord]:
        every = self._link_pages.get(link, lambda: self._read_find_links(link))
        return [record for record in every if record[8][0] == name]

    def _read_find_links(self, link: str) -> tuple[FileRecord, ...]:
        path = local_path(link)
        if path is None:

            def parser(response: HttpResponse, _media_type: str) -> _Parse:
                final_url = response.url  # not the response: KeptRecords keeps this function
                return lambda body: html_records(body, page_url=final_url, project=None)

            found = self._page_records(
                link,
                "text/html",
                what="the find-links page",
                source=link,
                project=None,
                parser=parser,
            )
            return tuple(found or ())
        if path.is_dir():
            return tuple(record_of(dist) for dist in _folder_files(path, link, None))
        if path.is_file():
            single = _local_dist(path, link)
            if single is not None:
                return (record_of(single),)
            page = path.read_bytes()
            return tuple(html_records(page, page_url=path.as_uri(), project=None))
        return ()

    def _page_records(
        self,
        url: str,
        accept: str,
        *,
        what: str,
        source: str,
        project: NormalizedName | None,
        parser: Callable[[HttpResponse, str], _Parse],
        kept_now: bool = False,
    ) -> Collection[FileRecord] | None:
        """The files a remote page lists (None: 404); ``parser`` gives the parse function for
        an answer and its media type. A kept page whose files can no longer be read from the
        cache (damaged, removed by another run) is asked for again, unconditionally."""
        for again in (False, True):
            response, kept = self._page(
                url, accept, what=what, kept_now=kept_now and not again, again=again
            )
            if response.status == 404:
                return None
            if response.status != 200:
                raise status_error(url, response.status, authenticated=response.authenticated)
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            records = self._parsed(
                response,
                kept,
                parser(response, media_type),
                source=source,
                project=project,
                media_type=media_type,
            )
            if records is not None:
                return records
        raise NetworkError(url, 2, "its kept page could not be read, nor kept again")

    def _page(
        self, url: str, accept: str, *, what: str, kept_now: bool = False, again: bool = False
    ) -> tuple[HttpResponse, CachedPage | None]:
        """The page at ``url`` and, when pages are kept, its kept form.

        A kept page that is still fresh, or was read during this run (``kept_now``: by the
        page worker), is not asked for; one with validators is asked for conditionally, and a
        304 answer means the kept page. ``again``: asked for whatever is kept.
        """
        pages = self._pages
        if again:
            if self._client.offline:
                raise OfflineMiss(url, what)
            response = self._client.get(url, headers={"Accept": accept})
            return response, (pages.put(url, response) if pages is not None else None)
        if kept_now and pages is not None:
            cached = pages.read(url)
            if cached is not None:
                return cached.response, cached
        if self._client.offline:
            cached = pages.get(url) if pages is not None else None
            if cached is None:
                raise OfflineMiss(url, what)
            return cached.response, cached
        cached = pages.get(url) if pages is not None else None
        if cached is not None and cached.is_fresh():
            return cached.response, cached
        headers = {"Accept": accept, **(cached.validators() if cached is not None else {})}
        response = self._client.get(url, headers=headers)
        if pages is None:
            return response, None
        if response.status == 304 and cached is not None:
            return cached.response, pages.revalidated(url, cached, response)
        return response, pages.put(url, response)

    def _parsed(
        self,
        response: HttpResponse,
        kept: CachedPage | None,
        parse: Callable[[bytes | str], list[FileRecord]],
        *,
        source: str,
        project: NormalizedName | None,
        media_type: str,
    ) -> Collection[FileRecord] | None:
        """The files a page lists; parsed once for the same bytes (indexes without validators
        send the same page again and again). A kept page's files stay in the cache, read again
        when used (``pagecache.KeptRecords``); None when they are no longer kept."""
        if kept is None or self._pages is None:
            return parse(response.body)
        # Kept on disk: the source's credentials are not part of it (the same page, read with
        # other credentials, is the same page).
        context = (response.url, strip_userinfo(source)[0], project or "", media_type)
        return self._pages.kept_records(kept, context, parse)

    # -- digests -------------------------------------------------------------------------

    def _compute_sha256(self, dist: DistFile) -> str:
        path = local_path(dist.url)
        if path is not None:
            return file_digest(path).removeprefix("sha256:")
        # The index's other digests (sha512, md5) vouch for the bytes we pin.
        expected = [f"{algorithm}:{digest}" for algorithm, digest in dist.hashes.items()]
        if self._store is not None:
            # Kept: the metadata reader may need the same file, and sync will install it.
            _path, digest = self._store.fetch(
                dist.url, dist.filename, self._save, expected=expected
            )
            return digest.removeprefix("sha256:")
        with tempfile.TemporaryDirectory(prefix="pinlock-hash-") as scratch:
            filename = url_filename(dist.url) or "download"
            result = self._save(dist.url, Path(scratch) / filename, expected)
        return result.removeprefix("sha256:")

    def _save(self, url: str, dest: Path, expected: Sequence[str]) -> str:
        return self._client.download(url, dest, expected=expected)


def _local_index_records(
    folder: Path, source: str, name: NormalizedName
) -> Sequence[FileRecord] | None:
    project_dir = folder / name
    page = project_dir / "index.html"
    if page.is_file():
        return html_records(page.read_bytes(), page_url=page.as_uri(), project=name)
    if project_dir.is_dir():
        return [record_of(dist) for dist in _folder_files(project_dir, source, name)]
    return None


def _folder_files(folder: Path, source: str, name: NormalizedName | None) -> list[DistFile]:
    files = []
    for path in sorted(folder.iterdir()):
        dist = _local_dist(path, source) if path.is_file() else None
        if dist is not None and (name is None or dist.name == name):
            files.append(dist)
    return files


def _local_dist(path: Path, source: str) -> DistFile | None:
    parsed = parse_dist_filename(path.name)
    if parsed is None:
        return None
    name, version, kind, tags = parsed
    return DistFile(
        name=name,
        version=version,
        filename=path.name,
        url=path.absolute().as_uri(),
        kind=kind,
        source=source,
        wheel_tags=tags,
    )
