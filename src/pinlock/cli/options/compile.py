"""The options of ``pinlock compile``, each declared once."""

from __future__ import annotations

from pinlock.cli.declare import Option
from pinlock.cli.options.common import (
    INDEXES,
    common_options,
    in_panels,
    on_by_default,
    output_options,
    shared,
)
from pinlock.cli.piptools import hidden_options

__all__ = ["COMPILE_OPTIONS"]

_OPTIONS: tuple[Option, ...] = shared(
    Option(
        name="inputs",
        kind="paths",
        argument=True,
        metavar="INPUT",
        help="What to lock: requirement files (.in), pyproject.toml, setup.cfg or setup.py, a "
        "lock, or - for standard input (default: the inputs key of [tool.pinlock], else "
        "requirements.in).",
    ),
    Option(
        name="output_file",
        kind="str",
        flags=("-o", "--output-file"),
        metavar="PATH",
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
        metavar="split|line",
        help="How # via lines are laid out: split (one per line, as pip-compile does) or line "
        "(all on the pin's line).",
        default="split",
    ),
    Option(
        name="upgrade",
        kind="toggle",
        flags=("--upgrade/--no-upgrade", "-U"),
        help="Ignore the pins of existing locks.",
        config=False,
    ),
    Option(
        name="upgrade_package",
        kind="strs",
        flags=("-P", "--upgrade-package"),
        metavar="NAME[==VERSION]",
        help="Free this package's pin (NAME), or move it to a version (NAME==VERSION); keep "
        "the others. Repeatable.",
        config=False,
    ),
    Option(name="pre", kind="flag", flags=("--pre", "-p"), help="Allow pre-releases."),
    Option(
        name="dry_run",
        kind="flag",
        flags=("--dry-run", "-n"),
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
    *common_options(),
    Option(
        name="index_strategy",
        kind="str",
        flags=("--index-strategy",),
        metavar="STRATEGY",
        help="first-index (default): a project comes only from the first index that has it, "
        "extra indexes before the default one. unsafe-best-match: every index merged, as pip "
        "does (a public upload can shadow a private package).",
        default="first-index",
    ),
    Option(
        name="only_binary",
        kind="strs",
        flags=("--only-binary",),
        metavar="NAMES",
        help="Lock only wheels of these projects (comma-separated names, :all: or :none:, "
        "as pip takes them); repeatable.",
    ),
    Option(
        name="no_binary",
        kind="strs",
        flags=("--no-binary",),
        metavar="NAMES",
        help="Lock only sdists of these projects (comma-separated names, :all: or :none:, "
        "as pip takes them); repeatable.",
    ),
    Option(
        name="python_version",
        kind="strs",
        flags=("--python-version",),
        metavar="X.Y",
        help="Target Python X.Y[.Z]; repeat for several.",
    ),
    Option(
        name="platform",
        kind="strs",
        flags=("--platform",),
        metavar="PLATFORM",
        help="Target platform (linux, macos-arm64-14, windows-amd64, "
        "linux-x86_64-manylinux_2_28...); repeat for several.",
    ),
    Option(
        name="python",
        kind="paths",
        flags=("--python",),
        metavar="PATH",
        help="Take a target from this interpreter or venv.",
    ),
    Option(
        name="flavour",
        kind="strs",
        flags=("--flavour",),
        metavar="NAME",
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
        metavar="TEMPLATE",
        help="Lock names, e.g. '{stem}-{target}-{flavour}.txt'.",
    ),
    Option(
        name="format",
        kind="str",
        flags=("--format",),
        metavar="txt|pylock",
        help="Lock format: txt (requirements.txt) or pylock (PEP 751 pylock.toml); "
        "default: pylock for outputs named pylock.toml or pylock.<name>.toml, else txt.",
    ),
    Option(
        name="constraint",
        kind="paths",
        flags=("-c", "--constraint"),
        metavar="PATH",
        help="Constrain versions with this file, for every input (repeatable).",
    ),
    Option(
        name="extra",
        kind="strs",
        flags=("--extra",),
        metavar="NAME",
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
        metavar="NAME",
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
        metavar="NAME",
        help="Leave this package out of the locks (its dependencies stay); repeatable.",
    ),
    Option(
        name="no_emit_project",
        kind="flag",
        flags=("--no-emit-project",),
        help="Leave local project folders (-e ., ./sub) and project inputs out of the locks.",
    ),
    # What else a lock shows, named as pip-compile names it.
    Option(
        name="unsafe_package",
        kind="strs",
        flags=("--unsafe-package",),
        metavar="NAME",
        help="Leave this package out of the locks, as pip-compile does with the packages it "
        "calls unsafe (like --no-emit-package); repeatable.",
    ),
    Option(
        name="allow_unsafe",
        kind="toggle",
        flags=("--allow-unsafe/--no-allow-unsafe",),
        help="Pin pip, setuptools and distribute like every other package; "
        "--no-allow-unsafe leaves them out (or, given, the --unsafe-package names).",
        default=True,
    ),
    on_by_default("header", "Start each lock with a comment saying how it was made."),
    on_by_default(
        "annotate",
        "Say below each pin what asked for it (# via); # from lines, which sync reads, stay.",
    ),
    on_by_default(
        "emit_index_url",
        "Write --index-url, --extra-index-url and --no-index lines into the locks.",
    ),
    on_by_default("emit_find_links", "Write --find-links lines into the locks."),
    on_by_default("emit_trusted_host", "Write --trusted-host lines into the locks."),
    Option(
        name="newline",
        kind="str",
        flags=("--newline",),
        metavar="NEWLINE",
        help="Line endings of the locks: preserve (the existing lock's, else the input's, "
        "else LF), lf, crlf or native.",
        default="preserve",
    ),
    Option(
        name="uploaded_prior_to",
        kind="str",
        flags=("--uploaded-prior-to", "--exclude-newer"),
        metavar="WHEN",
        help="Only files uploaded before WHEN: an ISO 8601 date or time (2025-01-31, "
        "2025-01-31T12:00:00Z; local time without an offset) or P<n>D, n days ago. Needs "
        "indexes that state upload times (PEP 700 JSON); local files are not filtered.",
    ),
    *output_options(),
    *hidden_options("compile"),
)

COMPILE_OPTIONS: tuple[Option, ...] = in_panels(
    _OPTIONS,
    {
        "Inputs and locks": (
            "output_file",
            "output_template",
            "format",
            "constraint",
            "extra",
            "all_extras",
            "group",
            "build_isolation",
        ),
        "Versions": ("upgrade", "upgrade_package", "pre"),
        "Files": ("only_binary", "no_binary", "uploaded_prior_to"),
        "Targets and GPU flavours": (
            "python_version",
            "platform",
            "python",
            "flavour",
            "flavour_index",
        ),
        "What a lock holds and shows": (
            "generate_hashes",
            "annotation_style",
            "no_emit_package",
            "no_emit_project",
            "unsafe_package",
            "allow_unsafe",
            "header",
            "annotate",
            "emit_index_url",
            "emit_find_links",
            "emit_trusted_host",
            "newline",
        ),
        INDEXES: ("index_strategy", "offline", "refresh"),
    },
)
