"""Every failure pinlock reports, under one base class.

Each error carries the context a user needs (file and line, URL and attempts, the conflicting
requirements) and formats its own message; the CLI only prints ``str(error)`` and maps
``exit_code`` to the process exit status.
"""

from __future__ import annotations

import errno
import signal
from collections.abc import Sequence
from pathlib import Path

from pinlock.urls import redact_text, redact_url

__all__ = [
    "BuildError",
    "ConfigError",
    "EmptyLock",
    "EnvironmentBusy",
    "EnvironmentProblem",
    "HashMismatch",
    "InstallFailed",
    "Interrupted",
    "LockConflict",
    "MetadataError",
    "MissingDependencies",
    "NetworkError",
    "NoMatchingDistribution",
    "OfflineMiss",
    "PinlockError",
    "PipFailed",
    "ReqFileError",
    "ResolutionImpossible",
    "StorageError",
    "SyncFailed",
]


class PinlockError(Exception):
    """Base class: a problem pinlock can explain to its user."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived (``pinlock.sync.signals``).

    A ``KeyboardInterrupt``, not a ``PinlockError``: nothing that handles errors may swallow it,
    and code written for Ctrl-C treats every stop signal alike.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(self.signal_name)

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process this signal ended: 128 + its number."""
        return 128 + self.signum


class ReqFileError(PinlockError):
    """A requirement file line pinlock cannot accept."""

    exit_code = 2

    def __init__(self, path: Path | str, line: int, text: str, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.text = text
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        shown = f"\n    {self.text.strip()}" if self.text.strip() else ""
        return f"{where}: {self.reason}{shown}"


class ConfigError(PinlockError):
    """A bad option value in pyproject.toml, a config file, a pip config or the command line."""

    exit_code = 2

    def __init__(self, source: str, key: str, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.reason}"


class NetworkError(PinlockError):
    """A URL that could not be fetched after all retries; credentials in it are masked."""

    exit_code = 4

    def __init__(self, url: str, attempts: int, reason: str) -> None:
        self.url = redact_url(url)
        self.attempts = attempts
        self.reason = redact_text(reason)
        super().__init__(str(self))

    def __str__(self) -> str:
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return f"could not fetch {self.url} ({tries}): {self.reason}"


class OfflineMiss(PinlockError):
    """Offline (``--offline``), something the run needs is not in the cache."""

    exit_code = 4

    def __init__(self, url: str, what: str = "") -> None:
        self.url = redact_url(url)
        self.what = what
        super().__init__(str(self))

    def __str__(self) -> str:
        what = f"{self.what} ({self.url})" if self.what else self.url
        return f"offline: {what} is not in the cache; run once without --offline to fetch it"


class HashMismatch(PinlockError):
    """A downloaded file whose digest is none of the expected ones; ``attempts`` is how many
    downloads were made, when a download it was."""

    def __init__(
        self, what: str, expected: Sequence[str], actual: str, *, attempts: int | None = None
    ) -> None:
        self.what = what
        self.expected = tuple(expected)
        self.actual = actual
        self.attempts = attempts
        super().__init__(str(self))

    def __str__(self) -> str:
        wanted = "\n".join(f"    expected {h}" for h in self.expected)
        tries = ""
        if self.attempts is not None:
            tries = " (1 attempt)" if self.attempts == 1 else f" ({self.attempts} attempts)"
        return f"hash mismatch for {self.what}{tries}:\n{wanted}\n         got {self.actual}"


class MetadataError(PinlockError):
    """Core metadata of a distribution that cannot be read or is inconsistent."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"bad metadata for {self.what}: {self.reason}"


class BuildError(PinlockError):
    """A PEP 517 backend that failed to prepare metadata or build a wheel."""

    def __init__(self, what: str, reason: str, output: str = "") -> None:
        self.what = what
        self.reason = reason
        self.output = output
        super().__init__(str(self))

    def __str__(self) -> str:
        tail = "\n".join(self.output.strip().splitlines()[-20:])
        shown = f"\n{tail}" if tail else ""
        return f"could not build {self.what}: {self.reason}{shown}"


class NoMatchingDistribution(PinlockError):
    """A requirement no file on any index can satisfy for the target."""

    exit_code = 3

    def __init__(self, requirement: str, target: str, reason: str) -> None:
        self.requirement = requirement
        self.target = target
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"no distribution for {self.requirement} on {self.target}: {self.reason}"


class ResolutionImpossible(PinlockError):
    """Requirements that cannot all hold at once; ``explanation`` names them and their chains.

    ``rounds`` is how many resolver rounds were tried; ``build_output`` what the backends of
    the builds that failed on the way printed (for a user who asks to see it).
    """

    exit_code = 3

    def __init__(self, explanation: str, *, rounds: int = 0, build_output: str = "") -> None:
        self.explanation = explanation
        self.rounds = rounds
        self.build_output = build_output
        super().__init__(explanation)

    def __str__(self) -> str:
        # A failed build is the one case where its backend's output is shown: its last lines.
        tail = "\n".join(self.build_output.strip().splitlines()[-20:])
        if not tail:
            return self.explanation
        return f"{self.explanation.rstrip()}\nwhat the failed build printed (last lines):\n{tail}"


class LockConflict(PinlockError):
    """Two locks (or a layered lock and its base) that pin one package differently."""

    exit_code = 2

    def __init__(self, name: str, first: str, second: str) -> None:
        self.name = name
        self.first = first
        self.second = second
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.name} is pinned differently:\n    {self.first}\n    {self.second}"


class StorageError(PinlockError):
    """A file pinlock could not write: a full disk, a read-only or forbidden folder. Never
    retried, never taken for a network failure."""

    def __init__(self, path: Path | str, error: OSError) -> None:
        self.path = Path(path)
        self.error = error
        self.errno = error.errno
        self.reason = error.strerror or str(error)
        super().__init__(str(self))

    def __str__(self) -> str:
        folder, name = self.path.parent, self.path.name
        if self.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return f"no space left on the device of {folder} (writing {name})"
        if self.errno == errno.EROFS:
            return f"{folder} is on a read-only file system (writing {name})"
        return f"cannot write {self.path}: {self.reason}"


class EnvironmentProblem(PinlockError):
    """A target environment pinlock cannot use: missing, not a venv, externally managed..."""

    exit_code = 2


class EmptyLock(PinlockError):
    """Locks that want nothing on this target, which would empty the environment."""

    exit_code = 2

    def __init__(self, locks: Sequence[str], skipped: int, prefix: Path, removed: Sequence[str]):
        self.locks = tuple(locks)
        self.skipped = skipped
        self.prefix = prefix
        self.removed = tuple(removed)
        super().__init__(str(self))

    def __str__(self) -> str:
        names = ", ".join(self.locks)
        if self.skipped:
            lines = "line is" if self.skipped == 1 else "lines are"
            what = f"no line of {names} is for this target ({self.skipped} {lines} not, by markers)"
        else:
            what = f"{names} {'lists' if len(self.locks) == 1 else 'list'} no packages"
        shown = ", ".join(self.removed[:8]) + (", ..." if len(self.removed) > 8 else "")
        return (
            f"{what}: this sync would remove every package from {self.prefix} ({shown}); "
            "pass --allow-empty if that is what you want"
        )


class EnvironmentBusy(PinlockError):
    """Another pinlock run held the environment's lock for longer than the caller would wait."""

    def __init__(self, prefix: Path, lock_file: Path, holder: str, waited: float | None) -> None:
        self.prefix = prefix
        self.lock_file = lock_file
        self.holder = holder
        self.waited = waited
        super().__init__(str(self))

    def __str__(self) -> str:
        who = f"another pinlock run ({self.holder})" if self.holder else "another pinlock run"
        return (
            f"{self.prefix} is in use by {who}: gave up after waiting {self.waited:g} s "
            f"(--lock-timeout) for {self.lock_file}"
        )


class MissingDependencies(PinlockError):
    """Packages of the environment-to-be that need what it would not hold."""

    exit_code = 2

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        listed = "\n".join(f"    {problem}" for problem in self.problems)
        return f"the lock is incomplete, so nothing was changed:\n{listed}"


class PipFailed(PinlockError):
    """pip, run as a program, exited with an error."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        self.args_run = tuple(args)
        self.returncode = returncode
        self.output = output
        super().__init__(str(self))

    def __str__(self) -> str:
        tail = "\n".join(self.output.strip().splitlines()[-25:])
        # Index options carry the URLs they were given, credentials and all.
        return redact_text(f"pip {' '.join(self.args_run)} exited with {self.returncode}\n{tail}")


class InstallFailed(PinlockError):
    """pinlock's own installer could not install ``what`` (a wheel's file name): ``cause`` is
    why (a file that cannot be written, a wheel installer refuses)."""

    def __init__(self, what: str, cause: BaseException | str) -> None:
        self.what = what
        self.cause = cause
        super().__init__(str(self))

    def __str__(self) -> str:
        cause = self.cause
        if isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror + (f": {cause.filename}" if cause.filename else "")
        else:
            reason = str(cause) or type(cause).__name__
        return f"installing {self.what} failed: {reason}"


class SyncFailed(PinlockError):
    """A sync that failed after changes began; ``restored`` says whether the venv was put back."""

    def __init__(self, cause: BaseException | str, *, restored: bool) -> None:
        self.cause = cause
        self.restored = restored
        if isinstance(cause, Interrupted):
            self.exit_code = cause.exit_code
        super().__init__(str(self))

    def __str__(self) -> str:
        state = (
            "the environment was restored to its state before the sync"
            if self.restored
            else "the environment could NOT be fully restored; inspect it before use"
        )
        cause: object = self.cause
        if isinstance(cause, Interrupted):
            cause = f"interrupted by {cause.signal_name}"
        elif isinstance(cause, KeyboardInterrupt):
            cause = "interrupted"
        return f"sync failed: {cause}\n{state}"
