"""Index pages (project pages, remote find-links pages) as last read, with what revalidates them.

Pages change (a release is uploaded, a file yanked), so an online run asks again unless the
index said for how long its answer stays fresh (``Cache-Control: max-age``); it asks
conditionally when the index gave validators (``ETag`` -> ``If-None-Match``, ``Last-Modified``
-> ``If-Modified-Since``), and a ``304 Not Modified`` reuses the page kept here. An offline run
reads the kept page instead of asking. A page's absence (404: the project is not on that
index) is an answer too, kept alike. Keys and stored URLs carry no credentials.

Each page is kept as a small head (status, URL, type, validators, freshness, the body's sha256)
and, filed by that sha256, the files it lists as parsed (``kept_records``) followed by its body:
a page fetched again with the same bytes, as indexes without validators send it, is not parsed
again, and a run that finds the page kept reads only the parsed files (the body is read only
when the page must be parsed again, as by a newer pinlock). A cold run so writes two files a
page. ``refresh`` ignores the kept pages (nothing is revalidated or fresh) but still keeps
what is read.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import packaging

from pinlock.cache import Cache
from pinlock.errors import NetworkError
from pinlock.index.http import HttpResponse
from pinlock.index.models import FileRecord
from pinlock.urls import strip_userinfo

__all__ = ["CachedPage", "KeptRecords", "PageCache"]

_HEADS = "index-pages"
_PARSED = "parsed-pages"
# Bumped whenever FileRecord or the parsers change what they make of the same bytes; records
# hold packaging's Version and Tag objects, so packaging's version is part of it too.
_PARSED_FORMAT = f"5 packaging {packaging.__version__}"
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedPage:
    """A kept page: ``response`` as first read (read from the cache: without its body, which
    stays with the parsed files), ``digest`` the sha256 of its body, what revalidates it, and
    until when (seconds since the epoch) it is fresh without asking."""

    response: HttpResponse
    digest: str
    etag: str | None = None
    last_modified: str | None = None
    fresh_until: float | None = None

    def is_fresh(self, now: float | None = None) -> bool:
        return self.fresh_until is not None and (now or time.time()) < self.fresh_until

    def validators(self) -> dict[str, str]:
        """The headers of a conditional request for this page."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class PageCache:
    """Index pages by URL; thread-safe (every entry is written whole, then renamed)."""

    def __init__(self, cache: Cache, *, refresh: bool = False) -> None:
        self._cache = cache
        self.refresh = refresh

    def get(self, url: str) -> CachedPage | None:
        """The kept page of ``url``; None when there is none (or ``refresh``)."""
        if self.refresh:
            return None
        return self._read(url)

    def read(self, url: str) -> CachedPage | None:
        """The kept page of ``url`` whatever ``refresh`` says (for a page the caller knows
        was kept during this run)."""
        return self._read(url)

    def put(self, url: str, response: HttpResponse) -> CachedPage | None:
        """Keep an answer (200 or 404; others are not answers about the page)."""
        if response.status not in (200, 404):
            return None
        digest = hashlib.sha256(response.body).hexdigest()
        page = CachedPage(
            response=response,
            digest=digest,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            fresh_until=_fresh_until(response.headers),
        )
        previous = self._head(url)
        head = _head_of(page)
        if head != previous:
            self._cache.put(_HEADS, _key(url), json.dumps(head).encode())
        if previous is not None and previous["body"] != digest and previous["status"] == 200:
            # The old page is of no more use to this URL. (Another URL with the very same
            # page would find it gone and ask its index again; 404 answers, alike for every
            # project an index lacks, are never removed.)
            self._cache.path(_PARSED, str(previous["body"])).unlink(missing_ok=True)
        return page

    def revalidated(self, url: str, page: CachedPage, answer: HttpResponse) -> CachedPage:
        """``page`` confirmed by a 304 ``answer``: its new validators and freshness kept."""
        headers = answer.headers
        renewed = replace(
            page,
            etag=headers.get("etag") or page.etag,
            last_modified=headers.get("last-modified") or page.last_modified,
            fresh_until=_fresh_until(headers),
        )
        self._cache.put(_HEADS, _key(url), json.dumps(_head_of(renewed)).encode())
        return renewed

    def _kept(self, page: CachedPage, context: Sequence[str]) -> list[FileRecord] | bytes | None:
        """The files ``page`` was found to list when read in ``context`` (its URL, source,
        project and media type); when it was parsed so in another context (or by another
        pinlock), its body to parse again; None when neither is kept (an entry that cannot be
        read, damaged or written by a pinlock that kept pages otherwise, is removed)."""
        path = self._cache.path(_PARSED, page.digest)
        try:
            with path.open("rb") as entry:
                try:
                    # The cache is the user's own folder, as pip's and uv's caches are:
                    # unpickling there is as safe as the interpreter's own files, and far
                    # cheaper than parsing (records are tuples of strings: read at C speed).
                    stored_context, files = pickle.load(entry)
                except Exception:
                    stored_context, files = None, None
                if stored_context == (_PARSED_FORMAT, *context) and isinstance(files, list):
                    return files
                body = entry.read() if stored_context is not None else b""
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not body:
            path.unlink(missing_ok=True)
            return None
        return body

    def kept_records(
        self, page: CachedPage, context: Sequence[str], parse: Callable[[bytes], list[FileRecord]]
    ) -> KeptRecords | None:
        """The files ``page`` lists, parsed by ``parse`` now unless kept parsed already, and
        read from the cache again whenever they are used (``KeptRecords``). None when ``page``
        came from the cache without its body and its files are no longer kept there (damaged,
        removed by another run): it is to be read again."""
        kept = self._kept(page, context)
        if isinstance(kept, list):
            return KeptRecords(self, page, context, parse, fresh=kept)
        body = page.response.body or kept
        if not body:
            return None
        records = parse(body)
        self._keep(page.digest, context, records, body)
        return KeptRecords(self, page, context, parse, fresh=records)

    def _records(
        self, page: CachedPage, context: Sequence[str], parse: Callable[[bytes], list[FileRecord]]
    ) -> list[FileRecord]:
        kept = self._kept(page, context)
        if kept is None:
            raise _replaced(page)
        if isinstance(kept, list):
            return kept
        records = parse(kept)  # kept under another context, or by another pinlock
        self._keep(page.digest, context, records, kept)
        return records

    def _keep(
        self, digest: str, context: Sequence[str], files: list[FileRecord], body: bytes
    ) -> None:
        parsed = pickle.dumps(((_PARSED_FORMAT, *context), files), protocol=pickle.HIGHEST_PROTOCOL)
        self._cache.put(_PARSED, digest, parsed, body)

    # -- storage ---------------------------------------------------------------------------

    def _head(self, url: str) -> dict[str, object] | None:
        data = self._cache.get(_HEADS, _key(url))
        if data is None:
            return None
        try:
            head = json.loads(data)
        except ValueError:
            return None
        if not isinstance(head, dict) or not isinstance(head.get("status"), int):
            return None  # a damaged entry is as good as none
        return head

    def _read(self, url: str) -> CachedPage | None:
        head = self._head(url)
        if head is None:
            return None
        try:
            status, page_url = int(str(head["status"])), str(head["url"])
            content_type, digest = str(head["content-type"]), str(head["body"])
            fresh_until = head.get("fresh-until")
            fresh = float(fresh_until) if isinstance(fresh_until, int | float) else None
        except (ValueError, KeyError, TypeError):
            return None
        if status == 200 and not self._cache.path(_PARSED, digest).is_file():
            return None  # the run that read it ended before keeping its files
        response = HttpResponse(
            url=page_url, status=status, headers={"content-type": content_type}, body=b""
        )
        return CachedPage(
            response=response,
            digest=digest,
            etag=_text(head.get("etag")),
            last_modified=_text(head.get("last-modified")),
            fresh_until=fresh,
        )


class KeptRecords(Collection[FileRecord]):
    """The records of a kept page, read from the cache each time they are used: a run over
    hundreds of projects does not hold their hundreds of thousands of files between the few
    moments each is read (sorting versions, and listing a pin's files)."""

    __slots__ = ("_context", "_fresh", "_page", "_pages", "_parse")

    def __init__(
        self,
        pages: PageCache,
        page: CachedPage,
        context: Sequence[str],
        parse: Callable[[bytes], list[FileRecord]],
        *,
        fresh: list[FileRecord] | None = None,
    ) -> None:
        # Records just parsed serve the first use (which comes at once: the resolver or the
        # prefetcher asked for the page to sort its versions); later uses read the cache.
        self._fresh = fresh
        # Only the page's head: its body, held here, would cost what the records do.
        self._page = replace(page, response=replace(page.response, body=b""))
        self._pages = pages
        self._context = tuple(context)
        self._parse = parse

    def __iter__(self) -> Iterator[FileRecord]:
        fresh, self._fresh = self._fresh, None
        if fresh is not None:
            return iter(fresh)
        return iter(self._pages._records(self._page, self._context, self._parse))

    def __len__(self) -> int:
        return len(self._pages._records(self._page, self._context, self._parse))

    def __contains__(self, item: object) -> bool:
        return item in self._pages._records(self._page, self._context, self._parse)


def _head_of(page: CachedPage) -> dict[str, object]:
    response = page.response
    return {
        "status": response.status,
        "url": strip_userinfo(response.url)[0],
        "content-type": response.headers.get("content-type", ""),
        "body": page.digest,
        "etag": page.etag,
        "last-modified": page.last_modified,
        "fresh-until": page.fresh_until,
    }


def _replaced(page: CachedPage) -> NetworkError:
    return NetworkError(page.response.url, 1, "its kept page was replaced while this run read it")


def _fresh_until(headers: Mapping[str, str]) -> float | None:
    """Until when an answer is fresh by its ``Cache-Control: max-age`` (less its ``Age``)."""
    control = headers.get("cache-control", "")
    found = _MAX_AGE.search(control)
    if found is None or _NO_CACHE.search(control):
        return None
    try:
        age = max(0, int(headers.get("age", "0")))
    except ValueError:
        age = 0
    return time.time() + int(found.group(1)) - age


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _key(url: str) -> str:
    return strip_userinfo(url)[0]
