"""Every failure pinlock reports, under one base class.

Each error carries the context a user needs (file and line, URL and attempts, the conflicting
requirements) and formats its own message; the CLI only prints ``str(error)`` and maps
``exit_code`` to the process exit status.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BuildError",
    "ConfigError",
    "EnvironmentProblem",
    "HashMismatch",
    "LockConflict",
    "MetadataError",
    "NetworkError",
    "NoMatchingDistribution",
    "PinlockError",
    "PipFailed",
    "ReqFileError",
    "ResolutionImpossible",
    "SyncFailed",
]


class PinlockError(Exception):
    """Base class: a problem pinlock can explain to its user."""

    exit_code = 1


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
    """A URL that could not be fetched after all retries."""

    exit_code = 4

    def __init__(self, url: str, attempts: int, reason: str) -> None:
        self.url = url
        self.attempts = attempts
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return f"could not fetch {self.url} ({tries}): {self.reason}"


class HashMismatch(PinlockError):
    """A downloaded file whose digest is none of the expected ones."""

    def __init__(self, what: str, expected: Sequence[str], actual: str) -> None:
        self.what = what
        self.expected = tuple(expected)
        self.actual = actual
        super().__init__(str(self))

    def __str__(self) -> str:
        wanted = "\n".join(f"    expected {h}" for h in self.expected)
        return f"hash mismatch for {self.what}:\n{wanted}\n         got {self.actual}"


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
        return self.explanation


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


class EnvironmentProblem(PinlockError):
    """A target environment pinlock cannot use: missing, not a venv, externally managed..."""

    exit_code = 2


class PipFailed(PinlockError):
    """pip, run as a program, exited with an error."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        self.args_run = tuple(args)
        self.returncode = returncode
        self.output = output
        super().__init__(str(self))

    def __str__(self) -> str:
        tail = "\n".join(self.output.strip().splitlines()[-25:])
        return f"pip {' '.join(self.args_run)} exited with {self.returncode}\n{tail}"


class SyncFailed(PinlockError):
    """A sync that failed after changes began; ``restored`` says whether the venv was put back."""

    def __init__(self, cause: BaseException | str, *, restored: bool) -> None:
        self.cause = cause
        self.restored = restored
        super().__init__(str(self))

    def __str__(self) -> str:
        state = (
            "the environment was restored to its state before the sync"
            if self.restored
            else "the environment could NOT be fully restored; inspect it before use"
        )
        return f"sync failed: {self.cause}\n{state}"
