"""typer commands made from option declarations (``pinlock.cli.declare``).

A command's body takes the values typer read, by option name, and returns the exit code. The
typer parameters are generated, so the declaration stays the only list of a command's options.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from pinlock.cli.declare import Option

__all__ = ["Body", "command_of", "help_text", "single_command_app"]

Body = Callable[[Mapping[str, object]], int]

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


def help_text(text: str) -> str:
    """``text`` as typer shows it: square brackets (``[tool.pinlock]``) are not rich markup."""
    return text.replace("[", "\\[")


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
        return typer.Argument(metavar=option.metavar, help=help_text(text), show_default=False)
    return typer.Option(
        *option.flags,
        help=help_text(text),
        metavar=option.metavar,
        count=option.kind == "count",
        show_default=False,
    )


def _shown(default: object) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def single_command_app(options: Sequence[Option], body: Body, *, help: str) -> typer.Typer:
    """A typer app of one command, for the ``pinlock-compile`` and ``pinlock-sync`` scripts."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(help=help_text(help))(command_of(options, body))
    return app
