"""What a sync keeps although no lock lists it: ``--keep NAME`` and ``--keep PATH``.

A test runner (tox, nox, a CI job) installs the project under test next to its locked
dependencies; a sync run before the tests must not remove it. Kept are the named installed
distributions and, so that they still import, every installed distribution they require (their
``Requires-Dist`` for this environment, followed through). A lock that lists a kept name still
decides its version: keeping only spares what no lock lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from pinlock.errors import ConfigError
from pinlock.pyproject import project_name
from pinlock.sync.environment import Environment, InstalledDist
from pinlock.urls import local_path

__all__ = ["is_project_path", "kept_names"]


def is_project_path(entry: str) -> bool:
    """Whether a ``--keep`` entry names a project folder (``.``, ``./sub``, ``/abs``) rather
    than a distribution: names never hold a slash nor start with a dot."""
    return entry.startswith(".") or "/" in entry or "\\" in entry


def kept_names(env: Environment, keep: Iterable[str]) -> frozenset[NormalizedName]:
    """The installed distributions of ``env`` that ``keep`` spares, with what they require.

    An entry is a distribution name, or the folder of a project: its static name
    (``[project] name`` or setup.cfg's), else whatever is installed from that folder (an
    editable install of a setup.py project). A folder whose project can be named neither way is
    a ``ConfigError``; a name that is not installed keeps nothing.
    """
    installed = env.by_name()
    pending: list[NormalizedName] = []
    for entry in keep:
        if is_project_path(entry):
            pending.extend(_project_names(Path(entry), env.installed))
        else:
            pending.append(_name(entry))
    kept: set[NormalizedName] = set()
    markers = {**env.marker_environment, "extra": ""}
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept.add(name)
        dist = installed.get(name)
        if dist is None:
            continue
        for requirement in _requires(dist):
            if requirement.marker is None or requirement.marker.evaluate(markers):
                pending.append(canonicalize_name(requirement.name))
    return frozenset(name for name in kept if name in installed)


def _name(entry: str) -> NormalizedName:
    try:
        return canonicalize_name(entry.strip(), validate=True)
    except InvalidName:
        raise ConfigError("--keep", entry, "not a project name nor a folder (./path)") from None


def _project_names(folder: Path, installed: Iterable[InstalledDist]) -> list[NormalizedName]:
    if not folder.is_dir():
        raise ConfigError("--keep", str(folder), "no such folder")
    name = project_name(folder)
    if name is not None:
        return [canonicalize_name(name)]
    where = folder.resolve()
    found = [
        dist.name
        for dist in installed
        if dist.url is not None and _same_folder(local_path(dist.url), where)
    ]
    if not found:
        raise ConfigError(
            "--keep",
            str(folder),
            "its project's name is not static (pyproject.toml [project] name, setup.cfg "
            "[metadata] name) and nothing is installed from it: give --keep NAME",
        )
    return found


def _same_folder(path: Path | None, folder: Path) -> bool:
    if path is None:
        return False
    try:
        return path.resolve() == folder
    except OSError:
        return False


def _requires(dist: InstalledDist) -> list[Requirement]:
    """The ``Requires-Dist`` lines of an installed distribution (``requires.txt`` is not read
    for ``.egg-info``: such installs are rare and keep only themselves)."""
    requirements: list[Requirement] = []
    try:
        with (dist.info_dir / "METADATA").open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # the body (description) starts
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() == "requires-dist":
                    try:
                        requirements.append(Requirement(value.strip()))
                    except InvalidRequirement:
                        continue
    except OSError:
        return []
    return requirements
