"""The interpreter a lock is resolved for: its PEP 508 marker environment and its wheel tags.

A target need not be the running interpreter. It is a plain value: everything that depends on
"where will this install" (markers, requires-python, which wheels fit) asks the target, never
``sys`` or ``platform``. Three ways to get one:

- ``Target.host()``: the running interpreter.
- ``Target.from_spec("3.12", "linux-aarch64")``: any CPython version and platform, computed from
  the spec alone (no interpreter of that version is needed; see ``platforms``).
- ``Target.from_python(path)``: another interpreter (or venv), asked once for its facts (see
  ``probe``); the tags are then computed here from those facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.specifiers import SpecifierSet
from packaging.tags import (
    Tag,
    compatible_tags,
    cpython_tags,
    generic_tags,
    mac_platforms,
    platform_tags,
    sys_tags,
)
from packaging.version import Version

from pinlock.target.platforms import (
    DEFAULT_MACOS,
    PLATFORM_GRAMMAR,
    WINDOWS_LABELS,
    PythonSpec,
    cpython_spec_tags,
    linux_platform_tags,
    parse_platform,
    parse_python_version,
    unique_tags,
)
from pinlock.target.probe import InterpreterFacts, probe_interpreter

__all__ = [
    "MARKER_KEYS",
    "PLATFORM_GRAMMAR",
    "Target",
    "linux_platform_tags",
    "probe_python",
    "target_from_facts",
]

# Every key PEP 508 defines; a target must give each one a value of its own.
MARKER_KEYS = (
    "implementation_name",
    "implementation_version",
    "os_name",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_full_version",
    "python_version",
    "sys_platform",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One interpreter and platform to resolve for.

    ``environment`` holds every PEP 508 marker key as ``(key, value)`` pairs, so the target stays
    hashable. ``tags`` are the wheel tags the target accepts, most preferred first.
    ``platform_open`` means the lock must install on any platform, so it lists the hashes of every
    file of a pinned version rather than only the files that fit ``tags``.
    """

    name: str
    description: str
    environment: tuple[tuple[str, str], ...]
    tags: tuple[Tag, ...]
    platform_open: bool = False
    # Tag -> position, built once: tag_rank runs for every file of every candidate version.
    _ranks: Mapping[Tag, int] = field(init=False, repr=False, compare=False, hash=False)
    _python: Version = field(init=False, repr=False, compare=False, hash=False)
    # Answers by tag set and by Requires-Python: pages repeat a few of each thousands of times.
    _tag_answers: dict[frozenset[Tag], int | None] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _python_answers: dict[str, bool] = field(init=False, repr=False, compare=False, hash=False)
    _spec_answers: dict[int, tuple[SpecifierSet, bool]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        ranks = {tag: i for i, tag in reversed(list(enumerate(self.tags)))}
        object.__setattr__(self, "_ranks", ranks)
        full = dict(self.environment)["python_full_version"]
        # Untagged CPython builds report e.g. "3.13.0+", which PEP 440 only accepts as local.
        python = Version(f"{full}local" if full.endswith("+") else full)
        object.__setattr__(self, "_python", python)
        object.__setattr__(self, "_tag_answers", {})
        object.__setattr__(self, "_python_answers", {})
        object.__setattr__(self, "_spec_answers", {})

    @classmethod
    def host(cls, *, platform_open: bool = True) -> Target:
        """The running interpreter; by default its locks stay installable on any platform."""
        env = default_environment()
        tags = tuple(sys_tags())
        return cls(
            name="host",
            description=f"{env['platform_python_implementation']} {env['python_full_version']} "
            f"on {env['sys_platform']} {env['platform_machine']}",
            environment=tuple(sorted((k, str(v)) for k, v in env.items())),
            tags=tags,
            platform_open=platform_open,
        )

    @classmethod
    def from_spec(cls, python_version: str | None, platform: str | None) -> Target:
        """CPython ``python_version`` (``X.Y`` or ``X.Y.Z``) on ``platform`` (see PLATFORM_GRAMMAR).

        Without a platform, the platform markers and tags are this host's and the lock stays
        valid for any platform (``platform_open``).
        """
        python = parse_python_version(python_version)
        if platform is None:
            return _host_platform_target(python)
        spec = parse_platform(platform)
        env = {**python.markers(), **spec.markers()}
        return cls(
            name=f"{python.label}-{spec.label}",
            description=f"CPython {python.shown} on {spec.description}",
            environment=_freeze(env),
            tags=cpython_spec_tags(python, spec.platform_tags()),
            platform_open=False,
        )

    @classmethod
    def from_python(cls, python: Path | str, *, platform_open: bool = False) -> Target:
        """The interpreter ``python`` names (an executable, a venv folder or a command on PATH),
        run once to learn it."""
        return target_from_facts(probe_interpreter(python), platform_open=platform_open)

    @property
    def markers(self) -> dict[str, str]:
        """The marker environment as a fresh dict (callers may add ``extra``)."""
        return dict(self.environment)

    @property
    def python_full_version(self) -> Version:
        return self._python

    @property
    def python_version(self) -> str:
        """``X.Y``, as the ``python_version`` marker spells it."""
        return self.markers["python_version"]

    def evaluate(self, marker: Marker | None, extras: Iterable[str] = ()) -> bool:
        """True when ``marker`` holds on this target for any of the requested ``extras``."""
        if marker is None:
            return True
        env = self.markers
        wanted = list(extras) or [""]
        for extra in wanted:
            env["extra"] = extra
            if marker.evaluate(env):
                return True
        return False

    def accepts_python(self, requires_python: SpecifierSet | str | None) -> bool:
        """Whether a ``Requires-Python`` value admits this target's full Python version."""
        if requires_python is None:
            return True
        if isinstance(requires_python, str):  # never compared with a SpecifierSet: that parses
            if not requires_python:
                return True
            known = self._python_answers.get(requires_python)
            if known is None:
                spec = SpecifierSet(requires_python)
                known = spec.contains(self._python, prereleases=True)
                self._python_answers[requires_python] = known
            return known
        # By identity: pages share one SpecifierSet per text, and hashing one costs more than
        # the check (the set is kept with its answer, so its id is not reused meanwhile).
        entry = self._spec_answers.get(id(requires_python))
        if entry is None or entry[0] is not requires_python:
            entry = (requires_python, requires_python.contains(self._python, prereleases=True))
            self._spec_answers[id(requires_python)] = entry
        return entry[1]

    def tag_rank(self, tags: Iterable[Tag]) -> int | None:
        """The best (lowest) position among ``tags`` in this target's list; None if none fit."""
        if isinstance(tags, frozenset):
            try:
                return self._tag_answers[tags]
            except KeyError:
                pass
        ranks = self._ranks
        rank = min((ranks[t] for t in tags if t in ranks), default=None)
        if isinstance(tags, frozenset):
            self._tag_answers[tags] = rank
        return rank


def _freeze(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(env.items()))


def _host_platform_target(python: PythonSpec) -> Target:
    host = default_environment()
    platform_keys = (
        "os_name",
        "platform_machine",
        "platform_release",
        "platform_system",
        "platform_version",
        "sys_platform",
    )
    env = {**{key: str(host[key]) for key in platform_keys}, **python.markers()}  # type: ignore[literal-required]
    return Target(
        name=python.label,
        description=f"CPython {python.shown} on any platform "
        f"(markers of this host: {host['sys_platform']} {host['platform_machine']})",
        environment=_freeze(env),
        tags=cpython_spec_tags(python, list(platform_tags())),
        platform_open=True,
    )


# ---------------------------------------------------------------------------------------------
# Another interpreter: one run of the probe, then tags computed here


def probe_python(
    python: Path | str, *, platform_open: bool = False
) -> tuple[Target, InterpreterFacts]:
    """Run the interpreter ``python`` names once: its ``Target`` and every fact it reported.

    Besides what the target is made of, the facts hold what a caller installing into that
    interpreter needs from the same run (paths, prefixes, ``has_pip``).
    """
    facts = probe_interpreter(python)
    return target_from_facts(facts, platform_open=platform_open), facts


def target_from_facts(facts: InterpreterFacts, *, platform_open: bool = False) -> Target:
    """The ``Target`` of an interpreter, from what its probe reported."""
    env = {key: facts.markers.get(key, "") for key in MARKER_KEYS}
    major, minor = facts.version_info[:2]
    nodot = facts.py_version_nodot or f"{major}{minor}"
    implementation = env["implementation_name"]
    short = _SHORT_NAMES.get(implementation, implementation)
    platforms, platform_label, platform_text = _facts_platforms(facts)
    if short == "cp":
        tags = unique_tags(
            [
                *cpython_tags((major, minor), _facts_abis(facts), platforms),
                *compatible_tags((major, minor), f"cp{nodot}", platforms),
            ]
        )
    else:
        tags = unique_tags(
            [
                *generic_tags(f"{short}{nodot}", _generic_abis(facts), platforms),
                *compatible_tags((major, minor), "pp3" if short == "pp" else None, platforms),
            ]
        )
    threading = "t" if facts.free_threading else ""
    prefix = "py" if short == "cp" else short
    return Target(
        name=f"{prefix}{major}{minor}{threading}-{platform_label}",
        description=f"{env['platform_python_implementation']} {env['python_full_version']}"
        f"{' (free-threaded)' if threading else ''} at {facts.interpreter} on {platform_text}",
        environment=_freeze(env),
        tags=tags,
        platform_open=platform_open,
    )


_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}


def _version_pair(text: str | None) -> tuple[int, int] | None:
    match = re.search(r"(\d+)\.(\d+)", text or "")
    return (int(match[1]), int(match[2])) if match else None


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def _facts_platforms(facts: InterpreterFacts) -> tuple[list[str], str, str]:
    """The platform tags, a label for names and a description, from an interpreter's facts."""
    sysconfig_platform = facts.sysconfig_platform
    system = facts.markers.get("platform_system", "")
    if system == "Linux" and sysconfig_platform.startswith("linux-"):
        arch = _normalize(sysconfig_platform.split("-", 1)[1])
        if not facts.is_64bit:
            # A 32-bit interpreter on a 64-bit kernel runs the 32-bit flavour of the CPU.
            arch = {"x86_64": "i686", "aarch64": "armv7l"}.get(arch, arch)
        glibc = _version_pair(facts.glibc)
        musl = _version_pair(facts.musl)
        tags = linux_platform_tags(arch, glibc=glibc, musl=musl)
        libc = (
            f"manylinux_{glibc[0]}_{glibc[1]}"
            if glibc
            else f"musllinux_{musl[0]}_{musl[1]}"
            if musl
            else "unknown libc"
        )
        label = "linux" if arch == "x86_64" else f"linux-{arch}"
        if musl and not glibc:
            label += "-musl"
        return tags, label, f"linux {arch} ({libc})"
    if system == "Darwin":
        version = _version_pair(facts.mac_version) or DEFAULT_MACOS
        arch = facts.markers.get("platform_machine", "")
        if not facts.is_64bit:
            arch = "ppc" if arch.startswith("ppc") else "i386"
        tags = list(mac_platforms(version, arch))
        return tags, f"macos-{arch}", f"macos {arch} (macOS {version[0]}.{version[1]})"
    if system == "Windows" or sysconfig_platform.startswith("win"):
        tag = _normalize(sysconfig_platform)
        label = "windows" if tag == "win_amd64" else f"windows-{WINDOWS_LABELS.get(tag, tag)}"
        return [tag], label, f"windows {WINDOWS_LABELS.get(tag, tag)}"
    tag = _normalize(sysconfig_platform)
    return [tag], tag, sysconfig_platform


def _facts_abis(facts: InterpreterFacts) -> list[str]:
    major, minor = facts.version_info[:2]
    nodot = f"{major}{minor}"
    threading = "t" if facts.free_threading else ""
    debug = "d" if facts.debug else ""
    if (major, minor) < (3, 8):
        pymalloc = "m" if facts.pymalloc else ""
        return [f"cp{nodot}{debug}{pymalloc}"]
    abis = [f"cp{nodot}{threading}{debug}"]
    if debug:
        # Debug builds load ordinary extension modules too.
        abis.append(f"cp{nodot}{threading}")
    return abis


def _generic_abis(facts: InterpreterFacts) -> list[str]:
    parts = facts.ext_suffix.split(".")
    soabi = parts[1] if len(parts) >= 3 else facts.soabi
    if soabi.startswith("pypy"):
        soabi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        soabi = "-".join(soabi.split("-")[:3])
    return [_normalize(soabi)] if soabi else []
