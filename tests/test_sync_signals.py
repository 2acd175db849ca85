"""SIGINT, SIGTERM and SIGHUP, to pinlock's PID or to its process group, at several moments of a
real ``pinlock sync`` (issue #9, cases 4 and 5): pip's whole process tree is stopped and waited
for, the environment is restored file by file, pinlock exits 128+N with a message, and nothing
is left behind (no pip, no work folder, no staging folder in the cache)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import (
    alive,
    descendants,
    file_tree,
    freeze,
    make_venv,
    pip_install,
    sha256_hex,
    spawn_sync,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc"),
]

OLD = [f"old{i}" for i in range(12)]


@dataclass
class Scene:
    """A venv with old versions installed, a lock that upgrades them all and adds a slow-to-fetch
    wheel and a slow-to-install one, a warm cache, and the index serving them."""

    root: Path
    python: Path
    lock: Path
    server: IndexServer
    warm_cache: Path
    before_tree: dict[str, str]
    before_freeze: list[str]

    @property
    def prefix(self) -> Path:
        return self.python.parent.parent

    @property
    def site(self) -> Path:
        [site] = self.prefix.glob("lib/python*/site-packages")
        return site


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root = tmp_path_factory.mktemp("signals")
    files = root / "files"
    old_dir = root / "old"
    many = {f"big/part{i // 100}/m{i}.py": f"X = {i}\n".encode() for i in range(3000)}
    wheels = [make_wheel(files, name, "2.0") for name in OLD]
    wheels.append(make_wheel(files, "big", "1.0", files=many))
    wheels.append(make_wheel(files, "fat", "1.0", padding=2_000_000))
    lock = root / "lock.txt"
    with IndexServer(files) as server:
        lines = [f"--index-url {server.url}"]
        for wheel in wheels:
            name, version = wheel.name.split("-")[:2]
            lines.append(f"{name}=={version} --hash=sha256:{sha256_hex(wheel)}")
        lock.write_text("\n".join(lines) + "\n")
        # Warm a cache once, by a sync that runs to its end (which proves the lock works).
        throwaway = make_venv(root / "throwaway")
        warm = root / "warm-cache"
        done = subprocess.run(
            [*pinlock_sync(), str(lock), "--python", str(throwaway), "--cache-dir", str(warm)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        shutil.rmtree(root / "throwaway")
        python = make_venv(root / "venv")
        pip_install(python, *(str(make_wheel(old_dir, name, "1.0")) for name in OLD))
        yield Scene(
            root=root,
            python=python,
            lock=lock,
            server=server,
            warm_cache=warm,
            before_tree=file_tree(python),
            before_freeze=freeze(python),
        )


def pinlock_sync() -> list[str]:
    import sys

    return [sys.executable, "-m", "pinlock", "sync"]


def pip_running(process: subprocess.Popen[bytes], word: str) -> Callable[[], bool]:
    def check() -> bool:
        return any(f" {word} " in line for line in descendants(process.pid).values())

    return check


def compiling(process: subprocess.Popen[bytes]) -> int:
    """How many processes of the target interpreter's byte-compiling run there are."""
    return sum("compileall" in line for line in descendants(process.pid).values())


def moment_reached(scene: Scene, moment: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the sync is in the middle of ``moment``."""
    if moment == "fetch":
        wait_until(lambda: bool(scene.server.requests_for("fat-1.0-py3-none-any.whl")), moment)
        return
    if moment == "uninstall":
        wait_until(pip_running(process, "uninstall"), "pip uninstall runs")
        gone = [scene.site / f"{name}-1.0.dist-info" for name in OLD]
        wait_until(
            lambda: (
                any(not path.exists() for path in gone) or not pip_running(process, "uninstall")()
            ),
            "pip removed a first package",
        )
        return
    if moment == "compile":
        # The target interpreter byte-compiles what pinlock's own installer wrote.
        # Its workers running, so pinlock is surely waiting for it (not still starting it).
        wait_until(lambda: compiling(process) > 1, "the byte-compiling child and its workers run")
        return
    if moment == "install":
        wait_until(pip_running(process, "install"), "pip install runs")
    # pinlock's own installer: in this process, several wheels at once.
    wait_until((scene.site / "big").exists, "a first file of big is written")


# (moment, signal, sent to, installer): the moments that change the environment are tried
# with both installers; "install" means pip's, "threads" pinlock's own.
CASES = [
    ("fetch", signal.SIGINT, "pid", "pinlock"),
    ("fetch", signal.SIGTERM, "group", "pinlock"),
    ("uninstall", signal.SIGTERM, "pid", "pip"),
    ("uninstall", signal.SIGINT, "group", "pip"),
    ("install", signal.SIGINT, "pid", "pip"),
    ("install", signal.SIGTERM, "group", "pip"),
    ("install", signal.SIGHUP, "group", "pip"),
    ("threads", signal.SIGINT, "pid", "pinlock"),
    ("threads", signal.SIGTERM, "pid", "pinlock"),
    ("threads", signal.SIGINT, "group", "pinlock"),
    ("threads", signal.SIGHUP, "group", "pinlock"),
    ("compile", signal.SIGTERM, "pid", "pinlock"),
    ("compile", signal.SIGINT, "group", "pinlock"),
]


@pytest.mark.parametrize(
    ("moment", "signum", "to", "installer"),
    CASES,
    ids=[f"{m}-{signal.Signals(n).name}-{to}-{i}" for m, n, to, i in CASES],
)
def test_a_stop_signal_restores_the_environment(
    scene: Scene, moment: str, signum: signal.Signals, to: str, installer: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" if moment == "fetch" else scene.warm_cache
    if moment == "compile":
        # Byte code made by an earlier sync is linked, not compiled again: forget it.
        for made in (cache / "unpacked").rglob("pinlock-compiled-*.json"):
            made.unlink()
    scene.server.throttle = 0.05 if moment == "fetch" else 0.0
    scene.server.clear_log()
    process = spawn_sync(
        tmp_path / "sync",
        str(scene.lock),
        "--python",
        str(scene.python),
        "--cache-dir",
        str(cache),
        "--installer",
        installer,
    )
    seen: dict[int, str] = {}
    try:
        moment_reached(scene, moment, process)
        seen.update(descendants(process.pid))
        if to == "pid":
            os.kill(process.pid, signum)
        else:
            os.killpg(process.pid, signum)
        # A second signal, once pinlock has acted on the first (pip is gone: the restore
        # runs), changes nothing.
        wait_until(
            lambda: process.poll() is not None or not any(alive(pid) for pid in seen),
            "pinlock stops pip",
        )
        time.sleep(0.2 if moment == "fetch" else 0.01)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGINT)
        code = process.wait(60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    err = (tmp_path / "sync.err").read_text()
    name = signal.Signals(signum).name
    assert code == 128 + signum, err
    if moment == "fetch":
        assert err.endswith(f"error: interrupted by {name} before anything changed\n")
    else:
        assert err.endswith(
            f"error: sync failed: interrupted by {name}\n"
            "the environment was restored to its state before the sync\n"
        )
    assert [seen[pid][:300] for pid in seen if alive(pid)] == []  # no child outlives pinlock
    assert file_tree(scene.python) == scene.before_tree
    assert freeze(scene.python) == scene.before_freeze
    assert not list(scene.prefix.glob(".pinlock-sync-*"))
    assert not list((cache / "files").glob(".staging-*"))
