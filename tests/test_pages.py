from __future__ import annotations

import json
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from pinlock.index import pages
from pinlock.index.models import FileKind, parse_dist_filename
from pinlock.index.pages import _scan_links, not_an_index_page, parse_html, parse_json

PAGE = "https://idx.example/simple/demo-pkg/"
DEMO = canonicalize_name("demo-pkg")
SHA = "a" * 64

HTML = f"""<!DOCTYPE html>
<html><head><title>Links for demo-pkg</title></head><body>
<a href="../../files/demo_pkg-1.0-py3-none-any.whl#sha256={SHA.upper()}"
   data-requires-python="&gt;=3.8">demo_pkg-1.0-py3-none-any.whl</a><br/>
<a href="https://cdn.example/demo-pkg-1.0.tar.gz#md5=abc&amp;sha256={SHA}"
   data-yanked="">demo-pkg-1.0.tar.gz</a>
<a href="demo_pkg-2.0-cp311-cp311-manylinux_2_17_x86_64.whl" data-yanked="broken &lt;build&gt;"
   data-requires-python="this is not a specifier" data-core-metadata="sha256={SHA}">x</a>
<a href="demo_pkg-2.1-py3-none-any.whl" data-dist-info-metadata="true">x</a>
<a href="demo_pkg-2.2-py3-none-any.whl" data-core-metadata="true"
   data-dist-info-metadata="sha256=ff">x</a>
<a href="other-1.0.tar.gz">another project</a>
<a href="demo-pkg-1.0.exe">installer</a>
<a href="demo_pkg-not-a-wheel.whl">junk</a>
<a>no href</a>
</body></html>
"""


def test_html_project_page() -> None:
    files = parse_html(
        HTML,
        page_url=PAGE,
        source="https://idx.example/simple",
        project=canonicalize_name("demo-pkg"),
    )
    assert [f.filename for f in files] == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo-pkg-1.0.tar.gz",
        "demo_pkg-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "demo_pkg-2.1-py3-none-any.whl",
        "demo_pkg-2.2-py3-none-any.whl",
    ]
    wheel, sdist, yanked, legacy_meta, both_meta = files
    assert wheel.url == "https://idx.example/files/demo_pkg-1.0-py3-none-any.whl"
    assert wheel.sha256 == SHA
    assert wheel.name == "demo-pkg"
    assert wheel.version == Version("1.0")
    assert wheel.kind is FileKind.WHEEL
    assert wheel.requires_python == SpecifierSet(">=3.8")
    assert wheel.source == "https://idx.example/simple"
    assert not wheel.yanked
    assert wheel.metadata_hashes is None
    assert sdist.kind is FileKind.SDIST
    assert sdist.url == "https://cdn.example/demo-pkg-1.0.tar.gz"
    assert dict(sdist.hashes) == {"md5": "abc", "sha256": SHA}
    assert sdist.yanked
    assert sdist.yanked_reason == ""
    assert yanked.url == PAGE + yanked.filename
    assert yanked.yanked_reason == "broken <build>"
    assert yanked.requires_python is None
    assert yanked.metadata_hashes == {"sha256": SHA}
    assert yanked.metadata_url == yanked.url + ".metadata"
    assert legacy_meta.metadata_hashes == {}
    assert both_meta.metadata_hashes == {}


def test_html_base_href_and_find_links_page_keeps_every_project() -> None:
    page = """<html><head><base href="https://files.example/dist/"></head>
    <a href="a-1.0-py3-none-any.whl">a</a><a href="sub/B_c-2.0.zip">b</a>
    <a href="../other/a%5Fb-1.0.tar.gz">quoted</a></html>"""
    files = parse_html(
        page.encode(), page_url="https://x.example/links.html", source="s", project=None
    )
    assert [(f.name, f.url) for f in files] == [
        ("a", "https://files.example/dist/a-1.0-py3-none-any.whl"),
        ("b-c", "https://files.example/dist/sub/B_c-2.0.zip"),
        ("a-b", "https://files.example/other/a%5Fb-1.0.tar.gz"),
    ]
    assert files[2].filename == "a_b-1.0.tar.gz"


def test_a_file_linked_twice_is_listed_once() -> None:
    page = b"""<a href="a-1.0.tar.gz#sha256=aa">a</a><a href="a-2.0.tar.gz">b</a>
    <a href="a-1.0.tar.gz#sha256=bb">again</a>"""
    files = parse_html(page, page_url="https://x.example/a/", source="s", project=None)
    assert [(f.filename, f.sha256) for f in files] == [
        ("a-1.0.tar.gz", "aa"),
        ("a-2.0.tar.gz", None),
    ]
    document = {
        "files": [
            {"filename": "a-1.0.tar.gz", "url": "https://f.example/a-1.0.tar.gz", "hashes": {}},
            {"filename": "a-1.0.tar.gz", "url": "https://f.example/a-1.0.tar.gz", "hashes": {}},
        ]
    }
    listed = parse_json(
        json.dumps(document), page_url="https://x.example/a/", source="s", project=None
    )
    assert len(listed) == 1


def test_json_project_page() -> None:
    document = {
        "meta": {"api-version": "1.1"},
        "name": "demo-pkg",
        "files": [
            {
                "filename": "demo_pkg-1.0-py3-none-any.whl",
                "url": "../../files/demo_pkg-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA},
                "requires-python": ">=3.9",
                "core-metadata": {"sha256": "b" * 64},
                "yanked": False,
            },
            {
                "filename": "demo-pkg-1.0.tar.gz",
                "url": "https://cdn.example/demo-pkg-1.0.tar.gz",
                "hashes": {},
                "yanked": "security hole",
                "dist-info-metadata": True,
            },
            {
                "filename": "demo_pkg-0.9-py3-none-any.whl",
                "url": "x.whl",
                "hashes": {},
                "yanked": True,
            },
            {"filename": "demo_pkg-0.8-py3-none-any.whl", "url": "y.whl", "requires-python": "!!"},
            {"filename": "other-1.0.tar.gz", "url": "other-1.0.tar.gz", "hashes": {}},
            {"filename": "notes.txt", "url": "notes.txt", "hashes": {}},
        ],
    }
    files = parse_json(
        json.dumps(document).encode(),
        page_url=PAGE,
        source="src",
        project=canonicalize_name("demo-pkg"),
    )
    assert [f.filename for f in files] == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo-pkg-1.0.tar.gz",
        "demo_pkg-0.9-py3-none-any.whl",
        "demo_pkg-0.8-py3-none-any.whl",
    ]
    wheel, sdist, yanked_true, bad_spec = files
    assert wheel.url == "https://idx.example/files/demo_pkg-1.0-py3-none-any.whl"
    assert wheel.sha256 == SHA
    assert wheel.requires_python == SpecifierSet(">=3.9")
    assert wheel.metadata_hashes == {"sha256": "b" * 64}
    assert not wheel.yanked
    assert sdist.yanked
    assert sdist.yanked_reason == "security hole"
    assert sdist.metadata_hashes == {}
    assert sdist.sha256 is None
    assert yanked_true.yanked
    assert yanked_true.yanked_reason == ""
    assert yanked_true.url == PAGE + "x.whl"
    assert yanked_true.metadata_hashes is None
    assert bad_spec.requires_python is None


def test_the_common_json_form_reads_as_the_general_reading_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Entries in pypi.org's form take a shorter path; every variation of the fields must give
    # the very records the general reading gives (and entries it leaves alone, the same).
    base = {
        "filename": "demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "url": "https://files.example/demo_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "hashes": {"sha256": "AB" * 32},
        "requires-python": ">=3.9",
        "size": 1234,
        "upload-time": "2024-05-06T07:08:09.123456Z",
        "yanked": False,
    }
    variations: list[dict[str, object]] = [
        {},
        {"requires-python": None},
        {"requires-python": "!!"},
        {"requires-python": ""},
        {"requires-python": 3},
        {"yanked": True},
        {"yanked": "broken"},
        {"yanked": ""},
        {"core-metadata": {"sha256": "CD" * 32}},
        {"core-metadata": True},
        {"core-metadata": False},
        {"core-metadata": {"SHA256": "cd" * 32}},
        {"core-metadata": None, "dist-info-metadata": {"sha256": "ef" * 32}},
        {"data-dist-info-metadata": {"sha256": "ef" * 32}, "gpg-sig": False},
        {"hashes": {}},
        {"hashes": {"sha256": "ab" * 32, "md5": "cd" * 16}},
        {"hashes": {"SHA256": "ab" * 32}},
        {"hashes": {"sha256": 5}},
        {"url": "relative/demo_pkg-1.0-py3-none-any.whl"},
        {"url": "https://files.example/demo_pkg-1.0-py3-none-any.whl#sha256=" + "ee" * 32},
        {"filename": ""},
        {"filename": None},
        {"filename": "other-1.0-py3-none-any.whl"},
        {"filename": "demo_pkg-1.0.tar.gz"},
        {"filename": "demo_pkg-1.0-1b-py3-none-any.whl"},
        {"filename": "demo-pkg-1.0-py3-none-any.whl"},
        {"filename": "notes.txt"},
        {"size": -1},
        {"size": True},
        {"size": "big"},
        {"upload-time": ""},
        {"upload-time": 5},
        {"a-future-field": [1, 2]},
    ]
    # Each at a URL of its own: a page listing one URL twice keeps its first entry.
    entries: list[object] = [
        {**base, "url": f"{base['url']}?n={number}", **change}
        for number, change in enumerate(variations)
    ]
    entries += ["not an entry", {"filename": "demo_pkg-1.0.tar.gz"}]
    body = json.dumps({"files": entries})
    project = canonicalize_name("demo-pkg")
    read = pages.json_records(body, page_url=PAGE, project=project)
    assert pages._common_json_record(entries[0], project, {}) == read[0]  # the short path ran
    monkeypatch.setattr(pages, "_common_json_record", lambda *args: pages._Form.UNUSUAL)
    assert read == pages.json_records(body, page_url=PAGE, project=project)
    assert len(read) == 30


def test_json_size_and_upload_time_are_kept_when_stated() -> None:
    document = {
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "a.whl",
                "hashes": {},
                "size": 1234,
                "upload-time": "2024-05-06T07:08:09.123456Z",
            },
            {"filename": "demo-0.9-py3-none-any.whl", "url": "b.whl", "size": "big"},
            {"filename": "demo-0.8-py3-none-any.whl", "url": "c.whl", "upload-time": "noon"},
        ]
    }
    stated, bad_size, bad_time = parse_json(
        json.dumps(document), page_url=PAGE, source="s", project=canonicalize_name("demo")
    )
    assert stated.size == 1234
    assert stated.upload_time == datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    assert (bad_size.size, bad_size.upload_time) == (None, None)
    assert (bad_time.size, bad_time.upload_time) == (None, None)


def test_large_page_parses() -> None:
    links = "\n".join(
        f'<a href="pkg-{i}.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.7">x</a>'
        for i in range(5000)
    )
    files = parse_html(
        f"<html><body>{links}</body></html>",
        page_url=PAGE,
        source="s",
        project=canonicalize_name("pkg"),
    )
    assert len(files) == 5000
    assert files[-1].version == Version("4999.0")


class _ReferenceLinks(HTMLParser):
    """What the standard library's HTML parser sees: the reference the link scanner must match."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base_href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base_href is None:
            self.base_href = dict(attrs).get("href") or None


TRICKY_MARKUP = [
    '<a href="x-1.0.tar.gz">x</a>',
    '<A HREF="X-1.0.tar.gz" Data-Yanked>x</A>',
    "<a href='x-1.0.tar.gz' data-requires-python='&gt;=3.8'>x</a>",
    "<a href=x-1.0.tar.gz data-yanked=old>x</a>",
    '<a\n  href="x-1.0.tar.gz"\n  data-requires-python=">=3.8">x</a>',
    '<a href="x-1.0.tar.gz" title="a > b">x</a>',
    '<a title=\'say "hi"\' href="y.whl">x</a>',
    '<a href="a&amp;b&#38;c&lt;.whl">x</a>',
    '<!-- <a href="commented-1.0.tar.gz">x</a> --><a href="real-1.0.tar.gz">r</a>',
    '<script>s = "<a href=\'in-script.tar.gz\'>";</script><a href="after-1.0.tar.gz">a</a>',
    '<style>a { x: "<a href=s.whl>" }</style><a href="b.whl">',
    '<abbr href="no.whl">x</abbr><area href="no2.whl"><a href="yes.whl">',
    '<a href="x.whl"/><a href="y.whl" />',
    '<a href="x.whl" href="y.whl">duplicate</a>',
    '<a href="first.whl"><base href="https://b.example/1/"><base href="https://b.example/2/">',
    '<base href=""><base href="https://b.example/3/"><a href="z.whl">',
    '<a href="x.whl"data-yanked="">glued</a>',
    '<a href = "spaced.whl" data-yanked = "r">x</a>',
    '<a>no href</a><a href>empty</a><a href="">empty too</a>',
    '<a data-core-metadata data-dist-info-metadata="true" href="m.whl">',
    '<a href="u.whl" data-requires-python="&gt;=3.8" data-upload-time="2020-01-01T00:00:00Z">',
    '<a href="\u00fc-1.0.tar.gz" d\u00e4t\u00e4="\u00fc">unicode</a>',
    '<a\thref="tab.whl">tab</a>',
    '<a href="x.whl" data-yanked="it&#x27;s broken">',
    '<p><a href="p.whl">in a paragraph</a></p>',
]


@pytest.mark.parametrize("markup", TRICKY_MARKUP)
def test_link_scanner_sees_what_an_html_parser_sees(markup: str) -> None:
    reference = _ReferenceLinks()
    reference.feed(markup)
    reference.close()
    assert _scan_links(markup) == (reference.anchors, reference.base_href)


def test_html_page_in_every_attribute_form() -> None:
    page = (
        "<!-- <a href='gone-1.0.tar.gz'> -->"
        "<A HREF='demo_pkg-1.0-py3-none-any.whl#sha256=AB&amp;md5=cd' DATA-YANKED>x</A>"
        '<a\n href="demo-pkg-1.1.tar.gz" data-requires-python=">=3.9" data-core-metadata>y</a>'
        "<base href='https://files.example/d/'>"
    )
    files = parse_html(page, page_url=PAGE, source="s", project=canonicalize_name("demo-pkg"))
    wheel, sdist = files
    assert wheel.url == "https://files.example/d/demo_pkg-1.0-py3-none-any.whl"
    assert dict(wheel.hashes) == {"sha256": "ab", "md5": "cd"}
    assert wheel.yanked
    assert wheel.yanked_reason == ""
    assert sdist.url == "https://files.example/d/demo-pkg-1.1.tar.gz"
    assert sdist.requires_python == SpecifierSet(">=3.9")
    assert sdist.metadata_hashes is None


FILENAMES = [
    "demo-1.0-py3-none-any.whl",
    "Demo.Pkg_x-2.0rc1-1build-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "demo-1.0-py2.py3-none-any.whl",
    "demo__x-1.0-py3-none-any.whl",
    "-1.0-py3-none-any.whl",
    "demo-1.0-build-py3-none-any.whl",
    "demo-1.0-\u0663-py3-none-any.whl",
    "demo-1.0-py3--any.whl",
    "demo-1.0-3py-none-any.whl",
    "demo-1.0-py3.-none-any.whl",
    "demo-one-py3-none-any.whl",
    "demo-1.0-py3-none.whl",
    "demo-1.0-py3-none-any-extra.whl",
    "\uff21-1.0-py3-none-any.whl",
    "demo-1.0.tar.gz",
    "Demo_Pkg-1.0.post1.zip",
    "-1.0.tar.gz",
    "demo.tar.gz",
    "demo-x.y.tar.gz",
    "demo-1.0.tar.bz2",
    "demo-1.0.exe",
    "demo-1.0-py3.8.egg",
]


@pytest.mark.parametrize("filename", FILENAMES)
def test_dist_filenames_follow_packaging(filename: str) -> None:
    expected: object = None
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            expected = (name, version, FileKind.WHEEL, tags)
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            expected = (name, version, FileKind.SDIST, frozenset())
    except (InvalidWheelFilename, InvalidSdistFilename):
        expected = None
    assert parse_dist_filename(filename) == expected


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (b"<html><body><h1>Links for demo-pkg</h1></body></html>", "text/html"),
        (b"", ""),
        (b'<a href="/files/other-1.0.tar.gz">other-1.0.tar.gz</a>', "text/html"),
        (b'{"meta": {"api-version": "1.0"}, "files": []}', "application/vnd.pypi.simple.v1+json"),
    ],
)
def test_a_project_page_without_files_may_still_be_an_index_page(
    body: bytes, media_type: str
) -> None:
    assert not_an_index_page(body, media_type=media_type, project=DEMO) is None


@pytest.mark.parametrize(
    ("body", "media_type", "words"),
    [
        (b'<a href="/about">About</a>', "text/html", "1 link, none to a file of demo-pkg"),
        (b"<form><input type=password></form>", "text/html", "no links, none to a file"),
        (b"<script>app()</script>", "application/xhtml+xml", "no links"),
        (b"PK\x03\x04", "application/octet-stream", "(application/octet-stream)"),
    ],
)
def test_other_pages_are_not_taken_for_index_pages(
    body: bytes, media_type: str, words: str
) -> None:
    problem = not_an_index_page(body, media_type=media_type, project=DEMO)
    assert problem is not None
    assert problem.startswith("not a package index page")
    assert words in problem
