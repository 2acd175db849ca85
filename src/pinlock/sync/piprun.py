"""The one place pinlock runs pip: as a program, never as a library.

pinlock prefers its own pip, pointed at the target with ``--python``, so every target gets the
same pip behaviour. pip refuses to drive an interpreter older than its own ``Requires-Python``;
such a target is driven by the pip installed in it, when it has one.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pinlock.errors import EnvironmentProblem, PipFailed
from pinlock.processes import run_child
from pinlock.sync.envlock import inherited_fds

__all__ = ["pip_command", "run_pip"]

_QUIET_ENV = {
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "PYTHONIOENCODING": "utf-8",
}


def run_pip(
    args: Sequence[str],
    *,
    python: Path,
    capture: bool = True,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Run ``pip ARGS`` against the interpreter ``python``; return its output (stdout + stderr).

    pip runs in a process group of its own (``pinlock.processes``): a stop signal reaches
    pinlock alone, and pip with everything it started is stopped and waited for before the
    exception goes on. It inherits the environment locks this process holds. With
    ``capture=False`` pip writes straight to this process's terminal and "" is returned.
    Raises ``PipFailed`` (with pip's output) when pip exits non-zero, and ``EnvironmentProblem``
    when no pip can drive ``python``. Never put a secret in ``args``: a command line is public
    (``ps``); index credentials go through ``environ`` (``pinlock.sync.pipindex``).
    """
    command = [*pip_command(python), *args]
    env = dict(os.environ if environ is None else environ)
    env.update(_QUIET_ENV)
    try:
        result = run_child(command, env=env, capture=capture, pass_fds=inherited_fds())
    except OSError as exc:
        raise EnvironmentProblem(f"cannot run pip ({command[0]}): {exc}") from exc
    if result.returncode != 0:
        raise PipFailed(list(args), result.returncode, result.output)
    return result.output


def pip_command(python: Path) -> list[str]:
    """The argument vector prefix that runs a pip able to install into ``python``."""
    target = Path(python)
    if _same_interpreter(target):
        return [sys.executable, "-m", "pip"]
    # The facts of the sync's own inspection of ``target``, when there was one: no second run.
    # Imported here: ``pinlock.target`` pulls in packaging.tags.
    from pinlock.target.probe import probe_interpreter

    facts = probe_interpreter(target, reuse=True)
    version = ".".join(map(str, facts.version_info))
    if _own_pip_accepts(version):
        return [sys.executable, "-m", "pip", "--python", str(target)]
    if facts.has_pip:
        return [str(target), "-m", "pip"]
    raise EnvironmentProblem(
        f"{target} runs Python {version}, older than pinlock's pip supports "
        f"({_own_pip_requires_python() or 'unknown'}), and has no pip of its own; "
        f"install one with `{target} -m ensurepip` and run the sync again"
    )


def _same_interpreter(target: Path) -> bool:
    try:
        return target.resolve() == Path(sys.executable).resolve() and (
            target.parent.parent.resolve() == Path(sys.prefix).resolve()
        )
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def _own_pip_requires_python() -> str | None:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        value = metadata("pip")["Requires-Python"]
    except (PackageNotFoundError, KeyError):
        return None
    return str(value) if value else None


def _own_pip_accepts(version: str) -> bool:
    requires = _own_pip_requires_python()
    if not requires:
        return True
    try:
        return SpecifierSet(requires).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True
