"""The direct reading of plain metadata headers against packaging's email parser.

Every METADATA of this test environment and a set of crafted headers are parsed twice: as
shipped, and with the direct reading switched off so that every header goes through the
email parser as it used to. Results (or errors) must be equal.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from pinlock import coremetadata
from pinlock.coremetadata import CoreMetadata, parse_metadata
from pinlock.errors import MetadataError

Outcome = CoreMetadata | tuple[str, str]


def _outcome(data: bytes | str) -> Outcome:
    try:
        return parse_metadata(data, what="the-what")
    except MetadataError as error:
        return (error.what, error.reason)


def _both_ways(data: bytes | str, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Outcome]:
    shipped = _outcome(data)
    with monkeypatch.context() as patch:
        patch.setattr(coremetadata, "_plain_fields", lambda header: None)
        through_email = _outcome(data)
    return shipped, through_email


def _is_plain(data: bytes | str) -> bool:
    return coremetadata._plain_fields(coremetadata._header_part(data)) is not None


_HEAD = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"

# Headers the direct reading takes.
PLAIN: dict[str, str | bytes] = {
    "fields": (
        "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.0.post1\nSummary: s\n"
        "Requires-Python: >=3.8\nRequires-Dist: idna (>=2.5)\n"
        "Requires-Dist: pytest; extra == 'test'\nProvides-Extra: test\nProvides-Extra: Docs.X\n"
        "Dynamic: License\nDynamic:  Requires-Dist \n\nbody\n"
    ),
    "crlf": _HEAD.replace("\n", "\r\n") + "Requires-Dist: a\r\nRequires-Dist: b>1\r\n\r\nx",
    "no_requires_python": _HEAD + "Requires-Dist: a\n",
    "case_of_names": "name: demo\nVERSION: 2\nrequires-dist: a\nREQUIRES-PYTHON: >=3\n",
    "blanks_around_values": "Name:demo  \nVersion:\t 1.0\t\nRequires-Dist:   a >= 1  \n",
    "empty_requires_python": _HEAD + "Requires-Python: \n",
    "blank_requires_python": _HEAD + "Requires-Python: \t \n",
    "folded_unused_field": _HEAD + "Description: one\n  two\n\tthree\nRequires-Dist: a\n",
    "folded_crlf_unused_field": _HEAD.replace("\n", "\r\n") + "License: a\r\n b\r\n",
    "non_ascii_unused_field": _HEAD + "Author: Łukasz Ågren\nRequires-Dist: a\n",
    "latin1_unused_field": (_HEAD + "Author: ").encode() + b"J\xf6rg\nRequires-Dist: a\n",
    "fields_in_the_body": _HEAD + "\nRequires-Dist: not-a-field\nRequires-Python: <3\n",
    "no_final_newline": "Name: demo\nVersion: 1.0",
    "no_final_newline_crlf": "Name: demo\r\nVersion: 1.0\r",
    "empty_name": "Name: \nVersion: 1\n",
    "no_name": "Version: 1\n",
    "no_version": "Name: demo\n",
    "bad_version": "Name: demo\nVersion: one\n",
    "bad_requires_dist": _HEAD + "Requires-Dist: idna >>= 3\n",
    "bad_requires_python": _HEAD + "Requires-Python: three\n",
    "repeated_list_fields": _HEAD
    + "Provides-Extra: a\nProvides-Extra: a\nDynamic: x\nDynamic: X\n",
    "odd_but_allowed_field_names": _HEAD + ">From: x\nX-{weird}~: y\nRequires-Dist: a\n",
    "url_requirement": _HEAD + "Requires-Dist: a @ https://example.com/a-1.0.tar.gz\n",
    "equals_question_elsewhere": _HEAD + "Summary: =?utf-8?q?x?=\n",
}

# Headers left to the email parser.
ODD: dict[str, str | bytes] = {
    "folded_requires_dist": _HEAD + "Requires-Dist: a\n  ; extra == 'x'\nProvides-Extra: x\n",
    "folded_name": "Name: demo\n continued\nVersion: 1\n",
    "folded_crlf_version": "Name: demo\r\nVersion: 1\r\n .0\r\n",
    "encoded_word_name": "Name: =?utf-8?q?demo?=\nVersion: 1\n",
    "encoded_word_requires": _HEAD + "Requires-Dist: =?utf-8?b?aWRuYQ==?=\n",
    "utf8_requires_dist": _HEAD + "Requires-Dist: a; platform_release == 'é'\n",
    "latin1_requires_dist": (_HEAD + "Requires-Dist: a; os_name == '").encode() + b"\xe9'\n",
    "latin1_name": b"Name: d\xe9mo\nVersion: 1\n",
    "repeated_name": "Name: demo\nName: other\nVersion: 1\n",
    "repeated_version": "Name: demo\nVersion: 1\nVersion: 2\n",
    "repeated_requires_python": _HEAD + "Requires-Python: >=3\nRequires-Python: <4\n",
    "line_without_colon": "Name: demo\nnot a header line\nVersion: 1\nRequires-Dist: a\n",
    "blank_in_field_name": "Name : demo\nVersion: 1\n",
    "lone_cr": "Name: demo\rVersion: 1\rRequires-Dist: a\r",
    "form_feed": _HEAD + "Summary: s\x0cRequires-Python: >=3\n",
    "unicode_line_separator": _HEAD + "Summary: s\u2028Requires-Python: >=3\n",
    "next_line": _HEAD + "Summary: s\x85Requires-Python: >=3\n",
    "first_line_folded": " Name: x\nName: demo\nVersion: 1\n",
    "unix_from_line": "From someone\nName: demo\nVersion: 1\n",
    "empty_field_name": _HEAD + ": nothing\nRequires-Dist: a\n",
    "empty": "",
}


def _encoded(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


@pytest.mark.parametrize("case", sorted(PLAIN))
def test_plain_headers_are_read_directly_with_the_email_parsers_result(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _encoded(PLAIN[case])
    assert _is_plain(data)
    shipped, through_email = _both_ways(data, monkeypatch)
    assert shipped == through_email
    if isinstance(data, bytes) and data.isascii():
        assert _both_ways(data.decode(), monkeypatch) == (shipped, through_email)


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_headers_are_left_to_the_email_parser(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _encoded(ODD[case])
    assert not _is_plain(data)
    shipped, through_email = _both_ways(data, monkeypatch)
    assert shipped == through_email


def _reason(outcome: Outcome) -> str:
    assert isinstance(outcome, tuple)
    return outcome[1]


def test_a_few_outcomes_spelled_out() -> None:
    # The comparisons above hold only if both ways are right; pin down some results.
    fields = _outcome(PLAIN["fields"])
    assert isinstance(fields, CoreMetadata)
    assert [str(r) for r in fields.requires_dist] == ["idna>=2.5", 'pytest; extra == "test"']
    assert fields.provides_extra == {"test", "docs-x"}
    assert fields.dynamic == {"license", "requires-dist"}
    spaced = _outcome(PLAIN["blanks_around_values"])
    assert isinstance(spaced, CoreMetadata)
    assert spaced.display_name == "demo  "
    assert _reason(_outcome(PLAIN["bad_requires_dist"])).startswith("invalid Requires-Dist")
    # The email parser keeps the line break of a folded field, which no requirement allows.
    folded = _reason(_outcome(ODD["folded_requires_dist"]))
    assert folded.startswith('invalid Requires-Dist "a\\n  ; extra')
    repeated = _outcome(ODD["repeated_name"])
    assert isinstance(repeated, CoreMetadata)
    assert repeated.display_name == "demo"


def _installed_metadata() -> list[Path]:
    return sorted(Path(sysconfig.get_paths()["purelib"]).glob("*.dist-info/METADATA"))


def test_installed_metadata_reads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _installed_metadata()
    assert len(paths) >= 20
    plain = 0
    for path in paths:
        data = path.read_bytes()
        plain += _is_plain(data)
        shipped, through_email = _both_ways(data, monkeypatch)
        assert shipped == through_email, path
        assert isinstance(shipped, CoreMetadata), path
        assert [str(r) for r in shipped.requires_dist] == [
            str(r)
            for r in through_email.requires_dist  # type: ignore[union-attr]
        ], path
    # The direct reading is the common case, not a path nothing takes.
    assert plain >= len(paths) * 0.9


def test_a_requires_dist_line_is_parsed_once() -> None:
    text = _HEAD + "Requires-Dist: shared-line-for-this-test (>=1)\n"
    first = parse_metadata(text, what="a")
    second = parse_metadata(text.replace("demo", "other"), what="b")
    assert first.requires_dist[0] is second.requires_dist[0]
    assert str(first.requires_dist[0]) == "shared-line-for-this-test>=1"
