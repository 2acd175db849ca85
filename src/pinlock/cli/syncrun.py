"""The body of ``pinlock sync``, free of typer, and a quick reader of its command line.

Starting typer costs more than checking an already-synced environment: it imports pydantic and
builds a validator per option. So the console scripts first try ``parse_fast``, a plain
``argparse`` reading of the same options; only ``--help`` and command lines it does not
understand go to the typer app, which then explains the problem. ``SYNC_OPTIONS`` lists the
options once for this reader; a test holds it equal to the typer command's signature.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings
    from pinlock.lock.model import Lock
    from pinlock.sync.environment import Environment
    from pinlock.sync.flavours import FlavourChoice
    from pinlock.sync.plan import Plan

__all__ = [
    "SYNC_OPTIONS",
    "SyncOptions",
    "execute",
    "fast_main",
    "index_settings",
    "main",
    "parse_fast",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncOptions:
    """Everything ``pinlock sync`` was asked to do."""

    locks: tuple[Path, ...] = ()
    python: Path | None = None
    venv: Path | None = None
    system: bool = False
    break_system_packages: bool = False
    dry_run: bool = False
    check: bool = False
    json_output: bool = False
    cache_dir: Path | None = None
    index_url: str | None = None
    extra_index_url: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    flavour: str | None = None
    quiet: int = 0
    verbose: int = 0


# (field, flags, kind): kind is "path", "str", "flag", "count", "many" (repeatable string).
SYNC_OPTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("python", ("--python",), "path"),
    ("venv", ("--venv",), "path"),
    ("system", ("--system",), "flag"),
    ("break_system_packages", ("--break-system-packages",), "flag"),
    ("dry_run", ("--dry-run",), "flag"),
    ("check", ("--check",), "flag"),
    ("json_output", ("--json",), "flag"),
    ("cache_dir", ("--cache-dir",), "path"),
    ("index_url", ("--index-url", "-i"), "str"),
    ("extra_index_url", ("--extra-index-url",), "many"),
    ("find_links", ("--find-links", "-f"), "many"),
    ("no_index", ("--no-index",), "flag"),
    ("flavour", ("--flavour",), "str"),
    ("quiet", ("--quiet", "-q"), "count"),
    ("verbose", ("--verbose", "-v"), "count"),
)


class _NotUnderstood(Exception):
    pass


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _NotUnderstood(message)


def parse_fast(argv: Sequence[str]) -> SyncOptions | None:
    """``argv`` (after ``sync``) as options, or None when typer must handle it (help, errors)."""
    if any(arg in ("-h", "--help") for arg in argv):
        return None
    parser = _QuietParser(add_help=False, allow_abbrev=False)
    parser.add_argument("locks", nargs="*", type=Path)
    for dest, flags, kind in SYNC_OPTIONS:
        if kind == "flag":
            parser.add_argument(*flags, dest=dest, action="store_true")
        elif kind == "count":
            parser.add_argument(*flags, dest=dest, action="count", default=0)
        elif kind == "many":
            parser.add_argument(*flags, dest=dest, action="append", default=[])
        else:
            parser.add_argument(*flags, dest=dest, type=Path if kind == "path" else str)
    try:
        parsed = parser.parse_intermixed_args(list(argv))
    except (_NotUnderstood, TypeError):
        return None
    values: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in vars(parsed).items()
    }
    return SyncOptions(**values)


def fast_main(argv: Sequence[str]) -> int | None:
    """Run ``pinlock sync ARGV`` without typer; None when typer must take the command line."""
    options = parse_fast(argv)
    return None if options is None else execute(options)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``pinlock-sync`` script: the quick path, else the typer app."""
    args = list(sys.argv[1:] if argv is None else argv)
    code = fast_main(args)
    if code is None:
        from pinlock.cli.sync import main as typer_main

        typer_main(args)
        return
    raise SystemExit(code)


def _echo(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def execute(options: SyncOptions) -> int:
    """Run one sync; print its report; return the exit code (errors are printed, not raised)."""
    from pinlock.errors import PinlockError

    try:
        return _sync(options)
    except PinlockError as exc:
        _echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        # Once the environment changes, an interrupt arrives here as SyncFailed (restored).
        _echo("error: interrupted before anything changed", err=True)
        return 130


def _sync(options: SyncOptions) -> int:
    from pinlock.lock.txt import read_lock
    from pinlock.sync.environment import (
        check_allowed,
        find_python,
        inspect_environment,
        protected_names,
    )
    from pinlock.sync.locks import select_packages
    from pinlock.sync.plan import make_plan

    verbosity = options.verbose - options.quiet
    interpreter = find_python(
        python=options.python,
        venv=options.venv,
        system=options.system,
        create=not (options.dry_run or options.check),
    )
    env = inspect_environment(interpreter)
    check_allowed(env, system=options.system, break_system_packages=options.break_system_packages)
    lock_paths = list(options.locks or (Path("requirements.txt"),))
    choice: FlavourChoice | None = None
    if options.flavour is not None:
        from pinlock.sync.flavours import choose_flavour_lock

        python_label = "py{}{}".format(*env.python_version[:2])
        choice = choose_flavour_lock(
            lock_paths, options.flavour, target_names=(env.target.name, python_label)
        )
        lock_paths = [choice.chosen.path]
        if verbosity >= 0 and not options.json_output:
            _echo(f"flavour {choice.chosen.flavour}: {choice.reason}", err=True)
    locks = [read_lock(path) for path in lock_paths]
    wanted = select_packages(locks, env.marker_environment)
    plan = make_plan(
        wanted.packages,
        env.installed,
        python_version=env.python_version,
        protected=protected_names(env),
        skipped=wanted.skipped,
    )
    if plan.is_empty or options.dry_run or options.check:
        _report(plan, env, choice, options=options, verbosity=verbosity)
        return 1 if options.check and not plan.is_empty else 0
    if not options.json_output and verbosity >= 0:
        _print_plan(plan, verbosity)
    _apply(plan, env, locks, options)
    if options.json_output:
        _echo(json.dumps(_plan_json(plan, env, choice, applied=True), indent=2))
    elif verbosity >= 0:
        _echo(f"synced {env.prefix}: {_counts(plan)}")
    return 0


def index_settings(locks: Sequence[Lock], options: SyncOptions) -> IndexSettings:
    """Where sync fetches from, as pip decides for ``pip install -i X -r lock.txt``: the command
    line is the top layer of pip configuration, and the locks' own index lines apply over it."""
    from pinlock.index.config import load_pip_settings
    from pinlock.sync.locks import merge_options

    overrides: dict[str, str | bool | Sequence[str]] = {
        "extra-index-url": options.extra_index_url,
        "find-links": options.find_links,
    }
    if options.index_url:
        overrides["index-url"] = options.index_url
    if options.no_index:
        overrides["no-index"] = True
    return load_pip_settings(overrides=overrides).with_options(merge_options(locks))


def _apply(plan: Plan, env: Environment, locks: list[Lock], options: SyncOptions) -> None:
    from pinlock.cache import Cache
    from pinlock.sync.apply import apply_plan
    from pinlock.sync.fetch import IndexFileSource

    settings = index_settings(locks, options)
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
            cache=Cache(options.cache_dir),
            pip_args=pip_args,
            break_system_packages=options.break_system_packages,
        )


def _report(
    plan: Plan,
    env: Environment,
    choice: FlavourChoice | None,
    *,
    options: SyncOptions,
    verbosity: int,
) -> None:
    if options.json_output:
        _echo(json.dumps(_plan_json(plan, env, choice, applied=False), indent=2))
        return
    if verbosity < 0:
        return
    if plan.is_empty:
        _echo(f"nothing to do: {env.prefix} matches the lock")
        return
    _print_plan(plan, verbosity)
    _echo(f"would change {env.prefix}: {_counts(plan)}")


def _print_plan(plan: Plan, verbosity: int) -> None:
    for step in plan.steps if verbosity > 0 else plan.changes:
        _echo(step.summary)
    if verbosity > 0:
        for package in plan.skipped:
            _echo(f"  skipped {package.requirement_text} (marker false for this target)")


def _counts(plan: Plan) -> str:
    from pinlock.sync.plan import Action

    parts = [
        f"{plan.count(action)} {action.value}"
        for action in Action
        if action is not Action.KEEP and plan.count(action)
    ]
    return ", ".join(parts) or "no changes"


def _plan_json(
    plan: Plan, env: Environment, choice: FlavourChoice | None, *, applied: bool
) -> dict[str, Any]:
    def version_of(step_version: object) -> str | None:
        return None if step_version is None else str(step_version)

    report: dict[str, Any] = {
        "python": str(env.python),
        "prefix": str(env.prefix),
        "target": env.target.name,
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
    if choice is not None:
        report["flavour"] = {
            "requested": choice.requested,
            "chosen": choice.chosen.flavour,
            "lock": str(choice.chosen.path),
            "reason": choice.reason,
            "available": {str(lock.path): lock.flavour for lock in choice.candidates},
        }
    return report
