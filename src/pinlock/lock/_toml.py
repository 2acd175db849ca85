"""A TOML writer for what a pylock.toml holds: tables, strings, integers, booleans, datetimes.

The standard library reads TOML but does not write it, and this is all a lock needs: the
top-level keys, then ``[[packages]]`` (every array of tables at the top level) with their
values written inline, a list of tables one inline table per line, as PEP 751's examples and
uv write them. Output is deterministic: keys in the order given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def dumps(document: Mapping[str, Any]) -> str:
    """``document`` as TOML text ending in one newline."""
    lines: list[str] = []
    arrays: list[tuple[str, Sequence[Mapping[str, Any]]]] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in document.items():
        if _is_table_list(value):
            arrays.append((key, value))
        elif isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, items in arrays:
        for item in items:
            lines.extend(["", f"[[{_key(key)}]]"])
            for name, value in item.items():
                if _is_table_list(value):
                    inner = ",\n".join(f"    {_inline(entry)}" for entry in value)
                    lines.append(f"{_key(name)} = [\n{inner},\n]")
                else:
                    lines.append(f"{_key(name)} = {_value(value)}")
    # Tables last (``[tool]``): after them a key would belong to the table.
    for key, table in tables:
        lines.extend(["", f"[{_key(key)}]"])
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def _is_table_list(value: object) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)
    )


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _inline(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML: {value!r}")


def _inline(table: Mapping[str, Any]) -> str:
    if not table:
        return "{}"
    return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in table.items()) + " }"


def _string(text: str) -> str:
    # A marker reads best in a literal string: 'python_version == "3.12"'.
    if '"' in text and "'" not in text and text.isprintable():
        return f"'{text}'"
    # A JSON string is a TOML basic string: the same quotes and escapes (TOML also wants DEL
    # escaped).
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
