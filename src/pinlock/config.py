"""pinlock's own options from ``[tool.pinlock]`` in pyproject.toml or from a ``--config`` file.

The command line declares which options exist and their kinds (a schema); this module only finds
the tables, normalizes key spelling (``index_url`` and ``index-url`` are one option) and checks
each value's type, naming the file and key of any mistake.

A command reads two tables (``load_command_config``): ``[tool.pinlock]``, whose keys go to every
command that declares them shared, and its own ``[tool.pinlock.<command>]``, which wins over it.
Every table of the file is checked on every run, so a mistake fails both commands alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pinlock.errors import ConfigError
from pinlock.pyproject import read_toml

__all__ = [
    "KNOWN_SECTIONS",
    "PIPTOOLS_FILES",
    "CommandSchema",
    "OptionSpec",
    "load_command_config",
    "load_config",
    "load_piptools_tables",
]

# Where pip-tools looks for its configuration, first found wins (pip-tools' order).
PIPTOOLS_FILES = (".pip-tools.toml", "pyproject.toml")

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
    source, table, prefix = _locate(config_file, project_dir)
    where = f"[{prefix}]" if prefix else "the top level"

    if section is not None:
        sub = table.get(section)
        if sub is None:
            return {}
        if not isinstance(sub, dict):
            raise ConfigError(source, section, f"must be a table ([tool.pinlock.{section}])")
        return _check_options(sub, schema, source, f"[{_join(prefix, section)}]")

    options: dict[str, object] = {}
    for key, value in table.items():
        if key in sections:
            if not isinstance(value, dict):
                raise ConfigError(source, key, f"must be a table ([tool.pinlock.{key}])")
            continue
        options[key] = value
    return _check_options(options, schema, source, where)


@dataclass(frozen=True, slots=True)
class CommandSchema:
    """One command's options in configuration files.

    ``options`` is what its table ``[tool.pinlock.<command>]`` takes; ``shared`` names those of
    them that ``[tool.pinlock]`` sets too, for every command that shares them.
    """

    options: Mapping[str, OptionSpec]
    shared: frozenset[str] = frozenset()


def load_command_config(
    command: str,
    commands: Mapping[str, CommandSchema],
    *,
    config_file: Path | None = None,
    project_dir: Path | None = None,
) -> dict[str, object]:
    """``command``'s options: its own table over the shared keys of ``[tool.pinlock]``.

    ``commands`` declares every command, so that each table of the file is checked whichever
    command runs: an unknown key anywhere is an error naming the key, its table and the file.
    The file is found as by ``load_config``; a ``--config`` file without a ``[tool.pinlock]``
    table holds the shared keys at its top level and the command tables as ``[compile]``,
    ``[sync]``.
    """
    source, table, prefix = _locate(config_file, project_dir)
    shared_schema = _shared_schema(commands)
    where = f"[{prefix}]" if prefix else "the top level"
    shared: dict[str, object] = {}
    own: dict[str, object] = {}
    for key, value in table.items():
        if key in commands:
            label = f"[{_join(prefix, key)}]"
            if not isinstance(value, dict):
                raise ConfigError(source, key, f"must be a table ({label})")
            checked = _check_options(value, commands[key].options, source, label)
            if key == command:
                own = checked
            continue
        name = _dashed(key)
        if name not in shared_schema:
            owners = [c for c, schema in commands.items() if name in _dashed_keys(schema.options)]
            if owners:
                tables = " or ".join(f"[{_join(prefix, owner)}]" for owner in owners)
                raise ConfigError(
                    source, key, f"not a shared option of {where}; it goes in {tables}"
                )
        shared[key] = value
    checked_shared = _check_options(shared, shared_schema, source, where)
    mine = _dashed_keys(commands[command].shared)
    options = {key: value for key, value in checked_shared.items() if key in mine}
    options.update(own)
    return options


def _shared_schema(commands: Mapping[str, CommandSchema]) -> dict[str, OptionSpec]:
    schema: dict[str, OptionSpec] = {}
    for name, command in commands.items():
        specs = {_dashed(key): spec for key, spec in command.options.items()}
        for key in command.shared:
            spec = specs[_dashed(key)]
            if schema.setdefault(_dashed(key), spec) != spec:
                raise ValueError(f"shared option {key!r} of {name} has another kind elsewhere")
    return schema


def _dashed_keys(keys: Collection[str]) -> frozenset[str]:
    return frozenset(_dashed(key) for key in keys)


def _locate(
    config_file: Path | None, project_dir: Path | None
) -> tuple[str, dict[str, object], str]:
    """``(file, table, its name)``: the pinlock table of ``config_file`` or of pyproject.toml.

    The name is ``tool.pinlock``, or empty for the top level of a config file without that table.
    """
    if config_file is not None:
        document = _read_toml(config_file, required=True)
        pinlock_table = _tool_pinlock(document, str(config_file))
        if pinlock_table is None and "tool" in document:
            # Tables of other tools only (a .pip-tools.toml): no pinlock options.
            return str(config_file), {}, "tool.pinlock"
        if pinlock_table is None:
            return str(config_file), document, ""
        return str(config_file), pinlock_table, "tool.pinlock"
    pyproject = (project_dir if project_dir is not None else Path.cwd()) / "pyproject.toml"
    document = _read_toml(pyproject, required=False)
    return str(pyproject), _tool_pinlock(document, str(pyproject)) or {}, "tool.pinlock"


def load_piptools_tables(
    *, config_file: Path | None = None, project_dir: Path | None = None
) -> tuple[str, dict[str, dict[str, object]]] | None:
    """pip-tools' configuration as pip-tools finds it: the ``--config`` file, else the first of
    ``.pip-tools.toml`` and ``pyproject.toml`` in ``project_dir`` (the working folder).

    Returns the file and its tables by section: ``""`` for ``[tool.pip-tools]``, ``compile``
    and ``sync`` for its sub-tables; None when the file has no ``[tool.pip-tools]``.
    """
    if config_file is not None:
        source, document = str(config_file), _read_toml(config_file, required=True)
    else:
        folder = project_dir if project_dir is not None else Path.cwd()
        found = next((folder / name for name in PIPTOOLS_FILES if (folder / name).is_file()), None)
        if found is None:
            return None
        source, document = str(found), _read_toml(found, required=True)
    tool = document.get("tool")
    table = tool.get("pip-tools") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(source, "tool.pip-tools", "must be a table")
    tables: dict[str, dict[str, object]] = {"": table}
    for section in ("compile", "sync"):
        sub = table.get(section)
        if sub is not None and not isinstance(sub, dict):
            raise ConfigError(source, f"tool.pip-tools.{section}", "must be a table")
        if sub is not None:
            tables[section] = sub
    return source, tables


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


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
