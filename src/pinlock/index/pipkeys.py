"""Every option ``pip install`` reads from its configuration, and what pinlock does with each.

pip turns each configuration key (file or ``PIP_<KEY>`` variable) into ``--<key>`` and looks it
up among the long options of the command's parser, aliases included (``default-timeout`` is
``timeout``); a key that is no option of that command is skipped without a word (pip's
``ConfigOptionParser._update_defaults``). pinlock reads the same keys and treats each one way:

- ``APPLIED``: it changes what a lock may contain or how files are fetched, and pinlock applies it
  as pip does;
- ``IGNORED``: it changes how pip installs, reports or talks, not which versions and files a lock
  holds, so it is meaningless for pinlock, on purpose;
- ``REFUSED``: pinlock cannot honour it and would write locks that pip on this machine treats
  differently, so the run stops with an error naming the key and where it was set. A refused key
  set to a value that changes nothing (``harmless``, e.g. a flag set to false) is ignored.

A test asks the installed pip for its options (pip's own completion interface) and checks that
this table names every one, so a new pip option cannot slip through unclassified.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

__all__ = ["ENVIRONMENT_ONLY", "PIP_INSTALL_KEYS", "Handling", "KeyKind", "PipKey", "find_pip_key"]


class Handling(enum.Enum):
    APPLIED = "applied"
    IGNORED = "ignored"
    REFUSED = "refused"


# How pip reads the value: ``flag`` (store_true/false: a boolean word), ``count`` (-v/-q: a
# boolean word or a count), ``value`` (one value), ``list`` (append: split on whitespace),
# ``format`` (--no-binary/--only-binary: each value updates the running state), ``none``
# (--help/--version: nothing pip checks).
KeyKind = Literal["flag", "count", "value", "list", "format", "none"]

_FALSE_WORDS = frozenset({"n", "no", "f", "false", "off", "0"})


@dataclass(frozen=True, kw_only=True, slots=True)
class PipKey:
    """One pip option: its long names (the first is pip's main spelling), how pip reads its
    value, what pinlock does with it and why. ``harmless`` values of a refused key are ignored;
    ``hidden`` options are absent from pip's help and completion (still read from config)."""

    names: tuple[str, ...]
    kind: KeyKind
    handling: Handling
    why: str
    harmless: frozenset[str] = frozenset()
    hidden: bool = False

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def takes_value(self) -> bool:
        return self.kind in ("value", "list", "format")

    def refuses(self, value: str) -> bool:
        """Whether this value of the key stops a run."""
        if self.handling is not Handling.REFUSED:
            return False
        if self.kind == "flag" and value.strip().lower() in _FALSE_WORDS:
            return False
        return value.strip() not in self.harmless


def _key(
    *names: str,
    kind: KeyKind,
    handling: Handling,
    why: str,
    harmless: frozenset[str] = frozenset(),
    hidden: bool = False,
) -> PipKey:
    return PipKey(
        names=names, kind=kind, handling=handling, why=why, harmless=harmless, hidden=hidden
    )


_A, _I, _R = Handling.APPLIED, Handling.IGNORED, Handling.REFUSED

_WHERE = "where pip installs, not what: a lock is the same wherever it goes"
_HOW = "how pip installs an already chosen set, not which versions or files"
_OUTPUT = "what pip prints or logs"
_BUILD = (
    "how pip builds an sdist, not which versions or files: pip applies it wherever it builds "
    "(sync, and the build requirements of compile's metadata builds)"
)
_TARGET = (
    "pinlock chooses its targets with --python-version, --platform and --python; pip itself "
    "allows these only with --target or --dry-run"
)
_CACHE = "pip's own HTTP and wheel cache; pinlock keeps its own (--cache-dir)"
_ADDS = (
    "adds requirements to every pip install, so installing a lock would install more than "
    "the lock lists"
)
_RELEASES = (
    "chooses pre-releases per project, which pinlock does not do yet (the pre key, or --pre, "
    "allows them for every project)"
)

PIP_INSTALL_KEYS: tuple[PipKey, ...] = (
    # -- where packages come from and how they are reached -----------------------------------
    _key("index-url", "pypi-url", kind="value", handling=_A, why="the main index"),
    _key("extra-index-url", kind="list", handling=_A, why="more indexes"),
    _key("no-index", kind="flag", handling=_A, why="find-links only"),
    _key("find-links", kind="list", handling=_A, why="folders and pages of files"),
    _key("trusted-host", kind="list", handling=_A, why="hosts whose TLS is not checked"),
    _key("cert", kind="value", handling=_A, why="CA bundle for TLS"),
    _key("client-cert", kind="value", handling=_A, why="TLS client certificate"),
    _key("timeout", "default-timeout", kind="value", handling=_A, why="socket timeout"),
    _key("retries", kind="value", handling=_A, why="attempts per connection"),
    _key("proxy", kind="value", handling=_A, why="one proxy for every request"),
    _key("no-proxy-env", kind="flag", handling=_A, why="no proxy from *_proxy variables"),
    # -- which versions and files ------------------------------------------------------------
    _key(
        "constraint",
        kind="list",
        handling=_A,
        why="limits every compile (`# via -c FILE (pip configuration)`); not copied into "
        "locks, pip reads it again where a lock installs",
    ),
    _key("pre", kind="flag", handling=_A, why="pre-releases allowed"),
    _key("only-binary", kind="format", handling=_A, why="no sdists for these projects"),
    _key("no-binary", kind="format", handling=_A, why="no wheels for these projects"),
    _key("prefer-binary", kind="flag", handling=_A, why="an older wheel beats a newer sdist"),
    _key(
        "require-hashes",
        kind="flag",
        handling=_A,
        why="compile refuses --no-hashes (pip would refuse the lock); locks are hashed "
        "anyway and sync always checks hashes",
    ),
    _key(
        "no-require-hashes",
        kind="flag",
        handling=_I,
        why="pinlock always writes hashes and sync always checks them",
    ),
    _key(
        "ignore-requires-python",
        kind="flag",
        handling=_I,
        why="pinlock resolves for its target's Python; such a lock installs where pip "
        "ignores Requires-Python too",
    ),
    _key("all-releases", kind="format", handling=_R, why=_RELEASES, harmless=frozenset({":none:"})),
    _key("only-final", kind="format", handling=_R, why=_RELEASES, harmless=frozenset({":none:"})),
    _key(
        "uploaded-prior-to",
        kind="value",
        handling=_A,
        why="compile takes only files uploaded before it, from indexes that state upload times",
    ),
    # -- what is installed -------------------------------------------------------------------
    _key("requirement", kind="list", handling=_R, why=_ADDS),
    _key("requirements-from-script", kind="list", handling=_R, why=_ADDS),
    _key("editable", kind="list", handling=_R, why=_ADDS),
    _key("group", kind="value", handling=_R, why=_ADDS),
    _key(
        "only-deps",
        "only-dependencies",
        kind="flag",
        handling=_R,
        why="pip refuses -r with it, so no lock installs here",
    ),
    _key(
        "no-deps",
        "no-dependencies",
        kind="flag",
        handling=_I,
        why="a lock lists every dependency, so it installs the same with or without",
    ),
    _key(
        "python",
        kind="value",
        handling=_R,
        why="pip would install into another interpreter than the one pinlock locks or syncs for",
    ),
    _key(
        "keyring-provider",
        kind="value",
        handling=_R,
        why="pinlock takes index credentials from URLs and .netrc, not from keyring",
        harmless=frozenset({"auto", "disabled"}),
    ),
    # -- where and how pip installs ----------------------------------------------------------
    _key("target", kind="value", handling=_I, why=_WHERE),
    _key("user", kind="flag", handling=_I, why=_WHERE),
    _key("no-user", kind="flag", handling=_I, why=_WHERE, hidden=True),
    _key("root", kind="value", handling=_I, why=_WHERE),
    _key("prefix", kind="value", handling=_I, why=_WHERE),
    _key("src", "source", "source-dir", "source-directory", kind="value", handling=_I, why=_WHERE),
    _key(
        "break-system-packages",
        kind="flag",
        handling=_I,
        why="sync asks for its own --break-system-packages before changing such a Python",
    ),
    _key("dry-run", kind="flag", handling=_I, why=_HOW),
    _key("upgrade", kind="flag", handling=_I, why=_HOW),
    _key("upgrade-strategy", kind="value", handling=_I, why=_HOW),
    _key("force-reinstall", kind="flag", handling=_I, why=_HOW),
    _key("ignore-installed", kind="flag", handling=_I, why=_HOW),
    _key("compile", kind="flag", handling=_I, why=_HOW),
    _key("no-compile", kind="flag", handling=_I, why=_HOW),
    _key("no-clean", kind="flag", handling=_I, why=_HOW),
    _key("exists-action", kind="list", handling=_I, why=_HOW),
    _key("root-user-action", kind="value", handling=_I, why=_HOW),
    _key("no-warn-script-location", kind="flag", handling=_I, why=_OUTPUT),
    _key("no-warn-conflicts", kind="flag", handling=_I, why=_OUTPUT),
    _key("report", kind="value", handling=_I, why=_OUTPUT),
    _key("platform", kind="list", handling=_I, why=_TARGET),
    _key("python-version", kind="value", handling=_I, why=_TARGET),
    _key("implementation", kind="value", handling=_I, why=_TARGET),
    _key("abi", kind="list", handling=_I, why=_TARGET),
    # -- building sdists ---------------------------------------------------------------------
    _key("no-build-isolation", kind="flag", handling=_I, why=_BUILD),
    _key("check-build-dependencies", kind="flag", handling=_I, why=_BUILD),
    _key("config-settings", kind="value", handling=_I, why=_BUILD),
    _key("build-constraint", kind="list", handling=_I, why=_BUILD),
    _key("use-pep517", kind="flag", handling=_I, why=_BUILD, hidden=True),
    _key("no-use-pep517", kind="flag", handling=_I, why=_BUILD, hidden=True),
    _key("global-option", kind="list", handling=_I, why=_BUILD + " (older pips)", hidden=True),
    # -- pip itself --------------------------------------------------------------------------
    _key("cache-dir", kind="value", handling=_I, why=_CACHE),
    _key("no-cache-dir", kind="value", handling=_I, why=_CACHE),
    _key("refresh-package", kind="value", handling=_I, why=_CACHE),
    _key(
        "resume-retries",
        kind="value",
        handling=_I,
        why="pinlock checks every download against its hash and retries by `retries`",
    ),
    _key("help", kind="none", handling=_I, why=_OUTPUT),
    _key("version", kind="none", handling=_I, why=_OUTPUT + " (older pips)", hidden=True),
    _key("debug", kind="flag", handling=_I, why=_OUTPUT),
    _key("verbose", kind="count", handling=_I, why=_OUTPUT),
    _key("quiet", kind="count", handling=_I, why=_OUTPUT),
    _key("log", "log-file", "local-log", kind="value", handling=_I, why=_OUTPUT),
    _key("no-color", kind="flag", handling=_I, why=_OUTPUT),
    _key("progress-bar", kind="value", handling=_I, why=_OUTPUT),
    _key("no-input", kind="flag", handling=_I, why="pinlock never prompts"),
    _key(
        "disable-pip-version-check",
        kind="flag",
        handling=_I,
        why="pinlock never checks pip's version; sync's pip runs with the check off",
    ),
    _key("no-python-version-warning", kind="flag", handling=_I, why="a no-op in pip", hidden=True),
    _key(
        "isolated",
        kind="flag",
        handling=_I,
        why="pip's isolation of its own subprocesses; from configuration it cannot hide "
        "configuration",
    ),
    _key(
        "require-virtualenv",
        "require-venv",
        kind="flag",
        handling=_I,
        why="sync refuses a Python that is no venv unless given --system",
    ),
    _key(
        "use-feature",
        kind="list",
        handling=_I,
        why="pip's feature switches; none changes which versions and files pip picks",
    ),
    _key(
        "use-deprecated",
        kind="list",
        handling=_I,
        why="pip's feature switches; none changes which versions and files pip picks",
    ),
)

# Variables pip reads for itself, never as options: ``PIP_<NAME>`` -> why they play no part.
ENVIRONMENT_ONLY: dict[str, str] = {
    "config-file": "names pip's configuration file (read above)",
    "user-agent-user-data": "added to pip's user agent",
    "build-tracker": "pip's internal build tracking",
    "in-build-ignore-constraints": "pip's internal build environment",
    "is-ci": "tells pip it runs in CI",
    "resolver-debug": "pip's resolver logging",
    "use-importlib-metadata": "how pip reads installed packages",
    "use-sysconfig": "how pip finds install paths",
    "no-partial-clone-for-broken-git-server": "how pip clones VCS requirements",
    "auto-complete": "pip's shell completion",
}

_BY_NAME = {name: key for key in PIP_INSTALL_KEYS for name in key.names}


def find_pip_key(name: str) -> PipKey | None:
    """The option a normalized configuration key names (any spelling), None when none."""
    return _BY_NAME.get(name)
