"""The project's own files agree with each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinlock.pyproject import read_toml

PYPROJECT: Any = read_toml(Path(__file__).resolve().parent.parent / "pyproject.toml")

ROOT = Path(__file__).resolve().parent.parent


def test_main_in_lists_exactly_the_runtime_dependencies() -> None:
    project = PYPROJECT["project"]
    declared = {str(Requirement(r)) for r in project["dependencies"]}
    lines = (ROOT / "requirements" / "main.in").read_text().splitlines()
    listed = {str(Requirement(line)) for line in lines if line.strip() and not line.startswith("#")}
    assert listed == declared


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
