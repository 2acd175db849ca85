"""The artifact store: one copy of each file per machine, checked whenever it is taken out;
compile and sync share it, so a file is downloaded once."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from pinlock.cache import Cache
from pinlock.errors import HashMismatch
from pinlock.store import ArtifactStore
from tests.support.compiling import compile_text, pinned_versions
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv

URL = "https://files.example/pkg-1.0.tar.gz"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """A stand-in for ``HttpSession.download`` that counts what it is asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def download(self, url: str, dest: Path, expected: Sequence[str]) -> str:
        with self._lock:
            self.calls.append(url)
        dest.write_bytes(self.data)
        digest = f"sha256:{_sha256(self.data)}"
        wanted = [e for e in expected if e.startswith("sha256:")]
        if wanted and digest not in wanted:
            raise HashMismatch(url, expected, digest)
        return digest


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(Cache(tmp_path / "cache"))


def test_files_live_under_their_sha256_and_name(store: ArtifactStore, tmp_path: Path) -> None:
    server = Server(b"payload")
    path, digest = store.fetch(URL, "pkg-1.0.tar.gz", server.download)
    assert digest == f"sha256:{_sha256(b'payload')}"
    assert path == tmp_path / "cache" / "files" / _sha256(b"payload") / "pkg-1.0.tar.gz"
    assert path.read_bytes() == b"payload"
    assert store.lookup(_sha256(b"payload"), "pkg-1.0.tar.gz") == path
    assert store.lookup(_sha256(b"payload"), "other-1.0.tar.gz") is None


def test_a_file_is_downloaded_once_by_digest_or_by_url(store: ArtifactStore) -> None:
    server = Server(b"payload")
    expected = [f"sha256:{_sha256(b'payload')}"]
    store.fetch(URL, "pkg-1.0.tar.gz", server.download)
    # Known by the digest a lock gives, from another URL...
    mirror = "https://mirror.example/pkg-1.0.tar.gz"
    store.fetch(mirror, "pkg-1.0.tar.gz", server.download, expected=expected)
    # ...and by the URL alone when no digest is given (a later run, a new store object).
    again = ArtifactStore(store.cache)
    again.fetch(URL, "pkg-1.0.tar.gz", server.download)
    assert server.calls == [URL]


def test_a_damaged_entry_is_fetched_again_not_used(store: ArtifactStore) -> None:
    server = Server(b"payload")
    path, digest = store.fetch(URL, "pkg-1.0.tar.gz", server.download)
    path.write_bytes(b"tampered")
    assert store.lookup(_sha256(b"payload"), "pkg-1.0.tar.gz") is None
    assert not path.exists()
    again, again_digest = store.fetch(URL, "pkg-1.0.tar.gz", server.download, expected=[digest])
    assert (again.read_bytes(), again_digest) == (b"payload", digest)
    assert len(server.calls) == 2


def test_a_failed_download_leaves_nothing_behind(store: ArtifactStore) -> None:
    server = Server(b"not what was wanted")
    with pytest.raises(HashMismatch):
        store.fetch(URL, "pkg-1.0.tar.gz", server.download, expected=["sha256:" + "0" * 64])
    assert [p.name for p in store.root.iterdir()] == []

    def interrupted(url: str, dest: Path, expected: Sequence[str]) -> str:
        dest.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.fetch(URL, "pkg-1.0.tar.gz", interrupted)
    assert [p.name for p in store.root.iterdir()] == []


def test_other_digests_an_index_gives_are_checked_on_the_way_out(store: ArtifactStore) -> None:
    server = Server(b"payload")
    store.fetch(URL, "pkg-1.0.tar.gz", server.download)
    sha512 = hashlib.sha512(b"payload").hexdigest()
    store.fetch(URL, "pkg-1.0.tar.gz", server.download, expected=[f"sha512:{sha512}"])
    assert len(server.calls) == 1
    # The index now states another file under that URL: the stored one is not it.
    server.data = b"payload, rebuilt"
    sha512 = hashlib.sha512(server.data).hexdigest()
    path, _ = store.fetch(URL, "pkg-1.0.tar.gz", server.download, expected=[f"sha512:{sha512}"])
    assert path.read_bytes() == b"payload, rebuilt"
    assert len(server.calls) == 2


def test_threads_asking_for_one_file_download_it_once(store: ArtifactStore) -> None:
    server = Server(b"payload" * 10_000)
    threads = [
        threading.Thread(target=store.fetch, args=(URL, "pkg-1.0.tar.gz", server.download))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.calls == [URL]


def test_named_entries_point_at_checked_files(store: ArtifactStore, tmp_path: Path) -> None:
    built = tmp_path / "pkg-1.0-py3-none-any.whl"
    built.write_bytes(b"a wheel")
    path, digest = store.add_file(built)
    store.remember("built:sdist-digest-cp312", digest, built.name)
    assert store.recall("built:sdist-digest-cp312") == (path, digest)
    assert store.recall("built:another") is None
    path.write_bytes(b"damaged")
    assert store.recall("built:sdist-digest-cp312") is None


def _full_downloads(index: IndexServer, filename: str) -> int:
    return sum(1 for r in index.requests_for(filename) if r.range_header is None)


def test_compile_and_sync_download_a_file_without_index_digest_once(
    tmp_path: Path,
    wheel_factory: Callable[..., Path],
    sdist_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
) -> None:
    wheel = wheel_factory("alpha", "1.0", requires_dist=["gamma"], padding=80_000)
    sdist = sdist_factory("gamma", "1.0")
    index = index_factory(digests=False)
    cache = tmp_path / "cache"
    [result] = compile_text(tmp_path, "alpha\n", index_url=index.url)
    assert pinned_versions(result.text) == {"alpha": "1.0", "gamma": "1.0"}
    # The sdist is read for its metadata and its digest from one download; the wheel's
    # metadata comes by range reads, its digest from one download.
    assert _full_downloads(index, sdist.name) == 1
    assert _full_downloads(index, wheel.name) == 1

    # A later compile finds both files in the store, by their URLs.
    compile_text(tmp_path, "alpha\n", index_url=index.url, upgrade=True)
    assert _full_downloads(index, sdist.name) == 1
    assert _full_downloads(index, wheel.name) == 1

    # sync takes them from the store by the lock's digests, and checks them as it does.
    stored = ArtifactStore(Cache(cache)).lookup(_sha256(sdist.read_bytes()), sdist.name)
    assert stored is not None
    ArtifactStore(Cache(cache)).path(_sha256(wheel.read_bytes()), wheel.name).write_bytes(b"bad")
    python = make_venv(tmp_path / "venv")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pinlock", "sync", "--python", str(python)),
            *("--cache-dir", str(cache), str(result.output)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert freeze(python) == ["alpha==1.0", "gamma==1.0"]
    assert _full_downloads(index, sdist.name) == 1
    # The damaged wheel was fetched again, not installed.
    assert _full_downloads(index, wheel.name) == 2
