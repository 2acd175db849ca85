"""pinlock.urls: file URLs and paths, and URLs as they may be shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinlock.urls import (
    file_url_to_path,
    is_file_url,
    local_path,
    path_to_file_url,
    redact_text,
    redact_url,
    strip_userinfo,
    url_filename,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:secret@host/simple", "https://user:****@host/simple"),
        ("https://token@host:8443/simple?x=1", "https://****@host:8443/simple?x=1"),
        ("https://host/simple", "https://host/simple"),
        ("https://host/p@th", "https://host/p@th"),
        ("https://a:b@c@host", "https://a:****@host"),
        ("https://user:@host/", "https://user:****@host/"),
        ("/opt/wheels", "/opt/wheels"),
        ("file:///opt/wheels", "file:///opt/wheels"),
    ],
)
def test_redact_url(url: str, masked: str) -> None:
    assert redact_url(url) == masked


def test_redact_text_masks_every_url_and_leaves_the_rest() -> None:
    text = (
        "pip install --index-url https://alice:s3cret@private/simple "
        "--extra-index-url https://ghp_TOKEN@other/simple x==1 # mail me@example.org"
    )
    shown = redact_text(text)
    assert "s3cret" not in shown
    assert "ghp_TOKEN" not in shown
    assert "https://alice:****@private/simple" in shown
    assert "https://****@other/simple" in shown
    assert shown.endswith("me@example.org")


def test_strip_userinfo_decodes_once() -> None:
    assert strip_userinfo("https://al%40ce:p%3Ass@host:81/s/") == (
        "https://host:81/s/",
        "al@ce",
        "p:ss",
    )
    assert strip_userinfo("https://TOKEN@host/") == ("https://host/", "TOKEN", None)
    assert strip_userinfo("https://host/") == ("https://host/", None, None)


def test_file_urls_round_trip_and_decode_once(tmp_path: Path) -> None:
    folder = tmp_path / "a %2B b+c"
    url = path_to_file_url(folder)
    assert is_file_url(url)
    assert is_file_url("FILE:///x")
    assert not is_file_url("https://host/file:")
    assert file_url_to_path(url) == folder
    assert file_url_to_path("file://localhost/opt/x") == Path("/opt/x")


def test_file_url_of_another_host_is_refused_off_windows() -> None:
    with pytest.raises(ValueError, match="another machine"):
        file_url_to_path("file://server/share/x", windows=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file:///C:/Users/me/wheels", "C:/Users/me/wheels"),
        ("file:///c|/x", "c:/x"),
        ("file:/D:/y%20z", "D:/y z"),
        ("file://server/share/w", "//server/share/w"),
    ],
)
def test_windows_drive_letters_and_shares(url: str, expected: str) -> None:
    assert file_url_to_path(url, windows=True).as_posix() == expected


def test_local_path_tells_local_from_remote(tmp_path: Path) -> None:
    assert local_path("https://host/simple") is None
    assert local_path("git+https://host/repo") is None
    assert local_path(tmp_path.as_uri()) == tmp_path
    assert local_path("relative/dir") == Path.cwd() / "relative/dir"
    assert local_path("~/x") == Path.home() / "x"


def test_url_filename() -> None:
    assert url_filename("https://h/p/a%2Bb-1.0.tar.gz#sha256=00") == "a+b-1.0.tar.gz"
    assert url_filename("https://h/p/x-1.0-py3-none-any.whl?sig=1") == "x-1.0-py3-none-any.whl"
