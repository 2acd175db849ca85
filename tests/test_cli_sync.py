"""The ``pinlock-sync`` command end to end: a local index, real venvs, real pip."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
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

from pinlock.cli.sync import main as quick_main  # noqa: E402
from pinlock.cli.sync import typer_main  # noqa: E402


def run(
    argv: list[str], capsys: pytest.CaptureFixture[str], *, via_typer: bool = False
) -> tuple[int, str, str]:
    """``pinlock-sync ARGV`` through the quick reader, or through the typer app."""
    with pytest.raises(SystemExit) as exited:
        (typer_main if via_typer else quick_main)(argv)
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[IndexServer, dict[str, Path]]]:
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

    code, out, _ = run(
        [str(lock), "--python", str(tmp_path / "venv"), "--check"], capsys, via_typer=True
    )
    assert code == 1
    assert out.splitlines()[:3] == ["~ alpha 1.0 -> 2.0", "+ beta 1.0", "- junk 1"]

    code, out, _ = run(
        [str(lock), "--python", str(python), "--dry-run", "--json"], capsys, via_typer=True
    )
    assert code == 0
    report = json.loads(out)
    assert report["applied"] is False
    assert {c["name"]: c["action"] for c in report["changes"]} == {
        "alpha": "upgrade",
        "beta": "install",
        "junk": "remove",
    }
    assert freeze(python) == ["alpha==1.0", "junk==1"]

    code, out, err = run([str(lock), "--python", str(python)], capsys, via_typer=True)
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
        "m == 'pinlock.compile' or m.startswith('pinlock.compile.')]\n"
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


def write_flavour_lock(path: Path, flavour: str, links: Path, wheels: list[Path]) -> Path:
    text = ["#", f"# flavour: {flavour}", "#", "--no-index", f"--find-links {links}", ""]
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        text.append(f"{name}=={version} \\\n    --hash=sha256:{sha256_hex(wheel)}")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_flavour_auto_switches_a_cpu_build_to_the_cuda_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    links = tmp_path / "links"
    cpu = make_wheel(links, "torchlike", "2.5.1+cpu")
    cuda = make_wheel(links, "torchlike", "2.5.1+cu121")
    helper = make_wheel(links, "helper", "1.0")
    locks = tmp_path / "requirements"
    locks.mkdir()
    write_flavour_lock(locks / "main-cpu.txt", "cpu", links, [cpu, helper])
    write_flavour_lock(locks / "main-cu121.txt", "cu121", links, [cuda, helper])
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(cpu), str(helper))

    monkeypatch.setenv("PINLOCK_CUDA_DRIVER", "535.104.05")
    venv = str(tmp_path / "venv")
    code, out, err = run(
        [str(locks / "main"), "--flavour", "auto", "--python", venv, "--check"], capsys
    )
    assert code == 1
    assert "flavour cu121: NVIDIA driver 535.104.05 (from PINLOCK_CUDA_DRIVER)" in err
    assert "main-cu121.txt" in err
    assert "~ torchlike 2.5.1+cpu -> 2.5.1+cu121 (other local version)" in out

    code, out, err = run([str(locks / "main"), "--flavour", "auto", "--python", venv], capsys)
    assert code == 0, err
    assert freeze(python) == ["helper==1.0", "torchlike==2.5.1+cu121"]

    # Back to cpu by name, reported in JSON.
    code, out, _ = run(
        [
            str(locks / "main-cpu.txt"),
            str(locks / "main-cu121.txt"),
            "--flavour",
            "cpu",
            "--python",
            venv,
            "--json",
        ],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    assert report["flavour"]["chosen"] == "cpu"
    assert report["flavour"]["lock"].endswith("main-cpu.txt")
    assert "--flavour cpu" in report["flavour"]["reason"]
    assert [c["action"] for c in report["changes"]] == ["reinstall"]
    assert freeze(python) == ["helper==1.0", "torchlike==2.5.1+cpu"]


def test_flavour_auto_reads_a_fake_nvidia_smi_on_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if Path("/sys/module/nvidia/version").exists() or Path("/proc/driver/nvidia").exists():
        pytest.skip("this machine has an NVIDIA driver, which comes before nvidia-smi")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 470.82.01\n", encoding="utf-8")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    for flavour in ("cpu", "cu118", "cu121"):
        (tmp_path / f"ml-{flavour}.txt").write_text(f"# flavour: {flavour}\n", encoding="utf-8")
    make_venv(tmp_path / "venv")
    code, out, err = run(
        [
            str(tmp_path / "ml"),
            "--flavour",
            "auto",
            "--python",
            str(tmp_path / "venv"),
            "--dry-run",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    flavour = json.loads(out)["flavour"]
    assert flavour["chosen"] == "cu118"
    assert "470.82.01 (from nvidia-smi)" in flavour["reason"]


def test_the_quick_reader_reads_what_typer_reads() -> None:
    # That both readers take the same options, derived from SYNC_OPTIONS: test_cli_options.
    from pinlock.cli.declare import parse_quickly
    from pinlock.cli.options import SYNC_OPTIONS

    parsed = parse_quickly(
        SYNC_OPTIONS,
        [
            "a.txt",
            "--python",
            "v",
            "-qq",
            "-f",
            "x",
            "--find-links=y",
            "b.txt",
            "--json",
            "--flavour",
            "auto",
            "-i",
            "http://i",
        ],
    )
    assert parsed is not None
    assert {key: value for key, value in parsed.items() if value not in (None, 0)} == {
        "locks": [Path("a.txt"), Path("b.txt")],
        "python": Path("v"),
        "quiet": 2,
        "find_links": ["x", "y"],
        "json_output": True,
        "flavour": "auto",
        "index_url": "http://i",
    }
    # Help and anything it does not understand go to typer.
    assert parse_quickly(SYNC_OPTIONS, ["--help"]) is None
    assert parse_quickly(SYNC_OPTIONS, ["--pyth", "v"]) is None
    assert parse_quickly(SYNC_OPTIONS, ["--no-such-option"]) is None


def test_both_readers_give_the_same_values() -> None:
    """One command line through typer and through the quick reader: the same values."""
    from typer.testing import CliRunner

    from pinlock.cli.declare import parse_quickly
    from pinlock.cli.options import SYNC_OPTIONS
    from pinlock.cli.typed import single_command_app

    argv = ["a.txt", "--venv", "v", "-v", "--system", "--extra-index-url", "e", "b.txt"]
    seen: list[dict[str, object]] = []

    def body(given: object) -> int:
        seen.append(dict(given))  # type: ignore[call-overload]
        return 0

    result = CliRunner().invoke(single_command_app(SYNC_OPTIONS, body, help=""), argv)
    assert result.exit_code == 0, result.output
    quick = parse_quickly(SYNC_OPTIONS, argv)
    assert quick is not None
    assert seen == [quick]


def test_pinlock_sync_runs_without_typer(tmp_path: Path) -> None:
    # Nor installer: only a sync that installs wheels loads it.
    make_venv(tmp_path / "venv")
    lock = tmp_path / "requirements.txt"
    lock.write_text("", encoding="utf-8")
    code = (
        "import sys\n"
        "from pinlock.cli import main\n"
        "try:\n"
        f"    main(['sync', '--python', {str(tmp_path / 'venv')!r}, {str(lock)!r}])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "print([m for m in sys.modules if m.split('.')[0] in "
        "('typer', 'pydantic', 'rich', 'installer') or m == 'packaging.metadata'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).parents[1] / "src"), "PIP_CONFIG_FILE": "/dev/null"},
    )
    assert result.stdout.splitlines()[-2:] == ["exit 0", "[]"]
    assert "nothing to do" in result.stdout


def test_help_still_comes_from_typer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        quick_main(["--help"])
    assert exited.value.code == 0
    assert "--flavour" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--dry-run", "--check"])
def test_dry_run_and_check_create_no_venv(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("", encoding="utf-8")
    missing = tmp_path / "new-venv"
    code, out, err = run([str(lock), "--venv", str(missing), flag], capsys)
    assert code == 2
    assert out == ""
    assert "does not exist" in err and flag in err
    assert not missing.exists()


def test_ctrl_c_before_any_change_says_so_without_a_traceback(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pinlock.sync import apply as apply_module

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(apply_module, "fetch_files", interrupted)
    server, wheels = served
    lock = write_lock(tmp_path / "lock.txt", server, {"beta==1.0": wheels["beta-1.0"]})
    python = make_venv(tmp_path / "venv")
    code, _, err = run([str(lock), "--python", str(python)], capsys)
    assert code == 130
    assert err == "error: interrupted before anything changed\n"
    assert freeze(python) == []


def test_index_options_layer_like_pip_install_r(tmp_path: Path) -> None:
    from pinlock.lock.txt import read_lock
    from pinlock.sync.run import index_settings

    lock_file = tmp_path / "lock.txt"
    lock_file.write_text("--extra-index-url https://extra.example/simple\nsix==1.16.0\n")
    lock = read_lock(lock_file)
    settings = index_settings([lock], {"index-url": "https://mirror.example/simple"})
    assert settings.index_url == "https://mirror.example/simple"
    assert settings.extra_index_urls == ("https://extra.example/simple",)
    lock_file.write_text("--index-url https://own.example/simple\nsix==1.16.0\n")
    own = index_settings([read_lock(lock_file)], {"index-url": "https://mirror.example/simple"})
    assert own.index_url == "https://own.example/simple"  # the file's line wins, as in pip


def test_sync_reads_its_table_over_the_shared_one(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, wheels = served
    lock = tmp_path / "lock.txt"
    lock.write_text(f"beta==1.0 --hash=sha256:{sha256_hex(wheels['beta-1.0'])}\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pinlock]\n"
        'index-url = "http://127.0.0.1:9/simple"\n'
        'cache-dir = "shared-cache"\n'
        "python = [\"/no/such/python\"]  # compile's targets, not sync's interpreter\n"
        "\n[tool.pinlock.sync]\n"
        f'index-url = "{server.url}"\n'
        'venv = "env"\n'
        'locks = ["lock.txt"]\n'
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run([], capsys)
    assert code == 0, err
    assert out.startswith("+ beta 1.0")
    assert "beta==1.0" in freeze(tmp_path / "env" / "bin" / "python")
    assert any((tmp_path / "shared-cache").rglob("beta-1.0-*.whl"))
    # The command line wins over both tables.
    code, out, err = run(["--venv", "elsewhere", "--dry-run"], capsys)
    assert code == 2
    assert "elsewhere does not exist" in err


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[tool.pinlock.sync]\nvenvs = "x"\n', "venvs"),
        ("[tool.pinlock.compile]\nbogus = 1\n", "bogus"),
        ('[tool.pinlock]\nvenv = "x"\n', "venv"),
        ("[tool.pinlock.sync]\nsystem = 'yes'\n", "system"),
    ],
)
def test_a_mistake_in_any_table_stops_sync(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    key: str,
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("", encoding="utf-8")
    make_venv(tmp_path / "venv")
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    code, out, err = run([str(lock), "--python", str(tmp_path / "venv")], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {tmp_path / 'pyproject.toml'}: {key}: ")


def test_sync_config_file_replaces_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pinlock.sync]\nbogus = 1\n")
    config = tmp_path / "ci.toml"
    config.write_text('[sync]\nvenv = "from-config"\nlocks = ["none.txt"]\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["--config", str(config), "--check"], capsys)
    assert code == 2
    assert "from-config does not exist" in err
    code, _, err = run(["--config", str(tmp_path / "missing.toml")], capsys)
    assert code == 2
    assert "missing.toml" in err and "file not found" in err


def test_verbose_shows_pip_settings_for_the_target_environment(
    served: tuple[IndexServer, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, wheels = served
    lock = write_lock(tmp_path / "lock.txt", server, {"beta==1.0": wheels["beta-1.0"]})
    python = make_venv(tmp_path / "venv")
    # Files on: an empty HOME and XDG folders (pip reads /etc/pip.conf all the same).
    monkeypatch.delenv("PIP_CONFIG_FILE")
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://ci:t0ken@private.example/simple")
    monkeypatch.setenv("PIP_RETRIES", "2")
    (tmp_path / "venv" / "pip.conf").write_text("[install]\nno-color = yes\n")
    code, out, err = run([str(lock), "--python", str(python), "--dry-run", "-v"], capsys)
    assert code == 0
    assert "t0ken" not in out + err
    assert "pip configuration (as `pip install` reads it here):" in err
    assert f"file (site): {tmp_path / 'venv' / 'pip.conf'}" in err
    assert "extra-index-url = https://ci:****@private.example/simple  (PIP_EXTRA_INDEX_URL)" in err
    assert "retries = 2  (PIP_RETRIES): applied" in err
    code, out, err = run([str(lock), "--python", str(python), "--dry-run"], capsys)
    assert "pip configuration" not in err
