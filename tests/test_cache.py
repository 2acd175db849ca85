from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import pinlock.cache as cache_module
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
    assert cache.path("b", digest) == tmp_path / "b" / digest
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


def test_threads_writing_one_entry_and_many_entries(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    def write(worker: int) -> None:
        for round_ in range(50):
            cache.put("b", "shared", b"s" * 50_000)
            cache.put("b", f"own-{worker}-{round_}", f"{worker}:{round_}".encode())

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("b", "shared") == b"s" * 50_000
    for worker in range(8):
        for round_ in range(50):
            assert cache.get("b", f"own-{worker}-{round_}") == f"{worker}:{round_}".encode()
    left = [p.name for p in (tmp_path / "b").rglob("*") if p.name.startswith(".tmp")]
    assert left == []


def test_a_folder_removed_during_the_run_is_made_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put("b", "k", b"one")
    shutil.rmtree(tmp_path / "b")
    cache.put("b", "k", b"two")
    assert cache.get("b", "k") == b"two"


def test_a_temporary_name_left_by_a_crashed_process_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path)
    folder = cache.put("b", "k", b"one").parent
    # The names the next writes would take, already there (a process of this id crashed).
    monkeypatch.setattr(cache_module, "_SERIAL", itertools.count(1000))
    for serial in range(1000, 1003):
        (folder / f".tmp-{os.getpid()}-{serial}").write_bytes(b"left over")
    assert cache.put("b", "k", b"two").read_bytes() == b"two"
    assert len([p for p in folder.iterdir() if p.name.startswith(".tmp")]) == 3


def test_a_failed_write_leaves_neither_entry_nor_temporary_file(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    empty = cache.put("b", "empty", b"")
    assert empty.read_bytes() == b""
    with pytest.raises(TypeError):
        cache.put("b", "other", "not bytes")  # type: ignore[arg-type]
    assert cache.get("b", "other") is None
    assert list(cache.path("b", "other").parent.iterdir()) == [empty]


def test_what_the_earlier_layout_kept_is_removed_once(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    digest = hashlib.sha256(b"x").hexdigest()
    kept = cache.put("metadata", digest, b"flat entry")
    stored = tmp_path / "files" / digest / "a-1.0-py3-none-any.whl"  # the artifact store
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"wheel")
    old = [
        tmp_path / "metadata" / digest[:2] / digest[2:],
        tmp_path / "unpacked" / digest[:2] / digest[2:] / "pkg" / "__init__.py",
        tmp_path / "page-bodies" / digest[:2] / digest[2:],
    ]
    for path in old:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"old")
    cache.remove_old_layout()
    assert not any(path.exists() for path in old)
    assert not (tmp_path / "page-bodies").exists()
    assert kept.read_bytes() == b"flat entry"
    assert stored.read_bytes() == b"wheel"
    # Once: a shard folder made later (by an older pinlock sharing the cache) stays.
    old[0].parent.mkdir()
    cache.remove_old_layout()
    assert old[0].parent.is_dir()
