"""``pinlock sync`` and the ``pinlock-sync`` script: make an environment match its locks exactly.

Only option parsing and printing live here; library modules are imported inside the command so
that starting ``pinlock sync`` loads nothing of the resolver stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pinlock.lock.model import Lock
    from pinlock.sync.environment import Environment
    from pinlock.sync.plan import Plan

__all__ = ["HELP", "main", "sync_command"]

HELP = (
    "Make a virtual environment contain exactly what LOCK files say: install, upgrade, "
    "downgrade, reinstall wrong builds and remove everything unlisted, all-or-nothing. "
    "The target is --python, --venv (created when missing), $VIRTUAL_ENV or ./.venv."
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
    quiet: int = typer.Option(0, "--quiet", "-q", count=True, help="Print less."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Print more."),
) -> None:
    from pinlock.errors import PinlockError

    try:
        code = _sync(
            lock_paths=list(locks or [Path("requirements.txt")]),
            python=python,
            venv=venv,
            system=system,
            break_system_packages=break_system_packages,
            dry_run=dry_run,
            check=check,
            json_output=json_output,
            cache_dir=cache_dir,
            cli_options={
                "index_url": index_url,
                "extra_index_urls": tuple(extra_index_url),
                "find_links": tuple(find_links),
                "no_index": no_index,
            },
            verbosity=verbose - quiet,
        )
    except PinlockError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    if code:
        raise typer.Exit(code)


def _sync(
    *,
    lock_paths: list[Path],
    python: Path | None,
    venv: Path | None,
    system: bool,
    break_system_packages: bool,
    dry_run: bool,
    check: bool,
    json_output: bool,
    cache_dir: Path | None,
    cli_options: dict[str, Any],
    verbosity: int,
) -> int:
    from pinlock.lock.txt import read_lock
    from pinlock.sync.environment import (
        check_allowed,
        find_python,
        inspect_environment,
        protected_names,
    )
    from pinlock.sync.locks import select_packages
    from pinlock.sync.plan import make_plan

    locks = [read_lock(path) for path in lock_paths]
    interpreter = find_python(python=python, venv=venv, system=system)
    env = inspect_environment(interpreter)
    check_allowed(env, system=system, break_system_packages=break_system_packages)
    wanted = select_packages(locks, env.marker_environment)
    plan = make_plan(
        wanted.packages,
        env.installed,
        python_version=env.python_version,
        protected=protected_names(env),
        skipped=wanted.skipped,
    )
    if plan.is_empty or dry_run or check:
        _report(plan, env, json_output=json_output, verbosity=verbosity, applied=False)
        return 1 if check and not plan.is_empty else 0
    if not json_output and verbosity >= 0:
        _print_plan(plan, verbosity)
    _apply(
        plan,
        env,
        locks,
        cache_dir=cache_dir,
        cli_options=cli_options,
        break_system_packages=break_system_packages,
    )
    if json_output:
        typer.echo(json.dumps(_plan_json(plan, env, applied=True), indent=2))
    elif verbosity >= 0:
        typer.echo(f"synced {env.prefix}: {_counts(plan)}")
    return 0


def _apply(
    plan: Plan,
    env: Environment,
    locks: list[Lock],
    *,
    cache_dir: Path | None,
    cli_options: dict[str, Any],
    break_system_packages: bool,
) -> None:
    from pinlock.cache import Cache
    from pinlock.index.config import load_pip_settings
    from pinlock.reqfile import IndexOptions
    from pinlock.sync.apply import apply_plan
    from pinlock.sync.fetch import IndexFileSource
    from pinlock.sync.locks import merge_options

    settings = (
        load_pip_settings()
        .with_options(merge_options(locks))
        .with_options(IndexOptions(**cli_options))
    )
    pip_args: list[str] = []
    if settings.no_index:
        pip_args.append("--no-index")
    else:
        pip_args += ["--index-url", settings.index_url]
        for url in settings.extra_index_urls:
            pip_args += ["--extra-index-url", url]
    for link in settings.find_links:
        pip_args += ["--find-links", link]
    for host in settings.trusted_hosts:
        pip_args += ["--trusted-host", host]
    with IndexFileSource(settings) as source:
        apply_plan(
            plan,
            env,
            source=source,
            cache=Cache(cache_dir),
            pip_args=pip_args,
            break_system_packages=break_system_packages,
        )


def _report(
    plan: Plan, env: Environment, *, json_output: bool, verbosity: int, applied: bool
) -> None:
    if json_output:
        typer.echo(json.dumps(_plan_json(plan, env, applied=applied), indent=2))
        return
    if verbosity < 0:
        return
    if plan.is_empty:
        typer.echo(f"nothing to do: {env.prefix} matches the lock")
        return
    _print_plan(plan, verbosity)
    typer.echo(f"would change {env.prefix}: {_counts(plan)}")


def _print_plan(plan: Plan, verbosity: int) -> None:
    for step in plan.steps if verbosity > 0 else plan.changes:
        typer.echo(step.summary)
    if verbosity > 0:
        for package in plan.skipped:
            typer.echo(f"  skipped {package.requirement_text} (marker false for this target)")


def _counts(plan: Plan) -> str:
    from pinlock.sync.plan import Action

    parts = [
        f"{plan.count(action)} {action.value}"
        for action in Action
        if action is not Action.KEEP and plan.count(action)
    ]
    return ", ".join(parts) or "no changes"


def _plan_json(plan: Plan, env: Environment, *, applied: bool) -> dict[str, Any]:
    def version_of(step_version: object) -> str | None:
        return None if step_version is None else str(step_version)

    return {
        "python": str(env.python),
        "prefix": str(env.prefix),
        "applied": applied,
        "changes": [
            {
                "action": step.action.value,
                "name": step.name,
                "installed": step.installed.raw_version if step.installed else None,
                "wanted": version_of(step.wanted.version) if step.wanted else None,
                "url": step.wanted.url if step.wanted else None,
                "reason": step.reason,
            }
            for step in plan.changes
        ],
        "kept": [step.name for step in plan.steps if not step.is_change],
        "skipped": [package.requirement_text for package in plan.skipped],
    }


def main(argv: list[str] | None = None) -> None:
    """Run ``pinlock-sync`` with ``argv`` (default: the process arguments)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(help=HELP)(sync_command)
    app(args=argv, prog_name="pinlock-sync")
