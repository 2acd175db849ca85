"""The run's credential store: URL userinfo by host, else netrc found and read as requests
(so pip) reads it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pinlock.index.credentials import Credentials, netrc_path


def _netrc(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_netrc_location_follows_requests(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert netrc_path({"HOME": str(home)}) is None
    underscore = _netrc(home / "_netrc", "machine a login u password p\n")
    assert netrc_path({"HOME": str(home)}) == underscore
    dotted = _netrc(home / ".netrc", "machine a login u password p\n")
    assert netrc_path({"HOME": str(home)}) == dotted
    named = _netrc(tmp_path / "named", "machine a login u password p\n")
    assert netrc_path({"HOME": str(home), "NETRC": str(named)}) == named
    # $NETRC replaces the search: naming a missing file means no netrc at all.
    assert netrc_path({"HOME": str(home), "NETRC": str(tmp_path / "missing")}) is None


def test_netrc_entries_by_host_with_account_and_default(tmp_path: Path) -> None:
    path = _netrc(
        tmp_path / "n",
        "machine index.example login carol password hunter2\n"
        "machine acct.example account svc password tok\n"
        "default login anon password anon-pw\n",
    )
    credentials = Credentials({"NETRC": str(path)})
    assert credentials.lookup("https://index.example:8443/simple/") == ("carol", "hunter2")
    assert credentials.lookup("https://acct.example/simple/") == ("svc", "tok")
    assert credentials.lookup("https://other.example/") == ("anon", "anon-pw")


def test_a_netrc_pip_cannot_read_gives_nothing(tmp_path: Path) -> None:
    path = _netrc(tmp_path / "n", "machine\n")
    assert Credentials({"NETRC": str(path)}).lookup("https://index.example/") is None


def test_url_userinfo_beats_netrc_for_its_host_and_port(tmp_path: Path) -> None:
    path = _netrc(tmp_path / "n", "machine index.example login netrc-user password netrc-pw\n")
    credentials = Credentials({"NETRC": str(path)})
    plain = credentials.learn("https://alice:s%40cret@index.example:8443/simple")
    assert plain == "https://index.example:8443/simple"
    assert credentials.lookup("https://index.example:8443/files/x.whl") == ("alice", "s@cret")
    assert credentials.lookup("https://index.example/files/x.whl") == ("netrc-user", "netrc-pw")
    credentials.learn("https://TOKEN@token.example/simple")
    assert credentials.lookup("https://token.example/x") == ("TOKEN", "")
    expected = "Basic " + base64.b64encode(b"TOKEN:").decode()
    assert credentials.authorization("https://token.example/x") == expected


@pytest.mark.parametrize("masked", ["alice:****", "****"])
def test_masked_userinfo_is_no_credential(masked: str, tmp_path: Path) -> None:
    path = _netrc(tmp_path / "n", "machine index.example login alice password real\n")
    credentials = Credentials({"NETRC": str(path)})
    assert credentials.learn(f"https://{masked}@index.example/simple") == (
        "https://index.example/simple"
    )
    assert credentials.lookup("https://index.example/simple") == ("alice", "real")
