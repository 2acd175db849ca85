"""Choosing among per-flavour locks (``main-cpu.txt``, ``main-cu121.txt``) the one for a machine.

A lock's flavour is what its header says (``# flavour: cu121``, written by ``pinlock compile``),
else the last dash-separated part of its file name (``pylock.main-cu121.toml`` too). ``auto``
asks ``pinlock.flavour`` which of the available flavours this machine's GPU driver runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pinlock.errors import ConfigError, EnvironmentProblem
from pinlock.flavour import detect_flavour, is_flavour_name

__all__ = ["FlavourChoice", "FlavourLock", "choose_flavour_lock", "expand_locks", "lock_flavour"]

_HEADER_RE = re.compile(r"#\s*flavour:\s*(\S+)\s*$")
_PYTHON_LABEL_RE = re.compile(r"(?:[a-z]*py|pp)\d+t?")


@dataclass(frozen=True, kw_only=True, slots=True)
class FlavourLock:
    """A lock file and its flavour; ``source`` says how the flavour was learnt."""

    path: Path
    flavour: str
    source: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FlavourChoice:
    """The lock chosen for this machine, the flavour asked for or detected, and why."""

    chosen: FlavourLock
    candidates: tuple[FlavourLock, ...]
    requested: str
    reason: str


def expand_locks(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a path that is no file is a stem: its ``<stem>-*.txt`` locks next to it."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
            continue
        stem = path.name.removesuffix(".txt")
        matches = sorted(
            match
            for match in path.parent.glob(f"{stem}-*.txt")
            if _is_lock_of_stem(match.name, stem)
        )
        if not matches:
            raise ConfigError(
                "lock", str(path), f"no such file, and no {stem}-*.txt next to it (as a stem)"
            )
        found.extend(matches)
    return list(dict.fromkeys(found))


def _is_lock_of_stem(filename: str, stem: str) -> bool:
    """``<stem>-<flavour>.txt`` or ``<stem>-<target>-<flavour>.txt``, not another input's lock.

    ``main-test-cpu.txt`` is the lock of ``main-test.in``, not of ``main.in``: a target name
    always starts with the Python label (``py312``, ``pp310``).
    """
    parts = filename.removesuffix(".txt")[len(stem) + 1 :].split("-")
    return len(parts) == 1 or _PYTHON_LABEL_RE.fullmatch(parts[0]) is not None


def lock_flavour(path: Path) -> FlavourLock | None:
    """The flavour of the lock at ``path`` (header first, then file name), or None."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                match = _HEADER_RE.match(line.strip())
                if match and is_flavour_name(match[1]):
                    return FlavourLock(path=path, flavour=match[1].lower(), source="header")
    except OSError as exc:
        raise ConfigError("lock", str(path), f"cannot read it: {exc}") from exc
    suffix = _lock_stem(path).rsplit("-", 1)[-1]
    if "-" in path.name and is_flavour_name(suffix):
        return FlavourLock(path=path, flavour=suffix.lower(), source="file name")
    return None


def choose_flavour_lock(
    paths: Sequence[Path],
    requested: str,
    *,
    target_names: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    root: Path = Path("/"),
    nvidia_smi: Callable[[], str | None] | None = None,
) -> FlavourChoice:
    """The one lock of ``paths`` (files or stems) for flavour ``requested`` (a name or ``auto``).

    Several locks of the chosen flavour (one per target) are told apart by ``target_names``
    (e.g. ``py312-linux``, then ``py312``): the lock named ``...-<target>-<flavour>.txt`` wins.
    """
    candidates = []
    for path in expand_locks(paths):
        flavoured = lock_flavour(path)
        if flavoured is None:
            raise ConfigError(
                "lock",
                str(path),
                "no flavour: neither a '# flavour: NAME' header line nor a -NAME.txt suffix",
            )
        candidates.append(flavoured)
    mine = _locks_of_target(candidates, target_names)
    available = sorted({lock.flavour for lock in mine})
    if requested.strip().lower() == "auto":
        detection = detect_flavour(available, environ=environ, root=root, nvidia_smi=nvidia_smi)
        flavour, reason = detection.flavour, detection.reason
    else:
        flavour = requested.strip().lower()
        if not is_flavour_name(flavour):
            raise ConfigError("--flavour", requested, "expected auto or a flavour name")
        if flavour not in available:
            raise ConfigError(
                "--flavour",
                requested,
                f"no lock of that flavour; available: {', '.join(available)}",
            )
        reason = f"--flavour {flavour}"
    matching = [lock for lock in mine if lock.flavour == flavour]
    if len(matching) > 1:
        for name in target_names:
            named = [lock for lock in matching if _names_target(lock, name)]
            if len(named) == 1:
                matching = named
                break
    if len(matching) > 1:
        raise EnvironmentProblem(
            f"several locks have flavour {flavour} and none is named for this target "
            f"({', '.join(target_names) or 'unknown'}): "
            + ", ".join(str(lock.path) for lock in matching)
        )
    chosen = matching[0]
    return FlavourChoice(
        chosen=chosen,
        candidates=tuple(candidates),
        requested=requested,
        reason=f"{reason}; chose {chosen.path} (flavour {flavour} from its {chosen.source})",
    )


def _locks_of_target(
    candidates: Sequence[FlavourLock], target_names: Sequence[str]
) -> list[FlavourLock]:
    """The locks named for this target (first name that any lock carries), else all of them.

    Another target's lock of a flavour would install files and markers meant for another
    interpreter, so a flavour only this other target has is not available here.
    """
    for name in target_names:
        named = [lock for lock in candidates if _names_target(lock, name)]
        if named:
            return named
    return list(candidates)


def _names_target(lock: FlavourLock, target: str) -> bool:
    stem = _lock_stem(lock.path).lower()
    return stem.endswith(f"-{target.lower()}-{lock.flavour}")


def _lock_stem(path: Path) -> str:
    """``main-py312-cu121`` of ``main-py312-cu121.txt`` and ``pylock.main-py312-cu121.toml``."""
    name = path.name
    if name.startswith("pylock.") and name.endswith(".toml"):
        return name.removeprefix("pylock.").removesuffix(".toml")
    return name.removesuffix(".txt")
