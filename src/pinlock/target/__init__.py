"""The interpreter a lock is resolved for: its PEP 508 marker environment and its wheel tags.

A target need not be the running interpreter. It is a plain value: everything that depends on
"where will this install" (markers, requires-python, which wheels fit) asks the target, never
``sys`` or ``platform``. Three ways to get one:

- ``Target.host()``: the running interpreter.
- ``Target.from_spec("3.12", "linux-aarch64")``: any CPython version and platform, computed from
  the spec alone (no interpreter of that version is needed).
- ``Target.from_python(path)``: another interpreter (or venv), asked once for its facts.
"""

from __future__ import annotations

import json
import platform as _platform_module
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
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

from pinlock.errors import ConfigError, EnvironmentProblem

__all__ = ["MARKER_KEYS", "PLATFORM_GRAMMAR", "Target", "probe_python"]

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

PLATFORM_GRAMMAR = (
    "linux[-ARCH[-manylinux_X_Y|-musllinux_X_Y]] (ARCH x86_64 (default), aarch64, i686, armv7l, "
    "ppc64le, s390x, riscv64; glibc default manylinux_2_28), "
    "macos[-ARCH[-MAJOR[.MINOR]]] (ARCH arm64 (default) or x86_64; version default 12.0), "
    "windows[-ARCH] (ARCH amd64 (default), arm64, x86 or win32)"
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

    def __post_init__(self) -> None:
        ranks = {tag: i for i, tag in reversed(list(enumerate(self.tags)))}
        object.__setattr__(self, "_ranks", ranks)

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
        python = _parse_python_version(python_version)
        if platform is None:
            return _host_platform_target(python)
        spec = _parse_platform(platform)
        env = {**python.markers(), **spec.markers()}
        return cls(
            name=f"{python.label}-{spec.label}",
            description=f"CPython {python.shown} on {spec.description}",
            environment=_freeze(env),
            tags=_cpython_target_tags(python, spec.platform_tags()),
            platform_open=False,
        )

    @classmethod
    def from_python(cls, python: Path | str, *, platform_open: bool = False) -> Target:
        """The interpreter at ``python`` (an executable, or a venv folder), run once to learn it."""
        return probe_python(python, platform_open=platform_open)[0]

    @property
    def markers(self) -> dict[str, str]:
        """The marker environment as a fresh dict (callers may add ``extra``)."""
        return dict(self.environment)

    @property
    def python_full_version(self) -> Version:
        full = self.markers["python_full_version"]
        # Untagged CPython builds report e.g. "3.13.0+", which PEP 440 only accepts as local.
        return Version(f"{full}local" if full.endswith("+") else full)

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
        if requires_python is None or requires_python == "":
            return True
        spec = (
            requires_python
            if isinstance(requires_python, SpecifierSet)
            else SpecifierSet(requires_python)
        )
        return spec.contains(self.python_full_version, prereleases=True)

    def tag_rank(self, tags: Iterable[Tag]) -> int | None:
        """The best (lowest) position among ``tags`` in this target's list; None if none fit."""
        ranks = self._ranks
        return min((ranks[t] for t in tags if t in ranks), default=None)


def _freeze(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(env.items()))


def _unique(tags: Iterable[Tag]) -> tuple[Tag, ...]:
    return tuple(dict.fromkeys(tags))


# ---------------------------------------------------------------------------------------------
# Python version of a spec


@dataclass(frozen=True, kw_only=True, slots=True)
class _PythonSpec:
    major: int
    minor: int
    full: str  # python_full_version marker
    shown: str  # as the user gave it, for descriptions
    free_threading: bool

    @property
    def nodot(self) -> str:
        return f"{self.major}{self.minor}"

    @property
    def label(self) -> str:
        return f"py{self.nodot}{'t' if self.free_threading else ''}"

    def abis(self) -> list[str]:
        # Before 3.8 every CPython build used pymalloc and tagged its ABI with "m".
        if (self.major, self.minor) < (3, 8):
            return [f"cp{self.nodot}m"]
        return [f"cp{self.nodot}{'t' if self.free_threading else ''}"]

    def markers(self) -> dict[str, str]:
        return {
            "implementation_name": "cpython",
            "implementation_version": self.full,
            "platform_python_implementation": "CPython",
            "python_full_version": self.full,
            "python_version": f"{self.major}.{self.minor}",
        }


_PYTHON_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(t)?")


def _parse_python_version(value: str | None) -> _PythonSpec:
    if value is None:
        info = sys.version_info
        return _PythonSpec(
            major=info.major,
            minor=info.minor,
            full=_platform_module.python_version(),
            shown=f"{info.major}.{info.minor}",
            free_threading=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        )
    text = value.strip().lower()
    match = _PYTHON_VERSION_RE.fullmatch(text)
    if match is None or int(match[1]) != 3:
        raise ConfigError(
            "python version",
            value,
            "expected X.Y or X.Y.Z of CPython 3 (e.g. 3.12 or 3.12.4; "
            "a trailing 't' selects the free-threaded build, e.g. 3.13t)",
        )
    major, minor = int(match[1]), int(match[2])
    micro = int(match[3]) if match[3] is not None else 0
    free_threading = match[4] is not None
    if free_threading and minor < 13:
        raise ConfigError("python version", value, "free-threaded CPython exists from 3.13 on only")
    full = f"{major}.{minor}.{micro}"
    return _PythonSpec(
        major=major,
        minor=minor,
        full=full,
        shown=text.removesuffix("t") + (" (free-threaded)" if free_threading else ""),
        free_threading=free_threading,
    )


def _cpython_target_tags(python: _PythonSpec, platforms: Sequence[str]) -> tuple[Tag, ...]:
    version = (python.major, python.minor)
    return _unique(
        [
            *cpython_tags(version, python.abis(), platforms),
            *compatible_tags(version, f"cp{python.nodot}", platforms),
        ]
    )


def _host_platform_target(python: _PythonSpec) -> Target:
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
        tags=_cpython_target_tags(python, list(platform_tags())),
        platform_open=True,
    )


# ---------------------------------------------------------------------------------------------
# Platforms


_LINUX_ARCHES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "i686": "i686",
    "x86": "i686",
    "armv7l": "armv7l",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
_MACOS_ARCHES = {"arm64": "arm64", "aarch64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
# tag arch -> (platform tag, platform_machine marker)
_WINDOWS_ARCHES = {
    "amd64": ("win_amd64", "AMD64"),
    "x86_64": ("win_amd64", "AMD64"),
    "arm64": ("win_arm64", "ARM64"),
    "aarch64": ("win_arm64", "ARM64"),
    "x86": ("win32", "x86"),
    "win32": ("win32", "x86"),
    "i686": ("win32", "x86"),
}
_WINDOWS_LABELS = {"win_amd64": "amd64", "win_arm64": "arm64", "win32": "x86"}

_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_LEGACY_MANYLINUX_NAMES = {name: version for version, name in _LEGACY_MANYLINUX.items()}
_DEFAULT_GLIBC = (2, 28)
_DEFAULT_MUSL = (1, 2)
_DEFAULT_MACOS = (12, 0)


def _oldest_glibc(arch: str) -> tuple[int, int]:
    # manylinux1/2010 existed only for Intel; every other architecture starts at manylinux2014.
    return (2, 5) if arch in {"x86_64", "i686"} else (2, 17)


def linux_platform_tags(
    arch: str, *, glibc: tuple[int, int] | None, musl: tuple[int, int] | None
) -> list[str]:
    """Platform tags of a Linux system, most preferred first, in pip's order.

    pip (packaging 26.3) puts the native ``linux_ARCH`` first, then manylinux from the system's
    glibc down (each legacy alias right after its PEP 600 name), then musllinux.
    """
    tags = [f"linux_{arch}"]
    if glibc is not None:
        oldest = _oldest_glibc(arch)
        for minor in range(glibc[1], oldest[1] - 1, -1):
            tags.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
            legacy = _LEGACY_MANYLINUX.get((glibc[0], minor))
            if legacy is not None:
                tags.append(f"{legacy}_{arch}")
    if musl is not None:
        tags.extend(f"musllinux_{musl[0]}_{minor}_{arch}" for minor in range(musl[1], -1, -1))
    return tags


@dataclass(frozen=True, kw_only=True, slots=True)
class _PlatformSpec:
    system: str  # linux | macos | windows
    arch: str  # as wheel tags spell it: x86_64, aarch64, arm64, win_amd64...
    glibc: tuple[int, int] | None = None
    musl: tuple[int, int] | None = None
    macos: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        if self.system == "linux":
            parts = ["linux"]
            if self.arch != "x86_64":
                parts.append(self.arch)
            if self.musl is not None:
                parts.append(f"musllinux_{self.musl[0]}_{self.musl[1]}")
            elif self.glibc != _DEFAULT_GLIBC and self.glibc is not None:
                parts.append(f"manylinux_{self.glibc[0]}_{self.glibc[1]}")
            return "-".join(parts)
        if self.system == "macos":
            assert self.macos is not None
            parts = ["macos", self.arch]
            if self.macos != _DEFAULT_MACOS:
                parts.append(f"{self.macos[0]}.{self.macos[1]}")
            return "-".join(parts)
        if self.arch == "win_amd64":
            return "windows"
        return f"windows-{_WINDOWS_LABELS[self.arch]}"

    @property
    def description(self) -> str:
        if self.system == "linux":
            if self.musl is not None:
                libc = f"musllinux_{self.musl[0]}_{self.musl[1]}"
            else:
                assert self.glibc is not None
                libc = f"manylinux_{self.glibc[0]}_{self.glibc[1]}"
            return f"linux {self.arch} ({libc})"
        if self.system == "macos":
            assert self.macos is not None
            return f"macos {self.arch} (macOS {self.macos[0]}.{self.macos[1]})"
        return f"windows {_WINDOWS_LABELS[self.arch]}"

    def platform_tags(self) -> list[str]:
        if self.system == "linux":
            return linux_platform_tags(self.arch, glibc=self.glibc, musl=self.musl)
        if self.system == "macos":
            assert self.macos is not None
            return list(mac_platforms(self.macos, self.arch))
        return [self.arch]

    def markers(self) -> dict[str, str]:
        # A spec names no kernel, so platform_release and platform_version stay empty rather
        # than borrowing this host's.
        common = {"platform_release": "", "platform_version": ""}
        if self.system == "linux":
            return {
                **common,
                "os_name": "posix",
                "sys_platform": "linux",
                "platform_system": "Linux",
                "platform_machine": self.arch,
            }
        if self.system == "macos":
            return {
                **common,
                "os_name": "posix",
                "sys_platform": "darwin",
                "platform_system": "Darwin",
                "platform_machine": self.arch,
            }
        machine = next(m for tag, m in _WINDOWS_ARCHES.values() if tag == self.arch)
        return {
            **common,
            "os_name": "nt",
            "sys_platform": "win32",
            "platform_system": "Windows",
            "platform_machine": machine,
        }


def _platform_error(value: str, why: str) -> ConfigError:
    return ConfigError("platform", value, f"{why}; expected {PLATFORM_GRAMMAR}")


def _parse_platform(value: str) -> _PlatformSpec:
    parts = value.strip().lower().split("-")
    system, rest = parts[0], parts[1:]
    if system == "linux":
        return _parse_linux(value, rest)
    if system == "macos":
        return _parse_macos(value, rest)
    if system == "windows":
        if len(rest) > 1:
            raise _platform_error(value, "too many parts")
        arch = rest[0] if rest else "amd64"
        if arch not in _WINDOWS_ARCHES:
            raise _platform_error(value, f"unknown Windows architecture {arch!r}")
        return _PlatformSpec(system="windows", arch=_WINDOWS_ARCHES[arch][0])
    raise _platform_error(value, f"unknown operating system {system!r}")


_LIBC_RE = re.compile(r"(manylinux|musllinux)(?:_(\d+)_(\d+))?")


def _parse_linux(value: str, rest: list[str]) -> _PlatformSpec:
    arch = "x86_64"
    # The architecture may be left out when a libc is named ("linux-musllinux_1_2").
    if rest and not rest[0].startswith(("manylinux", "musllinux")):
        arch_name = rest.pop(0)
        if arch_name not in _LINUX_ARCHES:
            raise _platform_error(value, f"unknown Linux architecture {arch_name!r}")
        arch = _LINUX_ARCHES[arch_name]
    if len(rest) > 1:
        raise _platform_error(value, "too many parts")
    if not rest:
        return _PlatformSpec(system="linux", arch=arch, glibc=_DEFAULT_GLIBC)
    libc = rest[0]
    if libc in _LEGACY_MANYLINUX_NAMES:
        glibc = _LEGACY_MANYLINUX_NAMES[libc]
    else:
        match = _LIBC_RE.fullmatch(libc)
        if match is None:
            raise _platform_error(value, f"unknown libc {libc!r}")
        if match[1] == "musllinux":
            musl = (int(match[2]), int(match[3])) if match[2] else _DEFAULT_MUSL
            if musl[0] != 1:
                raise _platform_error(value, "musllinux versions are 1_N")
            return _PlatformSpec(system="linux", arch=arch, musl=musl)
        glibc = (int(match[2]), int(match[3])) if match[2] else _DEFAULT_GLIBC
    oldest = _oldest_glibc(arch)
    if glibc[0] != 2 or glibc < oldest:
        raise _platform_error(
            value, f"manylinux on {arch} starts at manylinux_{oldest[0]}_{oldest[1]}"
        )
    return _PlatformSpec(system="linux", arch=arch, glibc=glibc)


def _parse_macos(value: str, rest: list[str]) -> _PlatformSpec:
    if len(rest) > 2:
        raise _platform_error(value, "too many parts")
    arch_name = rest[0] if rest else "arm64"
    if arch_name not in _MACOS_ARCHES:
        raise _platform_error(value, f"unknown macOS architecture {arch_name!r}")
    arch = _MACOS_ARCHES[arch_name]
    version = _DEFAULT_MACOS
    if len(rest) == 2:
        match = re.fullmatch(r"(\d+)(?:\.(\d+))?", rest[1])
        if match is None:
            raise _platform_error(value, f"bad macOS version {rest[1]!r}")
        version = (int(match[1]), int(match[2] or 0))
        if version[0] == 10 and match[2] is None:
            raise _platform_error(value, "macOS 10 needs a minor version, e.g. 10.15")
        if not (version[0] >= 11 or (version[0] == 10 and 4 <= version[1] <= 16)):
            raise _platform_error(value, f"unsupported macOS version {rest[1]!r}")
        if arch == "arm64" and version[0] < 11:
            raise _platform_error(value, "arm64 Macs run macOS 11 or newer")
    return _PlatformSpec(system="macos", arch=arch, macos=version)


# ---------------------------------------------------------------------------------------------
# Another interpreter: one run of a stdlib-only probe, then tags computed here

# Runs on any CPython/PyPy 3.6+: no walrus, no f-string "=" and nothing outside the stdlib.
_PROBE = r"""
import json, os, platform, sys, sysconfig
# glob, re and subprocess are imported where needed: most interpreters never need them, and
# this probe's start-up time is part of every sync.

def full_version(info):
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version

def glibc():
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        return None
    return value or None

def musl():
    import glob, re, subprocess
    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        try:
            out = subprocess.run([loader], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, timeout=10).stderr
        except (OSError, subprocess.SubprocessError):
            continue
        found = re.search(r"Version (\d+)\.(\d+)", out)
        if found:
            return found.group(1) + "." + found.group(2)
    return None

def mac_version():
    release = platform.mac_ver()[0]
    if release.startswith("10.16"):
        # Built against an old SDK, Python sees the compatibility version; ask for the real one.
        import subprocess
        env = dict(os.environ, SYSTEM_VERSION_COMPAT="0")
        release = subprocess.run(
            [sys.executable, "-I", "-c", "import platform; print(platform.mac_ver()[0])"],
            stdout=subprocess.PIPE, universal_newlines=True, env=env, timeout=30,
        ).stdout.strip()
    return release or None

def extension_suffixes():
    from importlib.machinery import EXTENSION_SUFFIXES
    return EXTENSION_SUFFIXES

markers = {
    "implementation_name": sys.implementation.name,
    "implementation_version": full_version(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
config = sysconfig.get_config_var
facts = {
    "markers": markers,
    "version": list(sys.version_info[:2]),
    "py_version_nodot": config("py_version_nodot"),
    "sysconfig_platform": sysconfig.get_platform(),
    "soabi": config("SOABI"),
    "ext_suffix": config("EXT_SUFFIX"),
    "free_threading": bool(config("Py_GIL_DISABLED")),
    "debug": bool(config("Py_DEBUG")) or (
        config("Py_DEBUG") is None
        and (hasattr(sys, "gettotalrefcount") or "_d.pyd" in extension_suffixes())
    ),
    "pymalloc": config("WITH_PYMALLOC") is None or bool(config("WITH_PYMALLOC")),
    "is_64bit": sys.maxsize > 2 ** 32,
    "glibc": glibc() if sys.platform.startswith("linux") else None,
    "musl": musl() if sys.platform.startswith("linux") and not glibc() else None,
    "mac_version": mac_version() if sys.platform == "darwin" else None,
    "executable": sys.executable,
    "version_info": list(sys.version_info[:3]),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix)),
    "paths": dict(
        (key, sysconfig.get_path(key)) for key in ("purelib", "platlib", "scripts", "stdlib")
    ),
}
sys.stdout.write(json.dumps(facts))
"""

_PROBE_TIMEOUT = 60


def _find_interpreter(python: Path | str) -> Path:
    path = Path(python).expanduser()
    if not path.exists():
        found = shutil.which(str(python))
        if found is None:
            raise EnvironmentProblem(f"no Python interpreter at {python}")
        return Path(found)
    if path.is_dir():
        for candidate in ("bin/python", "bin/python3", "Scripts/python.exe"):
            if (path / candidate).is_file():
                return path / candidate
        raise EnvironmentProblem(
            f"{path} is a folder without bin/python or Scripts/python.exe; "
            "give a virtual environment or an interpreter"
        )
    return path


def _probe(executable: Path) -> dict[str, object]:
    try:
        done = subprocess.run(
            [str(executable), "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EnvironmentProblem(f"cannot run {executable} as Python: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise EnvironmentProblem(
            f"{executable} is not a Python 3 interpreter pinlock can use "
            f"(exit status {done.returncode})" + (f":\n{tail}" if tail else "")
        )
    try:
        facts = json.loads(done.stdout)
    except ValueError as exc:
        raise EnvironmentProblem(
            f"{executable} did not answer like a Python interpreter: {done.stdout[:200]!r}"
        ) from exc
    if not isinstance(facts, dict) or not isinstance(facts.get("markers"), dict):
        raise EnvironmentProblem(f"{executable} did not answer like a Python interpreter")
    return facts


def probe_python(
    python: Path | str, *, platform_open: bool = False
) -> tuple[Target, dict[str, object]]:
    """Run the interpreter at ``python`` once: its ``Target`` and every fact it reported.

    Besides what the target is made of, the facts hold what a caller installing into that
    interpreter needs from the same run: ``executable``, ``version_info`` (``[X, Y, Z]``),
    ``prefix``, ``base_prefix``, ``soabi`` and ``paths`` (``purelib``, ``platlib``, ``scripts``,
    ``stdlib``).
    """
    executable = _find_interpreter(python)
    facts = _probe(executable)
    return _target_from_facts(facts, executable, platform_open=platform_open), facts


def _version_pair(text: object) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def _facts_platforms(facts: Mapping[str, object]) -> tuple[list[str], str, str]:
    """The platform tags, a label for names and a description, from an interpreter's facts."""
    markers = facts["markers"]
    assert isinstance(markers, dict)
    sysconfig_platform = str(facts["sysconfig_platform"])
    system = str(markers["platform_system"])
    if system == "Linux" and sysconfig_platform.startswith("linux-"):
        arch = _normalize(sysconfig_platform.split("-", 1)[1])
        if not facts["is_64bit"]:
            # A 32-bit interpreter on a 64-bit kernel runs the 32-bit flavour of the CPU.
            arch = {"x86_64": "i686", "aarch64": "armv7l"}.get(arch, arch)
        glibc = _version_pair(facts.get("glibc"))
        musl = _version_pair(facts.get("musl"))
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
        version = _version_pair(facts.get("mac_version")) or _DEFAULT_MACOS
        arch = str(markers["platform_machine"])
        if not facts["is_64bit"]:
            arch = "ppc" if arch.startswith("ppc") else "i386"
        tags = list(mac_platforms(version, arch))
        return tags, f"macos-{arch}", f"macos {arch} (macOS {version[0]}.{version[1]})"
    if system == "Windows" or sysconfig_platform.startswith("win"):
        tag = _normalize(sysconfig_platform)
        label = "windows" if tag == "win_amd64" else f"windows-{_WINDOWS_LABELS.get(tag, tag)}"
        return [tag], label, f"windows {_WINDOWS_LABELS.get(tag, tag)}"
    tag = _normalize(sysconfig_platform)
    return [tag], tag, sysconfig_platform


def _facts_abis(facts: Mapping[str, object], major: int, minor: int) -> list[str]:
    nodot = f"{major}{minor}"
    threading = "t" if facts.get("free_threading") else ""
    debug = "d" if facts.get("debug") else ""
    if (major, minor) < (3, 8):
        pymalloc = "m" if facts.get("pymalloc") else ""
        return [f"cp{nodot}{debug}{pymalloc}"]
    abis = [f"cp{nodot}{threading}{debug}"]
    if debug:
        # Debug builds load ordinary extension modules too.
        abis.append(f"cp{nodot}{threading}")
    return abis


def _generic_abis(facts: Mapping[str, object]) -> list[str]:
    ext_suffix = facts.get("ext_suffix")
    parts = ext_suffix.split(".") if isinstance(ext_suffix, str) else []
    soabi = parts[1] if len(parts) >= 3 else str(facts.get("soabi") or "")
    if soabi.startswith("pypy"):
        soabi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        soabi = "-".join(soabi.split("-")[:3])
    return [_normalize(soabi)] if soabi else []


_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}


def _target_from_facts(
    facts: Mapping[str, object], executable: Path, *, platform_open: bool
) -> Target:
    raw_markers = facts["markers"]
    assert isinstance(raw_markers, dict)
    env = {key: str(raw_markers.get(key, "")) for key in MARKER_KEYS}
    version = facts["version"]
    assert isinstance(version, list)
    major, minor = int(version[0]), int(version[1])
    nodot = str(facts.get("py_version_nodot") or f"{major}{minor}")
    implementation = env["implementation_name"]
    short = _SHORT_NAMES.get(implementation, implementation)
    platforms, platform_label, platform_text = _facts_platforms(facts)
    if short == "cp":
        tags = _unique(
            [
                *cpython_tags((major, minor), _facts_abis(facts, major, minor), platforms),
                *compatible_tags((major, minor), f"cp{nodot}", platforms),
            ]
        )
    else:
        tags = _unique(
            [
                *generic_tags(f"{short}{nodot}", _generic_abis(facts), platforms),
                *compatible_tags((major, minor), "pp3" if short == "pp" else None, platforms),
            ]
        )
    threading = "t" if facts.get("free_threading") else ""
    prefix = "py" if short == "cp" else short
    return Target(
        name=f"{prefix}{major}{minor}{threading}-{platform_label}",
        description=f"{env['platform_python_implementation']} {env['python_full_version']}"
        f"{' (free-threaded)' if threading else ''} at {executable} on {platform_text}",
        environment=_freeze(env),
        tags=tags,
        platform_open=platform_open,
    )
