"""``pinlock sync`` / ``pinlock-sync``: options in, ``pinlock.sync.sync`` called, report printed.

Starting typer costs about as much as checking an environment that is already in sync, so an
ordinary command line is read by the quick reader made from the same option declarations
(``pinlock.cli.declare``); only ``--help`` and command lines it does not understand go to the
typer command, which then explains the problem. This module does not import typer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pinlock.cli.declare import parse_quickly
from pinlock.cli.options import SYNC_OPTIONS, resolve_options
from pinlock.cli.pipargs import index_overrides
from pinlock.cli.piptools import command_line_notes
from pinlock.cli.progress import watching
from pinlock.cli.running import (
    echo,
    echo_json,
    error_json,
    exit_code_of,
    print_version,
    run_script,
)
from pinlock.errors import PinlockError

if TYPE_CHECKING:
    from pinlock.sync import SyncReport
    from pinlock.sync.plan import Plan

__all__ = ["EXAMPLES", "HELP", "fast_main", "main", "run_sync", "script_main", "typer_main"]

HELP = (
    "Make a virtual environment contain exactly what LOCK files say.\n\n"
    "Installs, upgrades, downgrades, reinstalls wrong builds and removes everything unlisted, "
    "all or nothing: a failure or a stop signal puts the environment back as it was. "
    "The target is --python, --venv (created when missing), $VIRTUAL_ENV or ./.venv. "
    "With --flavour, the LOCKs (files, or a stem such as requirements/main for every "
    "main-*.txt) are one lock per GPU flavour, and the one for this machine is used. "
    "Options may also be set in [tool.pinlock.sync] of pyproject.toml."
)
EXAMPLES = """Examples:

pinlock sync requirements/main.txt                 # the active venv, else ./.venv
pinlock sync --venv /app requirements/main.txt     # a build server's venv, made when missing
pinlock sync --python .venv a.txt b.txt            # several locks, merged
pinlock sync --dry-run requirements/dev.txt        # print the plan, change nothing
pinlock sync --check requirements/dev.txt          # exit 1 when the venv differs (CI)
pinlock sync --keep . requirements/dev.txt         # keep the package under test (tox, CI)
pinlock sync --flavour auto requirements/ml        # the ml-<flavour>.txt for this machine's GPU
pinlock sync --json requirements/main.txt          # plan and result as JSON"""


def run_sync(given: Mapping[str, object]) -> int:
    """Run ``pinlock sync`` with the command-line values ``given`` (by option name); print its
    report and return the exit code (errors are printed, not raised; with ``--json`` also as
    a JSON object on standard output)."""
    if given.get("version"):
        return print_version()

    def work() -> int:
        try:
            return _sync(given)
        except (PinlockError, KeyboardInterrupt) as exc:
            if given.get("json_output"):
                error = error_json(exc, interrupted=" before anything changed")
                echo_json({"command": "sync", "error": error})
            raise

    from pinlock.sync.signals import interruptible

    # Once the environment changes, an interrupt arrives as SyncFailed (restored or not).
    with interruptible(last=True):
        return exit_code_of(work, interrupted="interrupted before anything changed")


def _sync(given: Mapping[str, object]) -> int:
    from pinlock.sync import SyncRequest, sync

    for note in command_line_notes("sync", given):
        echo(f"note: {note}", err=True)
    values = resolve_options("sync", given)
    verbosity = values["verbose"] - values["quiet"]
    json_output = values["json_output"]
    overrides = index_overrides(values)
    request = SyncRequest(
        locks=values["locks"],
        python=values["python"],
        venv=values["venv"],
        system=values["system"],
        break_system_packages=values["break_system_packages"],
        dry_run=values["dry_run"] or values["check"],
        flavour=values["flavour"],
        index_overrides=overrides,
        cache_dir=values["cache_dir"],
        allow_empty=values["allow_empty"],
        lock_timeout=values["lock_timeout"],
        keep=values["keep"],
        installer=values["installer"],
        compile_bytecode=values["compile_bytecode"],
    )
    talk = verbosity >= 0 and not json_output
    shown: list[bool] = []

    def show_pip_configuration(report: SyncReport) -> None:
        """With -v, once: pip's configuration for the environment, as sync reads it."""
        if verbosity > 0 and not json_output and not shown:
            from pinlock.index.config import load_pip_configuration

            shown.append(True)
            pip = load_pip_configuration(overrides=overrides, site_prefix=report.environment.prefix)
            for line in pip.describe():
                echo(line, err=True)

    told: list[bool] = []

    def before_changes(report: SyncReport) -> None:
        show_pip_configuration(report)
        if talk:
            _print_notes(report)
            _print_plan(report, verbosity)
            told.append(True)

    def notify(message: str) -> None:
        if verbosity >= 0:
            echo(message, err=True)

    with watching(verbosity) as progress:
        report = sync(request, before_changes=before_changes, notify=notify, progress=progress)
    if json_output:
        echo_json({"command": "sync", **report.as_json()})
    elif report.applied is not None:
        if verbosity >= 0:
            _print_unchecked(report)
            echo(f"synced {report.environment.prefix}: {_counts(report.plan)}")
    elif talk:
        show_pip_configuration(report)
        if not told:
            _print_notes(report)
        _print_unchecked(report)
        if report.differs:
            _print_plan(report, verbosity)
            echo(f"would change {report.environment.prefix}: {_counts(report.plan)}")
        else:
            echo(f"nothing to do: {report.environment.prefix} matches the lock")
    return 1 if values["check"] and report.differs else 0


def _print_notes(report: SyncReport) -> None:
    for note in report.notes:
        echo(note, err=True)
    for repair in report.repaired:
        echo(f"repaired: {repair}", err=True)


def _print_unchecked(report: SyncReport) -> None:
    if report.unchecked:
        names = ", ".join(report.unchecked)
        echo(f"dependencies not checked (no metadata without the network): {names}", err=True)


def _print_plan(report: SyncReport, verbosity: int) -> None:
    plan = report.plan
    for repair in report.pending_repairs:
        echo(f"! {repair}")
    for step in plan.steps if verbosity > 0 else plan.changes:
        echo(step.summary)
    if verbosity > 0:
        for package in plan.skipped:
            echo(f"  skipped {package.shown_text} (marker false for this target)")


def _counts(plan: Plan) -> str:
    from pinlock.sync.plan import Action

    parts = [
        f"{plan.count(action)} {action.value}"
        for action in Action
        if action is not Action.KEEP and plan.count(action)
    ]
    return ", ".join(parts) or "no changes"


def fast_main(argv: Sequence[str]) -> int | None:
    """Run ``pinlock sync ARGV`` without typer; None when typer must take the command line."""
    given = parse_quickly(SYNC_OPTIONS, argv)
    return None if given is None else run_sync(given)


def typer_main(argv: Sequence[str]) -> None:
    """Run ``pinlock-sync ARGV`` through the typer command (help, usage errors)."""
    from pinlock.cli.typed import single_command_app

    app = single_command_app(SYNC_OPTIONS, run_sync, help=HELP, epilog=EXAMPLES)
    app(args=list(argv), prog_name="pinlock-sync")


def main(argv: Sequence[str] | None = None) -> None:
    """The ``pinlock-sync`` command: the quick reader, else the typer command; it ends with
    SystemExit, for a caller in this process to catch."""
    _main(argv, own_process=False)


def script_main() -> None:
    """The ``pinlock-sync`` script: ``main``, then the process ends without the interpreter's
    teardown (``running.finish_process``)."""
    _main(None, own_process=True)


def _main(argv: Sequence[str] | None, *, own_process: bool) -> None:
    run_script(argv, own_process=own_process, quick=fast_main, full=typer_main)
