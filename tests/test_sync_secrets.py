"""No secret shown or stored by a sync (issue #9, case 1): errors (401 with user:password and
with a bare token, a refused http:// index), plan lines, --json, pip's command lines (what `ps`
shows, while pip runs), and the installed direct_url.json."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.artifacts import make_sdist, make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, run_cli, sha256_hex

SECRET = "s3cretPW-9q"
TOKEN = "tok-8e7d6c5b"


@pytest.fixture(autouse=True)
def _own_cache(_isolate_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A cache of this test's own: these tests are about what talking to an index shows; a
    # file another test left in the session's cache would let the sync skip the index (a
    # pin synced before is not asked for again).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own-cache"))


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    make_wheel(folder, "alpha", "1.0")
    make_wheel(folder, "buildhelper", "1.0")
    return folder


def lock_for(path: Path, files: Path, *lines: str, index: str | None = None) -> Path:
    text = [f"--index-url {index}"] if index else []
    for name in ("alpha",):
        wheel = files / f"{name}-1.0-py3-none-any.whl"
        text.append(f"{name}==1.0 --hash=sha256:{sha256_hex(wheel)}")
    path.write_text("\n".join([*text, *lines]) + "\n")
    return path


def with_userinfo(server: IndexServer, userinfo: str) -> str:
    return server.url.replace("http://", f"http://{userinfo}@")


@pytest.mark.parametrize(
    ("userinfo", "shown"),
    [(f"alice:{SECRET}", "alice:****@"), (TOKEN, "****@")],
    ids=["user-password", "bare-token"],
)
def test_refused_credentials_are_never_shown(
    userinfo: str,
    shown: str,
    files: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    python = make_venv(tmp_path / "venv")
    with IndexServer(files, auth=("alice", "the-right-one")) as server:
        url = with_userinfo(server, userinfo)
        lock = lock_for(tmp_path / "lock.txt", files, index=url)
        for extra in ([], ["--json"]):
            code, out, err = run_cli([str(lock), "--python", str(python), *extra], capsys)
            assert code == 4
            assert f"could not fetch http://{shown}127.0.0.1:" in err
            assert "HTTP 401" in err and "were refused" in err
            assert SECRET not in out + err and TOKEN not in out + err
        error = json.loads(out)["error"]
        assert (error["type"], error["exit_code"]) == ("NetworkError", 4)
        assert f"http://{shown}127.0.0.1:" in error["message"]
    assert freeze(python) == []


def test_an_insecure_index_is_refused_without_showing_its_password(
    files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python = make_venv(tmp_path / "venv")
    lock = lock_for(
        tmp_path / "lock.txt", files, index=f"http://alice:{SECRET}@pypi.example.invalid/simple"
    )
    code, out, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert code == 2
    shown = "http://alice:****@pypi.example.invalid/simple/alpha/"
    assert err.startswith(f"error: {shown}: trusted-host: ")
    assert "neither secure (https) nor trusted" in err
    assert SECRET not in out + err


class ProcessWatch:
    """Every command line of a process this test started, seen in /proc while the watch runs
    (what `ps` shows), sampled every few milliseconds. A process of ours is read again each
    time: caught between its fork and its exec, it still shows its parent's command line."""

    def __init__(self) -> None:
        # pid -> (parent, the command lines it showed)
        self.processes: dict[int, tuple[int, set[str]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def seen(self) -> set[str]:
        """The command lines of this process's descendants."""
        return {
            line
            for pid, (_, lines) in list(self.processes.items())
            if self._is_ours(pid)
            for line in lines
        }

    def _is_ours(self, pid: int) -> bool:
        mine, hops = os.getpid(), 0
        while pid != mine and pid in self.processes and hops < 64:
            pid, hops = self.processes[pid][0], hops + 1
        return pid == mine

    def _run(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                pid = int(entry.name)
                if pid in self.processes and not self._is_ours(pid):
                    continue
                try:
                    argv = (entry / "cmdline").read_bytes().split(b"\0")
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parent = int(stat[stat.rfind(")") + 2 :].split()[1])
                line = " ".join(part.decode(errors="replace") for part in argv).strip()
                if line:
                    self.processes.setdefault(pid, (parent, set()))[1].add(line)
            self._stop.wait(0.003)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_pip_gets_the_index_credentials_but_never_on_a_command_line(
    files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An sdist whose isolated build needs a requirement from the private index: pip, and the
    # pip it starts for the build environment, must authenticate there.
    needs = '[build-system]\nrequires = ["buildhelper"]\nbuild-backend = "tinybackend"\n'
    sdist = make_sdist(files, "fromsource", "1.0", pyproject=needs + 'backend-path = ["."]\n')
    python = make_venv(tmp_path / "venv")
    with IndexServer(files, auth=("alice", SECRET)) as server:
        lock = lock_for(
            tmp_path / "lock.txt",
            files,
            f"fromsource==1.0 --hash=sha256:{sha256_hex(sdist)}",
            index=with_userinfo(server, f"alice:{SECRET}"),
        )
        with ProcessWatch() as watch:
            code, out, err = run_cli([str(lock), "--python", str(python)], capsys)
        assert code == 0, err
        assert server.requests_for("buildhelper-1.0-py3-none-any.whl")  # pip fetched it
        assert not server.refused
    assert freeze(python) == ["alpha==1.0", "fromsource==1.0"]
    assert SECRET not in out + err
    builds = [line for line in watch.seen if "build-requirements" in line or "-i http" in line]
    assert builds, watch.seen  # the build environment's pip was seen...
    assert [line for line in watch.seen if SECRET in line] == []  # ...without the secret
    assert not list((tmp_path / "venv").glob(".pinlock-sync-*"))  # the netrc went with it


def test_a_failed_pip_run_echoes_no_secret(
    files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs = '[build-system]\nrequires = ["no-such-helper"]\nbuild-backend = "tinybackend"\n'
    sdist = make_sdist(files, "fromsource", "1.0", pyproject=needs)
    python = make_venv(tmp_path / "venv")
    with IndexServer(files, auth=("alice", SECRET)) as server:
        lock = lock_for(
            tmp_path / "lock.txt",
            files,
            f"fromsource==1.0 --hash=sha256:{sha256_hex(sdist)}",
            index=with_userinfo(server, f"alice:{SECRET}"),
        )
        code, out, err = run_cli([str(lock), "--python", str(python), "--json"], capsys)
    assert code == 1
    assert err.startswith("error: pip wheel --no-deps --wheel-dir ")
    assert "no-such-helper" in err
    assert SECRET not in out + err
    assert json.loads(out)["error"]["type"] == "PipFailed"
    assert freeze(python) == []


@pytest.fixture
def private_direct_url(
    files: Path, tmp_path: Path
) -> Iterator[tuple[IndexServer, Callable[[], Path], str]]:
    wheel = files / "alpha-1.0-py3-none-any.whl"
    with IndexServer(files, auth=("alice", SECRET)) as server:
        url = server.file_url(wheel.name).replace("http://", f"http://alice:{SECRET}@")

        def write() -> Path:
            lock = tmp_path / "lock.txt"
            lock.write_text(f"alpha @ {url} --hash=sha256:{sha256_hex(wheel)}\n")
            return lock

        yield server, write, url


def test_credentials_in_a_direct_url_are_masked_and_not_installed(
    private_direct_url: tuple[IndexServer, Callable[[], Path], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, write, url = private_direct_url
    lock = write()
    python = make_venv(tmp_path / "venv")
    masked = url.replace(f"alice:{SECRET}@", "alice:****@")

    code, out, err = run_cli([str(lock), "--python", str(python), "--dry-run", "--json"], capsys)
    assert code == 0, err
    [change] = json.loads(out)["changes"]
    assert change["url"] == masked
    assert SECRET not in out + err

    code, out, err = run_cli([str(lock), "--python", str(python), "-v"], capsys)
    assert code == 0, err
    assert f"+ alpha ({masked})" in out.splitlines()
    assert SECRET not in out + err
    [record] = (tmp_path / "venv").glob("lib/python*/site-packages/alpha-1.0.dist-info")
    direct = json.loads((record / "direct_url.json").read_text())
    assert direct["url"] == url.replace(f"alice:{SECRET}@", "")
    for path in (tmp_path / "venv").rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path

    # The URL without userinfo in direct_url.json is still the lock's URL: nothing to do.
    server.clear_log()
    code, out, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("nothing to do")
    assert server.requests == []
