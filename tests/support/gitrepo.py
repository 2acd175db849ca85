"""git run by tests, with a fixed identity, for repositories a test makes (``git+file://``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["git"]


def git(*args: str, cwd: Path) -> str:
    """``git ARGS`` in ``cwd``; its output, stripped. Fails the test when git fails."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()
