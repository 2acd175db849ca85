"""Read a remote wheel's METADATA through HTTP range requests instead of downloading it.

A wheel is a zip file, whose central directory sits at its end. A read-only, seekable file
object fetches byte ranges on demand: the last 64 KiB usually hold the central directory and
the metadata itself, so even a multi-gigabyte wheel costs one or two small requests.

An ordinary wheel is read directly from those bytes: the end record names the central
directory, a byte search in it finds the one ``<name>.dist-info/METADATA`` entry, and that
member alone is inflated and checked against its CRC. The standard library's ``zipfile``
would turn every entry (thousands in big wheels) into an object first; it still reads
whatever is unusual (zip64 entry fields, an archive comment, data before the archive,
another compression method, a bad CRC, no or several METADATA entries), so those cases
keep its results and error messages exactly.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from bisect import bisect_right
from dataclasses import dataclass
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
        with _RangeFile(client, url, tail) as remote:
            metadata = _read_plain_wheel(remote)
            if metadata is not None:
                return metadata
            with zipfile.ZipFile(remote) as archive:
                member = find_metadata_member(archive.namelist(), url)
                return archive.read(member)
    except _RangesUnsupported:
        return None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        ValueError,
        NotImplementedError,
        zlib.error,
    ) as error:
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


# Zip records (APPNOTE.TXT 4.3), as the standard library's zipfile spells them.
_END = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_SIGNATURE = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_NEEDLE = b".dist-info/METADATA"
# Flag bits a plain member may carry: compression options, data descriptor, UTF-8 name.
_PLAIN_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800
_UTF8_NAME = 0x0800
_ZIP64_MARK = 0xFFFFFFFF
_MAX_EXTRACT_VERSION = 63
_STORED, _DEFLATED = 0, 8


class _Unusual(Exception):
    """Something the plain reader leaves to ``zipfile`` (which may read it or explain why not)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class _Member:
    """The central-directory entry of the METADATA member: where it is and how it is stored."""

    name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    offset: int


def _read_plain_wheel(remote: _RangeFile) -> bytes | None:
    """The METADATA of an ordinary wheel, read without ``zipfile``; None for anything unusual."""
    try:
        central = _central_directory(remote)
        member = _metadata_member(central)
        return _member_data(remote, member)
    except _Unusual:
        return None


def _central_directory(remote: _RangeFile) -> bytes:
    """The central directory's bytes, found as ``zipfile`` finds them when there is no comment."""
    size = remote.size
    end_at = size - _END.size
    if end_at < 0:
        raise _Unusual
    signature, _, _, _, _, directory_size, directory_at, comment_size = _END.unpack(
        remote.read_at(end_at, size)
    )
    if signature != _END_SIGNATURE or comment_size:
        raise _Unusual
    directory_end = end_at
    locator_at = end_at - _END64_LOCATOR.size
    if locator_at >= 0:
        locator = _END64_LOCATOR.unpack(remote.read_at(locator_at, end_at))
        if locator[0] == _END64_LOCATOR_SIGNATURE:
            # zipfile looks for the zip64 end record right before its locator, as here.
            record_at = locator_at - _END64.size
            if locator[1] != 0 or locator[3] > 1 or record_at < 0:
                raise _Unusual
            record = _END64.unpack(remote.read_at(record_at, locator_at))
            if record[0] != _END64_SIGNATURE:
                raise _Unusual
            directory_size, directory_at = record[8], record[9]
            directory_end = record_at
    if directory_at + directory_size != directory_end:
        raise _Unusual  # data before the archive, or an inconsistent end record
    return remote.read_at(directory_at, directory_end)


def _metadata_member(central: bytes) -> _Member:
    """The one entry named ``<x>.dist-info/METADATA``; none or several is left to zipfile."""
    found: list[_Member] = []
    hit = central.find(_NEEDLE)
    while hit >= 0:
        member = _entry_named_at(central, hit)
        if member is not None:
            found.append(member)
        hit = central.find(_NEEDLE, hit + 1)
    if len(found) != 1:
        raise _Unusual
    return found[0]


def _entry_named_at(central: bytes, hit: int) -> _Member | None:
    """The entry whose file name is a top-level ``<x>.dist-info/METADATA`` ending with the
    needle found at ``hit``, or None when the bytes there are no such name.

    The name starts after the last ``/`` before ``hit`` (``<x>`` holds none), so its entry's
    fixed header starts at most that far back; the nearest such header whose name length ends
    the name right after the needle is the entry (a name is cut at a NUL, as zipfile does).
    """
    name_end = hit + len(_NEEDLE)
    lowest = max(central.rfind(b"/", 0, hit) + 1 - _CENTRAL.size, 0)
    top = hit - _CENTRAL.size
    while top >= lowest:
        start = central.rfind(_CENTRAL_SIGNATURE, lowest, top + len(_CENTRAL_SIGNATURE))
        if start < 0:
            return None
        entry = _CENTRAL.unpack_from(central, start)
        name_at = start + _CENTRAL.size
        name = central[name_at : name_at + entry[12]]
        if len(name) == entry[12] and len(name.split(b"\0", 1)[0]) == name_end - name_at:
            return _checked_member(entry, name, top_part=central[name_at:hit])
        top = start - 1
    return None


def _checked_member(entry: tuple[int, ...], name: bytes, *, top_part: bytes) -> _Member:
    flags = entry[5]
    try:
        name.decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError:
        raise _Unusual from None  # zipfile fails on the whole archive
    if os.sep != "/" and os.sep.encode() in top_part:
        raise _Unusual  # zipfile turns os.sep into "/" in names
    member = _Member(
        name=name,
        flags=flags,
        method=entry[6],
        crc=entry[9],
        compressed_size=entry[10],
        size=entry[11],
        offset=entry[18],
    )
    if (
        entry[3] > _MAX_EXTRACT_VERSION
        or flags & ~_PLAIN_FLAGS
        or member.method not in (_STORED, _DEFLATED)
        or _ZIP64_MARK in (member.compressed_size, member.size, member.offset)
    ):
        raise _Unusual
    return member


def _member_data(remote: _RangeFile, member: _Member) -> bytes:
    """The member's bytes, through its local header; they must match the CRC."""
    # One span for header, name and data (the local extra field is guessed empty).
    guess_end = min(
        member.offset + _LOCAL.size + len(member.name) + member.compressed_size, remote.size
    )
    if guess_end - member.offset < _LOCAL.size:
        raise _Unusual
    head = remote.read_at(member.offset, guess_end)
    signature, _, _, flags, _, _, _, _, _, _, name_size, extra_size = _LOCAL.unpack_from(head)
    name_at = _LOCAL.size
    data_at = name_at + name_size + extra_size
    if (
        signature != _LOCAL_SIGNATURE
        or head[name_at : name_at + name_size] != member.name
        or (flags ^ member.flags) & _UTF8_NAME
    ):
        raise _Unusual
    data_end = member.offset + data_at + member.compressed_size
    if data_end > remote.size:
        raise _Unusual
    if data_end <= guess_end:
        stored = head[data_at : data_at + member.compressed_size]
    else:
        stored = remote.read_at(member.offset + data_at, data_end)
    if member.method == _STORED:
        data = stored
    else:
        inflater = zlib.decompressobj(-15)
        try:
            # One byte more than promised shows a member longer than its entry says.
            data = inflater.decompress(stored, member.size + 1)
        except zlib.error:
            raise _Unusual from None
    if len(data) != member.size or zlib.crc32(data) != member.crc:
        raise _Unusual
    return data


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

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the file (``end`` at most its size), fetched if need be."""
        return self._read_span(start, end)

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
