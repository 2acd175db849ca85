"""After SIGKILL, the next sync finds what was left and repairs it (issue #9, cases 5 and 8):
work folders in the venv, staging folders in the cache, half-installed distributions, a venv
whose creation was cut short."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pinlock.cache import Cache
from pinlock.sync.environment import read_installed
from pinlock.sync.recovery import clean_store, find_broken
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import (
    alive,
    descendants,
    freeze,
    make_venv,
    pip_install,
    run_cli,
    sha256_hex,
    spawn_sync,
    wait_until,
)

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def site_packages(python: Path) -> Path:
    [site] = python.parent.parent.glob("lib/python*/site-packages")
    return site


def unowned(python: Path) -> set[str]:
    """Files of the venv no installed distribution's RECORD names (byte code aside)."""
    prefix = python.parent.parent
    owned: set[Path] = set()
    for dist in read_installed((site_packages(python),)):
        with (dist.info_dir / "RECORD").open(newline="") as handle:
            owned.update(
                Path(os.path.normpath(dist.site_dir / row[0])) for row in csv.reader(handle) if row
            )
    found: set[str] = set()
    for folder, dirs, names in os.walk(prefix):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            path = Path(folder) / name
            if path not in owned:
                found.add(str(path.relative_to(prefix)))
    return found


@dataclass
class Scene:
    python: Path
    lock: Path
    server: IndexServer
    wanted: list[str]
    unowned_before: set[str]


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    files = tmp_path / "files"
    many = {f"big/part{i // 100}/m{i}.py": f"X = {i}\n".encode() for i in range(3000)}
    wheels = [make_wheel(files, f"old{i}", "2.0") for i in range(6)]
    wheels += [make_wheel(files, "big", "1.0", files=many)]
    wheels += [make_wheel(files, "fat", "1.0", padding=1_500_000)]
    python = make_venv(tmp_path / "venv")
    pip_install(python, *(str(make_wheel(tmp_path / "old", f"old{i}", "1.0")) for i in range(6)))
    with IndexServer(files) as server:
        lines = [f"--index-url {server.url}"]
        for wheel in wheels:
            name, version = wheel.name.split("-")[:2]
            lines.append(f"{name}=={version} --hash=sha256:{sha256_hex(wheel)}")
        lock = tmp_path / "lock.txt"
        lock.write_text("\n".join(lines) + "\n")
        wanted = sorted(f"{w.name.split('-')[0]}=={w.name.split('-')[1]}" for w in wheels)
        yield Scene(python, lock, server, wanted, unowned(python))


def assert_synced(scene: Scene) -> None:
    prefix = scene.python.parent.parent
    assert freeze(scene.python) == scene.wanted
    assert find_broken((site_packages(scene.python),), deep=True) == []
    assert unowned(scene.python) == scene.unowned_before | {".pinlock.lock"}
    assert not list(prefix.glob(".pinlock-sync-*"))


@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("victims", ["pinlock", "pinlock-and-pip"])
def test_sigkill_while_pip_installs_then_sync_again(
    victims: str, scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = scene.python.parent.parent
    cache = str(tmp_path / "cache")
    process = spawn_sync(
        tmp_path / "killed", str(scene.lock), "--python", str(scene.python), "--cache-dir", cache
    )
    wait_until((site_packages(scene.python) / "big").exists, "pip installs")
    pips = descendants(process.pid)
    # A power cut takes pip with pinlock; a plain SIGKILL of pinlock leaves pip running on.
    for pid in [process.pid, *pips] if victims == "pinlock-and-pip" else [process.pid]:
        os.kill(pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    [left] = prefix.glob(".pinlock-sync-*")

    code, _out, err = run_cli(
        [str(scene.lock), "--python", str(scene.python), "--cache-dir", cache], capsys
    )
    assert code == 0, err
    assert f"repaired: undid the changes of a sync that was killed ({left.name})" in err
    assert_synced(scene)


@needs_proc
@pytest.mark.slow
def test_sigkill_while_fetching_leaves_staging_the_next_sync_removes(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    scene.server.throttle = 0.05
    process = spawn_sync(
        tmp_path / "killed",
        str(scene.lock),
        "--python",
        str(scene.python),
        "--cache-dir",
        str(cache),
    )
    wait_until(lambda: bool(list((cache / "files").glob(".staging-*/*"))), "a download runs")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    left = list((cache / "files").glob(f".staging-{process.pid}-*"))
    assert left
    old = time.time() - 3600  # a dead pid's folder is removed once it is old too
    for staging in left:
        os.utime(staging, (old, old))
    scene.server.throttle = 0
    code, _, err = run_cli(
        [str(scene.lock), "--python", str(scene.python), "--cache-dir", str(cache)], capsys
    )
    assert code == 0, err
    assert not list((cache / "files").glob(".staging-*"))
    assert_synced(scene)


def test_a_dist_info_without_metadata_is_removed_and_installed_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tmp_path / "files"
    wheels = [make_wheel(files, "alpha", "1.0"), make_wheel(files, "beta", "1.0")]
    python = make_venv(tmp_path / "venv")
    pip_install(python, *map(str, wheels))
    # What a pip killed half-way through leaves: INSTALLER, RECORD, REQUESTED and no METADATA.
    info = site_packages(python) / "alpha-1.0.dist-info"
    for name in ("METADATA", "WHEEL"):
        (info / name).unlink()
    lock = tmp_path / "lock.txt"
    lines = [f"--find-links {files}", "--no-index"]
    lines += [f"{w.name.split('-')[0]}==1.0 --hash=sha256:{sha256_hex(w)}" for w in wheels]
    lock.write_text("\n".join(lines) + "\n")

    code, out, err = run_cli([str(lock), "--python", str(python), "--check"], capsys)
    assert code == 1
    assert out.splitlines()[:2] == [
        "! alpha-1.0 is half installed (no METADATA): the next sync removes it",
        "+ alpha 1.0",
    ]
    code, out, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert code == 0, err
    assert err == "repaired: removed alpha-1.0, left half installed (no METADATA)\n"
    assert freeze(python) == ["alpha==1.0", "beta==1.0"]
    assert find_broken((site_packages(python),), deep=True) == []


def test_after_a_killed_run_a_distribution_that_differs_from_its_record_is_reinstalled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tmp_path / "files"
    wheels = [make_wheel(files, "alpha", "1.0"), make_wheel(files, "beta", "1.0")]
    python = make_venv(tmp_path / "venv")
    pip_install(python, *map(str, wheels))
    (site_packages(python) / "beta" / "__init__.py").write_text("half written")
    (python.parent.parent / ".pinlock-sync-left").mkdir()  # a run killed before any change
    lock = tmp_path / "lock.txt"
    lines = [f"--find-links {files}", "--no-index"]
    lines += [f"{w.name.split('-')[0]}==1.0 --hash=sha256:{sha256_hex(w)}" for w in wheels]
    lock.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert code == 0, err
    assert err.splitlines() == [
        "repaired: removed .pinlock-sync-left, left by a sync killed before any change",
        "repaired: removed beta-1.0, left half installed (beta/__init__.py differs from its "
        "RECORD)",
    ]
    assert freeze(python) == ["alpha==1.0", "beta==1.0"]
    assert find_broken((site_packages(python),), deep=True) == []
    assert not list(python.parent.parent.glob(".pinlock-sync-*"))


@needs_proc
@pytest.mark.slow
def test_a_venv_whose_creation_was_killed_is_made_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = make_wheel(tmp_path / "files", "alpha", "1.0")
    lock = tmp_path / "lock.txt"
    lock.write_text(
        f"--find-links {wheel.parent}\n--no-index\nalpha==1.0 --hash=sha256:{sha256_hex(wheel)}\n"
    )
    venv = tmp_path / "new"
    process = spawn_sync(tmp_path / "killed", str(lock), "--venv", str(venv))
    wait_until(
        lambda: any("ensurepip" in line for line in descendants(process.pid).values()),
        "ensurepip runs",
    )
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert (venv / ".pinlock-creating").exists()

    code, _, err = run_cli([str(lock), "--python", str(venv), "--check"], capsys)
    assert code == 2
    assert f"error: {venv} is a virtual environment whose creation was interrupted" in err
    code, _out, err = run_cli([str(lock), "--venv", str(venv)], capsys)
    assert code == 0, err
    assert not (venv / ".pinlock-creating").exists()
    names = [line.split("==")[0] for line in freeze(venv / "bin" / "python")]
    assert "pip" in names and "alpha" in names


@needs_proc
@pytest.mark.slow
def test_a_stop_signal_during_venv_creation_leaves_no_venv(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("")
    venv = tmp_path / "new"
    process = spawn_sync(tmp_path / "stopped", str(lock), "--venv", str(venv))
    wait_until(
        lambda: any("ensurepip" in line for line in descendants(process.pid).values()),
        "ensurepip runs",
    )
    seen = descendants(process.pid)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(60) == 128 + signal.SIGTERM
    assert (
        (tmp_path / "stopped.err")
        .read_text()
        .endswith("error: interrupted by SIGTERM before anything changed\n")
    )
    assert not venv.exists()
    assert not list(tmp_path.glob(".new.pinlock-new-*"))
    assert [pid for pid in seen if alive(pid)] == []


def test_staging_folders_of_unpacked_wheels_left_by_a_dead_run_are_removed(tmp_path: Path) -> None:
    dead_pid = subprocess.Popen(["true"])  # a process that no longer runs
    dead_pid.wait()
    cache = Cache(tmp_path / "cache")
    bucket = cache.root / "unpacked"
    left = bucket / f".staging-{dead_pid.pid}-x1"
    mine = bucket / f".staging-{os.getpid()}-x2"
    # A pid this process cannot see may run in another container sharing the cache: its
    # folder is left while it is young.
    young = bucket / f".staging-{dead_pid.pid}-x3"
    aside = bucket / f".stale-{os.getpid()}-x4"  # a damaged unpacked wheel moved aside
    for folder in (left, mine, young, aside):
        (folder / "pkg").mkdir(parents=True)
    old = time.time() - 3600
    for folder in (left, mine):
        os.utime(folder, (old, old))
    clean_store(cache)
    assert not left.exists()
    assert mine.exists()  # this process still runs: its unpacking goes on
    assert young.exists()
    assert not aside.exists()
