"""The page worker: a helper process reads index pages into the cache beside a compile, the
compile reads what it kept, and reads itself whatever the worker did not keep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pinlock.index import pageworker
from pinlock.index.http import HttpSession
from tests.support.compiling import compile_cli, pinned_versions
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]
SECRET = "s3cr3t-pw"


@pytest.fixture
def files(wheel_factory: Factory) -> None:
    wheel_factory("alpha", "1.0", requires_dist=["beta>=1.5"])
    wheel_factory("beta", "1.0")
    wheel_factory("beta", "2.0")


@pytest.fixture
def pages_read_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The index pages this process (the compile, not its worker) asked for."""
    asked: list[str] = []
    real_get = HttpSession.get

    def get(self: HttpSession, url: str, *args: Any, **kwargs: Any) -> Any:
        if "/simple/" in url:
            asked.append(url)
        return real_get(self, url, *args, **kwargs)

    monkeypatch.setattr(HttpSession, "get", get)
    return asked


def _compile(tmp_path: Path, index_url: str, *extra: str) -> str:
    (tmp_path / "requirements.in").write_text("alpha\n")
    (tmp_path / "requirements.txt").unlink(missing_ok=True)
    code, _out, err = compile_cli(tmp_path, "-i", index_url, *extra, "requirements.in")
    assert code == 0, err
    return (tmp_path / "requirements.txt").read_text()


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # Ours, ended but not reaped yet, still answers: a zombie is gone as far as work goes.
        if Path(f"/proc/{pid}/stat").is_file():
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            if state == "Z":
                return True
        time.sleep(0.02)
    return False


@pytest.mark.usefixtures("files")
def test_the_worker_reads_every_page_and_ends_with_the_compile(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    page_worker: list[pageworker.PageWorker],
    pages_read_here: list[str],
) -> None:
    index = index_factory()
    lock = _compile(tmp_path, index.url)
    assert pinned_versions(lock) == {"alpha": "1.0", "beta": "2.0"}
    assert lock.count("--hash=sha256:") == 2
    [worker] = page_worker
    assert pages_read_here == []
    # Each page asked for once: the compile read the worker's pages without asking again.
    assert sorted(r.path for r in index.page_requests()) == ["/simple/alpha/", "/simple/beta/"]
    assert _gone(worker.pid)


@pytest.mark.usefixtures("files")
def test_the_worker_reads_a_private_index_with_its_credentials(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    page_worker: list[pageworker.PageWorker],
    pages_read_here: list[str],
) -> None:
    index = index_factory(auth=("alice", SECRET))
    authed = index.url.replace("http://", f"http://alice:{SECRET}@")
    lock = _compile(tmp_path, authed)
    assert pinned_versions(lock) == {"alpha": "1.0", "beta": "2.0"}
    assert pages_read_here == []
    assert len(page_worker) == 1
    assert SECRET not in lock


@pytest.mark.usefixtures("files")
def test_refresh_makes_the_worker_ask_again(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    page_worker: list[pageworker.PageWorker],
    pages_read_here: list[str],
) -> None:
    index = index_factory(etags=True)
    first = _compile(tmp_path, index.url)
    index.clear_log()
    assert _compile(tmp_path, index.url) == first
    assert sorted(index.not_modified) == ["/simple/alpha/", "/simple/beta/"]  # revalidated
    index.clear_log()
    assert _compile(tmp_path, index.url, "--refresh") == first
    assert index.not_modified == []
    assert len(index.page_requests()) == 2
    assert pages_read_here == []
    assert len(page_worker) == 3


@pytest.mark.usefixtures("files")
def test_pages_the_worker_does_not_keep_are_read_by_the_compile(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    page_worker: list[pageworker.PageWorker],
    pages_read_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Killed(pageworker.PageWorker):  # a worker that dies as soon as it is ready
        def __init__(self, settings: pageworker.WorkerSettings) -> None:
            super().__init__(settings)
            assert self.wait_until_ready(60)
            os.kill(self.pid, signal.SIGKILL)
            assert _gone(self.pid)

    monkeypatch.setattr(pageworker, "PageWorker", Killed)
    index = index_factory()
    lock = _compile(tmp_path, index.url)
    assert pinned_versions(lock) == {"alpha": "1.0", "beta": "2.0"}
    assert sorted(pages_read_here) == [f"{index.url}/alpha/", f"{index.url}/beta/"]


@pytest.mark.usefixtures("files")
def test_a_page_the_worker_fails_on_fails_the_compile_with_the_same_error(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    page_worker: list[pageworker.PageWorker],
    pages_read_here: list[str],
) -> None:
    index = index_factory(auth=("alice", SECRET))
    (tmp_path / "requirements.in").write_text("alpha\n")
    wrong = index.url.replace("http://", "http://alice:wrong-pw@")
    code, out, err = compile_cli(tmp_path, "-i", wrong, "requirements.in")
    assert code != 0
    assert "401" in err and "credentials" in err
    assert "wrong-pw" not in out + err
    assert pages_read_here == []  # the worker's failure is told, not met again here
    assert len(index.page_requests()) == 1
    assert len(page_worker) == 1


@pytest.mark.usefixtures("files")
def test_a_worker_started_as_a_new_interpreter_reads_the_pages(
    tmp_path: Path,
    index_factory: Callable[..., IndexServer],
    page_worker: list[pageworker.PageWorker],
    pages_read_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on macOS and Windows, or when the compile already runs threads: no copy of it.
    monkeypatch.setattr(pageworker, "fork_helper", lambda serve: None)
    index = index_factory(auth=("alice", SECRET))
    lock = _compile(tmp_path, index.url.replace("http://", f"http://alice:{SECRET}@"))
    assert pinned_versions(lock) == {"alpha": "1.0", "beta": "2.0"}
    assert pages_read_here == []
    [worker] = page_worker
    assert _gone(worker.pid)


def _run_script(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


@pytest.mark.parametrize("platform", ["linux", "darwin"], ids=["forked", "new-interpreter"])
def test_a_prestarted_worker_ends_with_its_compile_process(platform: str) -> None:
    # A compile command starts its worker before it knows it needs one; when it ends without
    # it (its locks were up to date), the worker ends too.
    pid = _run_script(
        "import sys\n"
        f"sys.platform = {platform!r}  # where workers are forked, or new interpreters\n"
        "from pinlock.index import pageworker\n"
        "pageworker.prestart()\n"
        "print(pageworker._prestarted[0].pid, flush=True)\n"
    )
    assert _gone(int(pid))


def test_a_forked_helper_keeps_nothing_of_its_parent_but_its_pipes() -> None:
    # Another descriptor (the compile's standard output, a pipe to whoever reads it) held by
    # the helper would keep that reader waiting after the compile ended.
    out = _run_script(
        "import os\n"
        "from pinlock.processes import fork_helper\n"
        "held = os.dup2(os.open(os.devnull, os.O_RDONLY), 50)\n"
        "def serve(requests, answers):\n"
        "    fds = sorted(int(fd) for fd in os.listdir('/proc/self/fd'))\n"
        "    mine = {requests.fileno(), answers.fileno()}\n"
        "    answers.write(repr((fds, sorted(mine), os.getsid(0) == os.getpid())).encode())\n"
        "    answers.flush()\n"
        "helper = fork_helper(serve)\n"
        "assert helper is not None\n"
        "print(helper.answers.read().decode())\n"
        "helper.end()\n"
    )
    fds, mine, own_session = eval(out)
    # 0-2 (the null device), its two pipes, and the one listing /proc/self/fd.
    others = [fd for fd in fds if fd not in mine]
    assert others[:3] == [0, 1, 2] and len(others) <= 4
    assert 50 not in fds
    assert own_session


@pytest.mark.usefixtures("files")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_a_compile_command_forks_its_worker_and_the_worker_reads_the_pages(
    tmp_path: Path, index_factory: Callable[..., IndexServer]
) -> None:
    # As a command runs it (a fresh process, no threads yet): the worker is a copy of it.
    index = index_factory()
    (tmp_path / "requirements.in").write_text("alpha\n")
    report = tmp_path / "report.txt"
    script = (
        "import os, sys\n"
        "from pinlock import processes\n"
        "from pinlock.index import http, pageworker\n"
        "parent = os.getpid()\n"
        f"report = open({str(report)!r}, 'a')\n"
        "real_fork, real_get = processes.fork_helper, http.HttpSession.get\n"
        "def fork_helper(serve):\n"
        "    helper = real_fork(serve)\n"
        "    report.write(f'forked {helper.pid if helper else None}\\n'); report.flush()\n"
        "    return helper\n"
        "def get(self, url, *args, **kwargs):\n"
        "    if os.getpid() == parent and '/simple/' in url:\n"
        "        report.write(f'compile read {url}\\n'); report.flush()\n"
        "    return real_get(self, url, *args, **kwargs)\n"
        "pageworker.fork_helper, http.HttpSession.get = fork_helper, get\n"
        "from pinlock.cli import script_main\n"
        f"sys.argv = ['pinlock', 'compile', '-i', {index.url!r}, '--cache-dir', 'cache',\n"
        "            '--no-config', 'requirements.in']\n"
        "script_main()\n"
    )
    command = [sys.executable, "-c", script]
    done = subprocess.run(
        command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = report.read_text().splitlines()
    [forked] = [line for line in lines if line.startswith("forked")]
    assert forked != "forked None"
    assert [line for line in lines if line.startswith("compile read")] == []
    assert pinned_versions((tmp_path / "requirements.txt").read_text()) == {
        "alpha": "1.0",
        "beta": "2.0",
    }
    assert sorted(r.path for r in index.page_requests()) == ["/simple/alpha/", "/simple/beta/"]
    assert _gone(int(forked.split()[1]))
