"""What a request answers (``HttpResponse``, ``RangeResponse``), and ``file:`` URLs answered
alike: an index or find-links folder given as a URL is read as a server would send it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pinlock.errors import NetworkError
from pinlock.urls import file_url_to_path

__all__ = ["HttpResponse", "RangeResponse", "file_get", "file_range"]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete answer; ``headers`` have lower-case names; ``url`` is after redirects;
    ``authenticated`` whether the request that got it carried credentials."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    authenticated: bool = False


@dataclass(frozen=True, slots=True)
class RangeResponse:
    """``data`` starts at byte ``start`` of a resource of ``total`` bytes."""

    data: bytes
    start: int
    total: int


def file_get(url: str) -> HttpResponse:
    """A ``file:`` URL read as a GET would answer it: 404 when there is no such file."""
    path = file_url_to_path(url)
    try:
        body = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return HttpResponse(url=url, status=404, headers={}, body=b"")
    except OSError as error:
        raise NetworkError(url, 1, str(error)) from error
    content_type = "text/html" if path.suffix in (".html", ".htm") else "application/octet-stream"
    headers = {"content-type": content_type, "content-length": str(len(body))}
    return HttpResponse(url=url, status=200, headers=headers, body=body)


def file_range(url: str, byte_range: str) -> RangeResponse | None:
    """Bytes of a ``file:`` URL as a range request would answer (``-N``: the last N bytes);
    None when the range starts past the end."""
    path = file_url_to_path(url)
    try:
        with path.open("rb") as handle:
            total = os.fstat(handle.fileno()).st_size
            first, _, last = byte_range.partition("-")
            if first == "":
                start, end = max(0, total - int(last)), total - 1
            else:
                start = int(first)
                end = total - 1 if last == "" else min(int(last), total - 1)
            if start >= total or start > end:
                return None
            handle.seek(start)
            return RangeResponse(data=handle.read(end - start + 1), start=start, total=total)
    except OSError as error:
        raise NetworkError(url, 1, str(error)) from error
