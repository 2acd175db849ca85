"""The CPython interpreters this machine has (pyenv's, or on PATH), for tests that need one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["find_python"]

_PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def find_python(version: str) -> Path | None:
    """An interpreter of CPython ``version`` (``"3.9"``), or None when the machine has none."""
    candidates = sorted(_PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}"))
    if candidates:
        return candidates[-1]
    found = shutil.which(f"python{version}")
    return Path(found) if found else None
