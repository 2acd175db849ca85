"""The ``pinlock-sync`` command end to end: a local index, real venvs, real pip."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import pinlock
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, pip_install, sha256_hex

# pinlock.cli's package module registers `compile` too; while that command is not on this
# branch, a placeholder lets `pinlock.cli.sync` be imported on its own.
_PLACEHOLDER = (
    "import pathlib, sys, types, pinlock\n"
    "if not (pathlib.Path(pinlock.__file__).parent / 'cli' / 'compile.py').exists():\n"
    "    m = types.ModuleType('pinlock.cli.compile')\n"
    "    m.HELP = ''\n"
    "    m.compile_command = lambda: None\n"
    "    sys.modules['pinlock.cli.compile'] = m\n"
)
if not (Path(pinlock.__file__).parent / "cli" / "compile.py").exists():
    _module = types.ModuleType("pinlock.cli.compile")
    _module.HELP = ""  # type: ignore[attr-defined]
    _module.compile_command = lambda: None  # type: ignore[attr-defined]
    sys.modules["pinlock.cli.compile"] = _module

from pinlock.cli.sync import main  # noqa: E402


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


@pytest.fixture
def served(tmp_path: Path) -> tuple[IndexServer, dict[str, Path]]:
    files = tmp_path / "files"
    wheels = {
        f"{name}-{version}": make_wheel(files, name, version)
        for name, version in [("alpha", "1.0"), ("alpha", "2.0"), ("beta", "1.0"), ("junk", "1")]
    }
    with IndexServer(files) as server:
        yield server, wheels


def write_lock(path: Path, server: IndexServer, lines: dict[str, Path]) -> Path:
    text = [f"--index-url {server.url}", ""]
    for requirement, wheel in lines.items():
        text.append(f"{requirement} \\\n    --hash=sha256:{sha256_hex(wheel)}")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_sync_check_dry_run_json_and_no_op(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, wheels = served
    lock = write_lock(
        tmp_path / "requirements.txt",
        server,
        {"alpha==2.0": wheels["alpha-2.0"], "beta==1.0": wheels["beta-1.0"]},
    )
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(wheels["alpha-1.0"]), str(wheels["junk-1"]))

    code, out, _ = run([str(lock), "--python", str(tmp_path / "venv"), "--check"], capsys)
    assert code == 1
    assert out.splitlines()[:3] == ["~ alpha 1.0 -> 2.0", "+ beta 1.0", "- junk 1"]

    code, out, _ = run([str(lock), "--python", str(python), "--dry-run", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["applied"] is False
    assert {c["name"]: c["action"] for c in report["changes"]} == {
        "alpha": "upgrade",
        "beta": "install",
        "junk": "remove",
    }
    assert freeze(python) == ["alpha==1.0", "junk==1"]

    code, out, err = run([str(lock), "--python", str(python)], capsys)
    assert (code, err) == (0, "")
    assert freeze(python) == ["alpha==2.0", "beta==1.0"]

    server.clear_log()
    code, out, _ = run([str(lock), "--python", str(python)], capsys)
    assert code == 0
    assert out.startswith("nothing to do")
    assert server.requests == []
    assert run([str(lock), "--python", str(python), "--check"], capsys)[0] == 0


def test_venv_is_created_when_missing(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, wheels = served
    lock = write_lock(tmp_path / "lock.txt", server, {"beta==1.0": wheels["beta-1.0"]})
    code, _, err = run([str(lock), "--venv", str(tmp_path / "new-venv")], capsys)
    assert (code, err) == (0, "")
    names = [line.split("==")[0] for line in freeze(tmp_path / "new-venv" / "bin" / "python")]
    assert "beta" in names


def test_two_locks_pinning_one_name_differently_conflict(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, wheels = served
    first = write_lock(tmp_path / "a.txt", server, {"alpha==1.0": wheels["alpha-1.0"]})
    second = write_lock(tmp_path / "b.txt", server, {"alpha==2.0": wheels["alpha-2.0"]})
    make_venv(tmp_path / "venv")
    code, _, err = run([str(first), str(second), "--python", str(tmp_path / "venv")], capsys)
    assert code == 2
    assert err.startswith("error: alpha is pinned differently")
    assert "a.txt:3" in err
    assert "b.txt:3" in err


def test_hash_mismatch_is_an_error_and_changes_nothing(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, wheels = served
    lock = write_lock(tmp_path / "lock.txt", server, {"alpha==2.0": wheels["alpha-1.0"]})
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(wheels["junk-1"]))
    code, _, err = run([str(lock), "--python", str(python)], capsys)
    assert code != 0
    assert err.startswith("error: ")
    assert freeze(python) == ["junk==1"]


def test_refuses_a_system_interpreter_without_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("", encoding="utf-8")
    base = Path(sys.base_prefix) / "bin" / "python3"
    code, _, err = run([str(lock), "--python", str(base)], capsys)
    assert code == 2
    assert "--system" in err


def test_sync_imports_no_resolver_stack() -> None:
    code = _PLACEHOLDER + (
        "import pinlock.cli.sync, pinlock.sync.apply, pinlock.sync.plan, pinlock.sync.fetch\n"
        "import pinlock.sync.environment, pinlock.sync.locks, pinlock.lock.txt\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('resolvelib', 'build') or "
        "m.startswith(('pinlock.resolve', 'pinlock.metadata', 'pinlock.compile'))]\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert result.stdout.strip() == "[]"
