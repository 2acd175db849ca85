"""How a command-line option is declared, and everything made from one declaration.

Each option of ``pinlock compile`` and ``pinlock sync`` is one ``Option`` (in
``pinlock.cli.options``). From that one list come the typer command (``pinlock.cli.typed``), the
quick ``argparse`` reader that spares ``pinlock sync`` typer's start-up (``quick_reader``), the
schema of the configuration tables (``config_schema``) and the merge of the command line over
those tables (``merge``). This module imports neither typer nor the library.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pinlock.config import CommandSchema, OptionSpec
from pinlock.errors import ConfigError

__all__ = [
    "Kind",
    "Option",
    "config_schema",
    "merge",
    "parse_quickly",
    "quick_reader",
]

# str, path, float: one value; flag: --x sets true; toggle: "--x/--no-x"; count: -q -q;
# strs, paths: repeatable (or the positional arguments); pairs: repeatable NAME=VALUE, a table
# in configuration files.
Kind = Literal["str", "path", "float", "flag", "toggle", "count", "strs", "paths", "pairs"]

_CONFIG_KINDS: dict[str, Literal["str", "float", "list", "bool", "table"]] = {
    "str": "str",
    "path": "str",
    "float": "float",
    "flag": "bool",
    "toggle": "bool",
    "strs": "list",
    "paths": "list",
    "pairs": "table",
}
_EMPTY: dict[str, object] = {"flag": False, "toggle": False, "count": 0, "strs": (), "paths": ()}


@dataclass(frozen=True, kw_only=True, slots=True)
class Option:
    """One option of one command, declared once.

    ``name`` is the Python name of its value (the typer parameter, the key of merged values);
    its dashed spelling is its key in configuration tables. ``flags`` are its command-line
    spellings (a toggle's first flag is ``"--on/--off"``); an option without flags that is not
    the ``argument`` (the command's positional values) exists in configuration files only.
    ``default`` applies when neither the command line nor a configuration table sets it; None
    means empty (false, zero, no values). ``config`` lets the command's own table set it,
    ``shared`` lets ``[tool.pinlock]`` set it too. A ``hidden`` option is not in the help;
    ``panel`` is the heading it is listed under there (None: the command's general options).
    """

    name: str
    kind: Kind
    help: str = ""
    flags: tuple[str, ...] = ()
    argument: bool = False
    metavar: str | None = None
    default: object = None
    config: bool = True
    shared: bool = False
    hidden: bool = False
    panel: str | None = None

    def __post_init__(self) -> None:
        if self.config and self.kind not in _CONFIG_KINDS:
            raise ValueError(f"option {self.name}: a {self.kind} has no configuration key")
        if self.shared and not self.config:
            raise ValueError(f"option {self.name}: shared, yet not in configuration files")

    @property
    def key(self) -> str:
        """The option's name in configuration tables."""
        return self.name.replace("_", "-")

    @property
    def on_command_line(self) -> bool:
        return self.argument or bool(self.flags)

    @property
    def fallback(self) -> object:
        """The value when nothing sets the option: its default, else empty in its kind's
        shape; None for an option of configuration files only, so unset and empty differ."""
        if self.default is not None or not self.on_command_line:
            return self.default
        return {} if self.kind == "pairs" else _EMPTY.get(self.kind)


def config_schema(options: Sequence[Option]) -> CommandSchema:
    """What the command's configuration tables may hold, by key and kind."""
    return CommandSchema(
        {option.key: OptionSpec(_CONFIG_KINDS[option.kind]) for option in options if option.config},
        shared=frozenset(option.key for option in options if option.config and option.shared),
    )


def merge(
    options: Sequence[Option], given: Mapping[str, object], config: Mapping[str, object]
) -> dict[str, Any]:
    """Every option's value: the command line (``given``, by name) over ``config`` (by key).

    A value not given on the command line is None, an empty list or a zero count, whichever of
    typer or the quick reader produced it. Values come out in one shape per kind: ``str``,
    ``Path``, ``bool``, ``int``, a tuple of ``str`` or ``Path``, a ``dict`` of pairs.
    """
    values: dict[str, Any] = {}
    for option in options:
        value = _from_command_line(option, given.get(option.name))
        if value is None and option.config and config.get(option.key) is not None:
            value = _from_config(option, config[option.key])
        values[option.name] = option.fallback if value is None else value
    return values


def _from_command_line(option: Option, value: object) -> object:
    """The value given on the command line, or None when it sets nothing."""
    if value is None or (option.kind == "count" and value == 0):
        return None
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
        if not items:
            return None
        if option.kind == "pairs":
            return _pairs(option, items)
        return tuple(Path(item) for item in items) if option.kind == "paths" else tuple(items)
    return Path(str(value)) if option.kind == "path" else value


def _from_config(option: Option, value: object) -> object:
    """A checked configuration value (``pinlock.config``) in the command line's shape."""
    if option.kind == "path":
        return Path(str(value))
    if option.kind == "float":
        return float(str(value))
    if isinstance(value, list):
        return tuple(Path(item) for item in value) if option.kind == "paths" else tuple(value)
    return value


def _pairs(option: Option, values: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, where = value.partition("=")
        if not sep or not name or not where:
            raise ConfigError(option.flags[0], value, f"expected {option.metavar or 'NAME=VALUE'}")
        pairs[name] = where
    return pairs


class _NotUnderstood(Exception):
    pass


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _NotUnderstood(message)


def quick_reader(options: Sequence[Option]) -> argparse.ArgumentParser:
    """An ``argparse`` reader of the same command line typer reads, option for option."""
    parser = _QuietParser(add_help=False, allow_abbrev=False)
    for option in options:
        if not option.on_command_line:
            continue
        kind = option.kind
        value_type: type = Path if kind in ("path", "paths") else float if kind == "float" else str
        if option.argument:
            parser.add_argument(option.name, nargs="*", type=value_type)
        elif kind == "flag":
            parser.add_argument(*option.flags, dest=option.name, action="store_true", default=None)
        elif kind == "toggle":
            on, _, off = option.flags[0].partition("/")
            parser.add_argument(on, *option.flags[1:], dest=option.name, action="store_true")
            parser.add_argument(off, dest=option.name, action="store_false")
            parser.set_defaults(**{option.name: None})
        elif kind == "count":
            parser.add_argument(*option.flags, dest=option.name, action="count", default=0)
        elif kind in ("strs", "paths", "pairs"):
            parser.add_argument(*option.flags, dest=option.name, action="append", type=value_type)
        else:
            parser.add_argument(*option.flags, dest=option.name, type=value_type)
    return parser


def parse_quickly(options: Sequence[Option], argv: Sequence[str]) -> dict[str, object] | None:
    """``argv`` read by ``quick_reader``: values by name, or None when typer must take it.

    Help and anything the reader does not understand go to typer, which explains the problem.
    """
    if any(arg in ("-h", "--help") for arg in argv):
        return None
    try:
        parsed = quick_reader(options).parse_intermixed_args(list(argv))
    except (_NotUnderstood, TypeError):
        return None
    return dict(vars(parsed))
