"""Every option of ``pinlock compile`` and ``pinlock sync``, each declared once.

The typer commands, the quick reader of ``pinlock sync``, the help texts and the configuration
tables all come from these lists (see ``pinlock.cli.declare``): ``compile`` and ``sync`` here,
free of typer, beside each other because either command checks the other's configuration table.

Configuration: ``[tool.pinlock.compile]`` takes every compile option marked ``config``,
``[tool.pinlock.sync]`` every such sync option, and ``[tool.pinlock]`` the ``shared`` ones: all of
compile's (it was compile's table first), and of sync's the index options and ``cache-dir``,
which mean the same for both commands. A value given on the command line wins over the
command's table, which wins over ``[tool.pinlock]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pinlock.cli.declare import Option, config_schema, merge
from pinlock.cli.options.compile import COMPILE_OPTIONS
from pinlock.cli.options.sync import SYNC_OPTIONS
from pinlock.cli.piptools import piptools_config
from pinlock.config import load_command_config, load_piptools_tables

__all__ = ["COMMAND_OPTIONS", "COMPILE_OPTIONS", "SYNC_OPTIONS", "resolve_options"]

COMMAND_OPTIONS: dict[str, tuple[Option, ...]] = {
    "compile": COMPILE_OPTIONS,
    "sync": SYNC_OPTIONS,
}


def resolve_options(command: str, given: Mapping[str, object]) -> dict[str, Any]:
    """``command``'s option values, by name: the command line (``given``, by name) over
    ``[tool.pinlock.<command>]`` over ``[tool.pinlock]`` (or the ``--config`` file's tables)
    over pip-tools' configuration (``[tool.pip-tools.<command>]`` over ``[tool.pip-tools]``,
    in ``.pip-tools.toml`` or pyproject.toml) over the declared defaults. Every table of
    both tools is checked. ``--no-config`` reads none of them."""
    if given.get("no_config"):
        return merge(COMMAND_OPTIONS[command], given, {})
    config_file = None if given.get("config") is None else Path(str(given["config"]))
    config = load_command_config(
        command,
        {name: config_schema(options) for name, options in COMMAND_OPTIONS.items()},
        config_file=config_file,
    )
    found = load_piptools_tables(config_file=config_file)
    if found is not None:
        source, tables = found
        config = {**piptools_config(command, tables, source, COMMAND_OPTIONS), **config}
    return merge(COMMAND_OPTIONS[command], given, config)
