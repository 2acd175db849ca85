"""Finding an interpreter, and asking it once about itself.

``find_interpreter`` turns what a user names (an interpreter, a command on PATH, a virtual
environment folder) into the executable to run. ``probe_interpreter`` runs the stdlib-only
``_probe_script.py`` in it and returns its answers as ``InterpreterFacts``: what a ``Target`` is
computed from (markers, version, ABI and platform facts) and what installing into it needs
(paths, prefixes, whether it has a pip of its own).
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pinlock.errors import EnvironmentProblem
from pinlock.processes import ChildTimedOut, run_child

__all__ = ["InterpreterFacts", "find_interpreter", "probe_interpreter", "probe_script"]

_PROBE_TIMEOUT = 60
# Inside a virtual environment folder, where its interpreter lives (POSIX, then Windows).
_VENV_INTERPRETERS = ("bin/python", "bin/python3", "Scripts/python.exe")


@dataclass(frozen=True, kw_only=True, slots=True)
class InterpreterFacts:
    """What one run of the probe learned about an interpreter.

    ``interpreter`` is the file that was run; ``executable`` is its ``sys.executable``.
    ``markers`` holds the PEP 508 marker values as the interpreter computes them. ``soabi``,
    ``ext_suffix`` and ``py_version_nodot`` are "" when its sysconfig has no value. ``glibc`` and
    ``musl`` are version texts ("glibc 2.36", "1.2") on Linux, ``mac_version`` on macOS.
    """

    interpreter: Path
    executable: Path
    markers: Mapping[str, str]
    version_info: tuple[int, int, int]
    py_version_nodot: str
    sysconfig_platform: str
    soabi: str
    ext_suffix: str
    free_threading: bool
    debug: bool
    pymalloc: bool
    is_64bit: bool
    glibc: str | None
    musl: str | None
    mac_version: str | None
    prefix: Path
    base_prefix: Path
    purelib: Path
    platlib: Path
    scripts: Path
    stdlib: Path
    has_pip: bool
    # Where a wheel's .data/data and .data/headers go (sysconfig "data" and "include").
    data: Path | None = None
    include: Path | None = None
    # sys.implementation.cache_tag ("cpython-312"): names its byte code; "" when it writes none.
    cache_tag: str = ""


def find_interpreter(python: Path | str) -> Path:
    """The interpreter ``python`` names: itself, the one inside a venv folder, or a PATH command.

    Raises ``EnvironmentProblem`` when there is none. A folder must be a virtual environment
    (``bin/python`` or ``Scripts/python.exe``); a name that is no file is looked up on PATH
    (``python3.12``).
    """
    path = Path(python).expanduser()
    if path.is_dir():
        for candidate in _VENV_INTERPRETERS:
            if (path / candidate).is_file():
                return path / candidate
        raise EnvironmentProblem(
            f"{path} is a folder without bin/python or Scripts/python.exe, so not a virtual "
            "environment; give a virtual environment or an interpreter"
        )
    if path.exists():
        return path
    found = shutil.which(str(python))
    if found is None:
        raise EnvironmentProblem(
            f"no Python interpreter at {python} (no such file, nor a command on PATH)"
        )
    return Path(found)


# Interpreter path -> its facts, from the last probe of it in this process.
_probed: dict[str, InterpreterFacts] = {}


def probe_interpreter(python: Path | str, *, reuse: bool = False) -> InterpreterFacts:
    """Run the interpreter ``python`` names (see ``find_interpreter``) once: its facts.

    With ``reuse``, the facts of an earlier probe of the same interpreter in this process serve
    instead, when there is one: a sync inspects its target once, and running pip for it later
    needs the same answers.
    """
    executable = find_interpreter(python)
    if reuse:
        known = _probed.get(str(executable))
        if known is not None:
            return known
    facts = _parse(executable, _run(executable))
    _probed[str(executable)] = facts
    return facts


@functools.cache
def probe_script() -> str:
    """The probe's source text, as it is passed to ``python -I -c``."""
    # Passed as text, never run as a file: an old Python would put this folder on sys.path.
    return Path(__file__).with_name("_probe_script.py").read_text(encoding="utf-8")


def _run(executable: Path) -> object:
    # In a process group of its own, so a hanging interpreter is stopped with all it started.
    try:
        done = run_child(
            [str(executable), "-I", "-c", probe_script()],
            merge_output=False,
            timeout=_PROBE_TIMEOUT,
        )
    except ChildTimedOut as exc:
        raise EnvironmentProblem(
            f"{executable} did not answer within {exc.timeout:g} s (an interpreter that hangs?); "
            "it was stopped"
        ) from None
    except OSError as exc:
        raise EnvironmentProblem(f"cannot run {executable} as Python: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.errors.strip().splitlines()[-5:])
        raise EnvironmentProblem(
            f"{executable} is not a Python 3 interpreter pinlock can use "
            f"(exit status {done.returncode})" + (f":\n{tail}" if tail else "")
        )
    try:
        return json.loads(done.output)
    except ValueError as exc:
        raise EnvironmentProblem(
            f"{executable} did not answer like a Python interpreter: {done.output[:200]!r}"
        ) from exc


def _parse(executable: Path, answer: object) -> InterpreterFacts:
    if not isinstance(answer, dict) or not isinstance(answer.get("markers"), dict):
        raise EnvironmentProblem(f"{executable} did not answer like a Python interpreter")
    try:
        paths = answer["paths"]
        version = answer["version_info"]
        return InterpreterFacts(
            interpreter=executable,
            executable=Path(str(answer["executable"])),
            markers={str(key): str(value) for key, value in answer["markers"].items()},
            version_info=(int(version[0]), int(version[1]), int(version[2])),
            py_version_nodot=_text(answer.get("py_version_nodot")),
            sysconfig_platform=str(answer["sysconfig_platform"]),
            soabi=_text(answer.get("soabi")),
            ext_suffix=_text(answer.get("ext_suffix")),
            free_threading=bool(answer.get("free_threading")),
            debug=bool(answer.get("debug")),
            pymalloc=bool(answer.get("pymalloc")),
            is_64bit=bool(answer["is_64bit"]),
            glibc=_text(answer.get("glibc")) or None,
            musl=_text(answer.get("musl")) or None,
            mac_version=_text(answer.get("mac_version")) or None,
            prefix=Path(str(answer["prefix"])),
            base_prefix=Path(str(answer["base_prefix"])),
            purelib=Path(str(paths["purelib"])),
            platlib=Path(str(paths["platlib"])),
            scripts=Path(str(paths["scripts"])),
            stdlib=Path(str(paths["stdlib"])),
            has_pip=bool(answer["has_pip"]),
            data=_path(paths.get("data")),
            include=_path(paths.get("include")),
            cache_tag=_text(answer.get("cache_tag")),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise EnvironmentProblem(
            f"{executable} gave incomplete facts about itself: {exc!r}"
        ) from exc


def _path(value: object) -> Path | None:
    return None if value is None else Path(str(value))


def _text(value: object) -> str:
    return "" if value is None else str(value)
