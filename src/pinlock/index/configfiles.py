"""Where pip looks for its configuration files, on Linux (and other Unixes), macOS and Windows.

The facts, from pip's ``configuration.py`` and ``utils/appdirs.py`` over platformdirs, weakest
file first (pip lists them in this order and lets later files win):

- ``global``: platformdirs' site config folders for ``pip`` (on Unix ``$XDG_CONFIG_DIRS`` or
  ``/etc/xdg``, then ``/etc`` added by pip; on macOS the *data* folders: ``$XDG_DATA_DIRS``, else
  Homebrew's ``share`` when the interpreter is Homebrew's, then ``/Library/Application Support``;
  on Windows the common application data folder, ``C:\\ProgramData``);
- ``user`` (left out when ``PIP_CONFIG_FILE`` names an existing file): the legacy file
  (``~/.pip/pip.conf``, ``~\\pip\\pip.ini`` on Windows), then the user config folder
  (``$XDG_CONFIG_HOME`` or ``~/.config`` on Unix; on macOS ``$XDG_DATA_HOME`` or
  ``~/Library/Application Support`` when that folder exists, else ``~/.config``; on Windows the
  roaming application data folder, ``%APPDATA%``);
- ``site``: ``pip.conf`` in ``sys.prefix`` of the interpreter pip installs into;
- ``env``: ``PIP_CONFIG_FILE``.

The file is ``pip.ini`` on Windows and ``pip.conf`` elsewhere. XDG variables count only when they
hold absolute paths (surrounding blanks stripped), as platformdirs reads them.
"""

from __future__ import annotations

import ntpath
import posixpath
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import platformdirs

__all__ = ["pip_config_files"]

_APP = "pip"
# pip adds /etc after the XDG system folders on every Unix but macOS.
_UNIX_SYSTEM_CONFIG_DIR = "/etc"
_MACOS_SITE_DIR = "/Library/Application Support"
# A Homebrew Python is a framework build under $HOMEBREW_PREFIX/opt/python*/; venvs keep it as
# their base prefix. platformdirs then adds $HOMEBREW_PREFIX/share before the system folder.
_HOMEBREW_PYTHON = re.compile(
    r"(?P<prefix>.+)/opt/python[^/]*/Frameworks/Python\.framework/Versions/[^/]+"
)


def pip_config_files(
    env: Mapping[str, str],
    *,
    platform: str = sys.platform,
    site_prefix: Path | str | None = None,
    base_prefix: Path | str | None = None,
) -> list[tuple[str, str]]:
    """``(kind, path)`` of every configuration file pip considers, weakest first.

    ``env`` stands for the environment variables; ``platform`` is a ``sys.platform`` value
    (``linux``, ``darwin``, ``win32``); ``site_prefix`` is ``sys.prefix`` of the environment pip
    installs into (default: this interpreter's), ``base_prefix`` its ``sys.base_prefix`` (only
    macOS looks at it).
    """
    windows = platform == "win32"
    join = ntpath.join if windows else posixpath.join
    basename = "pip.ini" if windows else "pip.conf"
    home = _home(env, windows=windows)
    base = sys.base_prefix if base_prefix is None else str(base_prefix)
    files = [
        ("global", join(folder, basename)) for folder in _site_config_dirs(env, platform, base)
    ]
    config_file = env.get("PIP_CONFIG_FILE")
    # A PIP_CONFIG_FILE that exists replaces the per-user files.
    if not (config_file and Path(config_file).exists()):
        legacy = join(home, "pip" if windows else ".pip", basename)
        user = join(_user_config_dir(env, platform, home), basename)
        files += [("user", legacy), ("user", user)]
    prefix = sys.prefix if site_prefix is None else str(site_prefix)
    files.append(("site", join(prefix, basename)))
    if config_file is not None:
        files.append(("env", config_file))
    return files


def _site_config_dirs(env: Mapping[str, str], platform: str, base_prefix: str) -> list[str]:
    if platform == "win32":
        # pip takes the one folder, never split on os.pathsep.
        return [_windows_pip_folder(env, "COMMON_APPDATA")]
    if platform == "darwin":
        # pip reads the site *data* folders on macOS.
        xdg = _xdg_dirs(env, "XDG_DATA_DIRS")
        if xdg:
            return [posixpath.join(folder, _APP) for folder in xdg]
        homebrew = _homebrew_prefix(base_prefix)
        folders = [posixpath.join(homebrew, "share")] if homebrew else []
        return [posixpath.join(folder, _APP) for folder in [*folders, _MACOS_SITE_DIR]]
    folders = _xdg_dirs(env, "XDG_CONFIG_DIRS") or ["/etc/xdg"]
    return [*(posixpath.join(folder, _APP) for folder in folders), _UNIX_SYSTEM_CONFIG_DIR]


def _user_config_dir(env: Mapping[str, str], platform: str, home: str) -> str:
    if platform == "win32":
        return _windows_pip_folder(env, "APPDATA")
    if platform == "darwin":
        # ~/Library/Application Support/pip when it exists, else a Linux-like ~/.config/pip
        # (pip's own rule: $XDG_CONFIG_HOME plays no part on macOS).
        data_home = _xdg_dir(env, "XDG_DATA_HOME") or posixpath.join(
            home, "Library", "Application Support"
        )
        preferred = posixpath.join(data_home, _APP)
        if Path(preferred).is_dir():
            return preferred
        return posixpath.join(home, ".config", _APP)
    config_home = _xdg_dir(env, "XDG_CONFIG_HOME") or posixpath.join(home, ".config")
    return posixpath.join(config_home, _APP)


def _home(env: Mapping[str, str], *, windows: bool) -> str:
    """``~`` as ``os.path.expanduser`` reads it from these variables."""
    if windows:
        if env.get("USERPROFILE"):
            return env["USERPROFILE"]
        if env.get("HOMEPATH"):
            return ntpath.join(env.get("HOMEDRIVE", ""), env["HOMEPATH"])
    elif env.get("HOME"):
        return env["HOME"]
    return str(Path.home())


def _windows_pip_folder(env: Mapping[str, str], name: str) -> str:
    """``pip`` in a Windows known folder (``APPDATA`` roaming, or ``COMMON_APPDATA``): asked of
    Windows through platformdirs on Windows, as pip does; read from the environment variables
    that name those folders when describing a Windows machine from elsewhere."""
    if sys.platform == "win32":
        if name == "APPDATA":
            return platformdirs.user_config_dir(_APP, appauthor=False, roaming=True)
        return platformdirs.site_config_dir(_APP, appauthor=False)
    variables = {"APPDATA": ("APPDATA",), "COMMON_APPDATA": ("PROGRAMDATA", "ALLUSERSPROFILE")}
    for variable in variables[name]:
        if env.get(variable):
            return ntpath.join(env[variable], _APP)
    if name == "COMMON_APPDATA":
        return ntpath.join("C:\\ProgramData", _APP)
    return ntpath.join(_home(env, windows=True), "AppData", "Roaming", _APP)


def _homebrew_prefix(base_prefix: str) -> str | None:
    match = _HOMEBREW_PYTHON.fullmatch(base_prefix)
    return match["prefix"] if match else None


def _xdg_dir(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value if posixpath.isabs(value) else None


def _xdg_dirs(env: Mapping[str, str], name: str) -> list[str]:
    stripped = (folder.strip() for folder in env.get(name, "").split(":"))
    return [folder for folder in stripped if posixpath.isabs(folder)]
