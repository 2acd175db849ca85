"""Running pinlock as a person does: in a pseudo-terminal, every byte it writes kept."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

__all__ = ["ESCAPE", "pinlock_command", "run_on_terminal", "terminal_environment"]

# Every colour, cursor move and line clear starts with it.
ESCAPE = b"\x1b["


def pinlock_command(*args: str) -> list[str]:
    """``pinlock ARGS`` as a child process of this interpreter."""
    return [sys.executable, "-m", "pinlock", *args]


def terminal_environment(**changes: str | None) -> dict[str, str]:
    """This process's environment (the tests' isolation included) as a colour terminal's."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"}
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_on_terminal(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 120,
) -> tuple[int, bytes]:
    """Run ``command`` with standard input, output and error on a new pseudo-terminal; its exit
    code and everything it wrote there."""
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("no pseudo-terminals on Windows")
    import pty

    controller, terminal = pty.openpty()
    try:
        child = subprocess.Popen(
            list(command),
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            cwd=cwd,
            env=dict(env),
            close_fds=True,
        )
    finally:
        os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            output += chunk
        else:
            child.kill()
            raise AssertionError(f"{command} did not end in {timeout} s: {bytes(output)!r}")
        return child.wait(timeout=timeout), bytes(output)
    finally:
        os.close(controller)
