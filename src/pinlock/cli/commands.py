"""The ``pinlock`` typer app: ``pinlock compile`` and ``pinlock sync``.

Each command's options are declared once (``pinlock.cli.options``) and its typer command is made
from them (``pinlock.cli.typed``); the bodies live in ``pinlock.cli.compile`` and
``pinlock.cli.sync``, which also run the ``pinlock-compile`` and ``pinlock-sync`` scripts.
Library imports happen inside the bodies, so ``pinlock sync`` never loads the resolver.
``pinlock --install-completion`` installs typer's shell completion (bash, zsh, fish, PowerShell).
"""

from __future__ import annotations

import typer

from pinlock.cli.compile import EXAMPLES as COMPILE_EXAMPLES
from pinlock.cli.compile import HELP as COMPILE_HELP
from pinlock.cli.compile import run_compile
from pinlock.cli.options import COMPILE_OPTIONS, SYNC_OPTIONS
from pinlock.cli.running import print_version
from pinlock.cli.sync import EXAMPLES as SYNC_EXAMPLES
from pinlock.cli.sync import HELP as SYNC_HELP
from pinlock.cli.sync import run_sync
from pinlock.cli.typed import CONTEXT, Command, Group, command_of, help_text

__all__ = ["app", "run"]

app = typer.Typer(
    name="pinlock",
    help="Hashed requirement locks for pip, per target and GPU flavour; exact venv sync.",
    epilog=help_text(
        "Run pinlock COMMAND -h for a command's options and examples. Exit codes: 0 done; "
        "1 error, or a --check that found work; 2 bad input, configuration or environment; "
        "3 no resolution; 4 network failure; 128+N stopped by signal N."
    ),
    cls=Group,
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.command(
    "compile",
    help=help_text(COMPILE_HELP),
    epilog=help_text(COMPILE_EXAMPLES),
    cls=Command,
    context_settings=CONTEXT,
    no_args_is_help=False,
)(command_of(COMPILE_OPTIONS, run_compile))
app.command(
    "sync",
    help=help_text(SYNC_HELP),
    epilog=help_text(SYNC_EXAMPLES),
    cls=Command,
    context_settings=CONTEXT,
)(command_of(SYNC_OPTIONS, run_sync))


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", metavar="", help="Print pinlock's version and exit."
    ),
) -> None:
    if version:
        raise typer.Exit(print_version())
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)


def run(argv: list[str] | None = None) -> None:
    """Run the typer app with ``argv`` (default: the process arguments)."""
    app(args=argv, prog_name="pinlock")
