"""pip's configuration files, located as pip locates them: checked against ``pip config debug``
here (Linux), and as pure functions of the platform for macOS and Windows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pinlock.index import configfiles
from pinlock.index.config import load_pip_settings
from pinlock.index.configfiles import pip_config_files
from tests.sync_helpers import make_venv

_VARIANT = re.compile(r"^(\w+):$")
_FILE = re.compile(r"^  (?! )(.*), exists: (?:True|False)$")

on_linux = pytest.mark.skipif(sys.platform != "linux", reason="compares with pip on Linux")


def _pip_config_debug(env: dict[str, str], *, python: Path | None = None) -> dict[str, list[str]]:
    """What ``pip config debug`` lists, per kind, in its order."""
    command = [sys.executable, "-m", "pip", "config", "debug"]
    if python is not None:
        command[3:3] = ["--python", str(python)]
    done = subprocess.run(
        command,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    listed: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in done.stdout.splitlines():
        variant = _VARIANT.match(line)
        if variant is not None:
            current = listed.setdefault(variant[1], [])
            continue
        found = _FILE.match(line)
        if found is not None and current is not None:
            current.append(found[1])
    listed.pop("env_var", None)
    return {kind: files for kind, files in listed.items() if files}


def _grouped(files: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, path in files:
        grouped.setdefault(kind, []).append(path)
    return grouped


def _kind_order(files: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(kind for kind, _path in files))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@on_linux
@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({}, id="defaults"),
        pytest.param(
            {"XDG_CONFIG_HOME": "{tmp}/cfg", "XDG_CONFIG_DIRS": "{tmp}/sys1:{tmp}/sys2"},
            id="xdg",
        ),
        pytest.param(
            {"XDG_CONFIG_HOME": "  {tmp}/cfg ", "XDG_CONFIG_DIRS": " {tmp}/a: rel :: {tmp}/b"},
            id="xdg-blanks-and-relative-entries",
        ),
        pytest.param(
            {"XDG_CONFIG_HOME": "relative/cfg", "XDG_CONFIG_DIRS": "rel"}, id="xdg-relative"
        ),
        pytest.param({"PIP_CONFIG_FILE": "{tmp}/named.conf"}, id="config-file-exists"),
        pytest.param({"PIP_CONFIG_FILE": "{tmp}/missing.conf"}, id="config-file-missing"),
        pytest.param({"PIP_CONFIG_FILE": os.devnull}, id="config-file-devnull"),
        pytest.param({"PIP_CONFIG_FILE": ""}, id="config-file-empty"),
    ],
)
def test_same_files_as_pip_config_debug(
    tmp_path: Path, home: Path, variables: dict[str, str]
) -> None:
    (tmp_path / "named.conf").write_text("[global]\n")
    env = {"HOME": str(home)} | {k: v.format(tmp=tmp_path) for k, v in variables.items()}
    ours = pip_config_files(env)
    assert _grouped(ours) == _pip_config_debug(env)
    # pip applies them in this order (``pip config debug`` sorts the kinds by name).
    expected_order = ["global", "user", "site", "env"]
    assert _kind_order(ours) == [k for k in expected_order if k in _grouped(ours)]


@on_linux
def test_site_file_is_the_target_environment_s(tmp_path: Path, home: Path) -> None:
    python = make_venv(tmp_path / "target")
    env = {"HOME": str(home)}
    listed = _pip_config_debug(env, python=python)
    assert listed["site"] == [str(tmp_path / "target" / "pip.conf")]
    ours = pip_config_files(env, site_prefix=tmp_path / "target")
    assert _grouped(ours) == listed


def test_load_pip_settings_reads_the_target_site_file(tmp_path: Path, home: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "pip.conf").write_text("[global]\nindex-url = http://site/simple\n")
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    assert load_pip_settings(env, site_prefix=tmp_path / "target").index_url == (
        "http://site/simple"
    )
    assert load_pip_settings(env).index_url != "http://site/simple"


# -- macOS and Windows, as pure functions ---------------------------------------------------


def test_macos_defaults() -> None:
    env = {"HOME": "/Users/ann"}
    files = pip_config_files(
        env, platform="darwin", site_prefix="/venv", base_prefix="/usr/local/python3"
    )
    assert files == [
        ("global", "/Library/Application Support/pip/pip.conf"),
        ("user", "/Users/ann/.pip/pip.conf"),
        ("user", "/Users/ann/.config/pip/pip.conf"),
        ("site", "/venv/pip.conf"),
    ]


def test_macos_prefers_application_support_when_it_exists(tmp_path: Path) -> None:
    support = tmp_path / "Library" / "Application Support" / "pip"
    support.mkdir(parents=True)
    files = pip_config_files({"HOME": str(tmp_path)}, platform="darwin", site_prefix="/venv")
    assert ("user", f"{support}/pip.conf") in files
    assert ("user", f"{tmp_path}/.config/pip/pip.conf") not in files


def test_macos_homebrew_and_xdg_data_folders(tmp_path: Path) -> None:
    brew = "/opt/homebrew/opt/python@3.13/Frameworks/Python.framework/Versions/3.13"
    files = pip_config_files({"HOME": "/Users/ann"}, platform="darwin", base_prefix=brew)
    assert [path for kind, path in files if kind == "global"] == [
        "/opt/homebrew/share/pip/pip.conf",
        "/Library/Application Support/pip/pip.conf",
    ]
    data_home = tmp_path / "data"
    (data_home / "pip").mkdir(parents=True)
    env = {
        "HOME": "/Users/ann",
        "XDG_DATA_DIRS": "/d1:/d2",
        "XDG_DATA_HOME": str(data_home),
        # Not a macOS variable for pip: its user folder ignores it.
        "XDG_CONFIG_HOME": "/cfg",
    }
    files = pip_config_files(env, platform="darwin", base_prefix=brew)
    assert [path for kind, path in files if kind == "global"] == [
        "/d1/pip/pip.conf",
        "/d2/pip/pip.conf",
    ]
    assert [path for kind, path in files if kind == "user"] == [
        "/Users/ann/.pip/pip.conf",
        f"{data_home}/pip/pip.conf",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="reads Windows folders from variables")
def test_windows_paths_use_pip_ini() -> None:
    env = {
        "USERPROFILE": "C:\\Users\\ann",
        "APPDATA": "C:\\Users\\ann\\AppData\\Roaming",
        "PROGRAMDATA": "C:\\ProgramData",
        # XDG variables mean nothing to pip on Windows.
        "XDG_CONFIG_HOME": "/cfg",
        "XDG_CONFIG_DIRS": "/etc/xdg",
        "PIP_CONFIG_FILE": "D:\\missing\\pip.ini",
    }
    files = pip_config_files(env, platform="win32", site_prefix="C:\\venv")
    assert files == [
        ("global", "C:\\ProgramData\\pip\\pip.ini"),
        ("user", "C:\\Users\\ann\\pip\\pip.ini"),
        ("user", "C:\\Users\\ann\\AppData\\Roaming\\pip\\pip.ini"),
        ("site", "C:\\venv\\pip.ini"),
        ("env", "D:\\missing\\pip.ini"),
    ]


def test_unix_system_folder_comes_last_among_global_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configfiles, "_UNIX_SYSTEM_CONFIG_DIR", "/etc-test")
    files = pip_config_files({"HOME": "/home/ann", "XDG_CONFIG_DIRS": "/x"}, platform="freebsd14")
    assert [path for kind, path in files if kind == "global"] == [
        "/x/pip/pip.conf",
        "/etc-test/pip.conf",
    ]
