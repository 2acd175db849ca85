"""Hashes as strict as pip's ``--require-hashes``, on every path a file can take (issue #9, 2)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinlock.errors import ReqFileError
from pinlock.lock.txt import read_lock
from pinlock.sync import install as install_module
from pinlock.sync import piprun
from pinlock.sync.locks import check_hashes
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, run_cli, sha256_hex


def digest(path: Path, algorithm: str) -> str:
    return f"{algorithm}:{hashlib.new(algorithm, path.read_bytes()).hexdigest()}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[IndexServer, Path]]:
    files = tmp_path / "files"
    for name in ("alpha", "beta"):
        make_wheel(files, name, "1.0")
    with IndexServer(files) as server:
        yield server, files


def wheel_of(files: Path, name: str) -> Path:
    return files / f"{name}-1.0-py3-none-any.whl"


def test_an_unhashed_line_among_hashed_ones_is_refused_with_its_place(
    served: tuple[IndexServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, files = served
    lock = tmp_path / "lock.txt"
    lock.write_text(
        f"--index-url {server.url}\n"
        f"alpha==1.0 --hash=sha256:{sha256_hex(wheel_of(files, 'alpha'))}\n"
        "beta==1.0\n"
    )
    python = make_venv(tmp_path / "venv")
    for extra in ([], ["--check"]):
        code, out, err = run_cli([str(lock), "--python", str(python), *extra], capsys)
        assert (code, out) == (2, "")
        assert err.startswith(f"error: {lock}:3: beta has no --hash, but {lock}:2 has one")
        assert "--require-hashes" in err
    assert freeze(python) == []
    assert server.requests == []


def test_editable_lines_need_no_hash_and_an_unhashed_lock_is_no_hashed_one(
    tmp_path: Path,
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\n')
    lock = tmp_path / "lock.txt"
    lock.write_text(f"-e {project}\nalpha==1.0 --hash=sha256:{'a' * 64}\n")
    check_hashes([read_lock(lock)])
    plain = tmp_path / "plain.txt"
    plain.write_text("alpha==1.0\nbeta==1.0\n")
    check_hashes([read_lock(plain)])
    # Across locks merged into one sync, as pip -r a -r b: the hashed one makes both strict.
    hashed = tmp_path / "hashed.txt"
    hashed.write_text(f"gamma==1.0 --hash=sha256:{'b' * 64}\n")
    with pytest.raises(ReqFileError) as caught:
        check_hashes([read_lock(plain), read_lock(hashed)])
    assert (caught.value.path, caught.value.line) == (str(plain), 1)
    assert "and 1 more such lines" in str(caught.value)


def test_a_marker_excluded_line_must_be_hashed_too(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(f"alpha==1.0 --hash=sha256:{'a' * 64}\nbeta==1.0 ; python_version < '3'\n")
    with pytest.raises(ReqFileError, match="beta has no --hash"):
        check_hashes([read_lock(lock)])


def test_a_wrong_sha512_is_refused_with_the_file_in_the_cache(
    served: tuple[IndexServer, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, files = served
    cache = tmp_path / "cache"
    alpha = wheel_of(files, "alpha")
    good = tmp_path / "good.txt"
    good.write_text(f"--index-url {server.url}\nalpha==1.0 --hash={digest(alpha, 'sha512')}\n")
    first = make_venv(tmp_path / "first")
    code, _, err = run_cli([str(good), "--python", str(first), "--cache-dir", str(cache)], capsys)
    assert code == 0, err
    downloads = len(server.requests_for(alpha.name))
    assert downloads == 1

    # The cache holds the file now; a lock with a wrong sha512 (and no sha256) must not pass.
    bad = tmp_path / "bad.txt"
    bad.write_text(f"--index-url {server.url}\nalpha==1.0 --hash=sha512:{'ab' * 64}\n")
    second = make_venv(tmp_path / "second")
    code, _, err = run_cli([str(bad), "--python", str(second), "--cache-dir", str(cache)], capsys)
    assert code == 1
    assert err.startswith("error: hash mismatch for ")
    assert f"expected sha512:{'ab' * 64}" in err
    assert freeze(second) == []
    downloads = len(server.requests_for(alpha.name))  # it was tried again, and refused

    # The right sha512 (or sha384) takes the file from the cache, checked, without a download.
    for algorithm in ("sha512", "sha384"):
        right = tmp_path / f"{algorithm}.txt"
        pin = f"alpha==1.0 --hash={digest(alpha, algorithm)}"
        right.write_text(f"--index-url {server.url}\n{pin}\n")
        venv = make_venv(tmp_path / algorithm)
        code, _, err = run_cli(
            [str(right), "--python", str(venv), "--cache-dir", str(cache)], capsys
        )
        assert code == 0, err
        assert freeze(venv) == ["alpha==1.0"]
    assert len(server.requests_for(alpha.name)) == downloads


def test_a_local_file_url_is_checked_in_the_locks_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = make_wheel(tmp_path / "files", "alpha", "1.0")
    python = make_venv(tmp_path / "venv")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"alpha @ {wheel.as_uri()} --hash=sha512:{'cd' * 64}\n")
    code, _, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert code == 1
    assert "expected sha512:" in err and "got sha512:" in err
    lock.write_text(f"alpha @ {wheel.as_uri()} --hash={digest(wheel, 'sha512')}\n")
    code, _, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert code == 0, err
    assert freeze(python) == ["alpha==1.0"]


def test_pip_checks_the_locks_own_digests_again(
    served: tuple[IndexServer, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, files = served
    alpha = wheel_of(files, "alpha")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"--index-url {server.url}\nalpha==1.0 --hash={digest(alpha, 'sha384')}\n")
    seen: list[str] = []
    real_run_pip = piprun.run_pip

    def spy(args: list[str], **kwargs: object) -> str:
        if "--requirement" in args:
            seen.append(Path(args[args.index("--requirement") + 1]).read_text())
        return real_run_pip(args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(install_module, "run_pip", spy)
    python = make_venv(tmp_path / "venv")
    # pinlock's own installer installs the file verified in these digests, without pip.
    code, _, err = run_cli([str(lock), "--python", str(python), "--installer", "pip"], capsys)
    assert code == 0, err
    assert seen == [f"alpha==1.0 --hash={digest(alpha, 'sha384')}\n"]
