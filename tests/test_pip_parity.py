"""pip is the oracle: under the same pip configuration, pinlock locks what pip would install.

Each case sets up a machine's pip configuration (``PIP_*`` variables, global, user and legacy
user files under a temporary HOME/XDG_CONFIG_HOME/XDG_CONFIG_DIRS, a ``PIP_CONFIG_FILE``),
compiles a small requirement set against the local test index, asks the real pip what it
would install (``pip install --dry-run --report --ignore-installed``) and compares; then pip
installs the lock into a fresh venv under that configuration, which must succeed and give the
lock's versions. The machine's own /etc/xdg is replaced by the temporary XDG_CONFIG_DIRS; pip
(and so pinlock) still reads /etc/pip.conf, which cannot be turned off short of reading no file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from pinlock.compile import CompileRequest, compile_locks
from pinlock.errors import PipFailed
from pinlock.sync.piprun import run_pip
from tests.support.compiling import pinned_versions
from tests.support.index_server import IndexServer
from tests.sync_helpers import make_venv

Factory = Callable[..., Path]


@dataclass(frozen=True, kw_only=True)
class Case:
    """A configuration and a requirement set. ``config`` maps a file kind (``global``, ``user``,
    ``legacy``, ``env-file``) to its text; ``files`` are written to the working folder;
    ``{index}``, ``{links}`` and ``{here}`` are filled in everywhere. ``picks`` is what pip
    is expected to choose, so that each case shows the setting doing something."""

    name: str
    requirements: str
    picks: Mapping[str, str]
    env: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)


CASES = [
    Case(
        name="variables: index-url and a relative constraint file",
        requirements="delta\n",
        env={"PIP_INDEX_URL": "{index}", "PIP_CONSTRAINT": "limits.txt"},
        files={"limits.txt": "alpha<2\n"},
        picks={"alpha": "1.1", "delta": "1.0"},
    ),
    Case(
        name="global file: pre in [install]",
        requirements="alpha\n",
        config={"global": "[global]\nindex-url = {index}\n[install]\npre = yes\n"},
        picks={"alpha": "2.1rc1"},
    ),
    Case(
        name="[install] of a global file beats [global] of the user file",
        requirements="delta\n",
        config={
            "global": "[install]\nconstraint = {here}/old.txt\n",
            "user": "[global]\nindex-url = {index}\nconstraint = {here}/new.txt\n",
        },
        files={"old.txt": "alpha==1.0\n", "new.txt": "alpha==1.1\n"},
        picks={"alpha": "1.0", "delta": "1.0"},
    ),
    Case(
        name="user file: only-binary :all:",
        requirements="beta\n",
        env={"PIP_INDEX_URL": "{index}"},
        config={"user": "[global]\nonly-binary = :all:\n"},
        picks={"beta": "1.0"},
    ),
    Case(
        name="legacy user file: prefer-binary",
        requirements="beta\ngamma\n",
        config={"legacy": "[install]\nindex-url = {index}\nprefer-binary = true\n"},
        picks={"beta": "1.0", "gamma": "2.0"},
    ),
    Case(
        name="variables: no-index, find-links, no-binary",
        requirements="gamma\n",
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "{links}", "PIP_NO_BINARY": "gamma"},
        picks={"gamma": "1.0"},
    ),
    Case(
        name="PIP_CONFIG_FILE hides the user file; no-binary names beat only-binary :all:",
        requirements="beta\ngamma\n",
        config={
            "env-file": "[global]\nindex-url = {index}\nonly-binary = :all:\nno-binary = gamma\n",
            "user": "[global]\nindex-url = http://127.0.0.1:9/nowhere\n",
        },
        picks={"beta": "1.0", "gamma": "1.0"},
    ),
]


@pytest.fixture
def index(
    wheel_factory: Factory, sdist_factory: Factory, index_factory: Callable[..., IndexServer]
) -> IndexServer:
    for version in ("1.0", "1.1", "2.0", "2.1rc1"):
        wheel_factory("alpha", version)
    wheel_factory("delta", "1.0", requires_dist=["alpha>=1.0"])
    wheel_factory("beta", "1.0")
    sdist_factory("beta", "1.5")
    wheel_factory("gamma", "1.0")
    sdist_factory("gamma", "1.0")
    wheel_factory("gamma", "2.0")
    return index_factory()


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Where pip looks for configuration files on a Linux machine, all under ``tmp_path``."""
    home, config_home, config_dirs = tmp_path / "home", tmp_path / "xdg-home", tmp_path / "xdg"
    for folder in (home, config_home, config_dirs):
        folder.mkdir()
    monkeypatch.delenv("PIP_CONFIG_FILE")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(config_dirs))
    return {
        "global": config_dirs / "pip" / "pip.conf",
        "user": config_home / "pip" / "pip.conf",
        "legacy": home / ".pip" / "pip.conf",
        "env-file": tmp_path / "env-pip.conf",
    }


def _configure(
    case: Case,
    machine: Mapping[str, Path],
    index: IndexServer,
    here: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fill(text: str) -> str:
        return text.format(index=index.url, links=index.files_dir, here=here)

    for kind, text in case.config.items():
        machine[kind].parent.mkdir(parents=True, exist_ok=True)
        machine[kind].write_text(fill(text))
    if "env-file" in case.config:
        monkeypatch.setenv("PIP_CONFIG_FILE", str(machine["env-file"]))
    for name, text in case.files.items():
        (here / name).write_text(fill(text))
    for name, value in case.env.items():
        monkeypatch.setenv(name, fill(value))


def _pip_picks(requirements: Path, report: Path) -> dict[str, str]:
    """What pip would install for ``requirements`` here, name -> version."""
    run_pip(
        [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--no-cache-dir",
            "--report",
            str(report),
            "-r",
            str(requirements),
        ],
        python=Path(sys.executable),
    )
    installs = json.loads(report.read_text())["install"]
    return {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in installs
    }


def _installed(python: Path) -> dict[str, str]:
    """name -> version of every distribution in a venv, read from its ``.dist-info`` folders."""
    site = next((python.parent.parent / "lib").glob("python*/site-packages"))
    found: dict[str, str] = {}
    for dist_info in site.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").split("-", 1)
        found[canonicalize_name(name)] = version
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_pinlock_locks_what_pip_installs_under_the_same_configuration(
    case: Case,
    index: IndexServer,
    machine: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure(case, machine, index, tmp_path, monkeypatch)
    source = tmp_path / "main.in"
    source.write_text(case.requirements)

    (result,) = compile_locks(CompileRequest(inputs=(source,), cache_dir=tmp_path / "cache"))
    locked = pinned_versions(result.text)
    picked = _pip_picks(source, tmp_path / "report.json")
    assert picked == case.picks
    assert locked == picked

    # The lock names no index and no constraint: pip takes them from its configuration again.
    assert index.url not in result.text
    assert "\n-c " not in result.text
    venv_python = make_venv(tmp_path / "venv")
    run_pip(["install", "--no-cache-dir", "-r", str(result.output)], python=venv_python)
    assert _installed(venv_python) == locked


def test_a_lock_made_without_the_configuration_is_refused_by_pip(
    index: IndexServer, machine: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The oracle has teeth: the bug of issue 15, a configured constraint left out of compile."""
    source = tmp_path / "main.in"
    source.write_text("delta\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    request = CompileRequest(
        inputs=(source,), cache_dir=tmp_path / "cache", index_overrides={"index-url": index.url}
    )
    (result,) = compile_locks(request)
    assert pinned_versions(result.text)["alpha"] == "2.0"

    monkeypatch.delenv("PIP_CONFIG_FILE")
    (tmp_path / "limits.txt").write_text("alpha<2\n")
    monkeypatch.setenv("PIP_CONSTRAINT", "limits.txt")
    venv_python = make_venv(tmp_path / "venv")
    with pytest.raises(PipFailed):
        run_pip(
            ["install", "--no-cache-dir", "-i", index.url, "-r", str(result.output)],
            python=venv_python,
        )
    (result,) = compile_locks(request)  # the configuration now applies to compile as well
    assert "-c limits.txt (pip configuration)" in result.text
    run_pip(
        ["install", "--no-cache-dir", "-i", index.url, "-r", str(result.output)],
        python=venv_python,
    )
    assert _installed(venv_python) == {"alpha": "1.1", "delta": "1.0"}
