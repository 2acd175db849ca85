"""Read a remote wheel's METADATA through HTTP range requests instead of downloading it.

A wheel is a zip file, whose central directory sits at its end. A read-only, seekable file
object that fetches byte ranges on demand lets the standard library's ``zipfile`` find the
``.dist-info/METADATA`` member: the last 64 KiB usually hold the central directory and the
metadata itself, so even a multi-gigabyte wheel costs one or two small requests.
"""

from __future__ import annotations

import io
import zipfile
from bisect import bisect_right
from typing import TYPE_CHECKING

from pinlock.errors import MetadataError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from pinlock.index.http import HttpSession, RangeResponse

__all__ = ["find_metadata_member", "read_metadata"]

_TAIL_BYTES = 64 * 1024
_MIN_FETCH_BYTES = 16 * 1024


class _RangesUnsupported(Exception):
    """The server answered a range request with the whole file (or not at all)."""


def read_metadata(client: HttpSession, url: str) -> bytes | None:
    """The bytes of the wheel's top-level ``*.dist-info/METADATA``, read by byte ranges.

    Returns None when the server does not honour range requests; raises MetadataError when
    the file is not a wheel with exactly one METADATA.
    """
    tail = client.get_range(url, f"-{_TAIL_BYTES}")
    if tail is None:
        return None
    try:
        with _RangeFile(client, url, tail) as remote, zipfile.ZipFile(remote) as archive:
            member = find_metadata_member(archive.namelist(), url)
            return archive.read(member)
    except _RangesUnsupported:
        return None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
        raise MetadataError(url, f"not a readable wheel: {error}") from None


def find_metadata_member(names: list[str], what: str) -> str:
    """The one ``<name>.dist-info/METADATA`` at the top of a wheel's member list."""
    found = [
        name
        for name in names
        if name.count("/") == 1
        and name.endswith("/METADATA")
        and name.split("/", 1)[0].endswith(".dist-info")
    ]
    if len(found) != 1:
        reason = "no .dist-info/METADATA" if not found else f"several METADATA files: {found}"
        raise MetadataError(what, f"not a valid wheel: {reason}")
    return found[0]


class _RangeFile(io.RawIOBase):
    """A seekable, read-only view of a remote file; fetched byte ranges are kept and reused."""

    def __init__(self, client: HttpSession, url: str, first: RangeResponse) -> None:
        super().__init__()
        self._client = client
        self._url = url
        self._size = first.total
        self._position = 0
        # Fetched spans as (start, bytes): disjoint, sorted by start.
        self._spans: list[tuple[int, bytes]] = []
        self._store(first.start, first.data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"bad whence: {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._position + len(view), self._size)
        if end <= self._position:
            return 0
        data = self._read_span(self._position, end)
        view[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _read_span(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, fetching whatever part of them is not held yet."""
        for gap_start, gap_end in self._gaps(start, end):
            self._fetch(gap_start, gap_end)
        pieces = []
        position = start
        while position < end:
            span_start, span = self._spans[self._span_index(position)]
            offset = position - span_start
            piece = span[offset : offset + (end - position)]
            pieces.append(piece)
            position += len(piece)
        return b"".join(pieces)

    def _span_index(self, position: int) -> int:
        """Index of the last span starting at or before ``position``."""
        return bisect_right(self._spans, position, key=lambda span: span[0]) - 1

    def _gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        gaps = []
        position = start
        for span_start, span in self._spans:
            span_end = span_start + len(span)
            if span_end <= position:
                continue
            if span_start >= end:
                break
            if span_start > position:
                gaps.append((position, span_start))
            position = max(position, span_end)
        if position < end:
            gaps.append((position, end))
        return gaps

    def _fetch(self, start: int, end: int) -> None:
        # zipfile reads small headers one after another: fetch a little more each time.
        end = min(max(end, start + _MIN_FETCH_BYTES), self._size, self._next_span_start(start))
        response = self._client.get_range(self._url, f"{start}-{end - 1}")
        if response is None or response.start != start or len(response.data) < end - start:
            raise _RangesUnsupported
        self._store(start, response.data[: end - start])

    def _next_span_start(self, position: int) -> int:
        index = self._span_index(position) + 1
        return self._spans[index][0] if index < len(self._spans) else self._size

    def _store(self, start: int, data: bytes) -> None:
        """Add a span, merging the spans it touches so the spans stay disjoint and sorted."""
        merged_start, merged = start, data
        kept: list[tuple[int, bytes]] = []
        for span_start, span in self._spans:
            span_end = span_start + len(span)
            merged_end = merged_start + len(merged)
            if span_end < merged_start or span_start > merged_end:
                kept.append((span_start, span))
                continue
            new_start = min(merged_start, span_start)
            combined = bytearray(max(merged_end, span_end) - new_start)
            combined[span_start - new_start : span_end - new_start] = span
            combined[merged_start - new_start : merged_end - new_start] = merged
            merged_start, merged = new_start, bytes(combined)
        kept.append((merged_start, merged))
        kept.sort(key=lambda span: span[0])
        self._spans = kept
