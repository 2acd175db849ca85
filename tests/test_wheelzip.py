"""Reading a wheel's METADATA by HTTP range requests, against a real local server."""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pinlock.compile.wheelzip import read_metadata
from pinlock.errors import MetadataError
from pinlock.index.config import IndexSettings
from pinlock.index.http import HttpSession
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer


@pytest.fixture
def client() -> Iterator[HttpSession]:
    http = HttpSession(IndexSettings(retries=0))
    yield http
    http.close()


def _metadata_of(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(name)


def _raw_zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return path


def test_small_wheel_costs_one_request(
    files_dir: Path, index_factory: Callable[..., IndexServer], client: HttpSession
) -> None:
    wheel = make_wheel(files_dir, "small", "1.0", requires_dist=["idna"])
    index = index_factory()
    assert read_metadata(client, index.file_url(wheel.name)) == _metadata_of(wheel)
    assert [r.range_header for r in index.requests] == ["bytes=-65536"]


def test_large_wheel_is_not_downloaded(
    files_dir: Path, index_factory: Callable[..., IndexServer], client: HttpSession
) -> None:
    wheel = make_wheel(files_dir, "huge", "1.0+cu128", padding=8_000_000)
    index = index_factory()
    assert read_metadata(client, index.file_url(wheel.name)) == _metadata_of(wheel)
    assert len(index.requests) <= 2
    assert index.bytes_sent(wheel.name) < 150_000


def test_metadata_far_from_the_end_is_fetched_on_demand(
    files_dir: Path, index_factory: Callable[..., IndexServer], client: HttpSession
) -> None:
    metadata = b"Metadata-Version: 2.1\nName: early\nVersion: 1.0\n\n"
    padding = random.Random(1).randbytes(2_000_000)
    wheel = _raw_zip(
        files_dir / "early-1.0-py3-none-any.whl",
        [
            ("early-1.0.dist-info/METADATA", metadata),
            ("early/blob.bin", padding),
            ("early-1.0.dist-info/RECORD", b""),
        ],
    )
    index = index_factory()
    assert read_metadata(client, index.file_url(wheel.name)) == metadata
    assert 2 <= len(index.requests) <= 3
    assert index.bytes_sent(wheel.name) < 150_000


def test_central_directory_larger_than_the_first_read(
    files_dir: Path, index_factory: Callable[..., IndexServer], client: HttpSession
) -> None:
    metadata = b"Metadata-Version: 2.1\nName: many\nVersion: 1.0\n\n"
    members = [(f"many/{'deep/' * 8}module_{i:05d}.py", b"") for i in range(3000)]
    members.append(("many-1.0.dist-info/METADATA", metadata))
    wheel = _raw_zip(files_dir / "many-1.0-py3-none-any.whl", members)
    index = index_factory()
    assert read_metadata(client, index.file_url(wheel.name)) == metadata
    assert len(index.requests) >= 2


def test_server_without_ranges_gives_none(
    files_dir: Path, index_factory: Callable[..., IndexServer], client: HttpSession
) -> None:
    wheel = make_wheel(files_dir, "norange", "1.0")
    index = index_factory(ranges=False)
    assert read_metadata(client, index.file_url(wheel.name)) is None


def test_file_urls_work_too(tmp_path: Path, client: HttpSession) -> None:
    wheel = make_wheel(tmp_path, "onfile", "1.0", padding=200_000)
    assert read_metadata(client, wheel.as_uri()) == _metadata_of(wheel)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([("x/__init__.py", b"")], "no .dist-info/METADATA"),
        (
            [("a-1.dist-info/METADATA", b"x"), ("b-1.dist-info/METADATA", b"y")],
            "several METADATA files",
        ),
        ([("nested/a-1.dist-info/METADATA", b"x")], "no .dist-info/METADATA"),
    ],
)
def test_wheels_without_exactly_one_metadata(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    members: list[tuple[str, bytes]],
    reason: str,
) -> None:
    wheel = _raw_zip(files_dir / "odd-1.0-py3-none-any.whl", members)
    index = index_factory()
    with pytest.raises(MetadataError, match=reason):
        read_metadata(client, index.file_url(wheel.name))


def test_not_a_zip(
    files_dir: Path, index_factory: Callable[..., IndexServer], client: HttpSession
) -> None:
    (files_dir / "fake-1.0-py3-none-any.whl").write_bytes(b"this is not a zip file" * 100)
    index = index_factory()
    with pytest.raises(MetadataError, match="not a readable wheel"):
        read_metadata(client, index.file_url("fake-1.0-py3-none-any.whl"))


@pytest.mark.network
def test_real_pypi_wheel(client: HttpSession) -> None:
    from packaging.utils import canonicalize_name

    from pinlock.index.pages import parse_html

    page_url = "https://pypi.org/simple/idna/"
    page = client.get(page_url, headers={"Accept": "text/html"})
    dists = parse_html(
        page.body, page_url=page_url, source=page_url, project=canonicalize_name("idna")
    )
    (wheel,) = [d for d in dists if d.filename == "idna-3.7-py3-none-any.whl"]
    metadata = read_metadata(client, wheel.url)
    assert metadata is not None
    assert b"Name: idna" in metadata and b"Version: 3.7" in metadata
