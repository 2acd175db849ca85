from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from pinlock.cache import Cache


def test_round_trip_and_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.get("metadata", "https://x/a-1.0-py3-none-any.whl") is None
    written = cache.put("metadata", "https://x/a-1.0-py3-none-any.whl", b"Name: a\n")
    assert written.read_bytes() == b"Name: a\n"
    assert cache.get("metadata", "https://x/a-1.0-py3-none-any.whl") == b"Name: a\n"
    assert cache.get("other-bucket", "https://x/a-1.0-py3-none-any.whl") is None


def test_keys_become_safe_names_and_digests_are_kept(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    path = cache.path("b", "../../etc/passwd")
    assert path.is_relative_to(tmp_path / "b")
    assert ".." not in path.relative_to(tmp_path).parts
    digest = hashlib.sha256(b"x").hexdigest()
    assert cache.path("b", digest) == tmp_path / "b" / digest[:2] / digest[2:]
    with pytest.raises(ValueError, match="bucket"):
        cache.path("../up", "k")


def test_put_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("b", "k", b"one")
    path = cache.put("b", "k", b"two")
    assert cache.get("b", "k") == b"two"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_default_root_is_the_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Cache().root == tmp_path / "pinlock"


def test_two_processes_writing_one_entry(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from pinlock.cache import Cache\n"
        "c = Cache(Path(sys.argv[1]))\n"
        "for _ in range(200): c.put('b', 'shared', b'x' * 100000)\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], env={"PYTHONPATH": src, "PATH": ""}
        )
        for _ in range(2)
    ]
    assert [proc.wait() for proc in procs] == [0, 0]
    cache = Cache(tmp_path)
    assert cache.get("b", "shared") == b"x" * 100000
    assert len(list(cache.path("b", "shared").parent.iterdir())) == 1
