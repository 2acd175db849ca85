"""Errors that say what happened (issue #9, case 9): a read-only target, a full disk under the
cache, an interpreter that does not answer, and errors as JSON with --json.

Read-only and full file systems are real ones: a read-only bind mount and a tiny tmpfs, made
in a private mount namespace (``unshare``) that only the pinlock under test sees."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pinlock.target import probe
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import (
    alive,
    descendants,
    file_tree,
    freeze,
    make_venv,
    pip_install,
    run_cli,
    sha256_hex,
)


@functools.cache
def _unshare() -> list[str] | None:
    """A command prefix running a program in a private mount namespace, or None."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (
        ["unshare", "--mount", "--propagation", "private"],
        ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
    ):
        probe_mount = [*prefix, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]
        if subprocess.run(probe_mount, capture_output=True, check=False).returncode == 0:
            return prefix
    return None


def run_with_mounts(script: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``pinlock sync ARGV`` after the shell ``script`` has set up its mounts."""
    prefix = _unshare()
    if prefix is None:
        pytest.skip("no private mount namespace (unshare) on this machine")
    command = [*prefix, "sh", "-c", f'set -e\n{script}\nexec "$@"', "sh"]
    command += [sys.executable, "-m", "pinlock", "sync", *argv]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def read_only(folder: Path) -> str:
    return f"mount --bind {folder} {folder}\nmount -o remount,ro,bind {folder} {folder}"


@pytest.fixture
def upgrade(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A venv with alpha 1.0, a lock wanting alpha 2.0, and the venv's site-packages."""
    files = tmp_path / "files"
    new = make_wheel(files, "alpha", "2.0")
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(make_wheel(tmp_path / "old", "alpha", "1.0")))
    lock = tmp_path / "lock.txt"
    lock.write_text(
        f"--find-links {files}\n--no-index\nalpha==2.0 --hash=sha256:{sha256_hex(new)}\n"
    )
    [site] = (tmp_path / "venv").glob("lib/python*/site-packages")
    return python, lock, site


def test_a_read_only_site_packages_is_refused_before_any_change(
    upgrade: tuple[Path, Path, Path],
) -> None:
    python, lock, site = upgrade
    before = file_tree(python)
    done = run_with_mounts(read_only(site), [str(lock), "--python", str(python)])
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(
        f"error: cannot change {python.parent.parent}: {site}: Read-only file system; "
        "nothing was changed\n"
    )
    assert "could NOT be fully restored" not in done.stderr
    assert file_tree(python) == before
    assert not list(python.parent.parent.glob(".pinlock-sync-*"))


def test_a_read_only_venv_can_be_checked_but_not_changed(
    upgrade: tuple[Path, Path, Path],
) -> None:
    python, lock, site = upgrade
    prefix = python.parent.parent
    before = file_tree(python)
    check = run_with_mounts(read_only(prefix), [str(lock), "--python", str(python), "--check"])
    assert (check.returncode, check.stderr) == (1, "")
    assert check.stdout.startswith("~ alpha 1.0 -> 2.0")
    done = run_with_mounts(read_only(prefix), [str(lock), "--python", str(python)])
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(
        f"error: cannot change {prefix}: {site}: Read-only file system; nothing was changed\n"
    )
    assert file_tree(python) == before


def test_a_full_disk_under_the_cache_is_named_and_not_retried(tmp_path: Path) -> None:
    files = tmp_path / "files"
    fat = make_wheel(files, "fat", "1.0", padding=400_000)
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    cache.mkdir()
    with IndexServer(files) as server:
        lock = tmp_path / "lock.txt"
        lock.write_text(f"--index-url {server.url}\nfat==1.0 --hash=sha256:{sha256_hex(fat)}\n")
        done = run_with_mounts(
            f"mount -t tmpfs -o size=128k tmpfs {cache}",
            [str(lock), "--python", str(python), "--cache-dir", str(cache), "--json"],
        )
        assert len(server.requests_for(fat.name)) == 1  # not retried as a network failure
    message = f"no space left on the device of {cache / 'files'} (writing {fat.name})"
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"error: {message}\n"
    error = json.loads(done.stdout)["error"]
    assert (error["type"], error["message"], error["exit_code"]) == ("StorageError", message, 1)
    assert freeze(python) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_an_interpreter_that_does_not_answer_is_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hanging = tmp_path / "python3"
    hanging.write_text("#!/bin/sh\nsleep 3600 &\nwait\n")
    hanging.chmod(0o755)
    monkeypatch.setattr(probe, "_PROBE_TIMEOUT", 0.5)
    before = set(descendants(os.getpid()))
    code, out, err = run_cli([os.devnull, "--python", str(hanging), "--json"], capsys)
    assert code == 2
    message = f"{hanging} did not answer within 0.5 s (an interpreter that hangs?); it was stopped"
    assert err == f"error: {message}\n"
    assert json.loads(out)["error"] == {
        "type": "EnvironmentProblem",
        "message": message,
        "exit_code": 2,
    }
    left = {pid: line for pid, line in descendants(os.getpid()).items() if pid not in before}
    assert {pid: line for pid, line in left.items() if alive(pid)} == {}


def test_every_error_is_a_json_object_with_json(
    upgrade: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    python, _, _ = upgrade
    code, out, err = run_cli([os.devnull, "--python", str(python), "--json"], capsys)
    assert code == 2
    error = json.loads(out)["error"]
    assert error["type"] == "EmptyLock"
    assert error["exit_code"] == 2
    assert err == f"error: {error['message']}\n"
