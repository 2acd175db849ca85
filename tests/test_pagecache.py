"""Index pages kept with their validators: revalidated (304 reuses the kept page), fresh ones
not asked for at all, unchanged bytes not parsed again; ``--refresh`` ignores what is kept."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pinlock.cache import Cache
from pinlock.index import finder as finder_module
from pinlock.index.http import HttpResponse
from pinlock.index.pagecache import CachedPage, PageCache
from pinlock.index.pages import html_records
from tests.support.compiling import compile_cli, pinned_versions
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


@pytest.fixture
def files(wheel_factory: Factory) -> None:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("beta", "1.0")


def _compile_afresh(tmp_path: Path, index: IndexServer, *extra: str) -> str:
    """Compile with no lock there, so the inputs are resolved (nothing is kept)."""
    (tmp_path / "requirements.in").write_text("alpha\n")
    (tmp_path / "requirements.txt").unlink(missing_ok=True)
    code, _out, err = compile_cli(tmp_path, "-i", index.url, *extra, "requirements.in")
    assert code == 0, err
    return (tmp_path / "requirements.txt").read_text()


@pytest.mark.usefixtures("files")
@pytest.mark.parametrize(
    "validators",
    [{"etags": True}, {"last_modified": True}, {"etags": True, "last_modified": True}],
    ids=["etag", "last-modified", "both"],
)
def test_pages_with_validators_are_revalidated(
    tmp_path: Path, index_factory: Callable[..., IndexServer], validators: dict[str, Any]
) -> None:
    index = index_factory(**validators)
    first = _compile_afresh(tmp_path, index)
    assert index.not_modified == []
    index.clear_log()
    assert _compile_afresh(tmp_path, index) == first
    pages = [request.path for request in index.page_requests()]
    assert sorted(pages) == ["/simple/alpha/", "/simple/beta/"]
    assert sorted(index.not_modified) == sorted(pages)


@pytest.mark.usefixtures("files")
def test_a_changed_page_is_read_again(
    tmp_path: Path, index_factory: Callable[..., IndexServer], wheel_factory: Factory
) -> None:
    index = index_factory(etags=True, last_modified=True)
    _compile_afresh(tmp_path, index)
    newer = wheel_factory("beta", "2.0")
    os.utime(newer, (2_000_000_000, 2_000_000_000))  # later than any Last-Modified sent
    index.clear_log()
    assert pinned_versions(_compile_afresh(tmp_path, index))["beta"] == "2.0"
    assert index.not_modified == ["/simple/alpha/"]


@pytest.mark.usefixtures("files")
def test_pages_fresh_by_max_age_are_not_asked_for(
    tmp_path: Path, index_factory: Callable[..., IndexServer]
) -> None:
    index = index_factory(etags=True, cache_control="max-age=600, public")
    first = _compile_afresh(tmp_path, index)
    index.clear_log()
    assert _compile_afresh(tmp_path, index) == first
    assert index.requests == []
    # --refresh asks again, unconditionally.
    assert _compile_afresh(tmp_path, index, "--refresh") == first
    assert sorted(r.path for r in index.page_requests()) == ["/simple/alpha/", "/simple/beta/"]
    assert index.not_modified == []


@pytest.mark.usefixtures("files")
def test_no_cache_pages_are_revalidated_every_time(
    tmp_path: Path, index_factory: Callable[..., IndexServer]
) -> None:
    index = index_factory(etags=True, cache_control="max-age=600, no-cache")
    _compile_afresh(tmp_path, index)
    index.clear_log()
    _compile_afresh(tmp_path, index)
    assert len(index.not_modified) == 2


@pytest.mark.usefixtures("files")
def test_unchanged_pages_are_not_parsed_again(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    wheel_factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []
    from pinlock.index.pages import html_records as real_parse

    def counting_parse(body: bytes | str, **options: Any) -> Any:
        parsed.append(str(options["page_url"]))
        return real_parse(body, **options)

    monkeypatch.setattr(finder_module, "html_records", counting_parse)
    index = index_factory(json=False)  # no validators: every page comes again whole
    first = _compile_afresh(tmp_path, index)
    assert len(parsed) == 2
    parsed.clear()
    index.clear_log()
    assert _compile_afresh(tmp_path, index) == first
    assert len(index.page_requests()) == 2
    assert parsed == []
    wheel_factory("beta", "2.0")
    assert pinned_versions(_compile_afresh(tmp_path, index))["beta"] == "2.0"
    assert parsed == [f"{index.url}/beta/"]


@pytest.mark.usefixtures("files")
def test_refresh_reads_metadata_again(
    tmp_path: Path, index_factory: Callable[..., IndexServer]
) -> None:
    index = index_factory(metadata_files=True)
    first = _compile_afresh(tmp_path, index)
    index.clear_log()
    assert _compile_afresh(tmp_path, index) == first
    assert not [r for r in index.requests if r.path.endswith(".metadata")]
    assert _compile_afresh(tmp_path, index, "--refresh") == first
    assert len([r for r in index.requests if r.path.endswith(".metadata")]) == 2


def test_a_replaced_page_leaves_no_old_body(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pages = PageCache(cache)
    url = "https://index.example/simple/alpha/"

    def answer(body: bytes) -> HttpResponse:
        return HttpResponse(url=url, status=200, headers={"etag": '"1"'}, body=body)

    def keep(body: bytes) -> CachedPage:
        page = pages.put(url, answer(body))
        assert page is not None
        context = (url, "https://index.example/simple/", "alpha", "text/html")
        pages.kept_records(page, context, lambda b: html_records(b, page_url=url, project=None))
        return page

    first = keep(b"<a href='alpha-1.0.tar.gz'>one</a>")
    assert cache.path("parsed-pages", first.digest).is_file()
    second = keep(b"<a href='alpha-2.0.tar.gz'>two</a>")
    assert not cache.path("parsed-pages", first.digest).exists()
    kept = pages.get(url)
    assert kept is not None and kept.digest == second.digest
    assert kept.response.body == b""  # read from the cache: the body stays there
    assert kept.validators() == {"If-None-Match": '"1"'}
    assert PageCache(cache, refresh=True).get(url) is None


def test_a_page_whose_files_were_never_kept_is_not_kept(tmp_path: Path) -> None:
    # A run that stopped between keeping the head and parsing the page left no files: the
    # page is asked for again (unconditionally), not read as empty.
    cache = Cache(tmp_path / "cache")
    pages = PageCache(cache)
    url = "https://index.example/simple/alpha/"
    answer = HttpResponse(url=url, status=200, headers={"etag": '"1"'}, body=b"<a>x</a>")
    assert pages.put(url, answer) is not None
    assert pages.get(url) is None
    missing = HttpResponse(url=url, status=404, headers={}, body=b"")
    assert pages.put(url, missing) is not None
    assert pages.get(url) is not None  # an absence needs no files


def test_kept_records_are_read_from_the_cache_each_time_they_are_used(tmp_path: Path) -> None:
    url = "https://index.example/simple/alpha/"
    body = b'<a href="../../files/alpha-1.0-py3-none-any.whl#sha256=ab">alpha</a>'
    pages = PageCache(Cache(tmp_path / "cache"))
    page = pages.put(url, HttpResponse(url=url, status=200, headers={}, body=body))
    assert page is not None
    parsed: list[int] = []

    def parse(data: bytes) -> list[Any]:
        parsed.append(len(data))
        return html_records(data, page_url=url, project=None)

    context = (url, "https://index.example/simple/", "alpha", "text/html")
    records = pages.kept_records(page, context, parse)
    assert records is not None
    assert parsed == [len(body)]  # parsed once, when first kept
    expected = html_records(body, page_url=url, project=None)
    assert list(records) == list(records) == expected
    assert pages.kept_records(page, context, parse) is not records
    assert parsed == [len(body)]  # kept parsed: not parsed again, however often read
    # Kept under another context (the same bytes at another URL), the records are parsed
    # again from the kept body.
    other = pages.kept_records(page, ("https://elsewhere/alpha/", *context[1:]), parse)
    assert other is not None and len(other) == 1
    assert parsed == [len(body), len(body)]
    # Read back from the cache (no body in hand), the page is parsed from the kept body.
    kept = pages.get(url)
    assert kept is not None and kept.response.body == b""
    assert list(pages.kept_records(kept, context, parse) or ()) == expected
    assert parsed == [len(body), len(body), len(body)]
