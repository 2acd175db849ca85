"""Several indexes, one project name: dependency confusion stopped by default.

Two real indexes on 127.0.0.1: a "public" default index where someone uploaded ``corp-tools``
9.0, and a "private" extra index with the real ``corp-tools`` 1.0. By default (``first-index``)
a project comes only from the first index that has it, the extra indexes asked before the
default one, so the public upload cannot shadow the private package; ``unsafe-best-match``
merges every index as pip does. Locks say where a pin came from when it is not the default.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.lock.txt import read_lock
from tests.support.artifacts import make_wheel
from tests.support.compiling import compile_cli, pinned_versions, sha256_of
from tests.support.index_server import IndexServer

Factory = Callable[..., IndexServer]
PAGE = "/simple/corp-tools/"


@pytest.fixture
def public(tmp_path: Path, index_factory: Factory) -> IndexServer:
    folder = tmp_path / "public"
    folder.mkdir()
    make_wheel(folder, "corp-tools", "9.0", requires_dist=["evil"])
    make_wheel(folder, "evil", "1.0")
    make_wheel(folder, "shared", "2.0")
    return index_factory(folder)


@pytest.fixture
def private(tmp_path: Path, index_factory: Factory) -> IndexServer:
    folder = tmp_path / "private"
    folder.mkdir()
    make_wheel(folder, "corp-tools", "1.0", requires_dist=["shared"])
    return index_factory(folder)


def _compile(tmp_path: Path, *args: str, src: str = "corp-tools\n") -> tuple[int, str, str]:
    (tmp_path / "requirements.in").write_text(src)
    code, _out, err = compile_cli(tmp_path, *args, "requirements.in")
    lock = tmp_path / "requirements.txt"
    return code, (lock.read_text() if lock.exists() else ""), err


def test_a_public_upload_does_not_shadow_the_private_package(
    tmp_path: Path, public: IndexServer, private: IndexServer
) -> None:
    code, lock, err = _compile(tmp_path, "-i", public.url, "--extra-index-url", private.url)
    assert code == 0, err
    assert pinned_versions(lock) == {"corp-tools": "1.0", "shared": "2.0"}
    private_wheel = private.files_dir / "corp_tools-1.0-py3-none-any.whl"
    assert f"--hash={sha256_of(private_wheel)}" in lock
    # The private index had it: the public one was never asked for that name.
    assert not [r for r in public.requests if r.path == PAGE]
    # Where each pin came from, when not the default index; pip reads it as a comment.
    assert f"    # via -r requirements.in\n    # from {private.url}\n" in lock
    shared_block = lock.split("shared==2.0")[1]
    assert "# from" not in shared_block
    # Plain pip takes the lock as it is, and installs the private package from it.
    report = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"),
            *("--quiet", "--report", "-", "-r", str(tmp_path / "requirements.txt")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    installed = {
        item["metadata"]["name"]: item["download_info"]["url"]
        for item in json.loads(report.stdout)["install"]
    }
    assert installed["corp-tools"] == private.file_url(private_wheel.name)


def test_unsafe_best_match_merges_every_index_as_pip_does(
    tmp_path: Path, public: IndexServer, private: IndexServer
) -> None:
    code, lock, err = _compile(
        tmp_path,
        *("-i", public.url, "--extra-index-url", private.url),
        *("--index-strategy", "unsafe-best-match"),
    )
    assert code == 0, err
    assert pinned_versions(lock) == {"corp-tools": "9.0", "evil": "1.0"}
    # The header keeps the option: it changes what the lock pins.
    assert "--index-strategy unsafe-best-match" in lock


def test_extra_indexes_are_asked_in_the_order_given(
    tmp_path: Path, public: IndexServer, private: IndexServer, index_factory: Factory
) -> None:
    other_folder = tmp_path / "other"
    other_folder.mkdir()
    make_wheel(other_folder, "corp-tools", "5.0")
    other = index_factory(other_folder)
    code, lock, err = _compile(
        tmp_path,
        *("-i", public.url),
        *("--extra-index-url", private.url, "--extra-index-url", other.url),
    )
    assert code == 0, err
    assert pinned_versions(lock)["corp-tools"] == "1.0"
    assert not [r for r in other.requests if r.path == PAGE]


def test_the_strategy_can_live_in_pyproject(
    tmp_path: Path, public: IndexServer, private: IndexServer
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pinlock]\nindex-strategy = "unsafe-best-match"\n'
    )
    code, lock, err = _compile(tmp_path, "-i", public.url, "--extra-index-url", private.url)
    assert code == 0, err
    assert pinned_versions(lock)["corp-tools"] == "9.0"


def test_an_unknown_strategy_is_a_usage_error(tmp_path: Path, public: IndexServer) -> None:
    code, lock, err = _compile(tmp_path, "-i", public.url, "--index-strategy", "best")
    assert code == 2
    assert err.strip() == (
        "error: --index-strategy: best: expected 'first-index' or 'unsafe-best-match'"
    )
    assert lock == ""


def test_a_refusing_private_index_is_an_error_not_a_fallback(
    tmp_path: Path, public: IndexServer, index_factory: Factory
) -> None:
    locked = index_factory(tmp_path / "private", auth=("alice", "pw"))
    (tmp_path / "private").mkdir()
    make_wheel(tmp_path / "private", "corp-tools", "1.0")
    code, lock, err = _compile(tmp_path, "-i", public.url, "--extra-index-url", locked.url)
    assert code == 4
    assert "HTTP 401 Unauthorized: no credentials were sent to 127.0.0.1" in err
    assert not [r for r in public.requests if r.path == PAGE]
    assert lock == ""


def test_find_links_stay_merged_with_the_index(
    tmp_path: Path, public: IndexServer, private: IndexServer
) -> None:
    links = tmp_path / "links"
    links.mkdir()
    make_wheel(links, "corp-tools", "1.5", requires_dist=["shared"])
    code, lock, err = _compile(
        tmp_path, "-i", public.url, "--extra-index-url", private.url, "-f", str(links)
    )
    assert code == 0, err
    assert pinned_versions(lock)["corp-tools"] == "1.5"


def test_the_lock_names_its_index_masked_and_reads_it_back(
    tmp_path: Path, public: IndexServer, index_factory: Factory
) -> None:
    (tmp_path / "private").mkdir()
    make_wheel(tmp_path / "private", "corp-tools", "1.0", requires_dist=["shared"])
    locked = index_factory(tmp_path / "private", auth=("alice", "s3cret"))
    with_credentials = locked.url.replace("http://", "http://alice:s3cret@")
    masked = locked.url.replace("http://", "http://alice:****@")
    code, text, err = _compile(
        tmp_path,
        "-i",
        public.url,
        "--extra-index-url",
        with_credentials,
        src="corp-tools\n",
    )
    assert code == 0, err
    assert f"    # from {masked}\n" in text
    assert "s3cret" not in text
    lock = read_lock(tmp_path / "requirements.txt")
    by_name = {str(p.name): p for p in lock.packages}
    assert by_name["corp-tools"].index == masked
    assert by_name["corp-tools"].via == ("-r requirements.in",)
    assert by_name["shared"].index is None
    assert by_name["shared"].via == ("corp-tools",)
