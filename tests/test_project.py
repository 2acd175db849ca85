"""The project's own files agree with each other."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.lock.txt import read_lock
from pinlock.pyproject import read_toml
from tests.support.pythons import find_python

PYPROJECT: Any = read_toml(Path(__file__).resolve().parent.parent / "pyproject.toml")

ROOT = Path(__file__).resolve().parent.parent


def test_the_main_locks_are_compiled_from_the_project_dependencies() -> None:
    # main.in holds no requirement of its own: it includes [project.dependencies].
    lines = (ROOT / "requirements" / "main.in").read_text().splitlines()
    assert [line for line in lines if line.strip() and not line.startswith("#")] == [
        "-r ../pyproject.toml"
    ]
    declared = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for version in PYPROJECT["tool"]["pinlock"]["python-version"]:
        lock = read_lock(ROOT / "requirements" / f"main-py{version.replace('.', '')}.txt")
        pinned = {package.name: package for package in lock.packages}
        environment = {**default_environment(), "python_version": version}
        for requirement in declared:
            applies = requirement.marker is None or requirement.marker.evaluate(environment)
            name = canonicalize_name(requirement.name)
            assert (name in pinned) == applies, f"{name} for Python {version}"
            if applies:
                version_pinned = pinned[name].version
                assert "pyproject.toml" in pinned[name].via
                assert version_pinned is not None and version_pinned in requirement.specifier


def test_locks_exist_for_every_input_and_every_promised_python() -> None:
    config = PYPROJECT["tool"]["pinlock"]
    promised = SpecifierSet(PYPROJECT["project"]["requires-python"])
    versions = config["python-version"]
    # The locked versions are exactly the supported minor versions up to the newest one locked.
    assert all(Version(v) in promised for v in versions)
    assert Version("3.9") not in promised and "3.10" in versions
    for source in config["inputs"]:
        for version in versions:
            lock = ROOT / source.replace(".in", f"-py{version.replace('.', '')}.txt")
            assert lock.is_file(), f"run `make lock`: {source} has no lock for Python {version}"
            assert f"with Python {version}\n" in lock.read_text()


@pytest.mark.parametrize("version", ["3.10", "3.13"])
def test_the_makefile_installs_the_lock_of_its_python(version: str, tmp_path: Path) -> None:
    python = find_python(version)
    if python is None:
        pytest.skip(f"no CPython {version} here")
    venv = tmp_path / "venv"  # never made: make only says what it would run
    done = subprocess.run(
        ["make", "-n", f"PYTHON={python}", f"VENV={venv}", f"{venv}/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    tag = version.replace(".", "")
    assert f"-r requirements/dev-py{tag}.txt\n" in done.stdout
    assert not venv.exists()


def test_the_makefile_names_the_supported_pythons_for_one_it_has_no_lock_for(
    tmp_path: Path,
) -> None:
    python = find_python("3.9")
    if python is None:
        pytest.skip("no CPython 3.9 here")
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", f"PYTHON={python}", f"VENV={venv}", f"{venv}/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no lock for PYTHON=" in done.stderr and "(py39)" in done.stderr
    assert "3.10 to 3.13" in done.stderr
    assert not venv.exists()
