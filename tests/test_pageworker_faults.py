"""The page worker where things go wrong: a failing or hung index, a stopped worker, a damaged
kept page, a project's own modules in the working folder."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pinlock.index import pageworker
from tests.support.compiling import compile_cli
from tests.support.fault_index import FaultIndex

Factory = Callable[..., Path]
QUICK = {"PIP_TIMEOUT": "0.5", "PIP_RETRIES": "2"}


@pytest.fixture
def faulty(files_dir: Path, wheel_factory: Factory) -> Iterator[FaultIndex]:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("beta", "1.0")
    with FaultIndex(files_dir) as index:
        yield index


@pytest.mark.parametrize("fault", ["503", "hang"])
def test_a_page_the_worker_failed_on_is_not_asked_for_twice(
    tmp_path: Path,
    faulty: FaultIndex,
    page_worker: list[pageworker.PageWorker],
    fault: str,
) -> None:
    # A page that keeps failing is asked for retries + 1 = 3 times, by the worker; the compile
    # raises its failure rather than asking 3 times more (twice the load on a struggling
    # index, and twice the time to the error).
    if fault == "503":
        faulty.fail("/simple/alpha/")
    else:
        faulty.hang("/simple/alpha/")
    (tmp_path / "requirements.in").write_text("alpha\n")
    code, _out, err = compile_cli(tmp_path, "-i", faulty.url, "requirements.in", env=QUICK)
    assert code == 4, err
    assert len(page_worker) == 1
    assert faulty.requests_of("/simple/alpha/") == 3


def test_a_helper_started_as_a_new_interpreter_imports_nothing_from_the_working_folder(
    tmp_path: Path,
    files_dir: Path,
    wheel_factory: Factory,
    page_worker: list[pageworker.PageWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on macOS and Windows: `python -c` puts the working folder first on sys.path; a
    # project's own json.py (any module named as one the helper imports) must not run in it.
    wheel_factory("alpha", "1.0")
    monkeypatch.setattr(pageworker, "fork_helper", lambda serve: None)
    marker = tmp_path / "imported-from-cwd"
    work = tmp_path / "project"
    work.mkdir()
    (work / "json.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "import sys\n"  # then the real json, so that the helper goes on as usual
        "del sys.modules['json']\n"
        "sys.path.remove(sys.path[0])\n"
        "import json\n"
    )
    (work / "requirements.in").write_text("alpha\n")
    monkeypatch.chdir(work)
    with FaultIndex(files_dir) as index:
        code, _out, err = compile_cli(tmp_path, "-i", index.url, "requirements.in")
    assert code == 0, err
    [worker] = page_worker
    worker.close()
    assert not marker.exists()


@pytest.mark.parametrize("refresh", [False, True])
def test_a_damaged_kept_page_is_read_again_not_a_lasting_error(
    tmp_path: Path, files_dir: Path, wheel_factory: Factory, refresh: bool
) -> None:
    # A parsed entry that cannot be unpickled (damaged, or pickled by a pinlock with another
    # packaging) is removed and its page asked for again, --refresh or not.
    wheel_factory("alpha", "1.0")
    (tmp_path / "requirements.in").write_text("alpha\n")
    with FaultIndex(files_dir, etags=True) as index:
        code, _out, err = compile_cli(tmp_path, "-i", index.url, "requirements.in")
        assert code == 0, err
        entries = list((tmp_path / "cache").glob("**/parsed-pages/*"))
        assert entries
        for entry in entries:
            entry.write_bytes(b"garbage")
        (tmp_path / "requirements.txt").unlink()
        extra = ["--refresh"] if refresh else []
        code, _out, err = compile_cli(tmp_path, "-i", index.url, *extra, "requirements.in")
    assert code == 0, err


@pytest.mark.slow
def test_a_stopped_worker_is_given_up_and_the_compile_reads_for_itself(
    tmp_path: Path,
    faulty: FaultIndex,
    page_worker: list[pageworker.PageWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Stopped(pageworker.PageWorker):  # stopped (SIGSTOP) as soon as it is ready
        def __init__(self, settings: pageworker.WorkerSettings) -> None:
            super().__init__(settings)
            assert self.wait_until_ready(60)
            os.kill(self.pid, signal.SIGSTOP)

    monkeypatch.setattr(pageworker, "PageWorker", Stopped)
    (tmp_path / "requirements.in").write_text("alpha\n")
    env = {"PIP_TIMEOUT": "0.5", "PIP_RETRIES": "0"}  # the worker is given up after ~6 s
    code, _out, err = compile_cli(tmp_path, "-i", faulty.url, "requirements.in", env=env)
    assert code == 0, err
    assert "beta==1.0" in (tmp_path / "requirements.txt").read_text()
