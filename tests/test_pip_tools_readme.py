"""The README's migration table is the table of ``pinlock.cli.piptools_options``, row for row,
and that table names every option pip-compile and pip-sync 7.6 have."""

from __future__ import annotations

import re
from pathlib import Path

from pinlock.cli.options import COMMAND_OPTIONS
from pinlock.cli.piptools_options import PIPTOOLS_OPTIONS, PipToolsOption, Treatment

README = Path(__file__).resolve().parents[1] / "README.md"

# pip-tools 7.6.2's options, as `pip-compile --help` and `pip-sync --help` list them.
PIP_COMPILE_7_6 = [
    "-h",
    "--help",
    "--version",
    "--color",
    "--no-color",
    "-v",
    "--verbose",
    "-q",
    "--quiet",
    "-n",
    "--dry-run",
    "-p",
    "--pre",
    "-r",
    "--rebuild",
    "--extra",
    "--all-extras",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--no-index",
    "--extra-index-url",
    "--cert",
    "--client-cert",
    "--trusted-host",
    "--uploaded-prior-to",
    "--header",
    "--no-header",
    "--emit-trusted-host",
    "--no-emit-trusted-host",
    "--annotate",
    "--no-annotate",
    "--annotation-style",
    "-U",
    "--upgrade",
    "--no-upgrade",
    "-P",
    "--upgrade-package",
    "-o",
    "--output-file",
    "--newline",
    "--allow-unsafe",
    "--no-allow-unsafe",
    "--strip-extras",
    "--no-strip-extras",
    "--generate-hashes",
    "--reuse-hashes",
    "--no-reuse-hashes",
    "--max-rounds",
    "--build-isolation",
    "--no-build-isolation",
    "--emit-find-links",
    "--no-emit-find-links",
    "--cache-dir",
    "--pip-args",
    "--resolver",
    "--emit-index-url",
    "--no-emit-index-url",
    "--emit-options",
    "--no-emit-options",
    "--unsafe-package",
    "--config",
    "--no-config",
    "-c",
    "--constraint",
    "--build-deps-for",
    "--all-build-deps",
    "--only-build-deps",
    "SRC_FILES",
]
PIP_SYNC_7_6 = [
    "-h",
    "--help",
    "--version",
    "-a",
    "--ask",
    "-n",
    "--dry-run",
    "--force",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--trusted-host",
    "--no-index",
    "--python-executable",
    "-v",
    "--verbose",
    "-q",
    "--quiet",
    "--user",
    "--cert",
    "--client-cert",
    "--pip-args",
    "--config",
    "--no-config",
    "SRC_FILES",
]


def _spellings(entry: PipToolsOption) -> set[str]:
    return {part for flag in entry.flags for part in flag.split("/")}


def test_the_table_names_every_pip_tools_option() -> None:
    for command, expected in [("compile", PIP_COMPILE_7_6), ("sync", PIP_SYNC_7_6)]:
        named = [s for e in PIPTOOLS_OPTIONS if command in e.commands for s in _spellings(e)]
        assert sorted(named) == sorted(expected), command


def _pinlock_flags(entry: PipToolsOption) -> str:
    if entry.pinlock is None:
        return ""
    option = next(o for o in COMMAND_OPTIONS[entry.commands[0]] if o.name == entry.pinlock)
    if option.argument:
        return f"`{option.metavar or option.name.upper()}`"
    flags = [part for flag in option.flags for part in flag.split("/")]
    return ", ".join(f"`{flag}`" for flag in flags)


def row(entry: PipToolsOption) -> str:
    """The README row of one pip-tools option."""
    spelled = ", ".join(f"`{flag}`" for flag in entry.flags)
    pinlock = entry.treatment.value
    flags = _pinlock_flags(entry)
    if flags:
        pinlock += f": {flags}"
    if entry.in_config is not None and entry.in_config is not entry.treatment:
        pinlock += f" ({entry.in_config.value} in configuration files)"
    return f"| {spelled} | {', '.join(entry.commands)} | {pinlock} | {entry.why or '—'} |"


def _readme_table() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- pip-tools options -->", 2)
    assert len(section) == 3, "the README marks its migration table with <!-- pip-tools options -->"
    return [line for line in section[1].splitlines() if line.startswith("| ")][1:]


def test_the_readme_table_is_the_table() -> None:
    assert _readme_table() == [row(entry) for entry in PIPTOOLS_OPTIONS]


def test_the_readme_says_what_each_treatment_means() -> None:
    text = README.read_text(encoding="utf-8")
    for treatment in Treatment:
        assert re.search(rf"\*\*{treatment.value}\*\*", text), treatment
