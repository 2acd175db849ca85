"""The project's own files agree with each other."""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_main_in_lists_exactly_the_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {str(Requirement(r)) for r in project["dependencies"]}
    lines = (ROOT / "requirements" / "main.in").read_text().splitlines()
    listed = {str(Requirement(line)) for line in lines if line.strip() and not line.startswith("#")}
    assert listed == declared


def test_locks_exist_for_every_input() -> None:
    for source in (ROOT / "requirements").glob("*.in"):
        assert source.with_suffix(".txt").is_file(), f"run `make lock`: {source} has no lock"
