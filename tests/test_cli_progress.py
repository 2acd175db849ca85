"""Progress as a person sees it: a live display on a terminal, nothing of it when output is piped
or with -q, and rich loaded only when there is something to show."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.index_server import IndexServer
from tests.support.terminal import (
    ESCAPE,
    pinlock_command,
    run_on_terminal,
    terminal_environment,
)
from tests.sync_helpers import freeze, make_venv, sha256_hex

Factory = Callable[..., Path]


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("beta", "1.0")
    return index_factory()


def _compile_args(index: IndexServer, *extra: str) -> list[str]:
    return pinlock_command("compile", "-i", index.url, "--cache-dir", "cache", *extra, "main.in")


def test_compile_shows_its_resolution_on_a_terminal(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha\n")
    code, shown = run_on_terminal(_compile_args(index), cwd=tmp_path, env=terminal_environment())
    assert code == 0, shown
    assert b"resolving main.in" in shown
    assert b"pinned" in shown
    assert ESCAPE in shown
    assert b"wrote main.txt (2 packages)" in shown


def test_compile_shows_no_progress_when_piped_or_quiet(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha\n")
    piped = subprocess.run(
        _compile_args(index),
        cwd=tmp_path,
        env=terminal_environment(),
        capture_output=True,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert b"resolving" not in piped.stderr
    assert ESCAPE not in piped.stderr + piped.stdout
    assert piped.stderr == b"wrote main.txt (2 packages)\n"

    code, shown = run_on_terminal(
        _compile_args(index, "-U", "-q"), cwd=tmp_path, env=terminal_environment()
    )
    assert code == 0, shown
    assert shown == b""


def test_no_color_keeps_the_display_and_drops_the_colours(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "main.in").write_text("alpha\n")
    code, shown = run_on_terminal(_compile_args(index), cwd=tmp_path, env=terminal_environment())
    assert code == 0, shown
    assert _colours(shown)
    code, shown = run_on_terminal(
        _compile_args(index, "-U"), cwd=tmp_path, env=terminal_environment(NO_COLOR="1")
    )
    assert code == 0, shown
    assert b"resolving main.in" in shown
    assert _colours(shown) == []


def _colours(data: bytes) -> list[bytes]:
    """The colour settings among the terminal's escape sequences (``ESC[...m`` with a
    foreground or background colour: 30-49, 90-107)."""
    found = []
    for match in re.finditer(rb"\x1b\[([0-9;]*)m", data):
        numbers = [int(part) for part in match.group(1).split(b";") if part]
        if any(30 <= n <= 49 or 90 <= n <= 107 for n in numbers):
            found.append(match.group(0))
    return found


def test_a_kept_lock_on_a_terminal_loads_no_rich(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha\n")
    env = terminal_environment()
    assert run_on_terminal(_compile_args(index), cwd=tmp_path, env=env)[0] == 0
    index.clear_log()
    code = (
        "import sys\n"
        "from pinlock.cli import main\n"
        "try:\n"
        f"    main(['compile', '-i', {index.url!r}, '--cache-dir', 'cache', 'main.in'])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "print('loaded', sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'typer'}))\n"
    )
    status, shown = run_on_terminal([sys.executable, "-c", code], cwd=tmp_path, env=env)
    assert status == 0, shown
    assert b"up to date: main.txt" in shown
    assert b"exit 0\r\nloaded []" in shown
    assert index.requests == []


def _lock(tmp_path: Path, server: IndexServer, files: Path) -> Path:
    lines = [f"--index-url {server.url}", ""]
    for name in ("alpha", "beta"):
        (wheel,) = files.glob(f"{name}-1.0-*.whl")
        lines.append(f"{name}==1.0 \\\n    --hash=sha256:{sha256_hex(wheel)}")
    lock = tmp_path / "requirements.txt"
    lock.write_text("\n".join(lines) + "\n")
    return lock


def test_sync_shows_downloads_and_installs_on_a_terminal(
    tmp_path: Path, index: IndexServer, files_dir: Path
) -> None:
    lock = _lock(tmp_path, index, files_dir)
    python = make_venv(tmp_path / "venv")
    args = pinlock_command("sync", "--python", str(python), "--cache-dir", "cache", str(lock))
    env = terminal_environment()
    code, shown = run_on_terminal(args, cwd=tmp_path, env=env)
    assert code == 0, shown
    assert freeze(python) == ["alpha==1.0", "beta==1.0"]
    assert b"downloading" in shown and b"2/2 files" in shown
    assert b"installing" in shown and b"2 of 2" in shown
    assert ESCAPE in shown
    assert b"synced " in shown

    # Nothing to do: no display at all, and rich not even loaded.
    script = (
        "import sys\n"
        "from pinlock.cli import main\n"
        "try:\n"
        f"    main({args[3:]!r})\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "print('loaded', sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'typer'}))\n"
    )
    status, shown = run_on_terminal([sys.executable, "-c", script], cwd=tmp_path, env=env)
    assert status == 0, shown
    assert ESCAPE not in shown and b"nothing to do" in shown
    assert b"exit 0\r\nloaded []" in shown


def test_sync_shows_no_progress_when_piped(
    tmp_path: Path, index: IndexServer, files_dir: Path
) -> None:
    lock = _lock(tmp_path, index, files_dir)
    python = make_venv(tmp_path / "venv")
    args = pinlock_command("sync", "--python", str(python), "--cache-dir", "cache", str(lock))
    piped = subprocess.run(
        args, cwd=tmp_path, env=terminal_environment(), capture_output=True, check=False
    )
    assert piped.returncode == 0, piped.stderr
    assert freeze(python) == ["alpha==1.0", "beta==1.0"]
    assert b"downloading" not in piped.stderr and b"installing" not in piped.stderr
    assert ESCAPE not in piped.stdout + piped.stderr


def test_sync_quiet_on_a_terminal_shows_nothing(
    tmp_path: Path, index: IndexServer, files_dir: Path
) -> None:
    lock = _lock(tmp_path, index, files_dir)
    python = make_venv(tmp_path / "venv")
    args = pinlock_command("sync", "-q", "--python", str(python), "--cache-dir", "c", str(lock))
    code, shown = run_on_terminal(args, cwd=tmp_path, env=terminal_environment())
    assert code == 0, shown
    assert shown == b""
    assert freeze(python) == ["alpha==1.0", "beta==1.0"]
