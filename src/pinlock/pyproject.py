"""TOML files and what pinlock reads from a project's ``pyproject.toml``.

The one place that loads TOML (``tomllib``, or ``tomli`` before Python 3.11): pinlock's own
configuration, a local project's static ``[project]`` table (its metadata without a build) and
an editable project's name all come through ``read_toml``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pinlock.errors import ConfigError, MetadataError

if TYPE_CHECKING:
    from pinlock.coremetadata import CoreMetadata

__all__ = ["project_name", "read_toml", "static_project_metadata"]

# [project] keys whose being dynamic means the metadata must come from the build backend.
_DEPENDENCY_FIELDS = frozenset(
    {"dependencies", "optional-dependencies", "requires-python", "name", "version"}
)


def read_toml(path: Path) -> dict[str, object]:
    """The TOML document at ``path``; a file that is not UTF-8 TOML is a ConfigError naming it.

    A missing or unreadable file raises ``OSError`` for the caller to word.
    """
    # Loaded here: a run without configuration files (``--no-config``) reads no TOML.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

    data = path.read_bytes()
    try:
        document: dict[str, object] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"not valid TOML: {exc}") from exc
    return document


def _project_table(folder: Path) -> dict[str, object] | None:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return None
    project = read_toml(pyproject).get("project")
    return project if isinstance(project, dict) else None


def project_name(folder: Path) -> str | None:
    """A local project's static name: ``[project] name``, else setup.cfg's ``[metadata] name``."""
    try:
        project = _project_table(folder)
    except (OSError, ConfigError):
        project = None
    name = project.get("name") if project is not None else None
    if isinstance(name, str) and name.strip():
        return name.strip()
    import configparser  # only for setup.cfg fallbacks; slow to import

    setup_cfg = configparser.ConfigParser(interpolation=None)
    try:
        setup_cfg.read(folder / "setup.cfg", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    name = setup_cfg.get("metadata", "name", fallback=None)
    return name.strip() if isinstance(name, str) and name.strip() else None


def static_project_metadata(folder: Path) -> CoreMetadata | None:
    """The PEP 621 ``[project]`` table as metadata, or None when something we need is dynamic."""
    what = str(folder / "pyproject.toml")
    try:
        project = _project_table(folder)
    except ConfigError as error:
        raise MetadataError(what, error.reason) from None
    except OSError as error:
        raise MetadataError(what, f"cannot read: {error.strerror or error}") from None
    if project is None:
        return None
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or _DEPENDENCY_FIELDS & {str(f) for f in dynamic}:
        return None
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    requires_python = project.get("requires-python")
    if requires_python is not None:
        lines.append(f"Requires-Python: {_string(requires_python, what, 'requires-python')}")
    lines += [f"Requires-Dist: {req}" for req in _strings(project.get("dependencies"), what)]
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise MetadataError(what, "project.optional-dependencies must be a table")
    for extra, requirements in optional.items():
        lines.append(f"Provides-Extra: {extra}")
        for text in _strings(requirements, what):
            lines.append(f"Requires-Dist: {_with_extra(text, extra, what)}")
    lines += [f"Dynamic: {field}" for field in dynamic]
    # Loaded here: configuration and lock readers (``pinlock sync``'s start) use this module
    # for its TOML alone, and core metadata brings packaging.metadata and the email parser.
    from pinlock.coremetadata import parse_metadata

    return parse_metadata("\n".join(lines) + "\n", what=what)


def _with_extra(text: str, extra: str, what: str) -> str:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise MetadataError(what, f"invalid requirement {text!r}: {error}") from None
    condition = f'extra == "{canonicalize_name(extra)}"'
    if requirement.marker is None:
        requirement.marker = Marker(condition)
    else:
        requirement.marker = Marker(f"({requirement.marker}) and {condition}")
    return str(requirement)


def _string(value: object, what: str, key: str) -> str:
    if not isinstance(value, str):
        raise MetadataError(what, f"project.{key} must be a string")
    return value


def _strings(value: object, what: str) -> Iterable[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MetadataError(what, "project dependencies must be lists of strings")
    return value
