"""A private index that needs HTTP basic credentials, end to end: compile and sync get pages,
metadata, range reads and downloads with the credentials however they were given (URL userinfo,
a bare token, netrc through $NETRC), and no error shows the secret."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, compile_locks
from pinlock.errors import NetworkError
from tests.support.compiling import pinned_versions
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv

SECRET = "pa55-w0rd-x7"
TOKEN = "tok-9f8e7d6c5b4a"
MODES = ("userinfo", "token", "netrc")


@pytest.fixture
def private_files(wheel_factory: Callable[..., Path], sdist_factory: Callable[..., Path]) -> None:
    wheel_factory("alpha", "1.0", requires_dist=["beta", "gamma"])
    wheel_factory("beta", "1.0", padding=40_000)
    sdist_factory("gamma", "1.0")


def _private_index(
    mode: str,
    index_factory: Callable[..., IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    **options: object,
) -> tuple[IndexServer, str]:
    """A running index needing credentials, and the index URL an input gives for it."""
    index = index_factory(auth=TOKEN if mode == "token" else ("alice", SECRET), **options)
    host = index.url.removeprefix("http://")
    if mode == "userinfo":
        return index, f"http://alice:{SECRET}@{host}"
    if mode == "token":
        return index, f"http://{TOKEN}@{host}"
    netrc = tmp_path / "credentials.netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login alice\n  password {SECRET}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    return index, index.url


def _compile(tmp_path: Path, index_url: str) -> str:
    src = tmp_path / "main.in"
    src.write_text(f"--index-url {index_url}\nalpha\n")
    [result] = compile_locks(CompileRequest(inputs=(src,), cache_dir=tmp_path / "cache"))
    return result.text


@pytest.mark.usefixtures("private_files")
@pytest.mark.parametrize("metadata_files", [False, True], ids=["ranges", "metadata-files"])
@pytest.mark.parametrize("pages", ["html", "json"])
@pytest.mark.parametrize("mode", MODES)
def test_compile_uses_the_credentials_of_an_index_named_in_the_input(
    mode: str,
    pages: str,
    metadata_files: bool,
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, index_url = _private_index(
        mode,
        index_factory,
        tmp_path,
        monkeypatch,
        html=pages == "html",
        json=pages == "json",
        metadata_files=metadata_files,
    )
    text = _compile(tmp_path, index_url)
    assert pinned_versions(text) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}
    assert SECRET not in text and TOKEN not in text
    requests = index.requests
    assert requests and not index.refused
    wheel_metadata = [r for r in requests if r.path.endswith(".whl.metadata")]
    wheel_ranges = [r for r in requests if r.path.endswith(".whl") and r.range_header]
    # Metadata came the way the index allows: .metadata files, else range reads of the wheels.
    if metadata_files:
        assert (len(wheel_metadata), wheel_ranges) == (2, [])
    else:
        assert not wheel_metadata and wheel_ranges
    assert len(index.requests_for("gamma-1.0.tar.gz")) == 1  # read once, for its metadata


@pytest.mark.usefixtures("private_files")
@pytest.mark.parametrize("mode", MODES)
def test_sync_installs_from_the_private_index(
    mode: str,
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, index_url = _private_index(mode, index_factory, tmp_path, monkeypatch, json=False)
    lock = tmp_path / "main.txt"
    lock.write_text(_compile(tmp_path, index_url))
    python = make_venv(tmp_path / "venv")
    # A fresh machine: nothing in the store, so every file comes from the index.
    command = [
        *(sys.executable, "-m", "pinlock", "sync", "--python", str(python)),
        *("--cache-dir", str(tmp_path / "sync-cache"), str(lock)),
    ]
    if mode != "netrc":
        # The lock names the index with its credentials masked; the command line has them.
        command += ["--index-url", index_url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr
    assert freeze(python) == ["alpha==1.0", "beta==1.0", "gamma==1.0"]
    assert index.requests and not index.refused


@pytest.mark.usefixtures("private_files")
def test_missing_credentials_fail_with_the_url_masked(
    tmp_path: Path, index_factory: Callable[..., IndexServer]
) -> None:
    index = index_factory(auth=("alice", SECRET))
    with pytest.raises(NetworkError, match="HTTP 401") as caught:
        _compile(tmp_path, index.url)
    assert "no credentials were sent to 127.0.0.1" in str(caught.value)


@pytest.mark.usefixtures("private_files")
@pytest.mark.parametrize(
    ("userinfo", "shown"), [("alice:wrong-secret-1", "alice:****@"), ("wrong-secret-1", "****@")]
)
def test_refused_credentials_fail_without_showing_them(
    userinfo: str, shown: str, tmp_path: Path, index_factory: Callable[..., IndexServer]
) -> None:
    index = index_factory(auth=("alice", SECRET))
    url = index.url.replace("http://", f"http://{userinfo}@")
    with pytest.raises(NetworkError, match="HTTP 401") as caught:
        _compile(tmp_path, url)
    message = str(caught.value)
    assert "wrong-secret-1" not in message
    assert f"http://{shown}127.0.0.1" in message
    assert "were refused" in message


@pytest.mark.usefixtures("private_files")
@pytest.mark.parametrize("mode", ["userinfo", "token"])
def test_the_cache_keeps_no_credentials_and_a_kept_lock_still_renders(
    mode: str,
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Parsed pages and lock records are filed without the index's credentials; a second run
    # (its lock kept from the record) puts the configured URL back and writes the same lock.
    index, url = _private_index(mode, index_factory, tmp_path, monkeypatch)
    first = _compile(tmp_path, url)
    index.clear_log()
    assert _compile(tmp_path, url) == first
    assert not any(r.path.endswith("/alpha/") for r in index.requests)
    secret = (SECRET if mode == "userinfo" else TOKEN).encode()
    kept = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert kept and [path for path in kept if secret in path.read_bytes()] == []
    assert secret.decode() not in first
