"""Where locks go: requirements.txt and pylock.toml names, per input kind, target and flavour."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinlock.compile import CompileRequest
from pinlock.compile.naming import lock_format, lock_path, output_for, plain_lock
from pinlock.compile.request import LockFormat
from pinlock.flavour import Flavour, parse_flavour
from pinlock.target import Target

TARGET = Target.from_spec("3.12", "linux")
CU121 = parse_flavour("cu121")


@pytest.mark.parametrize(
    ("source", "output_format", "multi", "flavour", "expected"),
    [
        ("req/main.in", None, False, None, "req/main.txt"),
        ("req/main.in", "pylock", False, None, "req/pylock.main.toml"),
        ("req/main.in", "pylock", True, CU121, f"req/pylock.main-{TARGET.name}-cu121.toml"),
        ("req/main.in", None, True, CU121, f"req/main-{TARGET.name}-cu121.txt"),
        ("pyproject.toml", None, False, None, "requirements.txt"),
        ("pyproject.toml", None, True, None, f"requirements-{TARGET.name}.txt"),
        ("pyproject.toml", "pylock", False, None, "pylock.toml"),
        ("sub/setup.py", "pylock", False, CU121, "sub/pylock.cu121.toml"),
    ],
)
def test_default_lock_names(
    source: str,
    output_format: LockFormat | None,
    multi: bool,
    flavour: Flavour | None,
    expected: str,
) -> None:
    request = CompileRequest(inputs=(Path(source),), output_format=output_format)
    assert lock_path(request, Path(source), TARGET, flavour, multi) == Path(expected)


def test_the_format_follows_the_output_name_unless_given() -> None:
    plain = CompileRequest(inputs=(Path("main.in"),))
    assert lock_format(plain, Path("pylock.toml")) == "pylock"
    assert lock_format(plain, Path("x/pylock.dev.toml")) == "pylock"
    assert lock_format(plain, Path("main.txt")) == "txt"
    assert lock_format(plain, None) == "txt"
    forced = CompileRequest(inputs=(Path("main.in"),), output_format="pylock")
    assert lock_format(forced, None) == "pylock"


def test_standard_input_goes_to_standard_output_and_layers_by_its_lock_name() -> None:
    request = CompileRequest(inputs=(Path("-"),))
    assert output_for(request, Path("-"), TARGET, None, False) is None
    assert plain_lock(Path("pyproject.toml")) == Path("requirements.txt")
    assert plain_lock(Path("req/dev.in")) == Path("req/dev.txt")
