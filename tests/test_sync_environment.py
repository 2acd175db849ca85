"""Finding and inspecting the target environment without pip."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pinlock.errors import EnvironmentProblem
from pinlock.sync.environment import (
    check_allowed,
    find_python,
    inspect_environment,
    protected_names,
)
from pinlock.target.probe import find_interpreter
from tests.support.artifacts import make_wheel
from tests.sync_helpers import editable_project, make_venv, pip_install


def test_precedence_of_targets(tmp_path: Path) -> None:
    a = make_venv(tmp_path / "a")
    b = make_venv(tmp_path / "b")
    make_venv(tmp_path / ".venv")
    env = {"VIRTUAL_ENV": str(tmp_path / "b"), "PATH": ""}
    assert find_python(python=tmp_path / "a", environ=env, cwd=tmp_path) == a
    assert find_python(python=a, environ=env, cwd=tmp_path) == a
    assert find_python(environ=env, cwd=tmp_path) == b
    assert find_python(environ={}, cwd=tmp_path) == tmp_path / ".venv" / "bin" / "python"
    with pytest.raises(EnvironmentProblem, match="--venv"):
        find_python(environ={}, cwd=tmp_path / "a")


def test_venv_created_when_missing(tmp_path: Path) -> None:
    python = find_python(venv=Path("made"), environ={}, cwd=tmp_path)
    assert python == tmp_path / "made" / "bin" / "python"
    assert inspect_environment(python).is_venv


def test_folder_that_is_not_a_venv(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="not a virtual environment"):
        find_interpreter(tmp_path)


def test_inspection_reads_dist_info(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    wheel = make_wheel(tmp_path / "w", "Some.Thing", "1.0+cu121")
    src = editable_project(tmp_path / "src", "edit-me", "0.3")
    pip_install(python, str(wheel), "-e", str(src))
    env = inspect_environment(python)
    assert env.is_venv
    assert env.python_version[:2] == sys.version_info[:2]
    assert env.marker_environment["python_version"] == "{}.{}".format(*sys.version_info[:2])
    found = {str(name): dist for name, dist in env.by_name().items()}
    thing = found["some-thing"]
    assert (thing.display_name, str(thing.version), thing.installer) == (
        "Some.Thing",
        "1.0+cu121",
        "pip",
    )
    assert thing.url is not None
    assert thing.url.endswith("-py3-none-any.whl")  # a path install records its URL
    assert found["edit-me"].editable
    assert found["edit-me"].url == src.as_uri()


def test_system_interpreter_needs_system(tmp_path: Path) -> None:
    base = inspect_environment(Path(sys.base_prefix) / "bin" / "python3")
    assert not base.is_venv
    with pytest.raises(EnvironmentProblem, match="--system"):
        check_allowed(base, system=False, break_system_packages=False)
    check_allowed(base, system=True, break_system_packages=False)


def test_externally_managed_needs_break_system_packages(tmp_path: Path) -> None:
    from dataclasses import replace

    stdlib = tmp_path / "stdlib"
    stdlib.mkdir()
    (stdlib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\n")
    base = inspect_environment(Path(sys.base_prefix) / "bin" / "python3")
    managed = replace(base, stdlib=stdlib)
    with pytest.raises(EnvironmentProblem, match="break-system-packages"):
        check_allowed(managed, system=True, break_system_packages=False)
    check_allowed(managed, system=True, break_system_packages=True)


def test_own_environment_protects_pinlock_and_its_needs(tmp_path: Path) -> None:
    own = inspect_environment(Path(sys.executable))
    assert own.is_running_environment
    assert {"pinlock", "pip"} <= protected_names(own)
    other = inspect_environment(make_venv(tmp_path / "venv"))
    assert protected_names(other) == frozenset()


_OTHER_PYTHON = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")


@pytest.mark.skipif(not _OTHER_PYTHON.exists(), reason="no Python 3.8 interpreter here")
def test_tags_are_the_targets_not_this_process(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv38", python=str(_OTHER_PYTHON))
    env = inspect_environment(python)
    assert env.python_version[:2] == (3, 8)
    assert env.marker_environment["python_version"] == "3.8"
    assert env.tags[0].interpreter == "cp38"
    assert all(tag.interpreter not in {"cp311", "cp312"} for tag in env.tags)
    assert any(tag.abi == "abi3" and tag.interpreter == "cp38" for tag in env.tags)


def test_a_failed_venv_creation_leaves_no_half_made_folder(tmp_path: Path) -> None:
    creator = tmp_path / "broken-python"
    creator.write_text('#!/bin/sh\nmkdir -p "$3/bin"\necho "no ensurepip" >&2\nexit 1\n')
    creator.chmod(0o755)
    folder = tmp_path / "made"
    with pytest.raises(EnvironmentProblem, match="no ensurepip"):
        find_python(venv=folder, python=creator, environ={}, cwd=tmp_path)
    assert not folder.exists()
