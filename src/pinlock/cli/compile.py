"""``pinlock compile`` / ``pinlock-compile``: options in, locks out; the library does the work.

The options are declared in ``pinlock.cli.options``; the typer command is made from them. As
for ``pinlock sync``, an ordinary command line is read by the quick reader made from the same
declarations (``fast_main``): a compile that finds its locks up to date takes less time than
typer takes to start. Help and command lines the reader does not understand go to typer.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinlock.cli.declare import parse_quickly
from pinlock.cli.heap import no_collections
from pinlock.cli.options import COMPILE_OPTIONS, resolve_options
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
    from datetime import datetime

    import typer

    from pinlock.compile import CompileResult
    from pinlock.compile.request import LockFormat, Newline
    from pinlock.progress import Progress

# and compile_app, on first use
__all__ = ["EXAMPLES", "HELP", "fast_main", "main", "run_compile", "script_main"]

HELP = (
    "Compile requirement files (.in) into fully pinned, hashed locks (.txt).\n\n"
    "One lock per input, per target interpreter/platform (--python-version, --platform, "
    "--python) and per GPU flavour (--flavour), in one run. A lock that still fits its inputs "
    "is kept as it is, without asking any index. Options may also be set in [tool.pinlock] or "
    "[tool.pinlock.compile] of pyproject.toml."
)
EXAMPLES = """Examples:

pinlock compile requirements/main.in              # -> requirements/main.txt
pinlock compile requirements/*.in                 # every input, in dependency order
pinlock compile pyproject.toml --extra test       # [project] dependencies and an extra
pinlock compile -P requests requirements/main.in  # upgrade one package, keep the other pins
pinlock compile -U requirements/main.in           # upgrade everything
pinlock compile --python-version 3.10 --python-version 3.12 --platform linux requirements/main.in
pinlock compile --flavour cpu --flavour cu121 requirements/ml.in   # ml-cpu.txt, ml-cu121.txt
pinlock compile --check                           # exit 1 naming each stale lock (pre-commit, CI)
pinlock compile --json --dry-run requirements/main.in   # what would change, for a program"""


def run_compile(given: Mapping[str, object]) -> int:
    """Run ``pinlock compile`` with the command-line values ``given`` (by option name); print
    what was written and return the exit code (errors are printed, not raised; with ``--json``
    also as a JSON object on standard output)."""
    if given.get("version"):
        return print_version()
    interrupted = "interrupted; no lock was written"

    def work() -> int:
        try:
            with no_collections():
                return _compile(given)
        except (PinlockError, KeyboardInterrupt) as exc:
            if given.get("json_output"):
                error = error_json(exc, interrupted="; no lock was written")
                echo_json({"command": "compile", "error": error})
            raise

    return exit_code_of(work, interrupted=interrupted)


def _compile(given: Mapping[str, object]) -> int:
    for note in command_line_notes("compile", given):
        echo(f"note: {note}", err=True)
    values = resolve_options("compile", given)
    if not values["offline"]:
        from pinlock.index.pageworker import prestart

        prestart()
    verbosity = values["verbose"] - values["quiet"]
    with watching(verbosity) as progress:
        results = _run(values, progress)
    if values["json_output"]:
        _print_json(results, values)
    else:
        _print_results(results, values, verbosity)
    return 1 if any(result.stale is not None for result in results) else 0


def _print_results(
    results: Sequence[CompileResult], values: Mapping[str, Any], verbosity: int
) -> None:
    warned: set[str] = set()
    logs: set[tuple[str, str]] = set()
    for result in results:
        for warning in result.warnings:
            # Every cell of the matrix may say the same: once is enough.
            if warning not in warned:
                warned.add(warning)
                echo(f"warning: {warning}", err=True)
        if verbosity >= 2:
            for log in result.build_logs:
                if (log.what, log.output) not in logs and log.output.strip():
                    logs.add((log.what, log.output))
                    echo(f"--- what the build backend printed for {log.what}", err=True)
                    echo(log.output.rstrip("\n"), err=True)
        _print_result(result, values, verbosity)


def _print_result(result: CompileResult, values: Mapping[str, Any], verbosity: int) -> None:
    dry_run = values["dry_run"]
    if values["check"]:
        if result.stale is not None:
            # Always said, -q or not: it is the answer a check is run for.
            echo(f"stale: {result.output}: {result.stale}", err=True)
        elif verbosity >= 0:
            echo(f"up to date: {result.output}", err=True)
        return
    if result.output is None or dry_run:
        sys.stdout.write(result.text)
    if verbosity >= 0 and result.output is not None:
        count = result.package_count
        what = f"{result.output} ({count} package{'' if count == 1 else 's'}"
        what += f", {result.target.name}" if result.target.name != "host" else ""
        what += f", {result.flavour.name})" if result.flavour else ")"
        if dry_run:
            echo(f"would write {what}", err=True)
        elif result.changed:
            echo(f"wrote {what}", err=True)
        else:
            echo(f"up to date: {what}", err=True)
    if verbosity >= 1:
        changes = result.changes
        for name, version in changes.added:
            echo(f"  + {name} {version}", err=True)
        for name, old, new in changes.changed:
            echo(f"  ~ {name} {old} -> {new}", err=True)
        for name, version in changes.removed:
            echo(f"  - {name} {version}", err=True)


def _print_json(results: Sequence[CompileResult], values: Mapping[str, Any]) -> None:
    """The run as one JSON document (docs/json.md): each lock, and what it would write when
    nothing is written (``--dry-run``, ``-o -``)."""
    locks = []
    for result in results:
        shown = result.as_json()
        written = not (values["dry_run"] or values["check"]) and result.output is not None
        shown["written"] = written and result.changed
        if result.output is None or values["dry_run"]:
            shown["text"] = result.text
        locks.append(shown)
    echo_json(
        {
            "command": "compile",
            "check": values["check"],
            "dry_run": values["dry_run"],
            "stale": sum(result.stale is not None for result in results),
            "locks": locks,
        }
    )


def _run(values: Mapping[str, Any], progress: Progress | None = None) -> list[CompileResult]:
    from pinlock.compile import CompileRequest, compile_locks
    from pinlock.errors import ConfigError
    from pinlock.flavour import DEFAULT_FLAVOUR_BASE_URL, parse_flavour
    from pinlock.index.config import load_pip_configuration
    from pinlock.index.options import INDEX_STRATEGIES
    from pinlock.target import Target, probe_python

    inputs = list(values["inputs"]) or [Path("requirements.in")]
    style = values["annotation_style"]
    if style not in ("split", "line"):
        raise ConfigError("--annotation-style", style, "expected 'split' or 'line'")
    strategy = values["index_strategy"]
    if strategy not in INDEX_STRATEGIES:
        raise ConfigError(
            "--index-strategy", strategy, "expected 'first-index' or 'unsafe-best-match'"
        )
    probed = [probe_python(p) for p in values["python"]]
    targets = [target for target, _facts in probed]
    # pip's site configuration is that of the environment the lock is for, when there is one.
    site_prefix = probed[0][1].prefix if len(probed) == 1 else None
    versions = values["python_version"] or (None,)
    platforms = values["platform"] or (None,)
    if values["python_version"] or values["platform"]:
        targets += [Target.from_spec(v, p) for v in versions for p in platforms]
    flavour_indexes = values["flavour_index"]
    unknown = set(flavour_indexes) - set(values["flavour"])
    if unknown:
        raise ConfigError("--flavour-index", ", ".join(sorted(unknown)), "not among --flavour")
    flavours = [
        parse_flavour(
            name,
            base_url=values["flavour_base_url"] or DEFAULT_FLAVOUR_BASE_URL,
            index=_local_or_url(flavour_indexes.get(name)),
            packages=values["flavour_packages"],
        )
        for name in values["flavour"]
    ]
    overrides = index_overrides(values)
    pip = load_pip_configuration(overrides=overrides, site_prefix=site_prefix)
    if values["verbose"]:
        for line in pip.describe():
            echo(line, err=True)
    lock_format = _lock_format(values["format"])
    stdin = sys.stdin.read() if Path("-") in inputs else None
    request = CompileRequest(
        inputs=tuple(inputs),
        output=values["output_file"],
        targets=tuple(targets),
        flavours=tuple(flavours),
        upgrade=values["upgrade"],
        upgrade_packages=values["upgrade_package"],
        generate_hashes=values["generate_hashes"],
        annotation_style=style,
        pre=values["pre"],
        only_binary=frozenset(_split_commas(values["only_binary"])),
        no_binary=frozenset(_split_commas(values["no_binary"])),
        index_overrides=overrides,
        cache_dir=values["cache_dir"],
        pip_site_prefix=site_prefix,
        pip_configuration=pip,
        dry_run=values["dry_run"],
        offline=values["offline"],
        refresh=values["refresh"],
        check=values["check"],
        index_strategy=strategy,
        command=os.environ.get("CUSTOM_COMPILE_COMMAND") or _command_line(values, inputs),
        name_template=values["output_template"],
        constraints=tuple(values["constraint"]),
        extras=tuple(values["extra"]),
        all_extras=values["all_extras"],
        groups=tuple(values["group"]),
        build_isolation=values["build_isolation"],
        no_emit_packages=(*values["no_emit_package"], *_unsafe(values)),
        no_emit_project=values["no_emit_project"],
        output_format=lock_format,
        stdin=stdin,
        header=values["header"],
        annotate=values["annotate"],
        emit_index_url=values["emit_index_url"],
        emit_find_links=values["emit_find_links"],
        emit_trusted_host=values["emit_trusted_host"],
        newline=_newline(values["newline"]),
        uploaded_prior_to=_cutoff(values["uploaded_prior_to"]),
    )
    return compile_locks(request, progress=progress)


# What pip-compile calls unsafe to pin, unless told otherwise with --unsafe-package.
_UNSAFE = ("distribute", "pip", "setuptools")


def _unsafe(values: Mapping[str, Any]) -> tuple[str, ...]:
    """The packages pip-compile's options leave out: those --unsafe-package names, or with
    --no-allow-unsafe pip-compile's unsafe ones. pinlock pins pip and setuptools otherwise."""
    named = tuple(values["unsafe_package"])
    if named or values["allow_unsafe"]:
        return named
    return _UNSAFE


def _newline(value: str) -> Newline:
    from pinlock.errors import ConfigError

    newlines: dict[str, Newline] = {
        "lf": "lf",
        "crlf": "crlf",
        "native": "native",
        "preserve": "preserve",
    }
    if value.lower() not in newlines:
        raise ConfigError("--newline", value, "expected LF, CRLF, native or preserve")
    return newlines[value.lower()]


def _cutoff(value: str | None) -> datetime | None:
    from pinlock.index.uploaded import parse_cutoff

    if value is None:
        return None
    return parse_cutoff(value, source="--uploaded-prior-to", key=value)


def _lock_format(value: str | None) -> LockFormat | None:
    from pinlock.errors import ConfigError

    formats: dict[str, LockFormat] = {
        "txt": "txt",
        "requirements.txt": "txt",
        "pylock": "pylock",
        "pylock.toml": "pylock",
    }
    if value is None:
        return None
    if value not in formats:
        raise ConfigError("--format", value, "expected 'txt' or 'pylock'")
    return formats[value]


def _local_or_url(where: str | None) -> str | None:
    if where is None or "://" in where:
        return where
    return str(Path(where).resolve())


def _split_commas(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _command_line(values: Mapping[str, Any], inputs: list[Path]) -> str:
    """The command a header shows: what reproduces this lock (not one-off flags like -U).

    As in pip-compile's header, index options are kept (credentials masked): without them the
    command would resolve against other indexes.
    """
    from pinlock.urls import redact_text, redact_url

    words = ["pinlock", "compile"]
    if values["generate_hashes"] is False:
        words.append("--no-hashes")
    if values["annotation_style"] != "split":
        words += ["--annotation-style", values["annotation_style"]]
    if values["pre"]:
        words.append("--pre")
    if values["index_url"] is not None:
        words += ["--index-url", redact_url(values["index_url"])]
    for name in ("extra_index_url", "find_links"):
        for value in values[name]:
            words += [_flag(name), redact_url(value)]
    if values["no_index"]:
        words.append("--no-index")
    if values["index_strategy"] != "first-index":
        words += ["--index-strategy", values["index_strategy"]]
    for name in ("trusted_host", "only_binary", "no_binary", "python"):
        for value in values[name]:
            words += [_flag(name), str(value)]
    for name in ("python_version", "platform", "flavour"):
        for value in values[name]:
            words += [_flag(name), value]
    for name, where in sorted(values["flavour_index"].items()):
        words += ["--flavour-index", f"{name}={redact_url(where)}"]
    if values["output_template"] is not None:
        words += ["--output-template", values["output_template"]]
    if values["format"] is not None:
        words += ["--format", values["format"]]
    for name in ("extra", "group", "no_emit_package"):
        for value in values[name]:
            words += [_flag(name), value]
    for value in values["constraint"]:
        words += ["--constraint", str(value)]
    for name in ("all_extras", "no_emit_project"):
        if values[name]:
            words.append(_flag(name))
    if values["build_isolation"] is False:
        words.append("--no-build-isolation")
    for name in ("header", "annotate", "emit_index_url", "emit_find_links", "emit_trusted_host"):
        if values[name] is False:
            words.append(_flag(f"no_{name}"))
    for value in values["unsafe_package"]:
        words += ["--unsafe-package", value]
    if values["allow_unsafe"] is False:
        words.append("--no-allow-unsafe")
    if values["newline"].lower() != "preserve":
        words += ["--newline", values["newline"].lower()]
    if values["uploaded_prior_to"] is not None:
        words += ["--uploaded-prior-to", values["uploaded_prior_to"]]
    if values["pip_args"]:
        words += ["--pip-args", redact_text(values["pip_args"])]
    if values["output_file"] not in (None, "-"):
        words += ["--output-file", values["output_file"]]
    words += [str(p) for p in inputs]
    return shlex.join(words)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def fast_main(argv: Sequence[str]) -> int | None:
    """Run ``pinlock compile ARGV`` without typer; None when typer must take the command line."""
    given = parse_quickly(COMPILE_OPTIONS, argv)
    return None if given is None else run_compile(given)


def __getattr__(name: str) -> typer.Typer:
    # The typer command, made on first use: the quick reader runs ordinary command lines.
    if name == "compile_app":
        from pinlock.cli.typed import single_command_app

        return single_command_app(COMPILE_OPTIONS, run_compile, help=HELP, epilog=EXAMPLES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """The ``pinlock-compile`` command: the quick reader, else the typer command; it ends with
    SystemExit, for a caller in this process to catch."""
    _main(argv, own_process=False)


def script_main() -> None:
    """The ``pinlock-compile`` script: ``main``, then the process ends without the interpreter's
    teardown (``running.finish_process``)."""
    _main(None, own_process=True)


def _main(argv: Sequence[str] | None, *, own_process: bool) -> None:
    run_script(
        argv,
        own_process=own_process,
        quick=fast_main,
        full=lambda args: __getattr__("compile_app")(args=args, prog_name="pinlock-compile"),
    )
