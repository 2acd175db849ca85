"""typer commands made from option declarations (``pinlock.cli.declare``).

A command's body takes the values typer read, by option name, and returns the exit code. The
typer parameters are generated, so the declaration stays the only list of a command's options.
Help is written for people: each value shown by its metavar (``URL``, ``PATH``; flags by none,
never a Python type such as ``<list[str]>``), examples below the options, ``-h`` as well as
``--help``, and as wide as the terminal (100 columns when help goes to a file or a pipe).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from pinlock.cli.declare import Kind, Option

__all__ = [
    "CONTEXT",
    "Body",
    "Command",
    "Group",
    "command_of",
    "help_text",
    "metavar_of",
    "single_command_app",
]

Body = Callable[[Mapping[str, object]], int]

# Every command and group takes -h for --help.
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
# How wide help is when it goes to no terminal (a file, a pipe, `less`): typer's 80 cuts it.
_PIPED_WIDTH = 100

_TYPES: dict[str, Any] = {
    "str": str | None,
    "path": Path | None,
    "float": float | None,
    "flag": bool | None,
    "toggle": bool | None,
    "count": int,
    "strs": list[str] | None,
    "paths": list[Path] | None,
    "pairs": list[str] | None,
}
# What a value is called when its declaration names nothing better; a switch shows none.
_METAVARS: dict[Kind, str] = {
    "str": "TEXT",
    "path": "PATH",
    "float": "NUMBER",
    "flag": "",
    "toggle": "",
    "count": "",
    "strs": "TEXT",
    "paths": "PATH",
    "pairs": "NAME=VALUE",
}


def help_text(text: str) -> str:
    """``text`` as typer shows it: square brackets (``[tool.pinlock]``) are not rich markup."""
    return text.replace("[", "\\[")


def metavar_of(option: Option) -> str:
    """What the help shows for ``option``'s value: its declared metavar, else by its kind."""
    return option.metavar if option.metavar is not None else _METAVARS[option.kind]


def _set_help_width() -> None:
    """Help as wide as the terminal; 100 columns when it goes elsewhere (rich says 80)."""
    from typer import rich_utils

    if rich_utils.MAX_WIDTH is None and "COLUMNS" not in os.environ and not sys.stdout.isatty():
        rich_utils.MAX_WIDTH = _PIPED_WIDTH


class _Argument(TyperArgument):
    """A positional argument shown by its metavar alone (typer would add ``<list[Path]>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain_switches(params: list[Any]) -> list[Any]:
    """Switches typer adds (``--help``, ``--install-completion``) shown as the switches they
    are: typer would add ``<bool>``."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """typer's command, with help as ``pinlock.cli.typed`` describes it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _Argument

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_switches(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _set_help_width()
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """typer's group of commands (``pinlock``), with help as wide as its commands'."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_switches(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _set_help_width()
        super().format_help(ctx, formatter)


def command_of(options: Sequence[Option], body: Body) -> Callable[..., None]:
    """A function typer can register as a command: one parameter per command-line option."""

    def command(**given: object) -> None:
        code = body(given)
        if code:
            raise typer.Exit(code)

    parameters = [
        inspect.Parameter(
            option.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=0 if option.kind == "count" else None,
            annotation=Annotated[_TYPES[option.kind], _parameter_info(option)],
        )
        for option in options
        if option.on_command_line
    ]
    command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def _parameter_info(option: Option) -> Any:
    text = option.help
    if option.default is not None:
        text += f" [default: {_shown(option.default)}]"
    if option.argument:
        return typer.Argument(
            metavar=option.metavar or option.name.upper(), help=help_text(text), show_default=False
        )
    return typer.Option(
        *option.flags,
        help=help_text(text),
        metavar=metavar_of(option),
        count=option.kind == "count",
        show_default=False,
        hidden=option.hidden,
        rich_help_panel=option.panel,
    )


def _shown(default: object) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def single_command_app(
    options: Sequence[Option], body: Body, *, help: str, epilog: str = ""
) -> typer.Typer:
    """A typer app of one command, for the ``pinlock-compile`` and ``pinlock-sync`` scripts."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(
        help=help_text(help),
        epilog=help_text(epilog) or None,
        cls=Command,
        context_settings=CONTEXT,
    )(command_of(options, body))
    return app
