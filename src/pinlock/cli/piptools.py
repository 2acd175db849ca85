"""pip-tools' options as pinlock takes them, by the table of ``pinlock.cli.piptools_options``.

The table serves three purposes: pip-tools' configuration (``[tool.pip-tools]`` in
pyproject.toml or ``.pip-tools.toml``, read by ``piptools_config``), the pip-tools flags pinlock
takes on its command line only to say what becomes of them (``hidden_options``,
``command_line_notes``), and the README's migration table (a test compares the two).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time

from pinlock.cli.declare import Kind, Option
from pinlock.cli.piptools_options import PIPTOOLS_OPTIONS, PipToolsOption, Treatment
from pinlock.errors import ConfigError

__all__ = [
    "PIPTOOLS_OPTIONS",
    "PipToolsOption",
    "Treatment",
    "command_line_notes",
    "hidden_options",
    "piptools_config",
]


_I, _R = Treatment.IGNORED, Treatment.REFUSED
_BOTH = ("compile", "sync")


def _hidden_name(entry: PipToolsOption) -> str:
    return "piptools_" + next(iter(entry.keys)).replace("-", "_")


def _unsupported(command: str) -> list[PipToolsOption]:
    """The options of ``command`` that pinlock takes only to say what becomes of them."""
    return [
        entry
        for entry in PIPTOOLS_OPTIONS
        if command in entry.commands and entry.treatment in (_I, _R)
    ]


def hidden_options(command: str) -> tuple[Option, ...]:
    """pip-tools' ignored and refused options of ``command`` as hidden command-line options
    (long spellings only: pinlock's short ones mean other things or nothing)."""
    options = []
    for entry in _unsupported(command):
        flags = tuple(flag for flag in entry.flags if flag.startswith("--"))
        kind: Kind = "toggle" if "/" in flags[0] else "strs" if entry.takes_value else "flag"
        options.append(
            Option(name=_hidden_name(entry), kind=kind, flags=flags, config=False, hidden=True)
        )
    return tuple(options)


def command_line_notes(command: str, given: Mapping[str, object]) -> list[str]:
    """Notes on the pip-tools options ``given`` (raw command-line values) that pinlock ignores;
    a ``ConfigError`` for the first it refuses."""
    notes = []
    for entry in _unsupported(command):
        value = given.get(_hidden_name(entry))
        flag = next(flag for flag in entry.flags if flag.startswith("--"))
        on, _slash, off = flag.partition("/")
        if isinstance(value, bool) and (value or off):
            # A switch: --x (True) or --no-x (False); a plain flag is None unless given.
            spelled, values = on if value else off, [str(value).lower()]
        elif isinstance(value, list | tuple) and value:
            spelled, values = f"{on} {' '.join(map(str, value))}", [str(v) for v in value]
        else:
            continue
        if entry.treatment is _I:
            notes.append(f"{spelled} (pip-tools) is ignored: {entry.why}")
        elif not all(item in entry.harmless for item in values):
            raise ConfigError("command line", spelled, f"refused: {entry.why}")
    return notes


def piptools_config(
    command: str,
    tables: Mapping[str, Mapping[str, object]],
    source: str,
    options: Mapping[str, Sequence[Option]],
) -> dict[str, object]:
    """``command``'s pinlock configuration values (by dashed key) from pip-tools' tables.

    ``tables`` maps ``""`` to ``[tool.pip-tools]`` and ``compile``/``sync`` to its sub-tables;
    ``options`` are both commands' declarations. Every key of every table is checked, for
    every command that has it: an unknown key, a refused one or a value of the wrong type is a
    ``ConfigError`` naming it, its table and ``source``. The command's own table wins over the
    shared one, as in pip-tools.
    """
    found: dict[str, object] = {}
    for section in ("", "compile", "sync"):
        where = "[tool.pip-tools" + (f".{section}" if section else "") + "]"
        commands = (section,) if section else _BOTH
        for key, value in tables.get(section, {}).items():
            if not section and key in ("compile", "sync"):
                continue
            name = key.lstrip("-").replace("_", "-").lower()
            entries = [
                entry
                for entry in PIPTOOLS_OPTIONS
                if name in entry.keys and set(commands) & set(entry.commands)
            ]
            if not entries:
                raise ConfigError(
                    source, key, f"not an option of pip-compile or pip-sync, in {where}"
                )
            for entry in entries:
                on = entry.keys[name]
                if not _applies(entry, value, on, source, key, where):
                    continue
                for owner in set(commands) & set(entry.commands):
                    target = _target(entry, owner, options)
                    if target is None:
                        continue
                    converted = _value(target, value, on, source, key)
                    if owner == command:
                        found[target.key] = converted
    return found


def _applies(
    entry: PipToolsOption, value: object, on: bool, source: str, key: str, where: str
) -> bool:
    """Whether a key's value means something to pinlock: False for an ignored key or a
    refused one set to what changes nothing; a ``ConfigError`` for a refused one otherwise."""
    treatment = entry.config_treatment
    if treatment is _I:
        return False
    if treatment is not _R:
        return True
    switch = any("/" in flag for flag in entry.flags)
    if isinstance(value, bool):
        harmless = str(value is on).lower() in entry.harmless if switch else value is False
    else:
        items = value if isinstance(value, list) else [value]
        harmless = all(str(item) in entry.harmless for item in items)
    if harmless:
        return False
    raise ConfigError(source, key, f"pip-tools' option, refused in {where}: {entry.why}")


def _target(
    entry: PipToolsOption, command: str, options: Mapping[str, Sequence[Option]]
) -> Option | None:
    if command not in entry.commands or entry.pinlock is None:
        return None
    return next((o for o in options[command] if o.name == entry.pinlock and o.config), None)


def _value(option: Option, value: object, on: bool, source: str, key: str) -> object:
    """A pip-tools value in the shape pinlock's configuration gives ``option``."""
    if option.kind in ("flag", "toggle"):
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"expected true or false, got {value!r}")
        return value is on
    if option.kind in ("strs", "paths"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ConfigError(source, key, f"expected a string or a list of strings, got {value!r}")
        return items
    if isinstance(value, date | time):  # an unquoted TOML date or time
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(source, key, f"expected a string, got {value!r}")
    return str(value)
