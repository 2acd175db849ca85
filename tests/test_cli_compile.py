"""``pinlock compile`` as a user runs it: options, output files, messages and exit codes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pinlock
from pinlock.cli.compile import compile_app
from tests.support.compiling import compile_cli, compile_in_fresh_process
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("beta", "1.0")
    wheel_factory("gpu", "1.0", tag="cp312-cp312-win_amd64")
    return index_factory()


def test_default_output_next_to_input(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("alpha\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, str(src))
    assert code == 0, err
    text = (tmp_path / "main.txt").read_text()
    assert "alpha==1.0 \\\n    --hash=sha256:" in text
    assert "    # via alpha\n" in text
    assert f"#    pinlock compile --index-url {index.url} {src}\n" in text
    assert "wrote" in err
    code, _out, err = compile_cli(tmp_path, "-i", index.url, str(src))
    assert "up to date" in err


def test_a_compile_runs_without_the_cycle_collector_and_switches_it_back_on(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import pinlock.compile

    seen: list[bool] = []
    real = pinlock.compile.compile_locks

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pinlock.compile, "compile_locks", watched)
    assert gc.isenabled()
    (tmp_path / "main.in").write_text("alpha\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, str(tmp_path / "main.in"))
    assert code == 0, err
    assert seen == [False]
    assert gc.isenabled()
    (tmp_path / "bad.in").write_text("alpha ===\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, str(tmp_path / "bad.in"))
    assert code != 0, err
    assert gc.isenabled()


def test_what_a_compile_made_waits_in_the_oldest_generation() -> None:
    import gc

    from pinlock.cli.heap import no_collections

    with no_collections():
        kept = [[number] for number in range(20_000)]
    # Not left young, for the collector's next young pass to walk it all.
    young = {id(thing) for generation in (0, 1) for thing in gc.get_objects(generation)}
    assert id(kept[0]) not in young and id(kept[-1]) not in young


def test_stdout_dry_run_and_styles(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("alpha\n")
    code, out, _err = compile_cli(
        tmp_path, "-i", index.url, "-o", "-", "--no-hashes", "--annotation-style", "line", str(src)
    )
    assert code == 0
    assert "beta==1.0  # via alpha\n" in out
    assert not (tmp_path / "main.txt").exists()
    code, out, err = compile_cli(tmp_path, "-i", index.url, "--dry-run", str(src))
    assert code == 0 and "alpha==1.0" in out and "would write" in err
    assert not (tmp_path / "main.txt").exists()


def test_custom_compile_command_in_header(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("beta\n")
    code, out, _ = compile_cli(
        tmp_path, "-i", index.url, "-o", "-", str(src), env={"CUSTOM_COMPILE_COMMAND": "make lock"}
    )
    assert code == 0
    assert "#    make lock\n" in out


def test_header_command_keeps_options_that_change_the_lock(
    tmp_path: Path, index: IndexServer
) -> None:
    src = tmp_path / "main.in"
    src.write_text("beta\n")
    secret_index = index.url.replace("://", "://user:secret@")
    code, out, err = compile_cli(
        tmp_path, "-i", secret_index, "--pre", "--only-binary", ":all:", "-o", "-", str(src)
    )
    assert code == 0, err
    assert "secret" not in out
    masked = shlex.quote(index.url.replace("://", "://user:****@"))
    assert f"#    pinlock compile --pre --index-url {masked} --only-binary :all: " in out


def test_bad_line_exit_code_and_location(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("alpha\n\nbeta ==> 1\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, str(src))
    assert code == 2
    assert f"{src}:3" in err and "beta ==> 1" in err


def test_no_wheel_for_target_is_exit_3(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("gpu\n")
    code, _out, err = compile_cli(
        tmp_path, "-i", index.url, "--python-version", "3.12", "--platform", "linux", str(src)
    )
    assert code == 3
    assert "no wheel for CPython 3.12" in err


def test_unreachable_index_names_url(tmp_path: Path) -> None:
    src = tmp_path / "main.in"
    src.write_text("alpha\n")
    code, _out, err = compile_cli(
        tmp_path, "-i", "http://127.0.0.1:9/simple", str(src), env={"PIP_RETRIES": "1"}
    )
    assert code == 4
    assert "http://127.0.0.1:9/simple/alpha/ (2 attempts)" in err


def test_standalone_script_and_module(tmp_path: Path, index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("beta\n")
    result = CliRunner().invoke(compile_app, ["-i", index.url, "-o", "-", str(src)])
    assert result.exit_code == 0 and "beta==1.0" in result.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "pinlock", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(pinlock.__file__).parents[1])},
    )
    assert proc.stdout.startswith("pinlock ")


def test_compile_table_over_shared_table_under_command_line(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.in").write_text("alpha\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pinlock]\n"
        'inputs = ["main.in"]\n'
        'index-url = "http://127.0.0.1:9/simple"\n'
        'annotation-style = "split"\n'
        "\n[tool.pinlock.compile]\n"
        f'index-url = "{index.url}"\n'
        'annotation_style = "line"\n'
    )
    code, _out, err = compile_cli(tmp_path)
    assert code == 0, err
    lines = (tmp_path / "main.txt").read_text().splitlines()
    assert any(line.endswith("  # via alpha") and "--hash=" in line for line in lines)  # line
    code, _out, err = compile_cli(tmp_path, "--annotation-style", "split")
    assert code == 0, err
    assert "    # via alpha" in (tmp_path / "main.txt").read_text().splitlines()


@pytest.mark.parametrize(
    "text",
    [
        "[tool.pinlock.compile]\npython-versions = ['3.13']\n",
        "[tool.pinlock.sync]\npython-versions = ['3.13']\n",
        "[tool.pinlock]\nvenv = 'env'\n",
    ],
)
def test_unknown_key_in_any_table_stops_compile(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.in").write_text("alpha\n")
    (tmp_path / "pyproject.toml").write_text(text)
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "main.in")
    assert code == 2
    assert str(tmp_path / "pyproject.toml") in err
    assert ("python-versions" if "python" in text else "venv") in err
    assert not (tmp_path / "main.txt").exists()


def test_python_targets_own_pip_conf_is_pips_site_configuration(
    tmp_path: Path, files_dir: Path, wheel_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `pip --python VENV` reads VENV/pip.conf; a lock for VENV is resolved with it too.
    wheel_factory("alpha", "1.0")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "pip.conf").write_text(
        f"[global]\nno-index = true\nfind-links = {files_dir}\n", encoding="utf-8"
    )
    monkeypatch.delenv("PIP_CONFIG_FILE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    src = tmp_path / "main.in"
    src.write_text("alpha\n")

    code, _out, err = compile_cli(tmp_path, "--python", str(venv), str(src))

    assert code == 0, err
    assert "alpha==1.0" in (tmp_path / "main.txt").read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_an_up_to_date_compile_touches_the_lock_so_make_rules_settle(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "main.in").write_text("beta\n")
    command = f"{sys.executable} -m pinlock compile -i {index.url} --cache-dir cache main.in"
    (tmp_path / "Makefile").write_text(f"main.txt: main.in\n\t{command}\n")
    environ = {**os.environ, "PYTHONPATH": str(Path(pinlock.__file__).parents[1])}

    def make(*args: str) -> int:
        done = subprocess.run(
            ["make", *args], cwd=tmp_path, env=environ, capture_output=True, check=False
        )
        return done.returncode

    assert make() == 0
    before = (tmp_path / "main.txt").read_bytes()
    # The input changes in time but not in what it asks for: the lock's bytes stay as they were.
    made = (tmp_path / "main.txt").stat().st_mtime
    os.utime(tmp_path / "main.txt", (made - 100, made - 100))
    os.utime(tmp_path / "main.in", (made - 50, made - 50))
    assert make("-q") == 1
    assert make() == 0
    assert (tmp_path / "main.txt").read_bytes() == before
    assert make("-q") == 0


def test_the_compile_command_loads_with_the_collector_held_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gc
    import importlib.abc
    from importlib.machinery import ModuleSpec

    import pinlock.cli
    import pinlock.cli.compile

    seen: list[tuple[int, int, int]] = []

    class Watcher(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object, target: object = None) -> ModuleSpec | None:
            if name == "pinlock.cli.compile":
                seen.append(gc.get_threshold())
            return None

    # Loaded afresh (the module as it was is put back afterwards).
    monkeypatch.delitem(sys.modules, "pinlock.cli.compile")
    monkeypatch.setattr(pinlock.cli, "compile", pinlock.cli.compile)
    monkeypatch.setattr(sys, "meta_path", [Watcher(), *sys.meta_path])
    before = gc.get_threshold()
    with pytest.raises(SystemExit) as exited:
        pinlock.cli.main(["compile", "--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("pinlock ")
    assert seen and seen[0][0] >= 100_000 > before[0]
    assert gc.get_threshold() == before


def test_a_compile_reads_plain_metadata_without_loading_packaging_metadata(
    tmp_path: Path, index: IndexServer
) -> None:
    # packaging.metadata (the email package's header classes under it) reads only odd headers;
    # the wheels of the test index have plain ones, so a whole compile never loads it.
    (tmp_path / "main.in").write_text("alpha\n")
    status, loaded, err = compile_in_fresh_process(
        tmp_path,
        ["-i", index.url, "--cache-dir", "cache", "main.in"],
        loaded="sorted(m for m in sys.modules if m.startswith('packaging.metadata'))",
    )
    assert (status, loaded) == ("exit 0", "[]"), err
    assert (tmp_path / "main.txt").read_text().count("alpha==") == 1
