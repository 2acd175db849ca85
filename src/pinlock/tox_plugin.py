"""pinlock's tox 4 plugin: each configured environment is synced exactly to its locks.

tox finds the plugin through the ``tox`` entry point group once pinlock is installed next to
tox; it acts only in environments that set ``pinlock_locks``::

    [testenv]
    pinlock_locks = requirements/dev-{pinlock_target}.txt
    commands = pytest

Before tox installs an environment's ``deps`` and the package under test, the environment is
synced to the locks with ``pinlock.sync.sync``: locked packages installed, upgraded or
downgraded, and anything else removed, except what ``pinlock_keep`` names (names or folders,
as ``pinlock sync --keep`` takes them), the package under test (when tox installs it and its
name is static) and the names of the environment's own ``deps`` (tox would not install those
again: it remembers having done so). ``{pinlock_target}`` is ``py`` and the environment's Python
version without its dot (``py312``): the ``{target}`` of ``pinlock compile --python-version``.
Lock paths are relative to tox's root. Indexes come from the locks and pip's configuration, as
for ``pinlock sync``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from tox.plugin import impl
from tox.tox_env.errors import Fail

from pinlock.errors import PinlockError

if TYPE_CHECKING:
    from tox.config.main import Config
    from tox.config.sets import EnvConfigSet
    from tox.session.state import State
    from tox.tox_env.api import ToxEnv

    from pinlock.sync import SyncReport

__all__ = ["tox_add_env_config", "tox_on_install"]

_LOGGER = logging.getLogger(__name__)


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    """Declare the plugin's settings of every environment (inert unless set)."""

    def target(conf: Config, env_name: str | None) -> str:
        version = str(env_conf["py_dot_ver"]) if "py_dot_ver" in env_conf else ""
        return "py" + version.replace(".", "")

    env_conf.add_config(
        keys=["pinlock_locks"],
        of_type=list[str],
        default=[],
        desc="locks pinlock syncs this environment to before tox installs into it",
    )
    env_conf.add_config(
        keys=["pinlock_keep"],
        of_type=list[str],
        default=[],
        desc="distributions (or project folders) the pinlock sync keeps though no lock lists them",
    )
    env_conf.add_config(
        keys=["pinlock_target"],
        of_type=str,
        default=target,
        desc="py and the environment's Python version without its dot, as pinlock names locks",
    )


@impl
def tox_on_install(tox_env: ToxEnv, arguments: Any, section: str, of_type: str) -> None:
    """Sync the environment to its locks just before tox installs its ``deps``."""
    if of_type != "deps":
        return
    locks = [entry for entry in tox_env.conf["pinlock_locks"] if entry.strip()]
    if not locks:
        return
    env_python = getattr(tox_env, "env_python", None)
    if env_python is None:
        raise Fail(f"pinlock_locks: {tox_env.conf.name} is not a Python environment")
    root = Path(tox_env.core["tox_root"])
    from pinlock.sync import SyncRequest, sync

    request = SyncRequest(
        locks=tuple(root / entry.strip() for entry in locks),
        python=Path(env_python()),
        keep=_kept(tox_env, root),
    )
    try:
        report = sync(request)
    except PinlockError as error:
        raise Fail(f"pinlock sync: {error}") from None
    _LOGGER.warning("pinlock sync: %s", _summary(report, root))


def _kept(tox_env: ToxEnv, root: Path) -> tuple[str, ...]:
    """``pinlock_keep``, the package under test and the names of the environment's ``deps``."""
    from pinlock.pyproject import project_name
    from pinlock.sync.keep import is_project_path

    # Folders are tox's root's, wherever tox was started.
    kept = [
        str(root / entry) if is_project_path(entry) else entry
        for entry in tox_env.conf["pinlock_keep"]
    ]
    if not _skips_install(tox_env):
        package_root = Path(tox_env.core["package_root"])
        name = project_name(package_root)
        if name is not None:
            kept.append(name)
    kept.extend(_deps_names(tox_env))
    return tuple(dict.fromkeys(kept))


def _skips_install(tox_env: ToxEnv) -> bool:
    conf = tox_env.conf
    skip_install = "skip_install" in conf and bool(conf["skip_install"])
    return skip_install or ("package" in conf and conf["package"] == "skip")


def _deps_names(tox_env: ToxEnv) -> list[str]:
    """The names ``deps`` lists; tox remembers installing them and does not do it again."""
    if "deps" not in tox_env.conf:
        return []
    names = []
    for line in getattr(tox_env.conf["deps"], "requirements", ()):
        try:
            names.append(Requirement(str(line)).name)
        except InvalidRequirement:
            continue  # a path or URL: tox installs it again anyway
    return names


def _summary(report: SyncReport, root: Path) -> str:
    from pinlock.sync.plan import Action

    locks = ", ".join(_relative(path, root) for path in report.locks)
    counts = [
        f"{report.plan.count(action)} {action.value}"
        for action in Action
        if action is not Action.KEEP and report.plan.count(action)
    ]
    if not counts:
        return f"{report.environment.prefix} matches {locks}"
    return f"{report.environment.prefix} synced to {locks}: {', '.join(counts)}"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
