"""run_pip: our own pip for current targets, the target's pip for old ones, errors with output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pinlock.errors import EnvironmentProblem, PipFailed
from pinlock.sync.piprun import pip_command, run_pip
from tests.sync_helpers import make_venv

OLD = Path("/root/.pyenv/versions/3.9.18/bin/python")


def test_own_pip_drives_a_current_venv(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    assert pip_command(python) == [sys.executable, "-m", "pip", "--python", str(python)]
    assert run_pip(["list", "--format=freeze"], python=python).strip() == ""


def test_running_interpreter_needs_no_python_option() -> None:
    assert pip_command(Path(sys.executable)) == [sys.executable, "-m", "pip"]


def test_failure_carries_pips_output(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    with pytest.raises(PipFailed) as failure:
        run_pip(["install", "--no-index", "surely-not-here==1"], python=python)
    assert failure.value.returncode != 0
    assert "surely-not-here" in failure.value.output


@pytest.mark.skipif(not OLD.exists(), reason="no pyenv Python 3.9")
def test_old_target_without_pip_is_an_environment_problem(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv39", python=str(OLD))
    with pytest.raises(EnvironmentProblem, match="ensurepip"):
        pip_command(python)


@pytest.mark.skipif(not OLD.exists(), reason="no pyenv Python 3.9")
def test_old_target_uses_its_own_pip() -> None:
    assert pip_command(OLD) == [str(OLD), "-m", "pip"]


def test_not_an_interpreter(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("not a program")
    fake.chmod(0o755)
    with pytest.raises(EnvironmentProblem):
        pip_command(fake)
