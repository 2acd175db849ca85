"""One run per environment at a time (issue #9, case 3): the lock file, and two real syncs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pinlock.errors import EnvironmentBusy
from pinlock.sync.envlock import LOCK_NAME, acquire
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, holds, make_venv, run_cli, sha256_hex, spawn_sync, wait_until


@pytest.fixture(autouse=True)
def _own_cache(_isolate_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A cache of this test's own: a sync that finds its files in the session's cache
    # (another test's) is done before a second run can see it hold the environment.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own-cache"))


def test_a_second_run_waits_and_gives_up_naming_the_first(tmp_path: Path) -> None:
    first = acquire(tmp_path, exclusive=True)
    assert first is not None
    told: list[str] = []
    with pytest.raises(EnvironmentBusy) as caught:
        acquire(tmp_path, exclusive=True, timeout=0.2, on_wait=told.append)
    lock_file = tmp_path / LOCK_NAME
    assert told == [
        f"waiting for another pinlock run (pid {os.getpid()}) to finish with {tmp_path} "
        f"(lock file {lock_file})"
    ]
    assert str(caught.value) == (
        f"{tmp_path} is in use by another pinlock run (pid {os.getpid()}): gave up after "
        f"waiting 0.2 s (--lock-timeout) for {lock_file}"
    )
    # Readers share; a writer waits for them.
    with pytest.raises(EnvironmentBusy):
        acquire(tmp_path, exclusive=False, timeout=0)
    first.release()
    readers = [acquire(tmp_path, exclusive=False, timeout=0) for _ in range(2)]
    assert all(reader is not None for reader in readers)
    with pytest.raises(EnvironmentBusy):
        acquire(tmp_path, exclusive=True, timeout=0)
    for reader in readers:
        assert reader is not None
        reader.release()
    again = acquire(tmp_path, exclusive=True, timeout=0)
    assert again is not None
    again.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from pinlock.sync.envlock import acquire\n"
            f"acquire(Path({str(tmp_path)!r}), exclusive=True); print('held', flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(EnvironmentBusy, match=f"pid {holder.pid}"):
        acquire(tmp_path, exclusive=True, timeout=0.05)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    lock = acquire(tmp_path, exclusive=True, timeout=0)
    assert lock is not None
    lock.release()


def test_a_lock_kept_by_what_a_killed_run_started_says_so(tmp_path: Path) -> None:
    """After a run is killed, a program it started (pip) may still hold the lock: the message
    names the run's pid and says that it has ended."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, time; from pathlib import Path; from pinlock.sync.envlock import acquire\n"
            f"acquire(Path({str(tmp_path)!r}), exclusive=True)\n"
            "child = os.fork()\n"
            "if child == 0:\n    time.sleep(60)\n    os._exit(0)\n"
            "print(child, flush=True)\nos._exit(0)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    child = int(holder.stdout.readline())
    holder.wait()
    holder.stdout.close()
    try:
        with pytest.raises(EnvironmentBusy) as caught:
            acquire(tmp_path, exclusive=True, timeout=0.05)
        assert f"(pid {holder.pid}, which has ended: a program it started, such as pip," in str(
            caught.value
        )
    finally:
        os.kill(child, signal.SIGKILL)


@pytest.fixture
def two_locks(tmp_path: Path) -> tuple[IndexServer, Path, Path]:
    files = tmp_path / "files"
    first = [make_wheel(files, f"pkg{i}", "1.0", padding=300_000) for i in range(4)]
    first.append(make_wheel(files, "alpha", "1.0"))
    second = [make_wheel(files, "alpha", "2.0"), make_wheel(files, "beta", "1.0")]
    server = IndexServer(files, throttle=0.01).start()
    locks = []
    for name, wheels in (("first.txt", first), ("second.txt", second)):
        lines = [f"--index-url {server.url}"]
        for wheel in wheels:
            project, version = wheel.name.split("-")[:2]
            lines.append(f"{project}=={version} --hash=sha256:{sha256_hex(wheel)}")
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        locks.append(tmp_path / name)
    return server, locks[0], locks[1]


@pytest.mark.slow
def test_two_syncs_of_one_venv_run_one_after_the_other(
    two_locks: tuple[IndexServer, Path, Path], tmp_path: Path
) -> None:
    server, first_lock, second_lock = two_locks
    python = make_venv(tmp_path / "venv")
    prefix = tmp_path / "venv"
    cache = str(tmp_path / "cache")
    try:
        first = spawn_sync(
            tmp_path / "first", str(first_lock), "--python", str(python), "--cache-dir", cache
        )
        wait_until(lambda: holds(prefix, first), "the first sync holds the environment")
        second = spawn_sync(
            tmp_path / "second", str(second_lock), "--python", str(python), "--cache-dir", cache
        )
        assert first.wait(120) == 0, (tmp_path / "first.err").read_text()
        assert second.wait(120) == 0, (tmp_path / "second.err").read_text()
    finally:
        server.stop()
    waited = (tmp_path / "second.err").read_text()
    assert waited.startswith(
        f"waiting for another pinlock run (pid {first.pid}) to finish with {prefix} "
    )
    # The first finished whole before the second began: the second's plan saw its result.
    assert "- pkg0 1.0" in (tmp_path / "second.out").read_text()
    assert freeze(python) == ["alpha==2.0", "beta==1.0"]
    assert not list(prefix.glob(".pinlock-sync-*"))


@pytest.mark.slow
def test_check_never_reads_a_half_changed_environment(
    two_locks: tuple[IndexServer, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, first_lock, _ = two_locks
    server.throttle = 0.1  # the first sync still fetches when the check comes
    python = make_venv(tmp_path / "venv")
    prefix = tmp_path / "venv"
    try:
        first = spawn_sync(tmp_path / "first", str(first_lock), "--python", str(python))
        wait_until(lambda: holds(prefix, first), "the sync holds the environment")
        code, out, err = run_cli(
            [str(first_lock), "--python", str(python), "--check", "--lock-timeout", "0.3"], capsys
        )
        assert (code, out) == (1, "")
        assert err.endswith(
            f"error: {prefix} is in use by another pinlock run (pid {first.pid}): gave up after "
            f"waiting 0.3 s (--lock-timeout) for {prefix / LOCK_NAME}\n"
        )
        code, out, err = run_cli([str(first_lock), "--python", str(python), "--check"], capsys)
        assert first.wait(120) == 0
    finally:
        server.stop()
    assert err.startswith("waiting for another pinlock run")
    assert (code, out) == (0, f"nothing to do: {prefix} matches the lock\n")
