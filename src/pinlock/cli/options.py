"""Every option of ``pinlock compile`` and ``pinlock sync``, each declared once.

The typer commands, the quick reader of ``pinlock sync``, the help texts and the configuration
tables all come from these lists (see ``pinlock.cli.declare``). Both lists live here, free of
typer, because either command checks the other's configuration table too.

Configuration: ``[tool.pinlock.compile]`` takes every compile option marked ``config``,
``[tool.pinlock.sync]`` every such sync option, and ``[tool.pinlock]`` the ``shared`` ones: all of
compile's (it was compile's table first), and of sync's the index options and ``cache-dir``,
which mean the same for both commands. A value given on the command line wins over the
command's table, which wins over ``[tool.pinlock]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pinlock.cli.declare import Option, config_schema, merge
from pinlock.config import load_command_config

__all__ = [
    "COMMAND_OPTIONS",
    "COMPILE_OPTIONS",
    "SYNC_OPTIONS",
    "index_overrides",
    "resolve_options",
]


def _common() -> tuple[Option, ...]:
    """Options both commands have, alike: the indexes, the cache and ``--config``."""
    return (
        Option(
            name="index_url",
            kind="str",
            flags=("--index-url", "-i"),
            help="Main index URL.",
            shared=True,
        ),
        Option(
            name="extra_index_url",
            kind="strs",
            flags=("--extra-index-url",),
            help="Another index (repeatable).",
            shared=True,
        ),
        Option(
            name="find_links",
            kind="strs",
            flags=("--find-links", "-f"),
            help="A folder or page of files (repeatable).",
            shared=True,
        ),
        Option(
            name="no_index",
            kind="flag",
            flags=("--no-index",),
            help="Use find-links only.",
            shared=True,
        ),
        Option(
            name="cache_dir", kind="path", flags=("--cache-dir",), help="Cache folder.", shared=True
        ),
        Option(
            name="config",
            kind="path",
            flags=("--config",),
            help="Read options from this TOML file, not from pyproject.toml's [tool.pinlock].",
            config=False,
        ),
    )


def _shared(*options: Option) -> tuple[Option, ...]:
    """``options`` with every one that a command table takes also taken by ``[tool.pinlock]``."""
    return tuple(replace(option, shared=option.config) for option in options)


COMPILE_OPTIONS: tuple[Option, ...] = _shared(
    Option(
        name="inputs",
        kind="paths",
        argument=True,
        help="Requirement files to compile (default: requirements.in).",
    ),
    Option(
        name="output_file",
        kind="str",
        flags=("-o", "--output-file"),
        help="Lock file to write; - for stdout.",
    ),
    Option(
        name="generate_hashes",
        kind="toggle",
        flags=("--generate-hashes/--no-hashes",),
        help="Add sha256 hashes.",
        default=True,
    ),
    Option(
        name="annotation_style",
        kind="str",
        flags=("--annotation-style",),
        help="'split' or 'line'.",
        default="split",
    ),
    Option(
        name="upgrade",
        kind="flag",
        flags=("-U", "--upgrade"),
        help="Ignore the pins of existing locks.",
        config=False,
    ),
    Option(
        name="upgrade_package",
        kind="strs",
        flags=("-P", "--upgrade-package"),
        help="Upgrade this package (NAME or NAME==VER).",
        config=False,
    ),
    Option(name="pre", kind="flag", flags=("--pre",), help="Allow pre-releases."),
    Option(
        name="dry_run",
        kind="flag",
        flags=("--dry-run",),
        help="Print the locks instead of writing them.",
        config=False,
    ),
    Option(
        name="offline",
        kind="flag",
        flags=("--offline",),
        help="Use only the cache (index pages, metadata, files seen before); name what is missing.",
        config=False,
    ),
    Option(
        name="refresh",
        kind="flag",
        flags=("--refresh",),
        help="Ask the indexes again for everything the cache holds (pages, metadata) and "
        "resolve afresh, even when the locks still hold.",
        config=False,
    ),
    Option(
        name="check",
        kind="flag",
        flags=("--check",),
        help="Write nothing; exit 1 naming each lock that no longer fits its inputs and "
        "options, and why. Asks no index when the cache holds the pins' metadata.",
        config=False,
    ),
    *_common(),
    Option(
        name="index_strategy",
        kind="str",
        flags=("--index-strategy",),
        help="first-index (default): a project comes only from the first index that has it, "
        "extra indexes before the default one. unsafe-best-match: every index merged, as pip "
        "does (a public upload can shadow a private package).",
        default="first-index",
    ),
    Option(name="trusted_host", kind="strs", flags=("--trusted-host",)),
    Option(name="only_binary", kind="strs", flags=("--only-binary",)),
    Option(name="no_binary", kind="strs", flags=("--no-binary",)),
    Option(
        name="python_version",
        kind="strs",
        flags=("--python-version",),
        help="Target Python X.Y[.Z]; repeat for several.",
    ),
    Option(
        name="platform",
        kind="strs",
        flags=("--platform",),
        help="Target platform (linux, macos-arm64-14, windows-amd64, "
        "linux-x86_64-manylinux_2_28...); repeat for several.",
    ),
    Option(
        name="python",
        kind="paths",
        flags=("--python",),
        help="Take a target from this interpreter or venv.",
    ),
    Option(
        name="flavour",
        kind="strs",
        flags=("--flavour",),
        help="GPU flavour (cpu, cu121, rocm6.2, xpu...); repeatable.",
    ),
    Option(
        name="flavour_index",
        kind="pairs",
        flags=("--flavour-index",),
        metavar="NAME=URL_OR_FOLDER",
        help="Where a flavour's builds are.",
    ),
    Option(name="flavour_base_url", kind="str"),
    Option(name="flavour_packages", kind="strs"),
    Option(
        name="output_template",
        kind="str",
        flags=("--output-template",),
        help="Lock names, e.g. '{stem}-{target}-{flavour}.txt'.",
    ),
    Option(
        name="format",
        kind="str",
        flags=("--format",),
        help="Lock format: txt (requirements.txt) or pylock (PEP 751 pylock.toml); "
        "default: pylock for outputs named pylock.toml or pylock.<name>.toml, else txt.",
    ),
    Option(
        name="constraint",
        kind="paths",
        flags=("-c", "--constraint"),
        help="Constrain versions with this file, for every input (repeatable).",
    ),
    Option(
        name="extra",
        kind="strs",
        flags=("--extra",),
        help="Lock this extra of project inputs (pyproject.toml...) too; repeatable.",
    ),
    Option(
        name="all_extras",
        kind="flag",
        flags=("--all-extras",),
        help="Lock every extra of project inputs too.",
    ),
    Option(
        name="group",
        kind="strs",
        flags=("--group",),
        help="Lock this PEP 735 dependency group of project inputs too; repeatable.",
    ),
    Option(
        name="build_isolation",
        kind="toggle",
        flags=("--build-isolation/--no-build-isolation",),
        help="Prepare dynamic project metadata in an isolated build environment.",
        default=True,
    ),
    Option(
        name="no_emit_package",
        kind="strs",
        flags=("--no-emit-package",),
        help="Leave this package out of the locks (its dependencies stay); repeatable.",
    ),
    Option(
        name="no_emit_project",
        kind="flag",
        flags=("--no-emit-project",),
        help="Leave local project folders (-e ., ./sub) and project inputs out of the locks.",
    ),
    Option(name="quiet", kind="flag", flags=("-q", "--quiet"), config=False),
    Option(
        name="verbose",
        kind="count",
        flags=("--verbose", "-v"),
        help="Print more: the pip configuration in force and where each value came from.",
        config=False,
    ),
)

SYNC_OPTIONS: tuple[Option, ...] = (
    Option(
        name="locks",
        kind="paths",
        argument=True,
        metavar="[LOCK]...",
        help="Lock files to merge (default: requirements.txt).",
    ),
    Option(
        name="python",
        kind="path",
        flags=("--python",),
        help="Interpreter or virtual environment folder to sync.",
    ),
    Option(
        name="venv",
        kind="path",
        flags=("--venv",),
        help="Virtual environment folder to sync; created when missing.",
    ),
    Option(
        name="system",
        kind="flag",
        flags=("--system",),
        help="Allow changing an interpreter that is not a venv.",
    ),
    Option(
        name="break_system_packages",
        kind="flag",
        flags=("--break-system-packages",),
        help="Change an externally managed (PEP 668) Python.",
    ),
    Option(
        name="dry_run",
        kind="flag",
        flags=("--dry-run",),
        help="Print the plan, change nothing.",
        config=False,
    ),
    Option(
        name="check",
        kind="flag",
        flags=("--check",),
        help="Change nothing; exit 1 when the environment differs.",
        config=False,
    ),
    Option(
        name="allow_empty",
        kind="flag",
        flags=("--allow-empty",),
        help="Sync even when no lock line is for this target, removing every package.",
        config=False,
    ),
    Option(
        name="lock_timeout",
        kind="float",
        flags=("--lock-timeout",),
        metavar="SECONDS",
        help="Wait at most this long for another pinlock run on the same environment "
        "(default: as long as it takes).",
    ),
    Option(
        name="json_output",
        kind="flag",
        flags=("--json",),
        help="Print the plan and result as JSON.",
        config=False,
    ),
    *_common(),
    Option(
        name="flavour",
        kind="str",
        flags=("--flavour",),
        help="auto or a flavour name (cpu, cu121, rocm6.2...): choose the LOCK of that GPU "
        "flavour; auto detects this machine's (PINLOCK_FLAVOUR, PINLOCK_CUDA_DRIVER override).",
    ),
    Option(name="quiet", kind="count", flags=("--quiet", "-q"), help="Print less.", config=False),
    Option(
        name="verbose",
        kind="count",
        flags=("--verbose", "-v"),
        help="Print more: every step, and the pip configuration in force.",
        config=False,
    ),
)

COMMAND_OPTIONS: dict[str, tuple[Option, ...]] = {
    "compile": COMPILE_OPTIONS,
    "sync": SYNC_OPTIONS,
}


def resolve_options(command: str, given: Mapping[str, object]) -> dict[str, Any]:
    """``command``'s option values, by name: the command line (``given``, by name) over
    ``[tool.pinlock.<command>]`` over ``[tool.pinlock]`` (or the ``--config`` file's tables)
    over the declared defaults. Every table of the file is checked."""
    config_file = given.get("config")
    config = load_command_config(
        command,
        {name: config_schema(options) for name, options in COMMAND_OPTIONS.items()},
        config_file=None if config_file is None else Path(str(config_file)),
    )
    return merge(COMMAND_OPTIONS[command], given, config)


def index_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """The index options given (command line or configuration) as pip's command-line layer of
    its configuration, keyed by pip's option names; the same for both commands."""
    overrides: dict[str, Any] = {
        "extra-index-url": values["extra_index_url"],
        "find-links": values["find_links"],
        "trusted-host": values.get("trusted_host", ()),
    }
    if values["index_url"] is not None:
        overrides["index-url"] = values["index_url"]
    if values["no_index"]:
        overrides["no-index"] = True
    return overrides
