"""``pinlock sync`` as a typer command: its options and help; the work is in ``syncrun``.

The console scripts reach this module only for ``--help`` and for command lines the quick
reader in ``pinlock.cli.syncrun`` does not take, so typer's start-up cost stays off the usual run.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["HELP", "main", "sync_command"]

HELP = (
    "Make a virtual environment contain exactly what LOCK files say: install, upgrade, "
    "downgrade, reinstall wrong builds and remove everything unlisted, all-or-nothing. "
    "The target is --python, --venv (created when missing), $VIRTUAL_ENV or ./.venv. "
    "With --flavour, the LOCKs (files, or a stem such as requirements/main for every "
    "main-*.txt) are one lock per GPU flavour, and the one for this machine is used."
)


def sync_command(
    locks: list[Path] = typer.Argument(  # noqa: B008
        None, metavar="[LOCK]...", help="Lock files to merge (default: requirements.txt)."
    ),
    python: Path | None = typer.Option(  # noqa: B008
        None, "--python", help="Interpreter or virtual environment folder to sync."
    ),
    venv: Path | None = typer.Option(  # noqa: B008
        None, "--venv", help="Virtual environment folder to sync; created when missing."
    ),
    system: bool = typer.Option(
        False, "--system", help="Allow changing an interpreter that is not a venv."
    ),
    break_system_packages: bool = typer.Option(
        False, "--break-system-packages", help="Change an externally managed (PEP 668) Python."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan, change nothing."),
    check: bool = typer.Option(
        False, "--check", help="Change nothing; exit 1 when the environment differs."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the plan and result as JSON."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder."),  # noqa: B008
    index_url: str | None = typer.Option(None, "--index-url", "-i", help="Main index URL."),
    extra_index_url: list[str] = typer.Option(  # noqa: B008
        [], "--extra-index-url", help="Another index (repeatable)."
    ),
    find_links: list[str] = typer.Option(  # noqa: B008
        [], "--find-links", "-f", help="A folder or page of files (repeatable)."
    ),
    no_index: bool = typer.Option(False, "--no-index", help="Use find-links only."),
    flavour: str | None = typer.Option(
        None,
        "--flavour",
        help="auto or a flavour name (cpu, cu121, rocm6.2...): choose the LOCK of that GPU "
        "flavour; auto detects this machine's (PINLOCK_FLAVOUR, PINLOCK_CUDA_DRIVER override).",
    ),
    quiet: int = typer.Option(0, "--quiet", "-q", count=True, help="Print less."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Print more."),
) -> None:
    from pinlock.cli.syncrun import SyncOptions, execute

    code = execute(
        SyncOptions(
            locks=tuple(locks or ()),
            python=python,
            venv=venv,
            system=system,
            break_system_packages=break_system_packages,
            dry_run=dry_run,
            check=check,
            json_output=json_output,
            cache_dir=cache_dir,
            index_url=index_url,
            extra_index_url=tuple(extra_index_url),
            find_links=tuple(find_links),
            no_index=no_index,
            flavour=flavour,
            quiet=quiet,
            verbose=verbose,
        )
    )
    if code:
        raise typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the typer ``pinlock-sync`` app with ``argv`` (default: the process arguments)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(help=HELP)(sync_command)
    app(args=argv, prog_name="pinlock-sync")
