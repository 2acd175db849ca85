"""What the library tells a watcher (``pinlock.progress``): the resolver's pins and backtracks,
compile's downloads and builds, sync's downloads, builds and installs; nothing for a lock kept as
it is or an environment that already matches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, compile_locks
from pinlock.compile.resolve import ResolveOptions, resolve
from pinlock.progress import (
    BACKTRACKS,
    BUILDING,
    BYTES,
    DOWNLOADING,
    INSTALLING,
    RESOLVING,
    size_text,
)
from pinlock.sync import SyncRequest, sync
from pinlock.target import Target
from tests.support.artifacts import make_sdist
from tests.support.fakes import FakeIndex, req_lines
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, sha256_hex

Factory = Callable[..., Path]
Event = tuple[object, ...]


class Recorder:
    """A ``Progress`` that keeps every call."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def stage(self, name: str, *, total: int | None = None, label: str = "") -> None:
        self.events.append(("stage", name, total, label))

    def advance(self, name: str, amount: int = 1, *, item: str = "") -> None:
        self.events.append(("advance", name, amount, item))

    def tally(self, name: str, counter: str, amount: int = 1) -> None:
        self.events.append(("tally", name, counter, amount))

    def end(self, name: str) -> None:
        self.events.append(("end", name))

    def note(self, text: str, *, level: int = 1) -> None:
        self.events.append(("note", text, level))

    def done(self, name: str) -> int:
        return sum(int(e[2]) for e in self.events if e[:2] == ("advance", name))  # type: ignore[call-overload]

    def items(self, name: str) -> list[str]:
        return [str(e[3]) for e in self.events if e[:2] == ("advance", name) and e[3]]

    def tallied(self, name: str, counter: str) -> int:
        return sum(int(e[3]) for e in self.events if e[:3] == ("tally", name, counter))  # type: ignore[call-overload]

    def notes(self, level: int = 1) -> list[str]:
        return [str(e[1]) for e in self.events if e[0] == "note" and e[2] == level]

    def stages(self) -> list[str]:
        return [str(e[1]) for e in self.events if e[0] in ("stage", "end")]


def test_the_resolver_tells_each_pin_and_backtrack() -> None:
    index = FakeIndex()
    index.release("a", "2.0", "c==1.0")
    index.release("a", "1.0", "c")
    index.release("b", "1.0", "c>=2")
    index.release("c", "1.0")
    index.release("c", "2.0")
    watcher = Recorder()
    result = resolve(
        req_lines("a", "b"),
        files=index.files,
        metadata=index.metadata,
        options=ResolveOptions(target=Target.from_spec("3.12", "linux")),
        progress=watcher,
    )
    assert watcher.done(RESOLVING) == len(result.packages) == 3
    assert watcher.tallied(RESOLVING, BACKTRACKS) == 1
    assert watcher.items(RESOLVING) == ["a", "a", "b", "c"]


@pytest.fixture
def index(
    files_dir: Path, wheel_factory: Factory, index_factory: Callable[..., IndexServer]
) -> IndexServer:
    wheel_factory("app", "1.0", requires_dist=["helper"])
    make_sdist(files_dir, "helper", "1.0", pkg_info=False)
    return index_factory()


def test_compile_tells_its_resolution_downloads_and_builds(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "main.in").write_text("app\n")
    request = CompileRequest(
        inputs=(tmp_path / "main.in",),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
    )
    watcher = Recorder()
    compile_locks(request, progress=watcher)
    assert ("stage", RESOLVING, None, "main.in") in watcher.events
    assert watcher.stages()[-1] == RESOLVING  # ended
    assert watcher.done(RESOLVING) == 2
    assert watcher.items(DOWNLOADING) == ["helper-1.0.tar.gz"]
    sdist_size = (tmp_path / "files" / "helper-1.0.tar.gz").stat().st_size
    assert watcher.tallied(DOWNLOADING, BYTES) == sdist_size
    assert (watcher.done(BUILDING), watcher.items(BUILDING)) == (1, ["helper-1.0.tar.gz"])
    assert watcher.notes() == [
        f"downloaded helper-1.0.tar.gz ({size_text(sdist_size)}) for its metadata",
        "built the metadata of helper-1.0.tar.gz",
    ]
    assert "metadata of app-1.0-py3-none-any.whl: from range reads of the wheel" in (
        watcher.notes(level=2)
    )

    # The lock still holds: kept as it is, and the watcher hears nothing.
    watcher = Recorder()
    [result] = compile_locks(request, progress=watcher)
    assert result.confirmed
    assert watcher.events == []


def test_sync_tells_its_downloads_builds_and_installs(
    tmp_path: Path, index: IndexServer, files_dir: Path
) -> None:
    lock = tmp_path / "requirements.txt"
    lines = [f"--index-url {index.url}"]
    for name, filename in [("app", "app-1.0-py3-none-any.whl"), ("helper", "helper-1.0.tar.gz")]:
        lines.append(f"{name}==1.0 --hash=sha256:{sha256_hex(files_dir / filename)}")
    lock.write_text("\n".join(lines) + "\n")
    python = make_venv(tmp_path / "venv")
    request = SyncRequest(locks=(lock,), python=python, cache_dir=tmp_path / "cache")
    watcher = Recorder()
    sync(request, progress=watcher)
    assert freeze(python) == ["app==1.0", "helper==1.0"]
    assert watcher.stages() == [
        DOWNLOADING,
        DOWNLOADING,
        BUILDING,
        BUILDING,
        INSTALLING,
        INSTALLING,
    ]
    assert ("stage", DOWNLOADING, 2, "") in watcher.events
    assert sorted(watcher.items(DOWNLOADING)) == ["app", "helper"]
    sizes = sum(
        (files_dir / f).stat().st_size for f in ("app-1.0-py3-none-any.whl", "helper-1.0.tar.gz")
    )
    assert watcher.tallied(DOWNLOADING, BYTES) == sizes
    assert ("stage", BUILDING, 1, "") in watcher.events
    assert watcher.done(BUILDING) == 1
    assert ("stage", INSTALLING, 2, "") in watcher.events
    assert (watcher.done(INSTALLING), sorted(watcher.items(INSTALLING))) == (2, ["app", "helper"])
    notes = Counter(note.split(" ")[0] for note in watcher.notes())
    assert notes == {"downloaded": 2, "built": 1}

    # Nothing to do: nothing to tell.
    watcher = Recorder()
    sync(request, progress=watcher)
    assert watcher.events == []
