"""``pinlock compile`` (and sync, where it matters) against a misbehaving index.

Every failure ends the run with one ``error:`` line naming the URL (credentials masked), what
happened and how many attempts were made, exit code 4 for the network (unless said otherwise),
no traceback, and no lock written or changed. Transient faults are retried until they pass:
the server's request log counts the attempts. A host name that does not resolve fails at the
first attempt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.compiling import compile_cli, pinned_versions
from tests.support.fault_index import FaultIndex

Factory = Callable[..., Path]
PAGE = "/simple/alpha/"
WHEEL = "alpha-1.0-py3-none-any.whl"
OLD_LOCK = "# a lock from before: a failed run must leave it as it is\n"
# Short client timeouts and few retries keep the faulty cases fast (pip's own settings).
QUICK = {"PIP_TIMEOUT": "0.5", "PIP_RETRIES": "2"}


@pytest.fixture
def faulty(files_dir: Path, wheel_factory: Factory) -> Iterator[FaultIndex]:
    wheel_factory("alpha", "1.0", requires_dist=["beta"], padding=20_000)
    wheel_factory("beta", "1.0")
    with FaultIndex(files_dir) as index:
        yield index


class Run:
    """One compile of ``alpha`` into ``requirements.txt``, which holds an older lock before."""

    def __init__(self, tmp_path: Path, index_url: str, *extra: str, env: dict[str, str]) -> None:
        (tmp_path / "requirements.in").write_text("alpha\n")
        lock = tmp_path / "requirements.txt"
        lock.write_text(OLD_LOCK)
        before = lock.stat().st_mtime_ns
        self.code, self.out, self.err = compile_cli(
            tmp_path, "--index-url", index_url, *extra, "requirements.in", env=env
        )
        self.lock_unchanged = lock.read_text() == OLD_LOCK and lock.stat().st_mtime_ns == before
        self.lock = lock

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]

    def failed_clearly(self, code: int = 4) -> str:
        """The one error line, once the run is known to have failed as it should."""
        assert self.code == code, self.err
        assert "Traceback" not in self.err + self.out
        assert self.lock_unchanged
        assert len(self.errors) == 1, self.err
        return self.errors[0]


def compile_alpha(tmp_path: Path, index_url: str, *extra: str, **env: str) -> Run:
    return Run(tmp_path, index_url, *extra, env={**QUICK, **env})


# --- transient faults pass by retry ------------------------------------------------------------


def test_server_errors_then_success_are_retried(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.fail(PAGE, 503, times=2)
    faulty.fail(f"/files/{WHEEL}", 502, times=1)
    run = compile_alpha(tmp_path, faulty.url)
    assert run.code == 0, run.err
    assert pinned_versions(run.lock.read_text()) == {"alpha": "1.0", "beta": "1.0"}
    assert faulty.requests_of(PAGE) == 3
    assert "error" not in run.err


def test_retry_after_is_honoured_for_429(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.fail(PAGE, 429, times=2, headers={"Retry-After": "0"})
    run = compile_alpha(tmp_path, faulty.url)
    assert run.code == 0, run.err
    assert faulty.requests_of(PAGE) == 3


def test_a_connection_reset_mid_page_is_retried(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.reset_mid_body(PAGE, times=1)
    run = compile_alpha(tmp_path, faulty.url)
    assert run.code == 0, run.err
    assert faulty.requests_of(PAGE) == 2


def test_a_connection_reset_mid_download_is_retried(
    tmp_path: Path, files_dir: Path, wheel_factory: Factory
) -> None:
    wheel_factory("alpha", "1.0", padding=20_000)
    # Without range reads the metadata comes from the whole wheel: a download to break.
    with FaultIndex(files_dir, ranges=False) as index:
        index.reset_mid_body(f"/files/{WHEEL}", times=1)
        run = compile_alpha(tmp_path, index.url)
        assert run.code == 0, run.err
        assert index.requests_of(f"/files/{WHEEL}") == 2
    assert not list((tmp_path / "cache" / "files").rglob("*.part"))


# --- faults that last end the run: URL, what happened, attempts --------------------------------


def test_server_errors_that_last_name_url_status_and_attempts(
    tmp_path: Path, faulty: FaultIndex
) -> None:
    faulty.fail(PAGE, 503)
    line = compile_alpha(tmp_path, faulty.url).failed_clearly()
    assert line == (
        f"error: could not fetch {faulty.url}/alpha/ (3 attempts): HTTP 503 Service Unavailable"
    )
    assert faulty.requests_of(PAGE) == 3


def test_an_index_that_never_answers_times_out_and_says_so(
    tmp_path: Path, faulty: FaultIndex
) -> None:
    faulty.hang(PAGE)
    line = compile_alpha(tmp_path, faulty.url, PIP_RETRIES="1").failed_clearly()
    assert line == (
        f"error: could not fetch {faulty.url}/alpha/ (2 attempts): "
        "no answer within 0.5 s (the timeout)"
    )
    assert faulty.requests_of(PAGE) == 2


def test_a_connection_reset_every_time_names_the_file(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.reset_mid_body(PAGE)
    line = compile_alpha(tmp_path, faulty.url).failed_clearly()
    assert line.startswith(f"error: could not fetch {faulty.url}/alpha/ (3 attempts): ")
    assert "the connection broke" in line
    assert "object at 0x" not in line
    assert faulty.requests_of(PAGE) == 3


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "HTTP 401 Unauthorized: the credentials sent to 127.0.0.1"),
        (403, "HTTP 403 Forbidden: the credentials sent to 127.0.0.1"),
    ],
)
def test_refused_credentials_are_not_retried_and_stay_masked(
    tmp_path: Path, faulty: FaultIndex, status: int, words: str
) -> None:
    faulty.fail(PAGE, status)
    url = faulty.url.replace("http://", "http://alice:s3cret-pw@")
    run = compile_alpha(tmp_path, url)
    line = run.failed_clearly()
    masked = faulty.url.replace("http://", "http://alice:****@")
    assert line.startswith(f"error: could not fetch {masked}/alpha/ (1 attempt): {words}")
    assert "s3cret-pw" not in run.err + run.out
    assert faulty.requests_of(PAGE) == 1


def test_a_missing_file_is_not_retried(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.fail(f"/files/{WHEEL}", 404)
    line = compile_alpha(tmp_path, faulty.url).failed_clearly()
    assert line == (
        f"error: could not fetch {faulty.file_url(WHEEL)} (1 attempt): HTTP 404 Not Found"
    )
    # One request per fetch: the prefetcher's and then the resolver's own (failures are not
    # remembered between the two), never a retry.
    assert faulty.requests_of(f"/files/{WHEEL}") <= 2


def test_a_redirect_loop_is_named_as_one(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.redirect_loop(PAGE)
    line = compile_alpha(tmp_path, faulty.url).failed_clearly()
    assert line.startswith(f"error: could not fetch {faulty.url}/alpha/ (1 attempt): ")
    assert "redirect loop" in line
    # The loop is seen when it closes, not after ten hops.
    assert faulty.requests_of(PAGE) + faulty.requests_of(f"{PAGE}loop/") == 2


LOGIN_PAGE = """<!DOCTYPE html><html><head><title>Sign in</title>
<script src="/static/app.js"></script></head><body>
<a href="/help">Help</a> <a href="/sso">Single sign-on</a>
<form method="post" action="/login"><input type="password" name="pw"></form>
</body></html>"""


def test_an_html_page_that_is_not_an_index_is_not_taken_for_an_empty_project(
    tmp_path: Path, faulty: FaultIndex
) -> None:
    faulty.serve_page(PAGE, LOGIN_PAGE)
    line = compile_alpha(tmp_path, faulty.url).failed_clearly()
    assert line.startswith(f"error: could not fetch {faulty.url}/alpha/ (1 attempt): ")
    assert "not a package index page" in line
    assert "2 links, none to a file of alpha" in line


def test_an_answer_of_another_kind_is_not_an_index_page(tmp_path: Path, faulty: FaultIndex) -> None:
    faulty.serve_page(PAGE, b"\x89PNG....", content_type="image/png")
    line = compile_alpha(tmp_path, faulty.url).failed_clearly()
    assert "not a package index page (image/png)" in line


def test_a_host_that_does_not_resolve_fails_at_the_first_attempt(tmp_path: Path) -> None:
    # RFC 6761: .invalid never resolves, so no request leaves this machine.
    run = compile_alpha(
        tmp_path, "https://alice:s3cret-pw@nonexistent.invalid/simple", PIP_RETRIES="5"
    )
    line = run.failed_clearly()
    assert line.startswith(
        "error: could not fetch https://alice:****@nonexistent.invalid/simple/alpha/ (1 attempt): "
    )
    assert "cannot resolve the host name nonexistent.invalid" in line
    assert "s3cret-pw" not in run.err


# --- broken files -----------------------------------------------------------------------------


def test_a_digest_that_disagrees_with_the_file(tmp_path: Path, files_dir: Path) -> None:
    from tests.support.artifacts import make_wheel

    make_wheel(files_dir, "alpha", "1.0")
    with FaultIndex(files_dir, ranges=False) as index:
        index.lie_about_digest(WHEEL, "ab" * 32)
        run = compile_alpha(tmp_path, index.url)
        line = run.failed_clearly(code=1)
        assert re.search(
            rf"error: hash mismatch for {re.escape(index.file_url(WHEEL))} \(1 attempt\):", line
        ), run.err
        assert f"expected sha256:{'ab' * 32}" in run.err
        downloads = [r for r in index.requests_for(WHEEL) if r.range_header is None]
        # Never retried: one download per fetch (the prefetcher's, then the resolver's).
        assert 1 <= len(downloads) <= 2
    assert not list((tmp_path / "cache" / "files").rglob("*.whl"))


def test_a_truncated_wheel_is_named(
    tmp_path: Path, files_dir: Path, wheel_factory: Factory
) -> None:
    wheel = wheel_factory("alpha", "1.0", padding=20_000)
    wheel.write_bytes(wheel.read_bytes()[:5000])
    with FaultIndex(files_dir) as index:
        run = compile_alpha(tmp_path, index.url)
    assert run.code not in (0, 4), run.err
    assert "Traceback" not in run.err
    assert run.lock_unchanged
    assert WHEEL in run.err


# --- sync against the same faults -------------------------------------------------------------


def _sync(lock: Path, venv: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from pinlock.cli.sync import main as sync_main

    with pytest.raises(SystemExit) as exited:
        sync_main([str(lock), "--python", str(venv)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return int(exited.value.code or 0), captured.err


def test_sync_retries_a_busy_index_and_names_a_failing_one(
    tmp_path: Path,
    faulty: FaultIndex,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.sync_helpers import freeze, make_venv

    assert compile_alpha(tmp_path, faulty.url).code == 0
    for name, value in QUICK.items():
        monkeypatch.setenv(name, value)
    python = make_venv(tmp_path / "venv")
    faulty.fail(f"/files/{WHEEL}", 503)
    code, err = _sync(tmp_path / "requirements.txt", python, capsys)
    assert code == 4
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: could not fetch {faulty.file_url(WHEEL)} (3 attempts): "
        "HTTP 503 Service Unavailable"
    ]
    assert freeze(python) == []
    faulty.clear_log()
    faulty.clear_faults()
    faulty.fail(f"/files/{WHEEL}", 503, times=2)
    code, err = _sync(tmp_path / "requirements.txt", python, capsys)
    assert code == 0, err
    assert freeze(python) == ["alpha==1.0", "beta==1.0"]
    assert faulty.requests_of(f"/files/{WHEEL}") == 3


def test_a_digest_the_index_lied_about_stops_sync_before_any_change(
    tmp_path: Path, faulty: FaultIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.sync_helpers import freeze, make_venv

    # Range reads never see the whole file: compile takes the index's word for its digest...
    faulty.lie_about_digest(WHEEL, "cd" * 32)
    assert compile_alpha(tmp_path, faulty.url).code == 0
    assert f"--hash=sha256:{'cd' * 32}" in (tmp_path / "requirements.txt").read_text()
    # ...and sync, which downloads it, finds it out before installing anything.
    python = make_venv(tmp_path / "venv")
    code, err = _sync(tmp_path / "requirements.txt", python, capsys)
    assert code == 1
    assert f"error: hash mismatch for {faulty.file_url(WHEEL)} (1 attempt):" in err
    assert freeze(python) == []


# --- nothing outlives the run ---------------------------------------------------------------


def test_a_failed_resolution_leaves_no_fetch_running(
    tmp_path: Path, files_dir: Path, wheel_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from pinlock.compile import CompileRequest, compile_locks
    from pinlock.errors import ResolutionImpossible

    wheel_factory("slow", "1.0")
    wheel_factory("alpha", "1.0")
    monkeypatch.setenv("PIP_TIMEOUT", "3")
    monkeypatch.setenv("PIP_RETRIES", "0")
    with FaultIndex(files_dir) as index:
        # The prefetcher reads slow's metadata, which never comes; alpha's page (whose lack of
        # a version >= 2 ends the resolution) is answered only once that read has begun.
        index.hang("/files/slow-1.0-py3-none-any.whl")
        index.hold_until(PAGE, after="/files/slow-1.0-py3-none-any.whl")
        src = tmp_path / "requirements.in"
        src.write_text("slow\nalpha>=2\n")
        request = CompileRequest(
            inputs=(src,), index_overrides={"index-url": index.url}, cache_dir=tmp_path / "c"
        )
        with pytest.raises(ResolutionImpossible):
            compile_locks(request)
        running = [t.name for t in threading.enumerate() if t.name.startswith("pinlock-")]
        assert running == []
