"""``pinlock compile --offline``: the cache alone answers (index pages, metadata, files), and
what it lacks is named; nothing is asked of any index."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, compile_locks
from pinlock.errors import OfflineMiss
from tests.support.compiling import compile_cli, pinned_versions
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("beta", "1.0")
    wheel_factory("gamma", "1.0")
    return index_factory()


def _compile(tmp_path: Path, index: IndexServer, *extra: str) -> tuple[int, str]:
    code, _out, err = compile_cli(tmp_path, "-i", index.url, *extra, "requirements.in")
    assert "Traceback" not in err
    return code, err


def test_offline_compile_answers_from_what_an_online_run_left(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n")
    assert _compile(tmp_path, index)[0] == 0
    online = (tmp_path / "requirements.txt").read_text()
    (tmp_path / "requirements.txt").unlink()
    index.clear_log()
    code, err = _compile(tmp_path, index, "--offline")
    assert code == 0, err
    assert (tmp_path / "requirements.txt").read_text() == online
    assert pinned_versions(online) == {"alpha": "1.0", "beta": "1.0"}
    assert index.requests == []
    # --offline is how this run was made, not what the lock needs: the header leaves it out.
    assert "--offline" not in online


def test_offline_names_the_page_it_has_not_seen(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n")
    assert _compile(tmp_path, index)[0] == 0
    lock = tmp_path / "requirements.txt"
    before = (lock.read_bytes(), lock.stat().st_mtime_ns)
    (tmp_path / "requirements.in").write_text("alpha\ngamma\n")
    index.clear_log()
    code, err = _compile(tmp_path, index, "--offline")
    assert code == 4
    assert err.strip() == (
        f"error: offline: the index page of gamma ({index.url}/gamma/) is not in the cache; "
        "run once without --offline to fetch it"
    )
    assert (lock.read_bytes(), lock.stat().st_mtime_ns) == before
    assert index.requests == []


def test_offline_names_the_file_whose_metadata_it_lacks(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n")
    assert _compile(tmp_path, index)[0] == 0
    shutil.rmtree(tmp_path / "cache" / "metadata")
    # The inputs changed (still met by the lock): telling needs the pins' metadata.
    (tmp_path / "requirements.in").write_text("alpha>=1\n")
    index.clear_log()
    code, err = _compile(tmp_path, index, "--offline")
    assert code == 4
    assert "error: offline: " in err
    assert f"{index.root_url}/files/" in err
    assert "is not in the cache" in err
    assert index.requests == []


def test_offline_knows_a_project_an_index_does_not_have(
    tmp_path: Path, index: IndexServer, index_factory: Callable[..., IndexServer]
) -> None:
    """A 404 is an answer: the page cache keeps it, so offline runs search the indexes alike."""
    (tmp_path / "empty").mkdir()
    other = index_factory(tmp_path / "empty")
    src = tmp_path / "requirements.in"
    src.write_text(f"--extra-index-url {other.url}\nalpha\n")
    request = CompileRequest(
        inputs=(src,), index_overrides={"index-url": index.url}, cache_dir=tmp_path / "cache"
    )
    [online] = compile_locks(request)
    assert any(r.path == "/simple/alpha/" for r in other.requests)
    other.clear_log()
    [offline] = compile_locks(
        CompileRequest(
            inputs=(src,),
            index_overrides={"index-url": index.url},
            cache_dir=tmp_path / "cache",
            offline=True,
        )
    )
    assert offline.text == online.text
    assert other.requests == []


def test_offline_request_fails_without_a_cache(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "requirements.in"
    src.write_text("alpha\n")
    request = CompileRequest(
        inputs=(src,),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        offline=True,
    )
    with pytest.raises(OfflineMiss) as caught:
        compile_locks(request)
    assert caught.value.url == f"{index.url}/alpha/"
    assert caught.value.exit_code == 4
    assert not (tmp_path / "requirements.txt").exists()
