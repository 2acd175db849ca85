"""Targets named by a spec: CPython versions, platforms, and the wheel tags they accept.

``PLATFORM_GRAMMAR`` is what ``--platform`` accepts. Everything here is computed from the spec
alone: no interpreter of that version, and nothing of this host, is consulted (except the running
interpreter's version when a spec names none).
"""

from __future__ import annotations

import platform as _platform_module
import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms

from pinlock.errors import ConfigError

__all__ = [
    "DEFAULT_MACOS",
    "PLATFORM_GRAMMAR",
    "WINDOWS_LABELS",
    "PlatformSpec",
    "PythonSpec",
    "cpython_spec_tags",
    "linux_platform_tags",
    "parse_platform",
    "parse_python_version",
    "unique_tags",
]

PLATFORM_GRAMMAR = (
    "linux[-ARCH[-manylinux_X_Y|-musllinux_X_Y]] (ARCH x86_64 (default), aarch64, i686, armv7l, "
    "ppc64le, s390x, riscv64; glibc default manylinux_2_28), "
    "macos[-ARCH[-MAJOR[.MINOR]]] (ARCH arm64 (default) or x86_64; version default 12.0), "
    "windows[-ARCH] (ARCH amd64 (default), arm64, x86 or win32)"
)


def unique_tags(tags: Iterable[Tag]) -> tuple[Tag, ...]:
    """``tags`` in their order, each once."""
    return tuple(dict.fromkeys(tags))


# ---------------------------------------------------------------------------------------------
# Python version of a spec


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonSpec:
    """A CPython version as a spec names it (``3.12``, ``3.12.4``, ``3.13t``)."""

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


def parse_python_version(value: str | None) -> PythonSpec:
    if value is None:
        info = sys.version_info
        return PythonSpec(
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
    return PythonSpec(
        major=major,
        minor=minor,
        full=full,
        shown=text.removesuffix("t") + (" (free-threaded)" if free_threading else ""),
        free_threading=free_threading,
    )


def cpython_spec_tags(python: PythonSpec, platforms: Sequence[str]) -> tuple[Tag, ...]:
    version = (python.major, python.minor)
    return unique_tags(
        [
            *cpython_tags(version, python.abis(), platforms),
            *compatible_tags(version, f"cp{python.nodot}", platforms),
        ]
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
WINDOWS_LABELS = {"win_amd64": "amd64", "win_arm64": "arm64", "win32": "x86"}

_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_LEGACY_MANYLINUX_NAMES = {name: version for version, name in _LEGACY_MANYLINUX.items()}
_DEFAULT_GLIBC = (2, 28)
_DEFAULT_MUSL = (1, 2)
DEFAULT_MACOS = (12, 0)


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
class PlatformSpec:
    """A platform as a spec names it (see ``PLATFORM_GRAMMAR``)."""

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
            if self.macos != DEFAULT_MACOS:
                parts.append(f"{self.macos[0]}.{self.macos[1]}")
            return "-".join(parts)
        if self.arch == "win_amd64":
            return "windows"
        return f"windows-{WINDOWS_LABELS[self.arch]}"

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
        return f"windows {WINDOWS_LABELS[self.arch]}"

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


def parse_platform(value: str) -> PlatformSpec:
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
        return PlatformSpec(system="windows", arch=_WINDOWS_ARCHES[arch][0])
    raise _platform_error(value, f"unknown operating system {system!r}")


_LIBC_RE = re.compile(r"(manylinux|musllinux)(?:_(\d+)_(\d+))?")


def _parse_linux(value: str, rest: list[str]) -> PlatformSpec:
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
        return PlatformSpec(system="linux", arch=arch, glibc=_DEFAULT_GLIBC)
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
            return PlatformSpec(system="linux", arch=arch, musl=musl)
        glibc = (int(match[2]), int(match[3])) if match[2] else _DEFAULT_GLIBC
    oldest = _oldest_glibc(arch)
    if glibc[0] != 2 or glibc < oldest:
        raise _platform_error(
            value, f"manylinux on {arch} starts at manylinux_{oldest[0]}_{oldest[1]}"
        )
    return PlatformSpec(system="linux", arch=arch, glibc=glibc)


def _parse_macos(value: str, rest: list[str]) -> PlatformSpec:
    if len(rest) > 2:
        raise _platform_error(value, "too many parts")
    arch_name = rest[0] if rest else "arm64"
    if arch_name not in _MACOS_ARCHES:
        raise _platform_error(value, f"unknown macOS architecture {arch_name!r}")
    arch = _MACOS_ARCHES[arch_name]
    version = DEFAULT_MACOS
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
    return PlatformSpec(system="macos", arch=arch, macos=version)
