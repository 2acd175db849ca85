"""An empty lock empties nothing unless asked (issue #9, case 6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.artifacts import make_wheel
from tests.sync_helpers import freeze, make_venv, pip_install, run_cli, sha256_hex


@pytest.fixture
def populated(tmp_path: Path) -> Path:
    files = tmp_path / "files"
    python = make_venv(tmp_path / "venv")
    pip_install(python, *(str(make_wheel(files, name, "1.0")) for name in ("alpha", "beta")))
    return python


@pytest.mark.parametrize("flag", [[], ["--check"], ["--dry-run"]])
def test_dev_null_as_the_lock_is_refused(
    flag: list[str], populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([os.devnull, "--python", str(populated), *flag], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"error: {os.devnull} lists no packages: this sync would remove every package from "
        f"{populated.parent.parent} (alpha, beta); pass --allow-empty if that is what you want\n"
    )
    assert freeze(populated) == ["alpha==1.0", "beta==1.0"]


def test_a_lock_with_no_line_for_this_target_is_refused(
    populated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(f"gamma==1.0 ; sys_platform == 'nonesuch' --hash=sha256:{'0' * 64}\n")
    code, _, err = run_cli([str(lock), "--python", str(populated)], capsys)
    assert code == 2
    assert err.startswith(
        f"error: no line of {lock} is for this target (1 line is not, by markers): this sync "
        "would remove every package"
    )
    assert freeze(populated) == ["alpha==1.0", "beta==1.0"]


def test_allow_empty_empties_the_environment(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([os.devnull, "--python", str(populated), "--allow-empty"], capsys)
    assert (code, err) == (0, "")
    assert freeze(populated) == []
    # An empty lock over an empty environment has nothing to refuse.
    code, out, err = run_cli([os.devnull, "--python", str(populated)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("nothing to do")


def test_a_lock_with_lines_may_still_remove_packages(
    populated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = make_wheel(tmp_path / "files", "alpha", "1.0")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"alpha==1.0 --hash=sha256:{sha256_hex(wheel)}\n")
    code, out, err = run_cli([str(lock), "--python", str(populated), "--check"], capsys)
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == "- beta 1.0"
