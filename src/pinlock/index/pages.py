"""Project pages of the simple repository API: PEP 503 HTML and PEP 691 JSON.

Find-links pages are plain HTML with anchors and go through ``parse_html`` too, with
``project=None`` to keep every file they list.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any
from urllib.parse import unquote, urljoin

from packaging.utils import NormalizedName

from pinlock.index.models import (
    DistFile,
    FileRecord,
    dist_from_record,
    flat_pairs,
    parse_dist_filename,
    requires_python_of,
)

__all__ = ["html_records", "json_records", "not_an_index_page", "parse_html", "parse_json"]

_FRAGMENT_ALGORITHMS = frozenset({"sha512", "sha384", "sha256", "sha224", "sha1", "md5"})
_FRAGMENT_HASH = re.compile(r"(?:^|&)(sha512|sha384|sha256|sha224|sha1|md5)=([0-9a-fA-F]+)")
_HEX_DIGITS = "0123456789abcdefABCDEF"

# The markup that matters on a links page, found the way an HTML parser finds it: comments and
# raw-text elements (whose "tags" are not tags) are stepped over, and a start tag's attributes
# run to the first ">" outside a quoted value. Indexes write tags in one form, ` name="value"`
# pairs and nothing else: the first tag branch takes that form (read by splitting at the
# quotes), the second every other. The general attribute pattern is the unrolled-loop form (no
# nested quantifiers over the same characters), so a malformed page cannot make it backtrack.
_MARKUP = re.compile(
    r"""<(?:
        !--.*?(?:--!?>|\Z)
        | (script|style)\b.*?(?:</\1\s*>|\Z)
        | (a|base)((?:[ ][A-Za-z0-9-]+="[^"]*")*)>
        | (a|base)(?=[\s/>])([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)>
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_ATTRIBUTE = re.compile(
    r"""([^\s/>"'=][^\s/>=]*)(\s*=+\s*(?:"([^"]*)"|'([^']*)'|(?!["'])([^\s>]*)))?"""
)


def parse_html(
    body: bytes | str, *, page_url: str, source: str, project: NormalizedName | None
) -> list[DistFile]:
    """Every distribution file an HTML page links to, in page order."""
    return _dists(html_records(body, page_url=page_url, project=project), source)


def html_records(
    body: bytes | str, *, page_url: str, project: NormalizedName | None
) -> list[FileRecord]:
    """``parse_html`` as compact records (``pinlock.index.models.FileRecord``)."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    anchors, base_href = _scan_links(text)
    base_url = urljoin(page_url, base_href) if base_href else page_url
    records: list[FileRecord] = []
    for attrs in anchors:
        href = attrs.get("href")
        if not href:
            continue
        metadata = attrs.get("data-core-metadata")
        if metadata is None:
            metadata = attrs.get("data-dist-info-metadata")
        yanked = "data-yanked" in attrs
        record = _make_record(
            href=href if href.startswith(("https://", "http://")) else urljoin(base_url, href),
            filename=None,
            hashes={},
            requires_python=attrs.get("data-requires-python"),
            yanked=(attrs.get("data-yanked") or "") if yanked else None,
            metadata_hashes=_html_metadata_hashes(metadata),
            project=project,
        )
        if record is not None:
            records.append(record)
    return _unique(records)


def _unique(records: list[FileRecord]) -> list[FileRecord]:
    """The records, a file a page links twice listed once (its first link)."""
    urls = {record[1] for record in records}
    if len(urls) == len(records):
        return records
    seen: set[str] = set()
    unique = []
    for record in records:
        if record[1] not in seen:
            seen.add(record[1])
            unique.append(record)
    return unique


def _dists(records: list[FileRecord], source: str) -> list[DistFile]:
    return [dist_from_record(record, source) for record in records]


# Media types an index's project page may have (PEP 503 HTML, PEP 691 JSON); none given is HTML.
_PAGE_TYPES = frozenset(
    {
        "",
        "text/html",
        "application/xhtml+xml",
        "application/vnd.pypi.simple.v1+html",
        "application/vnd.pypi.simple.v1+json",
        "application/json",
    }
)
_PAGE_FURNITURE = re.compile(r"<(?:form|script|input)\b", re.IGNORECASE)


def not_an_index_page(body: bytes, *, media_type: str, project: NormalizedName) -> str | None:
    """Why an answer that gave no file of ``project`` is no index page at all (a sign-in page,
    a web site, an image), or None when it may be an index's page of a project without files.

    An index page holds links to distribution files and little else: one whose links all go
    elsewhere, or that has forms or scripts, is some other page served where an index was
    expected; taking it for "no files" would report the project missing.
    """
    if media_type not in _PAGE_TYPES:
        return f"not a package index page ({media_type})"
    if "json" in media_type:
        return None
    text = body.decode("utf-8", errors="replace")
    anchors, _base = _scan_links(text)
    links = [attrs.get("href") for attrs in anchors if attrs.get("href")]
    for href in links:
        filename = str(href).partition("#")[0].partition("?")[0].rsplit("/", 1)[-1]
        if parse_dist_filename(unquote(filename)) is not None:
            return None  # files of other projects: an index, if a confused one
    if not links and _PAGE_FURNITURE.search(text) is None:
        return None
    some = "no links" if not links else f"{len(links)} link{'s' if len(links) > 1 else ''}"
    return (
        f"not a package index page: an HTML page with {some}, none to a file of {project} "
        "(a sign-in page or a web site? check the index URL and its credentials)"
    )


def parse_json(
    body: bytes | str, *, page_url: str, source: str, project: NormalizedName | None
) -> list[DistFile]:
    """Every distribution file a PEP 691 project page lists, in page order."""
    return _dists(json_records(body, page_url=page_url, project=project), source)


def json_records(
    body: bytes | str, *, page_url: str, project: NormalizedName | None
) -> list[FileRecord]:
    """``parse_json`` as compact records (``pinlock.index.models.FileRecord``)."""
    document = json.loads(body)
    entries = document.get("files", []) if isinstance(document, dict) else []
    records: list[FileRecord] = []
    requires_python_texts: dict[str, str | None] = {}
    for entry in entries:
        common = _common_json_record(entry, project, requires_python_texts)
        if common is not _Form.UNUSUAL:
            if common is not None:
                records.append(common)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        yanked_value = entry.get("yanked", False)
        metadata = entry.get("core-metadata")
        if metadata is None:
            metadata = entry.get("dist-info-metadata")
        hashes = entry.get("hashes")
        filename = entry.get("filename")
        href = entry["url"]
        size = entry.get("size")
        uploaded = entry.get("upload-time")
        record = _make_record(
            # Indexes give absolute file URLs (pypi.org does): joining each costs more than the
            # rest of a file's parsing.
            href=href if href.startswith(("https://", "http://")) else urljoin(page_url, href),
            filename=filename if isinstance(filename, str) and filename else None,
            hashes=_string_map(hashes),
            requires_python=_string_or_none(entry.get("requires-python")),
            yanked=(
                (yanked_value if isinstance(yanked_value, str) else "") if yanked_value else None
            ),
            metadata_hashes=_json_metadata_hashes(metadata),
            project=project,
            size=size
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0
            else None,
            upload_time=uploaded if isinstance(uploaded, str) and uploaded else None,
        )
        if record is not None:
            records.append(record)
    return _unique(records)


class _Form(Enum):
    UNUSUAL = "a file entry in a form _common_json_record leaves to the general reading"


def _common_json_record(
    entry: Any, project: NormalizedName | None, requires_python_texts: dict[str, str | None]
) -> FileRecord | _Form | None:
    """The record of a file entry in the form indexes write (pypi.org's: an absolute URL with
    no fragment, a file name, one sha256, not yanked, metadata digests absent or one sha256),
    read with the fewest steps; ``_Form.UNUSUAL`` for any other form, which the general reading in
    ``json_records`` takes. Pages list tens of thousands of files: this is most of a cold
    compile's page parsing."""
    if type(entry) is not dict:
        return _Form.UNUSUAL
    url = entry.get("url")
    filename = entry.get("filename")
    hashes = entry.get("hashes")
    if (
        type(url) is not str
        or not url.startswith(("https://", "http://"))
        or "#" in url
        or type(filename) is not str
        or not filename
        or type(hashes) is not dict
        or len(hashes) != 1
        or type(sha256 := hashes.get("sha256")) is not str
        or entry.get("yanked", False) is not False
    ):
        return _Form.UNUSUAL
    metadata = entry.get("core-metadata")
    if metadata is None:
        metadata = entry.get("dist-info-metadata")
    metadata_pairs: tuple[str, ...] | None
    if metadata is None or metadata is False:
        metadata_pairs = None
    elif metadata is True:
        metadata_pairs = ()
    elif (
        type(metadata) is dict
        and len(metadata) == 1
        and type(metadata_sha256 := metadata.get("sha256")) is str
    ):
        metadata_pairs = ("sha256", metadata_sha256)
    else:
        return _Form.UNUSUAL
    parsed = parse_dist_filename(filename)
    if parsed is None or (project is not None and parsed[0] != project):
        return None
    requires_python = entry.get("requires-python")
    if requires_python is not None:
        if type(requires_python) is not str:
            return _Form.UNUSUAL
        if requires_python in requires_python_texts:
            requires_python = requires_python_texts[requires_python]
        else:
            valid = requires_python_of(requires_python) is not None
            requires_python = requires_python_texts[requires_python] = (
                sys.intern(requires_python) if valid else None
            )
    size = entry.get("size")
    uploaded = entry.get("upload-time")
    return (
        filename,
        url,
        ("sha256", sha256.lower()),
        requires_python,
        None,
        metadata_pairs,
        size if type(size) is int and size >= 0 else None,
        uploaded if type(uploaded) is str and uploaded else None,
        parsed,
    )


def _scan_links(text: str) -> tuple[list[dict[str, str | None]], str | None]:
    """The attributes of every ``<a>`` (values unescaped), and the first ``<base href>``."""
    anchors: list[dict[str, str | None]] = []
    base_href: str | None = None
    for _raw_text, index_tag, index_markup, tag, markup in _MARKUP.findall(text):
        attrs: dict[str, str | None]
        if index_tag:
            tag = index_tag
            pieces = index_markup.split('"')
            attrs = {
                name[1:-1].lower(): _unescape(value) if "&" in value else value
                for name, value in zip(pieces[0:-1:2], pieces[1::2], strict=True)
            }
        elif tag:
            attrs = _attributes(markup)
        else:
            continue
        if tag in ("a", "A"):
            anchors.append(attrs)
        elif base_href is None:
            base_href = attrs.get("href") or None
    return anchors, base_href


def _attributes(markup: str) -> dict[str, str | None]:
    """The attributes of a start tag: lower-case names, unescaped values, None when valueless."""
    attrs: dict[str, str | None] = {}
    for name, equals, double, single, bare in _ATTRIBUTE.findall(markup):
        if equals:
            value = double or single or bare
            attrs[name.lower()] = _unescape(value) if "&" in value else value
        else:
            attrs[name.lower()] = None
    return attrs


@functools.lru_cache(maxsize=1024)
def _unescape(text: str) -> str:
    """``html.unescape``, remembered: pages repeat the same few escaped values (``&gt;=3.8``)
    thousands of times. ``html`` (its table of entities) is loaded for HTML pages only."""
    import html

    return html.unescape(text)


def _make_record(
    *,
    href: str,
    filename: str | None,
    hashes: dict[str, str],
    requires_python: str | None,
    yanked: str | None,
    metadata_hashes: Mapping[str, str] | None,
    project: NormalizedName | None,
    size: int | None = None,
    upload_time: str | None = None,
) -> FileRecord | None:
    # Plain string operations: these run for every link of pages with thousands of them.
    url, _, fragment = href.partition("#")
    if filename is None:
        filename = url.partition("?")[0].rsplit("/", 1)[-1]
        if "%" in filename:
            filename = unquote(filename)
    parsed = parse_dist_filename(filename)
    if parsed is None:
        return None
    if project is not None and parsed[0] != project:
        return None
    all_hashes = _fragment_hashes(fragment)
    if hashes:
        all_hashes.update({algorithm: digest.lower() for algorithm, digest in hashes.items()})
    return (
        filename,
        url,
        flat_pairs(all_hashes),
        # Interned, as the algorithm names are: kept pages then hold one copy of each.
        sys.intern(requires_python)
        if requires_python is not None and requires_python_of(requires_python) is not None
        else None,
        yanked,
        None if metadata_hashes is None else flat_pairs(metadata_hashes),
        size,
        upload_time,
        parsed,
    )


def _fragment_hashes(fragment: str) -> dict[str, str]:
    """The digests a URL fragment carries (``sha256=<hex>``, several joined by ``&``)."""
    if not fragment:
        return {}
    algorithm, equals, digest = fragment.partition("=")
    # The usual fragment is one digest; the pattern below reads every other form.
    if equals and digest and algorithm in _FRAGMENT_ALGORITHMS and not digest.strip(_HEX_DIGITS):
        return {algorithm: digest.lower()}
    return {algorithm: digest.lower() for algorithm, digest in _FRAGMENT_HASH.findall(fragment)}


def _html_metadata_hashes(value: str | None) -> dict[str, str] | None:
    if value is None:
        return None
    if value.strip().lower() == "true":
        return {}
    algorithm, sep, digest = value.partition("=")
    if not sep or not algorithm or not digest:
        return None
    return {algorithm.strip().lower(): digest.strip().lower()}


def _json_metadata_hashes(value: Any) -> dict[str, str] | None:
    if value is True:
        return {}
    if isinstance(value, dict):
        return _string_map(value)
    return None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items() if isinstance(v, str)}


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
