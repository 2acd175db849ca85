"""Isolation from this machine's pip and pinlock configuration, and tiny-artefact fixtures."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from pinlock.index import pageworker
from tests.support.artifacts import make_sdist, make_wheel
from tests.support.index_server import IndexServer


@pytest.fixture(scope="session")
def _session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _isolate_environment(
    monkeypatch: pytest.MonkeyPatch, _session_cache_home: Path, tmp_path: Path
) -> None:
    """No pip configuration file, PIP_*/PINLOCK_* or PYTHONPATH variable leaks in; a per-session
    cache; the working folder is the test's own, so this project's [tool.pinlock] stays out."""
    monkeypatch.chdir(tmp_path)
    for variable in list(os.environ):
        if variable.startswith(("PIP_", "PINLOCK_")):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    # Interpreters the tests start (target venvs) must see only their own site-packages.
    monkeypatch.delenv("PYTHONPATH", raising=False)
    # Credentials come from the files a test writes, never from this machine's netrc.
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache_home))


@pytest.fixture(autouse=True)
def _no_page_worker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiles run in this process read their pages themselves, as when the page worker
    cannot start: what a test patches here sees every read, and no helper process starts per
    compile. Tests of the worker ask for it (``page_worker``); compiles run as programs use it."""
    if "page_worker" in request.fixturenames:
        return

    def refused(_settings: pageworker.WorkerSettings) -> pageworker.PageWorker:
        raise OSError("no page worker in this test")

    monkeypatch.setattr(pageworker, "prestart", lambda: None)
    monkeypatch.setattr(pageworker, "PageWorker", refused)


@pytest.fixture
def page_worker(monkeypatch: pytest.MonkeyPatch) -> list[pageworker.PageWorker]:
    """The page workers compiles in this process start (and wait for, so that every page is
    the worker's to read)."""
    made: list[pageworker.PageWorker] = []

    class Waited(pageworker.PageWorker):
        def __init__(self, settings: pageworker.WorkerSettings) -> None:
            super().__init__(settings)
            made.append(self)
            assert self.wait_until_ready(60), "the page worker did not start"

    monkeypatch.setattr(pageworker, "PageWorker", Waited)
    return made


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    """Where ``wheel_factory`` and ``sdist_factory`` write, and what ``index_factory`` serves."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


@pytest.fixture
def wheel_factory(files_dir: Path) -> Callable[..., Path]:
    """``wheel_factory(name, version, **make_wheel_options) -> Path`` in ``files_dir``."""
    return functools.partial(make_wheel, files_dir)


@pytest.fixture
def sdist_factory(files_dir: Path) -> Callable[..., Path]:
    """``sdist_factory(name, version, **make_sdist_options) -> Path`` in ``files_dir``."""
    return functools.partial(make_sdist, files_dir)


@pytest.fixture
def index_factory(files_dir: Path) -> Iterator[Callable[..., IndexServer]]:
    """``index_factory(files=None, **IndexServer_options) -> IndexServer`` (running; stopped
    at teardown). ``files`` defaults to ``files_dir``."""
    with ExitStack() as stack:

        def start(files: Path | None = None, **options: Any) -> IndexServer:
            return stack.enter_context(IndexServer(files or files_dir, **options))

        yield start
