"""pinlock with real tox 4: the plugin, and the ``commands_pre`` recipe with ``sync --keep .``.

The project under test builds with the tests' in-tree backend and its locks point at a folder
of wheels, so tox needs no index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.support.artifacts import make_wheel, sdist_tree
from tests.sync_helpers import editable_project, freeze, pip_install, sha256_hex

pytest.importorskip("tox", reason="tox cannot be installed here")

pytestmark = pytest.mark.slow

TARGET = "py{}{}".format(*sys.version_info[:2])
# -I: the project's own folder on sys.path would import a package that is not installed.
CHECK = (
    "python -I -c \"import toxdemo, alpha; print('ok', toxdemo.__version__, alpha.__version__)\""
)


@pytest.fixture(scope="session")
def app_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """virtualenv's seed wheels unpacked once per session, outside the user's home."""
    return tmp_path_factory.mktemp("virtualenv-app-data")


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    for version in ("1.0", "2.0"):
        make_wheel(folder, "alpha", version)
    make_wheel(folder, "junk", "1")
    make_wheel(folder, "keepme", "1")
    return folder


@pytest.fixture
def project(tmp_path: Path, wheels: Path) -> Path:
    """``toxdemo``: a package with a static name, built offline by the tests' backend."""
    root = tmp_path / "toxdemo"
    for relative, data in sdist_tree("toxdemo", "0.1").items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[project]\nname = "toxdemo"\nversion = "0.1"\n')
    write_lock(root / "requirements" / f"dev-{TARGET}.txt", wheels, "1.0")
    return root


def write_lock(path: Path, wheels: Path, version: str) -> Path:
    wheel = wheels / f"alpha-{version}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"--no-index\n--find-links {wheels}\nalpha=={version} --hash=sha256:{sha256_hex(wheel)}\n",
        encoding="utf-8",
    )
    return path


def tox(project: Path, app_data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """tox 4 run in ``project`` with the interpreter running the tests (and pinlock)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "VIRTUALENV_"))}
    environ["VIRTUALENV_OVERRIDE_APP_DATA"] = str(app_data)
    return subprocess.run(
        [sys.executable, "-m", "tox", "run", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_plugin_is_registered_for_tox() -> None:
    plugins = {entry.name: entry.value for entry in entry_points(group="tox")}
    assert plugins.get("pinlock") == "pinlock.tox_plugin", (
        "pinlock's tox entry point is missing: reinstall pinlock (make .venv/.installed)"
    )


def test_the_plugin_syncs_every_run_and_keeps_the_package_under_test(
    project: Path, wheels: Path, app_data: Path
) -> None:
    (project / "tox.ini").write_text(
        "[tox]\nenv_list = py\n\n"
        "[testenv]\npackage = wheel\n"
        'commands = python -I -c "import toxdemo"\n\n'
        "[testenv:py]\n"
        "pinlock_locks = requirements/dev-{pinlock_target}.txt\n"
        "pinlock_keep = keepme\n"
        f"commands = {CHECK}\n\n"
        f"[testenv:plain]\ndeps = {wheels / 'junk-1-py3-none-any.whl'}\n",
        encoding="utf-8",
    )
    first = tox(project, app_data, "-e", "py")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"synced to requirements/dev-{TARGET}.txt: 1 install" in first.stdout
    assert "ok 0.1 1.0" in first.stdout

    # Between runs the environment drifts and the lock moves on.
    python = project / ".tox" / "py" / "bin" / "python"
    pip_install(
        python, *(str(wheels / f"{name}-1-py3-none-any.whl") for name in ("junk", "keepme"))
    )
    write_lock(project / "requirements" / f"dev-{TARGET}.txt", wheels, "2.0")
    second = tox(project, app_data, "-e", "py")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 upgrade, 1 remove" in second.stdout
    assert "ok 0.1 2.0" in second.stdout
    assert _unseeded(freeze(python)) == ["alpha==2.0", "keepme==1", "toxdemo==0.1"]

    third = tox(project, app_data, "-e", "py")
    assert third.returncode == 0, third.stdout + third.stderr
    assert f"matches requirements/dev-{TARGET}.txt" in third.stdout

    # Where pinlock_locks is not set, the plugin does nothing.
    plain = tox(project, app_data, "-e", "plain")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "pinlock" not in plain.stdout
    assert "junk==1" in freeze(project / ".tox" / "plain" / "bin" / "python")

    # A lock pinlock cannot read fails the environment, saying why.
    (project / "requirements" / f"dev-{TARGET}.txt").unlink()
    missing = tox(project, app_data, "-e", "py")
    assert missing.returncode == 1
    assert "failed with pinlock sync: " in missing.stdout
    assert f"dev-{TARGET}.txt" in missing.stdout


def test_the_plugin_keeps_an_editable_package_under_test(
    tmp_path: Path, wheels: Path, app_data: Path
) -> None:
    # tox's `package = editable` (PEP 660): the sync before `deps` must leave it installed.
    root = editable_project(tmp_path / "editable", "toxdemo", "0.1")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[project]\nname = "toxdemo"\nversion = "0.1"\n')
    lock = write_lock(root / "requirements" / f"dev-{TARGET}.txt", wheels, "1.0")
    (root / "tox.ini").write_text(
        "[tox]\nenv_list = py\n\n"
        "[testenv]\npackage = editable\n"
        "pinlock_locks = requirements/dev-{pinlock_target}.txt\n"
        f"commands = {CHECK}\n",
        encoding="utf-8",
    )
    first = tox(root, app_data)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ok 0.1 1.0" in first.stdout

    python = root / ".tox" / "py" / "bin" / "python"
    # tox installs the editable wheel the backend built: a .pth pointing at the project.
    (pth,) = (root / ".tox" / "py" / "lib").glob("python*/site-packages/toxdemo.pth")
    assert pth.read_text().strip() == str(root)
    assert "toxdemo==0.1" in freeze(python)
    write_lock(lock, wheels, "2.0")
    second = tox(root, app_data)
    assert second.returncode == 0, second.stdout + second.stderr
    synced = [line for line in second.stdout.splitlines() if "pinlock sync:" in line]
    assert len(synced) == 1 and synced[0].endswith(
        f"synced to requirements/dev-{TARGET}.txt: 1 upgrade"
    )
    assert "ok 0.1 2.0" in second.stdout


def test_a_commands_pre_sync_keeps_the_package_under_test_only_with_keep(
    project: Path, app_data: Path
) -> None:
    lock = f"requirements/dev-{TARGET}.txt"

    def tox_ini(keep: str) -> None:
        (project / "tox.ini").write_text(
            "[tox]\nenv_list = py\n\n"
            f"[testenv]\npackage = wheel\ndeps = -r {lock}\n"
            f"allowlist_externals = {sys.executable}\n"
            f"commands_pre = {sys.executable} -m pinlock sync --python {{envpython}}{keep} {lock}\n"
            f"commands = {CHECK}\n",
            encoding="utf-8",
        )

    # The issue as reported: the recipe removes the package tox just installed.
    tox_ini("")
    removed = tox(project, app_data)
    assert removed.returncode != 0, removed.stdout
    assert "- toxdemo 0.1" in removed.stdout
    assert "ModuleNotFoundError: No module named 'toxdemo'" in removed.stdout + removed.stderr

    tox_ini(" --keep .")
    kept = tox(project, app_data)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "- toxdemo" not in kept.stdout
    assert "ok 0.1 1.0" in kept.stdout


def _unseeded(installed: list[str]) -> list[str]:
    """Without what virtualenv seeds (pip, and setuptools and wheel on some versions)."""
    return [line for line in installed if not line.startswith(("pip==", "setuptools==", "wheel=="))]
