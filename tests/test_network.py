"""A few compiles against the real package index, checked by properties that do not drift:
the lock installs into a fresh venv with --require-hashes and ``pip check`` passes."""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, compile_locks
from pinlock.target import Target

pytestmark = pytest.mark.network


def _install_and_check(lock: Path, where: Path) -> None:
    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--require-hashes", "-r", str(lock)], check=True
    )
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    "requirements",
    [["black"], ["sphinx", "sphinx-rtd-theme", "myst-parser"]],
    ids=["black", "sphinx"],
)
def test_real_sets_install_with_hashes(tmp_path: Path, requirements: list[str]) -> None:
    src = tmp_path / "set.in"
    src.write_text("\n".join(requirements) + "\n")
    [result] = compile_locks(CompileRequest(inputs=(src,), cache_dir=tmp_path / "cache"))
    assert result.output is not None and result.package_count >= len(requirements)
    _install_and_check(result.output, tmp_path / "venv")
    [again] = compile_locks(CompileRequest(inputs=(src,), cache_dir=tmp_path / "cache"))
    assert again.changed is False


def test_other_target_lock_hashes_only_its_files(tmp_path: Path) -> None:
    src = tmp_path / "set.in"
    src.write_text("black\n")
    windows = Target.from_spec("3.12", "windows")
    [targeted] = compile_locks(
        CompileRequest(inputs=(src,), targets=(windows,), output="-", cache_dir=tmp_path / "c")
    )
    [anywhere] = compile_locks(CompileRequest(inputs=(src,), output="-", cache_dir=tmp_path / "c"))
    assert "# for target: CPython 3.12 on windows" in targeted.text
    targeted_hashes = set(re.findall(r"sha256:[0-9a-f]{64}", targeted.text))
    open_hashes = set(re.findall(r"sha256:[0-9a-f]{64}", anywhere.text))
    # black ships compiled wheels per platform: a Windows lock lists only those (and the sdist).
    assert targeted_hashes and targeted_hashes < open_hashes
