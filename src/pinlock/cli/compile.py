"""``pinlock compile`` / ``pinlock-compile``: options in, locks out; the library does the work."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["HELP", "compile_command", "main"]

HELP = (
    "Compile requirement files (.in) into fully pinned, hashed locks (.txt), per target "
    "interpreter/platform and per GPU flavour."
)

# Options that [tool.pinlock] may set, with the kind config.load_config checks.
CONFIG_SCHEMA_KINDS: dict[str, str] = {
    "inputs": "list",
    "output-file": "str",
    "generate-hashes": "bool",
    "annotation-style": "str",
    "pre": "bool",
    "index-url": "str",
    "extra-index-url": "list",
    "find-links": "list",
    "no-index": "bool",
    "trusted-host": "list",
    "only-binary": "list",
    "no-binary": "list",
    "cache-dir": "str",
    "python-version": "list",
    "platform": "list",
    "python": "list",
    "flavour": "list",
    "flavour-index": "table",
    "flavour-base-url": "str",
    "flavour-packages": "list",
    "output-template": "str",
}


@dataclass(frozen=True, slots=True)
class _Options:
    """The command line merged over the configuration file."""

    values: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return default if value is None else value


def compile_command(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="Requirement files to compile (default: requirements.in)."),
    ] = None,
    output_file: Annotated[
        str | None, typer.Option("-o", "--output-file", help="Lock file to write; - for stdout.")
    ] = None,
    generate_hashes: Annotated[
        bool | None,
        typer.Option("--generate-hashes/--no-hashes", help="Add sha256 hashes (default: on)."),
    ] = None,
    annotation_style: Annotated[
        str | None, typer.Option("--annotation-style", help="'split' (default) or 'line'.")
    ] = None,
    upgrade: Annotated[
        bool, typer.Option("-U", "--upgrade", help="Ignore the pins of existing locks.")
    ] = False,
    upgrade_package: Annotated[
        list[str] | None,
        typer.Option("-P", "--upgrade-package", help="Upgrade this package (NAME or NAME==VER)."),
    ] = None,
    pre: Annotated[bool | None, typer.Option("--pre", help="Allow pre-releases.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the locks instead of writing them.")
    ] = False,
    index_url: Annotated[str | None, typer.Option("-i", "--index-url")] = None,
    extra_index_url: Annotated[list[str] | None, typer.Option("--extra-index-url")] = None,
    find_links: Annotated[list[str] | None, typer.Option("-f", "--find-links")] = None,
    no_index: Annotated[bool | None, typer.Option("--no-index")] = None,
    trusted_host: Annotated[list[str] | None, typer.Option("--trusted-host")] = None,
    only_binary: Annotated[list[str] | None, typer.Option("--only-binary")] = None,
    no_binary: Annotated[list[str] | None, typer.Option("--no-binary")] = None,
    python_version: Annotated[
        list[str] | None,
        typer.Option("--python-version", help="Target Python X.Y[.Z]; repeat for several."),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            "--platform",
            help="Target platform (linux, macos-arm64-14, windows-amd64, "
            "linux-x86_64-manylinux_2_28...); repeat for several.",
        ),
    ] = None,
    python: Annotated[
        list[Path] | None,
        typer.Option("--python", help="Take a target from this interpreter or venv."),
    ] = None,
    flavour: Annotated[
        list[str] | None,
        typer.Option("--flavour", help="GPU flavour (cpu, cu121, rocm6.2, xpu...); repeatable."),
    ] = None,
    flavour_index: Annotated[
        list[str] | None,
        typer.Option("--flavour-index", help="NAME=URL_OR_FOLDER: where a flavour's builds are."),
    ] = None,
    output_template: Annotated[
        str | None,
        typer.Option("--output-template", help="Lock names, e.g. '{stem}-{target}-{flavour}.txt'."),
    ] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Read defaults from this TOML file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
) -> None:
    from pinlock.errors import PinlockError

    try:
        options = _merge_config(
            config,
            {
                "inputs": [str(p) for p in inputs] if inputs else None,
                "output-file": output_file,
                "generate-hashes": generate_hashes,
                "annotation-style": annotation_style,
                "pre": pre,
                "index-url": index_url,
                "extra-index-url": extra_index_url,
                "find-links": find_links,
                "no-index": no_index,
                "trusted-host": trusted_host,
                "only-binary": only_binary,
                "no-binary": no_binary,
                "cache-dir": str(cache_dir) if cache_dir else None,
                "python-version": python_version,
                "platform": platform,
                "python": [str(p) for p in python] if python else None,
                "flavour": flavour,
                "flavour-index": _pairs(flavour_index),
                "output-template": output_template,
            },
        )
        results = _run(
            options, upgrade=upgrade, upgrade_packages=upgrade_package or [], dry_run=dry_run
        )
    except PinlockError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; no lock was written", err=True)
        raise typer.Exit(130) from None
    for result in results:
        for warning in result.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if result.output is None or dry_run:
            sys.stdout.write(result.text)
        if not quiet and result.output is not None:
            what = f"{result.output} ({result.package_count} packages"
            what += f", {result.target.name}" if result.target.name != "host" else ""
            what += f", {result.flavour.name})" if result.flavour else ")"
            if dry_run:
                typer.echo(f"would write {what}", err=True)
            elif result.changed:
                typer.echo(f"wrote {what}", err=True)
            else:
                typer.echo(f"up to date: {what}", err=True)


def _pairs(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    from pinlock.errors import ConfigError

    pairs = {}
    for value in values:
        name, sep, where = value.partition("=")
        if not sep or not name or not where:
            raise ConfigError("--flavour-index", value, "expected NAME=URL_OR_FOLDER")
        pairs[name] = where
    return pairs


def _merge_config(config: Path | None, cli: dict[str, Any]) -> _Options:
    from pinlock.config import OptionSpec, load_config

    schema = {key: OptionSpec(kind) for key, kind in CONFIG_SCHEMA_KINDS.items()}  # type: ignore[arg-type]
    values: dict[str, Any] = dict(load_config(schema=schema, config_file=config))
    values.update({k: v for k, v in cli.items() if v is not None})
    return _Options(values)


def _run(
    options: _Options, *, upgrade: bool, upgrade_packages: list[str], dry_run: bool
) -> list[Any]:
    from pinlock.compile import CompileRequest, compile_locks
    from pinlock.errors import ConfigError
    from pinlock.flavour import DEFAULT_FLAVOUR_BASE_URL, parse_flavour
    from pinlock.target import Target

    inputs = [Path(p) for p in options.get("inputs", [])] or [Path("requirements.in")]
    style = options.get("annotation-style", "split")
    if style not in ("split", "line"):
        raise ConfigError("--annotation-style", style, "expected 'split' or 'line'")
    targets = [Target.from_python(p) for p in options.get("python", [])]
    versions = options.get("python-version", []) or [None]
    platforms = options.get("platform", []) or [None]
    if options.get("python-version") or options.get("platform"):
        targets += [Target.from_spec(v, p) for v in versions for p in platforms]
    flavour_indexes = options.get("flavour-index", {})
    unknown = set(flavour_indexes) - set(options.get("flavour", []))
    if unknown:
        raise ConfigError("--flavour-index", ", ".join(sorted(unknown)), "not among --flavour")
    packages = options.get("flavour-packages")
    flavours = [
        parse_flavour(
            name,
            base_url=options.get("flavour-base-url", DEFAULT_FLAVOUR_BASE_URL),
            index=_local_or_url(flavour_indexes.get(name)),
            packages=packages,
        )
        for name in options.get("flavour", [])
    ]
    overrides: dict[str, Any] = {
        key: options.get(key)
        for key in ("index-url", "extra-index-url", "find-links", "no-index", "trusted-host")
        if options.get(key) is not None
    }
    cache_dir = options.get("cache-dir")
    request = CompileRequest(
        inputs=tuple(inputs),
        output=options.get("output-file"),
        targets=tuple(targets),
        flavours=tuple(flavours),
        upgrade=upgrade,
        upgrade_packages=tuple(upgrade_packages),
        generate_hashes=options.get("generate-hashes", True),
        annotation_style=style,
        pre=options.get("pre", False),
        only_binary=frozenset(_split_commas(options.get("only-binary", []))),
        no_binary=frozenset(_split_commas(options.get("no-binary", []))),
        index_overrides=overrides,
        cache_dir=Path(cache_dir) if cache_dir else None,
        dry_run=dry_run,
        command=os.environ.get("CUSTOM_COMPILE_COMMAND") or _command_line(options, inputs),
        name_template=options.get("output-template"),
    )
    return compile_locks(request)


def _local_or_url(where: str | None) -> str | None:
    if where is None or "://" in where:
        return where
    return str(Path(where).resolve())


def _split_commas(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _command_line(options: _Options, inputs: list[Path]) -> str:
    """The command a header shows: what reproduces this lock (not one-off flags like -U).

    As in pip-compile's header, index options are kept (credentials masked): without them the
    command would resolve against other indexes.
    """
    from pinlock.urls import redact_url

    words = ["pinlock", "compile"]
    if options.get("generate-hashes") is False:
        words.append("--no-hashes")
    if options.get("annotation-style", "split") != "split":
        words += ["--annotation-style", options.get("annotation-style")]
    if options.get("pre"):
        words.append("--pre")
    if options.get("index-url") is not None:
        words += ["--index-url", redact_url(options.get("index-url"))]
    for key in ("extra-index-url", "find-links"):
        for value in options.get(key, []):
            words += [f"--{key}", redact_url(value)]
    if options.get("no-index"):
        words.append("--no-index")
    for key in ("trusted-host", "only-binary", "no-binary", "python"):
        for value in options.get(key, []):
            words += [f"--{key}", value]
    for key in ("python-version", "platform", "flavour"):
        for value in options.get(key, []):
            words += [f"--{key}", value]
    for name, where in sorted(options.get("flavour-index", {}).items()):
        words += ["--flavour-index", f"{name}={redact_url(where)}"]
    if options.get("output-template") is not None:
        words += ["--output-template", options.get("output-template")]
    if options.get("output-file") not in (None, "-"):
        words += ["--output-file", options.get("output-file")]
    words += [str(p) for p in inputs]
    return shlex.join(words)


compile_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
compile_app.command(help=HELP)(compile_command)


def main(argv: list[str] | None = None) -> None:
    """The ``pinlock-compile`` script."""
    compile_app(args=argv, prog_name="pinlock-compile")
