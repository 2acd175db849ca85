"""The one interpreter finder and the one probe: old interpreters, venvs, PATH names, reuse."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pinlock.errors import EnvironmentProblem
from pinlock.sync.environment import inspect_environment
from pinlock.sync.piprun import pip_command
from pinlock.target import MARKER_KEYS, target_from_facts
from pinlock.target import probe as probe_module
from pinlock.target.probe import find_interpreter, probe_interpreter, probe_script
from tests.sync_helpers import make_venv

PYENV = Path("/root/.pyenv/versions")


def pyenv_python(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no pyenv Python {version} on this machine")
    return found[-1]


def test_script_is_the_linted_file_and_parses_as_python_36() -> None:
    script = probe_script()
    assert script == (Path(probe_module.__file__).parent / "_probe_script.py").read_text("utf-8")
    # The grammar of 3.6: no walrus, no positional-only parameters, no f"{x=}".
    ast.parse(script, feature_version=(3, 6))


@pytest.mark.parametrize("version", ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_probe_runs_on_every_interpreter(version: str) -> None:
    python = pyenv_python(version)
    facts = probe_interpreter(python)
    major, minor = (int(part) for part in version.split("."))
    assert facts.version_info[:2] == (major, minor)
    assert set(facts.markers) == set(MARKER_KEYS)
    assert facts.markers["python_version"] == version
    assert facts.interpreter == python
    assert facts.prefix == python.parent.parent
    assert facts.purelib.name == "site-packages"
    assert facts.has_pip  # pyenv builds come with pip
    target = target_from_facts(facts)
    nodot = f"{major}{minor}"
    # Before 3.8 every CPython ABI carries pymalloc's "m".
    abi = f"cp{nodot}m" if (major, minor) < (3, 8) else f"cp{nodot}"
    assert (target.tags[0].interpreter, target.tags[0].abi) == (f"cp{nodot}", abi)
    assert target.name.startswith(f"py{nodot}-")


def test_has_pip_is_located_not_guessed(tmp_path: Path) -> None:
    bare = probe_interpreter(make_venv(tmp_path / "bare"))
    assert not bare.has_pip
    assert bare.prefix == tmp_path / "bare"
    assert bare.base_prefix != bare.prefix
    with_pip = probe_interpreter(make_venv(tmp_path / "full", with_pip=True))
    assert with_pip.has_pip


def test_probe_ignores_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run with -I: a json.py (or platform.py) in the current folder must not shadow the stdlib.
    (tmp_path / "json.py").write_text("raise SystemExit('shadowed')\n")
    (tmp_path / "platform.py").write_text("raise SystemExit('shadowed')\n")
    monkeypatch.chdir(tmp_path)
    facts = probe_interpreter(sys.executable)
    assert facts.version_info[:2] == sys.version_info[:2]


def test_find_interpreter_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    python = make_venv(venv)
    assert find_interpreter(venv) == python
    assert find_interpreter(str(python)) == python
    # A name that is no file is a command on PATH.
    monkeypatch.setenv("PATH", str(python.parent) + os.pathsep + os.environ.get("PATH", ""))
    assert find_interpreter("python") == python
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_interpreter("~/venv") == python
    with pytest.raises(EnvironmentProblem, match="not a virtual environment"):
        find_interpreter(tmp_path)
    with pytest.raises(EnvironmentProblem, match="no Python interpreter at surely-no-python"):
        find_interpreter("surely-no-python")


def test_incomplete_answers_are_environment_problems(tmp_path: Path) -> None:
    liar = tmp_path / "liar"
    liar.write_text('#!/bin/sh\necho \'{"markers": {}, "version_info": [3]}\'\n')
    liar.chmod(0o755)
    with pytest.raises(EnvironmentProblem, match="incomplete facts"):
        probe_interpreter(liar)


def test_pip_runs_on_the_facts_of_the_sync_inspection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = make_venv(tmp_path / "venv")
    runs: list[list[str]] = []

    class CountingPopen(subprocess.Popen[str]):
        # Every child process starts here (subprocess.run, pinlock.processes.run_child).
        def __init__(self, args: list[str], *more: object, **kwargs: object) -> None:
            runs.append(args)
            super().__init__(args, *more, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", CountingPopen)
    env = inspect_environment(python)
    assert len(runs) == 1
    assert not env.has_pip
    assert pip_command(env.python) == [sys.executable, "-m", "pip", "--python", str(python)]
    assert len(runs) == 1  # piprun took the inspection's answers
    # A fresh probe (as a new inspection makes) runs the interpreter again.
    probe_interpreter(python)
    assert len(runs) == 2
