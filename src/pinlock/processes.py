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
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ChildResult",
    "ChildTimedOut",
    "Helper",
    "fork_helper",
    "run_child",
    "start_helper",
    "stop_group",
]

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


class Helper:
    """A helper of pinlock's own: a process that serves this one over two pipes, ``requests``
    (its standard input) and ``answers`` (its standard output). Its errors go nowhere (it never
    speaks to the user); it runs in a session of its own, so Ctrl-C reaches pinlock alone; it
    is to end when ``requests`` closes (``kill`` when it does not)."""

    def __init__(
        self,
        pid: int,
        requests: IO[bytes],
        answers: IO[bytes],
        process: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.pid = pid
        self.requests = requests
        self.answers = answers
        self._process = process

    def end(self, *, grace: float = 5.0) -> None:
        """Close ``requests`` and wait for the helper, which exits at once; one still there
        after ``grace`` seconds is killed. (Waited for, rather than left to end on its own,
        so that whoever reads this process's resource use, a benchmark, counts it in.)"""
        with contextlib.suppress(OSError):
            self.requests.close()
        # A thread blocked in the system's wait returns the moment the helper ends, where a
        # wait with a timeout polls.
        waiter = threading.Thread(target=self._wait, name="pinlock-helper-wait", daemon=True)
        waiter.start()
        waiter.join(grace)
        if waiter.is_alive():
            self.kill()
            waiter.join(grace)
        with contextlib.suppress(OSError):
            self.answers.close()

    def _wait(self) -> None:
        if self._process is not None:
            self._process.wait()
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def kill(self) -> None:
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.kill()
            return
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


def start_helper(command: Sequence[str]) -> Helper:
    """Start ``command`` as a ``Helper``. ``OSError`` when it cannot start."""
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=os.name == "posix",
        creationflags=0 if os.name == "posix" else _NEW_GROUP,
    )
    assert process.stdin is not None and process.stdout is not None
    return Helper(process.pid, process.stdin, process.stdout, process)


def fork_helper(serve: Callable[[IO[bytes], IO[bytes]], object]) -> Helper | None:
    """A ``Helper`` that is a copy of this process, running ``serve(requests, answers)``: it
    starts at once, with every module already loaded, where a new interpreter takes a tenth of
    a second. Only on Linux, and only while this process runs no other thread (a copy would
    hold whatever lock another thread held); None otherwise, or when it cannot fork."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    try:
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        for fd in (requests_read, requests_write, answers_read, answers_write):
            os.close(fd)
        return None
    if pid == 0:  # the helper: whatever happens, it never returns into pinlock's work
        try:
            _detach(keep=(requests_read, answers_write))
            serve(os.fdopen(requests_read, "rb"), os.fdopen(answers_write, "wb"))
        finally:
            os._exit(0)
    os.close(requests_read)
    os.close(answers_write)
    return Helper(pid, os.fdopen(requests_write, "wb"), os.fdopen(answers_read, "rb"))


def _detach(*, keep: tuple[int, int]) -> None:
    """In a forked helper: a session of its own, default signal handling, the standard streams
    on the null device, and no descriptor of pinlock's but ``keep`` (an output pipe a helper
    held open would keep pinlock's reader waiting after pinlock ended)."""
    os.setsid()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    low, high = sorted(keep)
    os.closerange(3, low)
    os.closerange(low + 1, high)
    os.closerange(high + 1, os.sysconf("SC_OPEN_MAX"))


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
