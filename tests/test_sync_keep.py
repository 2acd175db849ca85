"""``sync --keep``: what no lock lists stays, such as the package under test (pip-tools #1158)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.errors import ConfigError
from pinlock.sync import SyncRequest, sync
from pinlock.sync.environment import InstalledDist, inspect_environment
from pinlock.sync.keep import is_project_path, kept_names
from pinlock.sync.plan import Action, make_plan
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import editable_project, freeze, make_venv, pip_install, sha256_hex


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    make_wheel(folder, "alpha", "1.0")
    make_wheel(folder, "junk", "1")
    # The package under test needs beta, which needs gamma; delta only on Python 2.
    make_wheel(folder, "demo", "0.1", requires_dist=["beta", "delta; python_version < '3'"])
    make_wheel(folder, "beta", "1.0", requires_dist=["gamma>=1"])
    make_wheel(folder, "gamma", "1.0")
    make_wheel(folder, "delta", "1.0")
    return folder


@pytest.fixture
def venv(tmp_path: Path, wheels: Path) -> Path:
    """A venv like tox leaves it: the lock's alpha, the package under test (demo) with its
    dependencies, and something unlisted (junk, delta)."""
    python = make_venv(tmp_path / "venv")
    pip_install(python, *(str(wheel) for wheel in sorted(wheels.glob("*.whl"))))
    return python


def _lock(tmp_path: Path, wheels: Path) -> Path:
    wheel = wheels / "alpha-1.0-py3-none-any.whl"
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"alpha==1.0 --hash=sha256:{sha256_hex(wheel)}\n", encoding="utf-8")
    return lock


def _project_folder(tmp_path: Path, name: str = "demo") -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1"\n')
    return folder


def test_the_plan_keeps_kept_names_and_says_why() -> None:
    have = InstalledDist(
        name=canonicalize_name("Demo"),
        display_name="Demo",
        version=Version("0.1"),
        raw_version="0.1",
        info_dir=Path("/nowhere/demo-0.1.dist-info"),
    )
    plain = make_plan([], [have], python_version=(3, 12, 0))
    kept = make_plan([], [have], python_version=(3, 12, 0), kept={canonicalize_name("demo")})
    assert [(s.action, s.reason) for s in plain.steps] == [(Action.REMOVE, "")]
    assert [(s.action, s.reason) for s in kept.steps] == [(Action.KEEP, "kept")]


def test_a_kept_name_keeps_what_it_requires_for_this_environment(venv: Path) -> None:
    env = inspect_environment(venv)
    assert kept_names(env, ["Demo"]) == {"demo", "beta", "gamma"}
    assert kept_names(env, ["gamma"]) == {"gamma"}
    assert kept_names(env, ["not-installed"]) == frozenset()
    with pytest.raises(ConfigError, match="not a project name"):
        kept_names(env, ["no good!"])


def test_a_folder_keeps_its_project(venv: Path, tmp_path: Path) -> None:
    folder = _project_folder(tmp_path)
    env = inspect_environment(venv)
    assert kept_names(env, [str(folder)]) == {"demo", "beta", "gamma"}
    assert is_project_path(".") and is_project_path("./sub") and not is_project_path("demo")


def test_a_folder_without_a_static_name_keeps_what_is_installed_from_it(
    tmp_path: Path,
) -> None:
    python = make_venv(tmp_path / "venv", with_pip=True)
    # The tiny backend's pyproject.toml has no [project] table: the name is the backend's.
    project = editable_project(tmp_path / "dyn", "dynproj", "1.0")
    pip_install(python, "--no-build-isolation", "-e", str(project))
    env = inspect_environment(python)
    assert kept_names(env, [str(project)]) == {"dynproj"}
    other = editable_project(tmp_path / "other", "otherproj", "1.0")
    with pytest.raises(ConfigError, match="give --keep NAME"):
        kept_names(env, [str(other)])
    with pytest.raises(ConfigError, match="no such folder"):
        kept_names(env, [str(tmp_path / "missing")])


def test_sync_removes_the_package_under_test_unless_kept(
    venv: Path, wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _lock(tmp_path, wheels)
    before = freeze(venv)
    plain = sync(SyncRequest(locks=(lock,), python=venv, dry_run=True))
    assert {s.name for s in plain.plan.changes} == {"demo", "beta", "gamma", "delta", "junk"}

    monkeypatch.chdir(_project_folder(tmp_path))
    with IndexServer(wheels) as server:
        report = sync(
            SyncRequest(
                locks=(lock,),
                python=venv,
                keep=(".",),
                index_overrides={"index-url": server.url},
                cache_dir=tmp_path / "cache",
            )
        )
    assert report.applied is not None and set(report.applied.removed) == {"delta", "junk"}
    assert freeze(venv) == [p for p in before if not p.startswith(("delta", "junk"))]


def test_the_lock_still_decides_a_kept_name_it_lists(
    venv: Path, wheels: Path, tmp_path: Path
) -> None:
    make_wheel(wheels, "gamma", "2.0")
    lock = tmp_path / "lock.txt"
    digest = sha256_hex(wheels / "gamma-2.0-py3-none-any.whl")
    lock.write_text(f"gamma==2.0 --hash=sha256:{digest}\n", encoding="utf-8")
    report = sync(SyncRequest(locks=(lock,), python=venv, keep=("demo",), dry_run=True))
    actions: dict[str, Action] = {s.name: s.action for s in report.plan.steps}
    assert actions["gamma"] is Action.UPGRADE
    assert actions["demo"] is actions["beta"] is Action.KEEP
    assert actions["alpha"] is actions["junk"] is Action.REMOVE


def test_pinlock_sync_keep_on_the_command_line_and_in_its_table(
    venv: Path, wheels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinlock.cli.sync import main

    lock = _lock(tmp_path, wheels)

    def plan(*args: str) -> list[str]:
        with pytest.raises(SystemExit):
            main(["--python", str(venv), "--dry-run", *args, str(lock)])
        return capsys.readouterr().out.splitlines()

    assert "- demo 0.1" in plan()
    kept = plan("--keep", "demo", "--keep", "junk")
    assert [line for line in kept if line.startswith("-")] == ["- delta 1.0"]
    (tmp_path / "pyproject.toml").write_text('[tool.pinlock.sync]\nkeep = ["demo"]\n')
    assert "- demo 0.1" not in plan() and "- junk 1" in plan()
