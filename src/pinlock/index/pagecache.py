"""The last answer of each index page (project pages, remote find-links pages), for ``--offline``.

Pages change (a release is uploaded, a file yanked), so online runs always ask the index and
only write the answer here; an offline run reads it back instead of asking. A page's absence
(404: the project is not on that index) is an answer too, kept alike. Keys and the stored URL
carry no credentials.
"""

from __future__ import annotations

import json

from pinlock.cache import Cache
from pinlock.index.http import HttpResponse
from pinlock.urls import strip_userinfo

__all__ = ["PageCache"]

_BUCKET = "index-pages"


class PageCache:
    """Index pages by URL, each with its status (200 or 404), the URL it came from (after
    redirects) and its type."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def put(self, url: str, response: HttpResponse) -> None:
        if response.status not in (200, 404):
            return
        head = {
            "status": response.status,
            "url": strip_userinfo(response.url)[0],
            "content-type": response.headers.get("content-type", ""),
        }
        self._cache.put(_BUCKET, _key(url), json.dumps(head).encode() + b"\n" + response.body)

    def get(self, url: str) -> HttpResponse | None:
        data = self._cache.get(_BUCKET, _key(url))
        if data is None:
            return None
        head_line, _, body = data.partition(b"\n")
        try:
            head = json.loads(head_line)
            status, page_url = int(head["status"]), str(head["url"])
            content_type = str(head["content-type"])
        except (ValueError, KeyError, TypeError):
            return None  # a damaged entry is as good as none
        return HttpResponse(
            url=page_url, status=status, headers={"content-type": content_type}, body=body
        )


def _key(url: str) -> str:
    return strip_userinfo(url)[0]
