"""Index pages (project pages, remote find-links pages) as last read, with what revalidates them.

Pages change (a release is uploaded, a file yanked), so an online run asks again unless the
index said for how long its answer stays fresh (``Cache-Control: max-age``); it asks
conditionally when the index gave validators (``ETag`` -> ``If-None-Match``, ``Last-Modified``
-> ``If-Modified-Since``), and a ``304 Not Modified`` reuses the page kept here. An offline run
reads the kept page instead of asking. A page's absence (404: the project is not on that
index) is an answer too, kept alike. Keys and stored URLs carry no credentials.

Each page is kept as a small head (status, URL, type, validators, freshness, the body's sha256)
and its body, filed by that sha256; the files a page lists are kept parsed beside the body
(``parsed``/``keep_parsed``), so a page fetched again with the same bytes, as indexes without
validators send it, is not parsed again. ``refresh`` ignores the kept pages (nothing is
revalidated or fresh) but still keeps what is read.
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
_BODIES = "page-bodies"
_PARSED = "parsed-pages"
# Bumped whenever FileRecord or the parsers change what they make of the same bytes; records
# hold packaging's Version and Tag objects, so packaging's version is part of it too.
_PARSED_FORMAT = f"4 packaging {packaging.__version__}"
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedPage:
    """A kept page: ``response`` as first read, ``digest`` the sha256 of its body, what
    revalidates it, and until when (seconds since the epoch) it is fresh without asking."""

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
        previous_digest = previous.get("body") if previous is not None else None
        if previous_digest != digest or not self._cache.path(_BODIES, digest).is_file():
            self._cache.put(_BODIES, digest, response.body)
        self._write_head(url, page)
        if previous is not None and previous_digest != digest and previous["status"] == 200:
            # The old bytes are of no more use to this URL. (Another URL with the very same
            # page would find them gone and ask its index again; 404 answers, alike for every
            # project an index lacks, are never removed.)
            for bucket in (_BODIES, _PARSED):
                self._cache.path(bucket, str(previous_digest)).unlink(missing_ok=True)
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
        self._write_head(url, renewed)
        return renewed

    def parsed(self, page: CachedPage, context: Sequence[str]) -> list[FileRecord] | None:
        """The files ``page`` was found to list when read in ``context`` (its URL, source,
        project and media type), or None when it was not parsed so before."""
        data = self._cache.get(_PARSED, page.digest)
        if data is None:
            return None
        try:
            # The cache is the user's own folder, as pip's and uv's caches are: unpickling
            # there is as safe as the interpreter's own files, and far cheaper than parsing
            # (records are plain tuples of strings: unpickled at C speed).
            stored_context, files = pickle.loads(data)
        except Exception:
            return None  # damaged or from another version: parse again
        if stored_context != (_PARSED_FORMAT, *context) or not isinstance(files, list):
            return None
        return files

    def kept_records(
        self, page: CachedPage, context: Sequence[str], parse: Callable[[bytes], list[FileRecord]]
    ) -> KeptRecords:
        """The files ``page`` lists, parsed by ``parse`` now unless kept parsed already, and
        read from the cache again whenever they are used (``KeptRecords``)."""
        if self._cache.path(_PARSED, page.digest).is_file():
            return KeptRecords(self, page, context, parse)
        records = parse(page.response.body)
        self.keep_parsed(page, context, records)
        return KeptRecords(self, page, context, parse, fresh=records)

    def _records(
        self, page: CachedPage, context: Sequence[str], parse: Callable[[bytes], list[FileRecord]]
    ) -> list[FileRecord]:
        records = self.parsed(page, context)
        if records is None:  # kept under another context, or damaged: parse the body again
            body = self._cache.get(_BODIES, page.digest)
            if body is None:
                raise NetworkError(
                    page.response.url, 1, "its kept page was replaced while this run read it"
                )
            records = parse(body)
            self.keep_parsed(page, context, records)
        return records

    def keep_parsed(
        self, page: CachedPage, context: Sequence[str], files: list[FileRecord]
    ) -> None:
        data = pickle.dumps(((_PARSED_FORMAT, *context), files), protocol=pickle.HIGHEST_PROTOCOL)
        self._cache.put(_PARSED, page.digest, data)

    # -- storage ---------------------------------------------------------------------------

    def _write_head(self, url: str, page: CachedPage) -> None:
        response = page.response
        head = {
            "status": response.status,
            "url": strip_userinfo(response.url)[0],
            "content-type": response.headers.get("content-type", ""),
            "body": page.digest,
            "etag": page.etag,
            "last-modified": page.last_modified,
            "fresh-until": page.fresh_until,
        }
        self._cache.put(_HEADS, _key(url), json.dumps(head).encode())

    def _head(self, url: str) -> dict[str, object] | None:
        data = self._cache.get(_HEADS, _key(url))
        if data is None:
            return None
        head_line, _, legacy_body = data.partition(b"\n")
        try:
            head = json.loads(head_line)
        except ValueError:
            return None
        if not isinstance(head, dict) or not isinstance(head.get("status"), int):
            return None  # a damaged entry is as good as none
        if "body" not in head:  # written by an earlier pinlock: the body follows the head
            head["legacy-body"] = legacy_body
            head["body"] = hashlib.sha256(legacy_body).hexdigest()
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
        legacy = head.get("legacy-body")
        body = legacy if isinstance(legacy, bytes) else self._cache.get(_BODIES, digest)
        if body is None:
            return None
        response = HttpResponse(
            url=page_url, status=status, headers={"content-type": content_type}, body=body
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
