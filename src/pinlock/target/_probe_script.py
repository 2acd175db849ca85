"""What pinlock asks another interpreter about itself: its output is one JSON object on stdout.

pinlock reads this file as text and runs it with ``python -I -c``, never as a file path (on old
Pythons that would put this folder on ``sys.path``). It must run on any CPython or PyPy 3.6+:
stdlib only, no walrus, no ``f"{x=}"``, no ``capture_output``/``text`` for subprocess (3.7+),
and annotations written as strings so that they are never evaluated.
"""

import json
import os
import platform
import sys
import sysconfig

# pathlib, re, subprocess and importlib.util are imported where needed: most interpreters never
# need the first three, and this probe's start-up time is part of every sync.


def full_version(info: "tuple[int, int, int, str, int]") -> str:
    version = f"{info[0]}.{info[1]}.{info[2]}"
    if info[3] != "final":
        version += info[3][0] + str(info[4])
    return version


def glibc() -> "str | None":
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        return None
    return value or None


def musl() -> "str | None":
    import re
    import subprocess
    from pathlib import Path

    for loader in sorted(Path("/lib").glob("ld-musl-*.so.1")):
        try:
            out = subprocess.run(
                [str(loader)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
                timeout=10,
                check=False,
            ).stderr
        except (OSError, subprocess.SubprocessError):
            continue
        found = re.search(r"Version (\d+)\.(\d+)", out)
        if found:
            return found.group(1) + "." + found.group(2)
    return None


def mac_version() -> "str | None":
    release = platform.mac_ver()[0]
    if release.startswith("10.16"):
        # Built against an old SDK, Python sees the compatibility version; ask for the real one.
        import subprocess

        env = dict(os.environ, SYSTEM_VERSION_COMPAT="0")
        release = subprocess.run(
            [sys.executable, "-I", "-c", "import platform; print(platform.mac_ver()[0])"],
            stdout=subprocess.PIPE,
            universal_newlines=True,
            env=env,
            timeout=30,
            check=False,
        ).stdout.strip()
    return release or None


def is_debug_build() -> bool:
    flag = sysconfig.get_config_var("Py_DEBUG")
    if flag is not None:
        return bool(flag)
    from importlib.machinery import EXTENSION_SUFFIXES

    return hasattr(sys, "gettotalrefcount") or "_d.pyd" in EXTENSION_SUFFIXES


def has_pip() -> bool:
    # Located, not imported: importing pip costs more than this whole probe.
    import importlib.util

    return importlib.util.find_spec("pip") is not None


def markers() -> "dict[str, str]":
    info = sys.implementation.version
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": full_version(
            (info.major, info.minor, info.micro, info.releaselevel, info.serial)
        ),
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


def facts() -> "dict[str, object]":
    config = sysconfig.get_config_var
    on_linux = sys.platform.startswith("linux")
    libc = glibc() if on_linux else None
    pymalloc = config("WITH_PYMALLOC")
    return {
        "markers": markers(),
        "version_info": list(sys.version_info[:3]),
        "py_version_nodot": config("py_version_nodot"),
        "sysconfig_platform": sysconfig.get_platform(),
        "soabi": config("SOABI"),
        "ext_suffix": config("EXT_SUFFIX"),
        "free_threading": bool(config("Py_GIL_DISABLED")),
        "debug": is_debug_build(),
        "pymalloc": pymalloc is None or bool(pymalloc),
        "is_64bit": sys.maxsize > 2**32,
        "glibc": libc,
        "musl": musl() if on_linux and not libc else None,
        "mac_version": mac_version() if sys.platform == "darwin" else None,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix)),
        "paths": {
            key: sysconfig.get_path(key)
            for key in ("purelib", "platlib", "scripts", "stdlib", "data", "include")
        },
        "has_pip": has_pip(),
        "cache_tag": sys.implementation.cache_tag,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(facts()))
