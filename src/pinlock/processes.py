"""Child programs (pip, ``python -m venv``, the interpreter probe) that never outlive a stop.

Each child starts in a process group of its own, so a signal sent to pinlock's group (Ctrl-C in
a terminal, a CI runner cancelling a job) reaches pinlock alone, never the child half-way
through a change: pinlock decides. When the wait for a child ends early (an exception such as
``Interrupted`` arriving, or a ``timeout``), the child's whole group is sent SIGTERM, then
SIGKILL after a grace period, and waited for, before the exception goes on.

``pass_fds`` keeps descriptors open in the child (the environment lock: a pip that somehow
outlives pinlock, killed with SIGKILL, still holds it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ChildResult", "ChildTimedOut", "run_child", "start_helper", "stop_group"]

# How long a stopped group may take to go after SIGTERM, and after SIGKILL.
_TERM_GRACE = 5.0
_KILL_GRACE = 5.0
_NEW_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildResult:
    returncode: int
    output: str
    errors: str = ""


class ChildTimedOut(Exception):
    """The child did not finish within its timeout; it and its group were stopped."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"no answer within {timeout:g} s")


def run_child(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    capture: bool = True,
    merge_output: bool = True,
    timeout: float | None = None,
    pass_fds: Sequence[int] = (),
) -> ChildResult:
    """Run ``command`` in a process group of its own and wait for it.

    With ``capture``, standard output (and standard error, with ``merge_output``; else apart)
    comes back as text; otherwise the child writes to this process's streams. Raises
    ``ChildTimedOut`` after ``timeout`` seconds; anything raised while waiting (``Interrupted``)
    goes on once the child's group is gone. ``OSError`` when the program cannot start.
    """
    posix = os.name == "posix"
    process = subprocess.Popen(
        list(command),
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else None,
        stderr=(subprocess.STDOUT if merge_output else subprocess.PIPE) if capture else None,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=posix,
        pass_fds=tuple(pass_fds) if posix else (),
        creationflags=0 if posix else _NEW_GROUP,
    )
    try:
        output, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process)
        assert timeout is not None
        raise ChildTimedOut(timeout) from None
    except BaseException:
        stop_group(process)
        raise
    return ChildResult(returncode=process.returncode, output=output or "", errors=errors or "")


def start_helper(command: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a helper of pinlock's own, a process that serves this one over pipes: requests on
    its standard input, answers on its standard output, its errors nowhere (it never speaks to
    the user). It runs in a process group of its own, so Ctrl-C reaches pinlock alone, and is
    to end when its standard input closes (``stop_group`` when it does not)."""
    return subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=os.name == "posix",
        creationflags=0 if os.name == "posix" else _NEW_GROUP,
    )


def stop_group(process: subprocess.Popen[Any]) -> None:
    """Stop ``process`` and every process of its group; return once they are gone.

    Signals arriving meanwhile are the caller's to hold off (``sync.signals``): this must run
    to its end for nothing to go on changing the environment behind pinlock's back.
    """
    if os.name != "posix":
        process.kill()
        _reap(process, _KILL_GRACE)
        _close(process)
        return
    group = process.pid
    for signum, grace in ((signal.SIGTERM, _TERM_GRACE), (signal.SIGKILL, _KILL_GRACE)):
        if not _signal_group(group, signum):
            break
        deadline = time.monotonic() + grace
        _reap(process, grace)
        # The leader is gone; its children (a build backend) may still be in the group.
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not _group_alive(group):
            break
    _reap(process, _KILL_GRACE)
    _close(process)


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the group; False when no process of it is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(group: int) -> bool:
    """Whether a process of the group still runs (zombies, which nobody reaps, do not)."""
    if not _signal_group(group, 0):
        return False
    proc = Path("/proc")
    if not sys.platform.startswith("linux") or not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(group) and fields[0] != "Z":
            return True
    return False


def _reap(process: subprocess.Popen[Any], timeout: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)


def _close(process: subprocess.Popen[Any]) -> None:
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
