"""pinlock's own options from ``[tool.pinlock]`` in pyproject.toml or from a ``--config`` file.

The command line declares which options exist and their kinds (a schema); this module only finds
the table, normalizes key spelling (``index_url`` and ``index-url`` are one option) and checks
each value's type, naming the file and key of any mistake.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pinlock.errors import ConfigError
from pinlock.pyproject import read_toml

__all__ = ["KNOWN_SECTIONS", "OptionSpec", "load_config"]

# Sub-tables of [tool.pinlock] that hold one command's options rather than being options.
KNOWN_SECTIONS: frozenset[str] = frozenset({"compile", "sync"})

_KIND_TEXT = {
    "str": "a string",
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "list": "a list of strings",
    "table": "a table of strings",
}


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """The kind of one option's value: ``list`` is a list of strings, ``table`` maps strings."""

    kind: Literal["str", "bool", "int", "float", "list", "table"]


def load_config(
    *,
    schema: Mapping[str, OptionSpec],
    config_file: Path | None = None,
    project_dir: Path | None = None,
    section: str | None = None,
    sections: Collection[str] = KNOWN_SECTIONS,
) -> dict[str, object]:
    """The options found, keyed by their dashed names, each checked against ``schema``.

    ``config_file`` is read whole (its ``[tool.pinlock]`` table when it has one); otherwise
    ``project_dir/pyproject.toml``'s ``[tool.pinlock]``, where a missing file or table means no
    options. ``section`` selects a sub-table such as ``[tool.pinlock.sync]``; without it, the
    sub-tables named in ``sections`` are skipped.
    """
    if config_file is not None:
        source = str(config_file)
        document = _read_toml(config_file, required=True)
        pinlock_table = _tool_pinlock(document, source)
        table = document if pinlock_table is None else pinlock_table
        where = "the top level" if pinlock_table is None else "[tool.pinlock]"
    else:
        pyproject = (project_dir if project_dir is not None else Path.cwd()) / "pyproject.toml"
        source = str(pyproject)
        document = _read_toml(pyproject, required=False)
        table = _tool_pinlock(document, source) or {}
        where = "[tool.pinlock]"

    if section is not None:
        sub = table.get(section)
        if sub is None:
            return {}
        if not isinstance(sub, dict):
            raise ConfigError(source, section, f"must be a table ([tool.pinlock.{section}])")
        return _check_options(sub, schema, source, f"[tool.pinlock.{section}]")

    options: dict[str, object] = {}
    for key, value in table.items():
        if key in sections:
            if not isinstance(value, dict):
                raise ConfigError(source, key, f"must be a table ([tool.pinlock.{key}])")
            continue
        options[key] = value
    return _check_options(options, schema, source, where)


def _read_toml(path: Path, *, required: bool) -> dict[str, object]:
    try:
        return read_toml(path)
    except FileNotFoundError:
        if required:
            raise ConfigError(str(path), "--config", "file not found") from None
        return {}
    except OSError as exc:
        raise ConfigError(str(path), "--config", f"cannot read: {exc}") from exc


def _tool_pinlock(document: Mapping[str, object], source: str) -> dict[str, object] | None:
    tool = document.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(source, "tool", "must be a table")
    table = tool.get("pinlock")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(source, "tool.pinlock", "must be a table")
    return table


def _dashed(key: str) -> str:
    return key.replace("_", "-")


def _check_options(
    table: Mapping[str, object], schema: Mapping[str, OptionSpec], source: str, where: str
) -> dict[str, object]:
    specs = {_dashed(name): spec for name, spec in schema.items()}
    known = ", ".join(sorted(specs)) or "(none)"
    options: dict[str, object] = {}
    spelled: dict[str, str] = {}
    for key, value in table.items():
        name = _dashed(key)
        spec = specs.get(name)
        if spec is None:
            raise ConfigError(source, key, f"unknown option in {where}; known: {known}")
        if name in spelled:
            raise ConfigError(source, key, f"given twice (also as {spelled[name]!r}) in {where}")
        spelled[name] = key
        options[name] = _checked_value(value, spec, source, key)
    return options


def _checked_value(value: object, spec: OptionSpec, source: str, key: str) -> object:
    kind = spec.kind
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "list" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if (
        kind == "table"
        and isinstance(value, dict)
        and all(isinstance(v, str) for v in value.values())
    ):
        return dict(value)
    raise ConfigError(
        source, key, f"expected {_KIND_TEXT[kind]}, got {_describe(value)} ({value!r})"
    )


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
