"""Help a person can use: every option described, examples on each command, no Python type
labels, the terminal's width (100 columns when piped); -h, --version everywhere, and shell
completion on ``pinlock``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pinlock
from pinlock.cli.options import COMMAND_OPTIONS

SCRIPTS = {
    "pinlock compile": ["-m", "pinlock", "compile"],
    "pinlock sync": ["-m", "pinlock", "sync"],
    "pinlock-compile": ["-c", "from pinlock.cli.compile import main; main()"],
    "pinlock-sync": ["-c", "from pinlock.cli.sync import main; main()"],
}
# What typer would print for a parameter's Python type: <bool>, <int>, <list[str]>, <path>...
TYPE_LABEL = re.compile(r"<(bool|int|float|str|path|Path|list\[[A-Za-z]+\])>")


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    environ.update(PYTHONPATH=str(Path(pinlock.__file__).parents[1]), NO_COLOR="1", **env)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=environ, check=False
    )


@pytest.mark.parametrize("command", sorted(COMMAND_OPTIONS))
def test_every_option_is_described(command: str) -> None:
    shown = [o for o in COMMAND_OPTIONS[command] if o.on_command_line and not o.hidden]
    assert [o.name for o in shown if not o.help.strip()] == []


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_has_examples_and_no_type_labels(script: str) -> None:
    done = _run([*SCRIPTS[script], "-h"], COLUMNS="120")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert TYPE_LABEL.findall(text) == []
    assert "[default: 0]" not in text
    command = script.rsplit(maxsplit=1)[-1].removeprefix("pinlock-")
    examples = text.split("Examples:", 1)[1].splitlines()
    assert sum(line.strip().startswith(f"pinlock {command} ") for line in examples) >= 5
    for option in COMMAND_OPTIONS[command]:
        if option.flags and not option.hidden:
            assert option.flags[0].split("/")[0] in text, option.name
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) == 120  # the width asked for, not typer's 80
    assert _run([*SCRIPTS[script], "--help"], COLUMNS="120").stdout == text


def test_help_piped_is_a_hundred_columns_wide() -> None:
    done = _run(["-m", "pinlock", "sync", "--help"])
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) == 100


def test_pinlock_help_lists_its_commands_and_completion() -> None:
    done = _run(["-m", "pinlock", "-h"], COLUMNS="120")
    assert done.returncode == 0, done.stderr
    assert TYPE_LABEL.findall(done.stdout) == []
    for word in ("compile", "sync", "--install-completion", "--show-completion", "--version"):
        assert word in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "pinlock"],
        ["-m", "pinlock", "compile"],
        ["-m", "pinlock", "sync"],
        SCRIPTS["pinlock-compile"],
        SCRIPTS["pinlock-sync"],
    ],
)
def test_version_on_every_command_and_script(args: list[str]) -> None:
    done = _run([*args, "--version"])
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"pinlock {pinlock.__version__}\n",
        "",
    )


def test_shell_completion_completes_commands_and_options() -> None:
    def complete(words: str) -> list[str]:
        done = _run(
            ["-m", "pinlock"],
            _PINLOCK_COMPLETE="complete_bash",
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - 1),
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("pinlock sy") == ["sync"]
    assert complete("pinlock compile --no-emit-p") == ["--no-emit-package", "--no-emit-project"]
    script = _run(["-m", "pinlock", "--show-completion", "bash"])
    assert "_PINLOCK_COMPLETE=complete_bash" in script.stdout
