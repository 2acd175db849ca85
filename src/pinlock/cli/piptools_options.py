"""Every option of pip-compile and pip-sync (pip-tools 7.6), and what pinlock does with it.

Each option is ``supported`` (pinlock has it, same name and meaning), ``mapped`` (pinlock has it
under another name, or another option does the same), ``ignored`` (pinlock always does what it
asks, or it concerns pip-tools alone: accepted, no effect) or ``refused`` (pinlock cannot do it:
an error that says why, unless the value changes nothing). ``pinlock.cli.piptools`` applies the
table; the README's migration table is checked against it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PIPTOOLS_OPTIONS", "PipToolsOption", "Treatment"]


class Treatment(enum.Enum):
    SUPPORTED = "supported"
    MAPPED = "mapped"
    IGNORED = "ignored"
    REFUSED = "refused"


_S, _M, _I, _R = Treatment.SUPPORTED, Treatment.MAPPED, Treatment.IGNORED, Treatment.REFUSED
_BOTH = ("compile", "sync")
_COMPILE = ("compile",)
_SYNC = ("sync",)


@dataclass(frozen=True, kw_only=True, slots=True)
class PipToolsOption:
    """One pip-tools option: its spellings (``--a/--no-a`` for a switch, ``SRC_FILES`` for the
    arguments), the commands that have it, what pinlock does with it and why.

    ``pinlock`` is the pinlock option it becomes (by name), ``in_config`` the treatment of its
    key in a configuration file when that differs, ``harmless`` the values of a refused option
    that change nothing (a switch's are ``true`` and ``false``).
    """

    flags: tuple[str, ...]
    commands: tuple[str, ...]
    treatment: Treatment
    why: str = ""
    pinlock: str | None = None
    takes_value: bool = False
    in_config: Treatment | None = None
    harmless: frozenset[str] = frozenset()

    @property
    def keys(self) -> dict[str, bool]:
        """Its keys in configuration files, each with whether it means the switch is on."""
        keys: dict[str, bool] = {}
        for flag in self.flags:
            on, slash, off = flag.partition("/")
            if on.startswith("--"):
                keys[on[2:]] = True
            elif on.isupper() and not on.startswith("-"):
                keys[on.lower().replace("_", "-")] = True
            if slash:
                keys[off[2:]] = False
        return keys

    @property
    def config_treatment(self) -> Treatment:
        return self.in_config or self.treatment


def _o(
    *flags: str,
    commands: tuple[str, ...] = _COMPILE,
    treatment: Treatment = _S,
    why: str = "",
    pinlock: str | None = None,
    takes_value: bool = False,
    in_config: Treatment | None = None,
    harmless: Sequence[str] = (),
) -> PipToolsOption:
    return PipToolsOption(
        flags=flags,
        commands=commands,
        treatment=treatment,
        why=why,
        pinlock=pinlock,
        takes_value=takes_value,
        in_config=in_config,
        harmless=frozenset(harmless),
    )


_ONE_OFF = (
    "pinlock takes it on the command line only: a configuration file that did it on every run "
    "would be a trap"
)
_OUTPUT = "how much pinlock prints is for the command line; ignored in configuration files"
_BUILD_DEPS = (
    "pinlock does not lock build requirements yet: list them in an input (setuptools>=77, "
    "hatchling...)"
)

PIPTOOLS_OPTIONS: tuple[PipToolsOption, ...] = (
    # -- both commands --------------------------------------------------------------------
    _o("-h", "--help", commands=_BOTH, in_config=_I),
    _o("--version", commands=_BOTH, pinlock="version", in_config=_I),
    _o("-v", "--verbose", commands=_BOTH, pinlock="verbose", in_config=_I, why=_OUTPUT),
    _o("-q", "--quiet", commands=_BOTH, pinlock="quiet", in_config=_I, why=_OUTPUT),
    _o(
        "-n",
        "--dry-run",
        commands=_BOTH,
        pinlock="dry_run",
        in_config=_R,
        why="prints the locks (compile) or the plan (sync); " + _ONE_OFF,
    ),
    _o("-f", "--find-links", commands=_BOTH, pinlock="find_links", takes_value=True),
    _o("-i", "--index-url", commands=_BOTH, pinlock="index_url", takes_value=True),
    _o("--extra-index-url", commands=_BOTH, pinlock="extra_index_url", takes_value=True),
    _o("--no-index", commands=_BOTH, pinlock="no_index"),
    _o("--trusted-host", commands=_BOTH, pinlock="trusted_host", takes_value=True),
    _o("--cert", commands=_BOTH, pinlock="cert", takes_value=True),
    _o("--client-cert", commands=_BOTH, pinlock="client_cert", takes_value=True),
    _o(
        "--pip-args",
        commands=_BOTH,
        pinlock="pip_args",
        takes_value=True,
        why="read as pip's options: index, TLS and version-policy ones apply, those that only "
        "change how pip installs are ignored, the rest refused with the reason",
    ),
    _o(
        "--config",
        commands=_BOTH,
        pinlock="config",
        takes_value=True,
        in_config=_I,
        why="the file's [tool.pinlock] and [tool.pip-tools] tables are read",
    ),
    _o(
        "--no-config",
        commands=_BOTH,
        pinlock="no_config",
        in_config=_I,
        why="neither pinlock's nor pip-tools' configuration is read",
    ),
    # -- pip-compile ------------------------------------------------------------------------
    _o(
        "SRC_FILES",
        treatment=_M,
        pinlock="inputs",
        takes_value=True,
        why="pinlock compile's INPUTs; the inputs key of [tool.pinlock]",
    ),
    _o(
        "--color/--no-color",
        treatment=_I,
        why="pinlock decides colour from the terminal and NO_COLOR",
    ),
    _o("-p", "--pre", pinlock="pre"),
    _o(
        "-r",
        "--rebuild",
        treatment=_I,
        why="pinlock's cache holds only what cannot change (metadata by file hash, files by "
        "sha256) and reads index pages anew on every run: there is nothing to rebuild "
        "(pinlock takes --rebuild, not -r)",
    ),
    _o("--extra", pinlock="extra", takes_value=True),
    _o("--all-extras", pinlock="all_extras"),
    _o(
        "--uploaded-prior-to",
        pinlock="uploaded_prior_to",
        takes_value=True,
        why="also spelled --exclude-newer, as uv does; needs indexes that state upload times",
    ),
    _o("--header/--no-header", pinlock="header"),
    _o("--emit-trusted-host/--no-emit-trusted-host", pinlock="emit_trusted_host"),
    _o(
        "--annotate/--no-annotate",
        pinlock="annotate",
        why="# from lines (the index of a pin, which sync reads) stay",
    ),
    _o("--annotation-style", pinlock="annotation_style", takes_value=True),
    _o(
        "-U",
        "--upgrade/--no-upgrade",
        pinlock="upgrade",
        in_config=_R,
        harmless=("false",),
        why=_ONE_OFF,
    ),
    _o(
        "-P",
        "--upgrade-package",
        pinlock="upgrade_package",
        takes_value=True,
        in_config=_R,
        why=_ONE_OFF,
    ),
    _o("-o", "--output-file", pinlock="output_file", takes_value=True),
    _o(
        "--newline",
        pinlock="newline",
        takes_value=True,
        why="lf, crlf, native or preserve (the default, as in pip-compile)",
    ),
    _o(
        "--allow-unsafe/--no-allow-unsafe",
        pinlock="allow_unsafe",
        why="pinlock pins pip and setuptools by default (pip-tools 8's default); "
        "--no-allow-unsafe leaves them out",
    ),
    _o(
        "--strip-extras/--no-strip-extras",
        treatment=_R,
        harmless=("true",),
        why="--strip-extras is what pinlock does: its locks never carry extras (what an extra "
        "adds is pinned by name), so every lock works as a constraints file",
    ),
    _o(
        "--generate-hashes",
        pinlock="generate_hashes",
        why="on by default in pinlock; --no-hashes turns it off",
    ),
    _o(
        "--reuse-hashes/--no-reuse-hashes",
        treatment=_I,
        why="pinlock takes hashes from the index or its content-addressed cache, never from an "
        "old lock",
    ),
    _o(
        "--max-rounds",
        treatment=_I,
        takes_value=True,
        why="pinlock's resolver has no round limit to raise; a conflict is explained instead",
    ),
    _o("--build-isolation/--no-build-isolation", pinlock="build_isolation"),
    _o("--emit-find-links/--no-emit-find-links", pinlock="emit_find_links"),
    _o(
        "--cache-dir",
        pinlock="cache_dir",
        takes_value=True,
        why="pinlock's own cache; PIP_TOOLS_CACHE_DIR is not read",
    ),
    _o(
        "--resolver",
        treatment=_R,
        takes_value=True,
        harmless=("backtracking",),
        why="pinlock has one resolver, a backtracking one: backtracking is accepted, legacy is not",
    ),
    _o("--emit-index-url/--no-emit-index-url", pinlock="emit_index_url"),
    _o(
        "--emit-options/--no-emit-options",
        treatment=_R,
        harmless=("true",),
        why="--emit-options is what pinlock does: --only-binary/--no-binary lines change what "
        "pip installs from a lock, so they always stay; leave index lines out with "
        "--no-emit-index-url, --no-emit-find-links and --no-emit-trusted-host",
    ),
    _o(
        "--unsafe-package",
        pinlock="unsafe_package",
        takes_value=True,
        why="left out of the locks, as --no-emit-package does",
    ),
    _o("-c", "--constraint", pinlock="constraint", takes_value=True),
    _o("--build-deps-for", treatment=_R, takes_value=True, why=_BUILD_DEPS),
    _o("--all-build-deps", treatment=_R, why=_BUILD_DEPS),
    _o("--only-build-deps", treatment=_R, why=_BUILD_DEPS),
    # -- pip-sync -----------------------------------------------------------------------------
    _o(
        "SRC_FILES",
        commands=_SYNC,
        treatment=_M,
        pinlock="locks",
        takes_value=True,
        why="pinlock sync's LOCKs",
    ),
    _o(
        "-a",
        "--ask",
        commands=_SYNC,
        treatment=_R,
        why="pinlock never prompts: run with --dry-run first, then without",
    ),
    _o(
        "--force",
        commands=_SYNC,
        treatment=_R,
        why="pinlock stops on locks that pin one package twice, naming both lines; there is "
        "nothing to force past",
    ),
    _o("--python-executable", commands=_SYNC, treatment=_M, pinlock="python", takes_value=True),
    _o(
        "--user",
        commands=_SYNC,
        treatment=_R,
        why="pinlock syncs a virtual environment (or, with --system, an interpreter), never the "
        "user site",
    ),
)
