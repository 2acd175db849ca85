"""The plain METADATA reader against ``zipfile``: same bytes, same errors, no more requests.

Each wheel is read twice from a real local server, once as shipped and once with the plain
reader switched off (so ``zipfile`` reads everything, as it used to); the logged requests of
the two reads are compared.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pinlock.compile import wheelzip
from pinlock.compile.wheelzip import read_metadata
from pinlock.errors import MetadataError
from pinlock.index.config import IndexSettings
from pinlock.index.http import HttpSession
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer

_METADATA = b"Metadata-Version: 2.1\nName: shape\nVersion: 1.0\nRequires-Dist: idna\n\n"
_NAME = "shape-1.0.dist-info/METADATA"


@pytest.fixture
def client() -> Iterator[HttpSession]:
    http = HttpSession(IndexSettings(retries=0))
    yield http
    http.close()


def _write(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def _member(
    name: str, *, compress: int = zipfile.ZIP_DEFLATED, extra: bytes = b""
) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = compress
    info.extra = extra
    return info


def _small(folder: Path) -> Path:
    return make_wheel(folder, "shape", "1.0", requires_dist=["idna"])


def _padded(folder: Path) -> Path:
    return make_wheel(folder, "shape", "1.0", padding=3_000_000)


def _stored(folder: Path) -> Path:
    return _write(folder / "w.whl", [(_member(_NAME, compress=zipfile.ZIP_STORED), _METADATA)])


def _far_from_the_end(folder: Path) -> Path:
    blob = random.Random(2).randbytes(1_000_000)
    members: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (_member(_NAME), _METADATA),
        (_member("shape/blob.bin", compress=zipfile.ZIP_STORED), blob),
    ]
    return _write(folder / "w.whl", members)


def _big_metadata_far_from_the_end(folder: Path) -> Path:
    # Incompressible METADATA larger than one minimal fetch, a megabyte before the end.
    rng = random.Random(3)
    body = "".join(f"Classifier: {rng.randbytes(40).hex()}\n" for _ in range(2000))
    metadata = b"Metadata-Version: 2.1\nName: shape\nVersion: 1.0\n" + body.encode() + b"\n"
    blob = rng.randbytes(1_000_000)
    members: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (_member(_NAME, compress=zipfile.ZIP_STORED), metadata),
        (_member("shape/blob.bin", compress=zipfile.ZIP_STORED), blob),
    ]
    return _write(folder / "w.whl", members)


def _many_entries(folder: Path) -> Path:
    members: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (_member(f"shape/{'deep/' * 6}module_{i:05d}.py"), b"x = 1\n") for i in range(3000)
    ]
    members.insert(1500, (_member(_NAME), _METADATA))
    return _write(folder / "w.whl", members)


def _decoys(folder: Path) -> Path:
    # Names that contain the searched bytes but are not the top-level METADATA.
    members: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (_member("shape/vendored-1.0.dist-info/METADATA"), b"Name: vendored\n"),
        (_member("shape-1.0.dist-info/METADATA.orig"), b"Name: orig\n"),
        (_member(_NAME, extra=b"\xfe\xca\x00\x00"), _METADATA),
        (_member("shape/x.dist-info/METADATA/y"), b""),
    ]
    return _write(folder / "w.whl", members)


def _local_extra_field(folder: Path) -> Path:
    # An extra field (here a made-up one, 0xcafe) in both the local and the central header.
    extra = b"\xfe\xca\x08\x00" + bytes(8)
    return _write(folder / "w.whl", [(_member(_NAME, extra=extra), _METADATA)])


def _zip64_end_record(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # zipfile writes the zip64 end records when there are more entries than this limit.
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        path = _write(folder / "w.whl", [(_member("shape/a.py"), b""), (_member(_NAME), _METADATA)])
    assert b"PK\x06\x06" in path.read_bytes()[-200:]
    return path


def _comment(folder: Path) -> Path:
    path = folder / "w.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(_member(_NAME), _METADATA)
        archive.comment = b"an archive comment"
    return path


def _prepended(folder: Path) -> Path:
    inner = _write(folder / "inner.zip", [(_member(_NAME), _METADATA)])
    path = folder / "w.whl"
    path.write_bytes(b"#!/bin/sh\nexit 0\n" + inner.read_bytes())
    inner.unlink()
    return path


def _bzip2(folder: Path) -> Path:
    return _write(folder / "w.whl", [(_member(_NAME, compress=zipfile.ZIP_BZIP2), _METADATA)])


def _zip64_local_header(folder: Path) -> Path:
    path = folder / "w.whl"
    with zipfile.ZipFile(path, "w") as archive, archive.open(_NAME, "w", force_zip64=True) as out:
        out.write(_METADATA)
    return path


def _zip64_central_entry(folder: Path) -> Path:
    # Sizes and offsets above this limit go to the entry's zip64 extra field.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile, "ZIP64_LIMIT", 10)
        path = _write(
            folder / "w.whl", [(_member("shape/a.py"), b"x" * 50), (_member(_NAME), _METADATA)]
        )
    assert b"\xff\xff\xff\xff" in path.read_bytes()
    return path


PLAIN_SHAPES: dict[str, Callable[[Path], Path]] = {
    "small": _small,
    "padded": _padded,
    "stored": _stored,
    "far_from_the_end": _far_from_the_end,
    "big_metadata_far_from_the_end": _big_metadata_far_from_the_end,
    "many_entries": _many_entries,
    "decoys": _decoys,
    "local_extra_field": _local_extra_field,
    "zip64_local_header": _zip64_local_header,
}


# zipfile reads these (the plain reader steps aside), with the same result as before.
UNUSUAL_SHAPES: dict[str, Callable[[Path], Path]] = {
    "comment": _comment,
    "prepended": _prepended,
    "bzip2": _bzip2,
    "zip64_central_entry": _zip64_central_entry,
}


class _Reads:
    """Reads a URL with and without the plain reader, logging the requests of each."""

    def __init__(
        self, index: IndexServer, client: HttpSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.index, self.client, self.monkeypatch = index, client, monkeypatch
        self.plain_results: list[bytes | None] = []

    def shipped(self, filename: str) -> tuple[bytes | None, list[str | None]]:
        read_plain = wheelzip._read_plain_wheel

        def spy(remote: wheelzip._RangeFile) -> bytes | None:
            result = read_plain(remote)
            self.plain_results.append(result)
            return result

        with self.monkeypatch.context() as patch:
            patch.setattr(wheelzip, "_read_plain_wheel", spy)
            return self._read(filename)

    def zipfile_only(self, filename: str) -> tuple[bytes | None, list[str | None]]:
        with self.monkeypatch.context() as patch:
            patch.setattr(wheelzip, "_read_plain_wheel", lambda remote: None)
            return self._read(filename)

    def _read(self, filename: str) -> tuple[bytes | None, list[str | None]]:
        self.index.clear_log()
        result = read_metadata(self.client, self.index.file_url(filename))
        return result, [r.range_header for r in self.index.requests]


@pytest.fixture
def reads(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    monkeypatch: pytest.MonkeyPatch,
) -> _Reads:
    return _Reads(index_factory(files_dir), client, monkeypatch)


def _expected(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/METADATA")]
        return archive.read(name)


@pytest.mark.parametrize("shape", sorted(PLAIN_SHAPES))
def test_plain_wheels_are_read_without_zipfile_and_no_more_requests(
    files_dir: Path, reads: _Reads, shape: str
) -> None:
    wheel = PLAIN_SHAPES[shape](files_dir)
    expected = _expected(wheel)
    plain, plain_requests = reads.shipped(wheel.name)
    assert reads.plain_results == [expected]
    old, old_requests = reads.zipfile_only(wheel.name)
    assert plain == old == expected
    assert len(plain_requests) <= len(old_requests)
    assert plain_requests[0] == "bytes=-65536"


def test_zip64_end_record(files_dir: Path, reads: _Reads, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = _zip64_end_record(files_dir, monkeypatch)
    plain, plain_requests = reads.shipped(wheel.name)
    assert reads.plain_results == [_METADATA]
    old, old_requests = reads.zipfile_only(wheel.name)
    assert plain == old == _METADATA
    assert len(plain_requests) <= len(old_requests)


@pytest.mark.parametrize("shape", sorted(UNUSUAL_SHAPES))
def test_unusual_wheels_are_left_to_zipfile(files_dir: Path, reads: _Reads, shape: str) -> None:
    wheel = UNUSUAL_SHAPES[shape](files_dir)
    plain, _ = reads.shipped(wheel.name)
    assert reads.plain_results == [None]
    assert plain == reads.zipfile_only(wheel.name)[0] == _METADATA


def _corrupt(path: Path, find: bytes, replace: bytes) -> None:
    data = path.read_bytes()
    assert data.count(find) == 1
    path.write_bytes(data.replace(find, replace))


def test_a_corrupt_metadata_member_is_still_an_error(files_dir: Path, reads: _Reads) -> None:
    wheel = _stored(files_dir)
    _corrupt(wheel, b"Requires-Dist: idna", b"Requires-Dist: idnb")
    with pytest.raises(MetadataError, match="Bad CRC-32"):
        reads.shipped(wheel.name)
    assert reads.plain_results == [None]


def test_a_corrupt_deflate_stream_is_an_error(files_dir: Path, reads: _Reads) -> None:
    wheel = _write(files_dir / "w.whl", [(_member(_NAME), _METADATA * 50)])
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(_NAME)
    data = bytearray(wheel.read_bytes())
    start = info.header_offset + 30 + len(_NAME)
    data[start : start + 8] = b"\xff" * 8
    wheel.write_bytes(bytes(data))
    with pytest.raises(MetadataError, match="not a readable wheel"):
        reads.shipped(wheel.name)
    assert reads.plain_results == [None]


def test_a_central_entry_whose_local_header_disagrees_is_left_to_zipfile(
    files_dir: Path, reads: _Reads
) -> None:
    wheel = _stored(files_dir)
    # The local header's copy of the name differs from the central directory's.
    data = wheel.read_bytes()
    first = data.index(_NAME.encode())
    wheel.write_bytes(data[:first] + b"x" + data[first + 1 :])
    with pytest.raises(MetadataError, match="differ"):
        reads.shipped(wheel.name)
    assert reads.plain_results == [None]
