from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.errors import HashMismatch, NetworkError
from pinlock.index.config import IndexSettings
from pinlock.index.finder import PackageFinder
from pinlock.index.http import HttpSession
from pinlock.index.models import DistFile, FileKind
from tests.support.index_server import IndexServer

FinderFactory = Callable[..., PackageFinder]


def _n(name: str) -> NormalizedName:
    return canonicalize_name(name)


@pytest.fixture
def finder_factory() -> Iterator[FinderFactory]:
    made: list[tuple[PackageFinder, HttpSession]] = []

    def make(*, package_indexes: Any = None, **settings: Any) -> PackageFinder:
        settings.setdefault("index_url", "file:///nonexistent-index")
        index_settings = IndexSettings(**settings)
        client = HttpSession(index_settings)
        finder = PackageFinder(index_settings, client, package_indexes=package_indexes)
        made.append((finder, client))
        return finder

    yield make
    for finder, client in made:
        finder.close()
        client.close()


def _page_requests(index: IndexServer, name: str) -> int:
    return sum(1 for r in index.requests if r.path == f"/simple/{name}/")


@pytest.mark.parametrize("json", [True, False])
def test_http_index_in_json_or_html(
    json: bool,
    wheel_factory: Callable[..., Path],
    sdist_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    wheel = wheel_factory("demo-pkg", "1.0", requires_python=">=3.8")
    sdist_factory("demo-pkg", "1.0")
    wheel_factory("other", "2.0")
    index = index_factory(json=json, yanked={wheel.name: "bad"})
    finder = finder_factory(index_url=index.url)
    files = finder.find(_n("demo-pkg"))
    assert sorted(f.kind.value for f in files) == ["sdist", "wheel"]
    by_kind = {f.kind: f for f in files}
    found_wheel = by_kind[FileKind.WHEEL]
    assert found_wheel.url == index.file_url(wheel.name)
    assert found_wheel.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert found_wheel.yanked
    assert str(found_wheel.requires_python) == ">=3.8"
    assert found_wheel.source == index.url
    assert finder.find(_n("demo-pkg")) is files
    assert _page_requests(index, "demo-pkg") == 1
    assert finder.find(_n("missing")) == ()


def test_indexes_are_combined_and_deduplicated(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
    tmp_path: Path,
) -> None:
    wheel_factory("demo", "1.0")
    main = index_factory()
    extra_files = tmp_path / "extra"
    extra_files.mkdir()
    wheel_factory("demo", "2.0").rename(extra_files / "demo-2.0-py3-none-any.whl")
    extra = index_factory(extra_files)
    finder = finder_factory(index_url=main.url, extra_index_urls=(extra.url, main.url + "/"))
    versions = [f.version for f in finder.find(_n("demo"))]
    assert versions == [Version("1.0"), Version("2.0")]


def test_file_index_folders(tmp_path: Path, wheel_factory: Callable[..., Path]) -> None:
    index = tmp_path / "simple"
    (index / "demo").mkdir(parents=True)
    listed = index / "demo" / "demo-1.0-py3-none-any.whl"
    shutil.copy(wheel_factory("demo", "1.0"), listed)
    (index / "paged").mkdir()
    shutil.copy(wheel_factory("paged", "3.0"), index / "paged")
    (index / "paged" / "index.html").write_text(
        '<a href="paged-3.0-py3-none-any.whl#sha256=' + "c" * 64 + '">p</a>'
    )
    settings = IndexSettings(index_url=index.as_uri())
    client = HttpSession(settings)
    finder = PackageFinder(settings, client)
    try:
        (demo,) = finder.find(_n("demo"))
        assert demo.url == listed.as_uri()
        assert demo.sha256 is None
        assert finder.sha256(demo) == hashlib.sha256(listed.read_bytes()).hexdigest()
        (paged,) = finder.find(_n("paged"))
        assert paged.url == (index / "paged" / "paged-3.0-py3-none-any.whl").as_uri()
        assert finder.sha256(paged) == "c" * 64
        assert finder.find(_n("absent")) == ()
    finally:
        finder.close()
        client.close()


def test_find_links_folder_page_and_url(
    tmp_path: Path,
    wheel_factory: Callable[..., Path],
    sdist_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    shutil.copy(wheel_factory("alpha", "1.0"), folder)
    shutil.copy(sdist_factory("beta", "1.0"), folder)
    (folder / "README.txt").write_text("not a distribution")
    page = tmp_path / "links.html"
    page.write_text(
        '<a href="https://files.example/alpha-2.0-py3-none-any.whl">a</a>'
        '<a href="beta-2.0.tar.gz">b</a>'
    )
    wheel_factory("alpha", "3.0")
    served = index_factory()
    finder = finder_factory(
        no_index=True, find_links=(str(folder), page.as_uri(), f"{served.url}/alpha/")
    )
    alpha = finder.find(_n("alpha"))
    # Same version from two places: two files (de-duplication is by URL).
    assert [str(f.version) for f in alpha] == ["1.0", "2.0", "1.0", "3.0"]
    assert alpha[0].source == str(folder)
    assert alpha[3].url == served.file_url("alpha-3.0-py3-none-any.whl")
    beta = finder.find(_n("beta"))
    assert [f.url for f in beta] == [
        (folder / "beta-1.0.tar.gz").as_uri(),
        (tmp_path / "beta-2.0.tar.gz").as_uri(),
    ]
    # The remote find-links page was read once for both projects.
    assert _page_requests(served, "alpha") == 1


def test_package_indexes_restrict_named_projects(
    tmp_path: Path,
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    wheel_factory("torch", "2.5.0")
    wheel_factory("numpy", "2.0")
    main = index_factory()
    gpu = tmp_path / "gpu"
    gpu.mkdir()
    cuda_wheel = wheel_factory("torch", "2.5.0+cu121").rename(
        gpu / "torch-2.5.0+cu121-py3-none-any.whl"
    )
    finder = finder_factory(index_url=main.url, package_indexes={_n("torch"): [str(gpu)]})
    torch = finder.find(_n("torch"))
    assert [f.url for f in torch] == [cuda_wheel.as_uri()]
    assert [str(f.version) for f in finder.find(_n("numpy"))] == ["2.0"]
    assert _page_requests(main, "torch") == 0


def test_package_index_entry_may_be_an_index_url(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    wheel_factory("torch", "2.5.0+cpu")
    cpu_index = index_factory()
    finder = finder_factory(package_indexes={_n("torch"): [cpu_index.url]})
    assert [str(f.version) for f in finder.find(_n("torch"))] == ["2.5.0+cpu"]


def test_concurrent_and_prefetched_finds_share_one_fetch(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    names = [f"pkg{i}" for i in range(6)]
    for name in names:
        wheel_factory(name, "1.0")
    index = index_factory()
    finder = finder_factory(index_url=index.url)
    finder.prefetch(_n(name) for name in names)
    results: list[tuple[DistFile, ...]] = []
    lock = threading.Lock()

    def worker() -> None:
        files = finder.find(_n("pkg0"))
        with lock:
            results.append(files)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(files is results[0] for files in results)
    for name in names:
        assert len(finder.find(_n(name))) == 1
        assert _page_requests(index, name) == 1


def test_sha256_of_unhashed_remote_file_downloads_once(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    wheel = wheel_factory("demo", "1.0")
    index = index_factory()
    finder = finder_factory(index_url=index.url)
    (listed,) = finder.find(_n("demo"))
    unhashed = DistFile(
        name=listed.name,
        version=listed.version,
        filename=listed.filename,
        url=listed.url,
        kind=listed.kind,
        source="elsewhere",
    )
    expected = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert finder.sha256(unhashed) == expected
    assert finder.sha256(unhashed) == expected
    assert len(index.requests_for(wheel.name)) == 1


def test_network_error_names_the_page(finder_factory: FinderFactory) -> None:
    finder = finder_factory(index_url="http://127.0.0.1:9/simple", retries=0)
    with pytest.raises(NetworkError) as caught:
        finder.find(_n("demo"))
    assert caught.value.url == "http://127.0.0.1:9/simple/demo/"
    # The failure is remembered, not retried on every call.
    with pytest.raises(NetworkError):
        finder.find(_n("demo"))


def test_sha256_computed_from_a_download_is_checked_against_the_index_digest(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    finder_factory: FinderFactory,
) -> None:
    # An index giving only sha512: the sha256 pinned must be of a file that matched it.
    wheel = wheel_factory("demo", "1.0")
    index = index_factory()
    finder = finder_factory(index_url=index.url)
    (listed,) = finder.find(_n("demo"))

    def only_sha512(digest: str) -> DistFile:
        return DistFile(
            name=listed.name,
            version=listed.version,
            filename=listed.filename,
            url=listed.url + "?" + digest[:8],
            kind=listed.kind,
            source=listed.source,
            hashes={"sha512": digest},
        )

    good = only_sha512(hashlib.sha512(wheel.read_bytes()).hexdigest())
    assert finder.sha256(good) == hashlib.sha256(wheel.read_bytes()).hexdigest()
    with pytest.raises(HashMismatch):
        finder.sha256(only_sha512("0" * 128))


def test_malformed_json_page_is_a_network_error_naming_the_page(
    finder_factory: FinderFactory,
) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Truncated(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = b'{"meta": {"api-version": "1.0"}, "files": [{"url'
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Truncated)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        index_url = f"http://127.0.0.1:{server.server_address[1]}/simple"
        finder = finder_factory(index_url=index_url, retries=0)
        with pytest.raises(NetworkError) as caught:
            finder.find(_n("demo"))
        assert caught.value.url == f"{index_url}/demo/"
        assert "JSON" in str(caught.value)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
