"""The options of ``pinlock sync``, each declared once."""

from __future__ import annotations

from pinlock.cli.declare import Option
from pinlock.cli.options.common import common_options, in_panels, output_options
from pinlock.cli.piptools import hidden_options

__all__ = ["SYNC_OPTIONS"]

_OPTIONS: tuple[Option, ...] = (
    Option(
        name="locks",
        kind="paths",
        argument=True,
        metavar="LOCK",
        help="Lock files to merge: requirements.txt or pylock.toml locks (default: "
        "requirements.txt).",
    ),
    Option(
        name="python",
        kind="path",
        flags=("--python", "--python-executable"),
        metavar="PATH",
        help="Interpreter or virtual environment folder to sync.",
    ),
    Option(
        name="venv",
        kind="path",
        flags=("--venv",),
        metavar="PATH",
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
        name="keep",
        kind="strs",
        flags=("--keep",),
        metavar="NAME|PATH",
        help="Keep this installed distribution although no lock lists it, with what it "
        "requires; a folder (.) keeps its project: the package under test. Repeatable.",
    ),
    Option(
        name="dry_run",
        kind="flag",
        flags=("--dry-run", "-n"),
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
        name="installer",
        kind="str",
        flags=("--installer",),
        metavar="pinlock|pip",
        help="What installs the wheels: pinlock (in-process, several at once) or pip (one pip "
        "run, slower). pip builds sdists, editables and VCS references either way.",
        default="pinlock",
    ),
    Option(
        name="compile_bytecode",
        kind="toggle",
        flags=("--compile/--no-compile", "--compile-bytecode"),
        help="Byte-compile what is installed, with the target interpreter, as pip does.",
        default=True,
    ),
    *common_options(),
    Option(
        name="flavour",
        kind="str",
        flags=("--flavour",),
        metavar="auto|NAME",
        help="auto or a flavour name (cpu, cu121, rocm6.2...): choose the LOCK of that GPU "
        "flavour; auto detects this machine's (PINLOCK_FLAVOUR, PINLOCK_CUDA_DRIVER override).",
    ),
    *output_options(),
    *hidden_options("sync"),
)

SYNC_OPTIONS: tuple[Option, ...] = in_panels(
    _OPTIONS,
    {
        "Target": ("python", "venv", "system", "break_system_packages", "flavour", "keep"),
        "Installing": ("installer", "compile_bytecode"),
    },
)
