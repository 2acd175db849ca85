"""pinlock's pre-commit hooks, run by the real ``pre-commit`` through ``try-repo``.

The hook repository is a git copy of this project (its ``.pre-commit-hooks.yaml``, sources and
``pyproject.toml``). pre-commit installs it with pip into a hook environment; pip is pointed at a
folder of wheels packed from this environment (``tests.support.wheelhouse``), so nothing comes
from the network. The project using the hooks locks a package served from a local folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.artifacts import make_wheel
from tests.support.gitrepo import git
from tests.support.wheelhouse import CannotRepack, wheelhouse

pytest.importorskip("pre_commit", reason="pre-commit cannot be installed here")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This project as pre-commit clones it: a git repository with the hooks at its root."""
    if not (ROOT / ".pre-commit-hooks.yaml").is_file():
        pytest.skip("not run from a checkout of pinlock")
    repo = tmp_path_factory.mktemp("pinlock-hooks")
    for name in (".pre-commit-hooks.yaml", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, repo / name)
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", repo / "src", ignore=ignored)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "pinlock", cwd=repo)
    return repo


@pytest.fixture(scope="session")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pre-commit's environment: one store for the session, pip offline on a wheelhouse."""
    requirements = [Requirement(text) for text in distribution("pinlock").requires or ()]
    needs = [r.name for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]
    try:
        # setuptools: pinlock's build backend, which pip installs for an isolated build.
        wheels = wheelhouse([*needs, "setuptools"], tmp_path_factory.mktemp("wheelhouse"))
    except CannotRepack as error:
        pytest.skip(f"cannot make pinlock installable offline here: {error}")
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PRE_COMMIT", "VIRTUALENV_", "PINLOCK_"))
    }
    environ.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheels),
        PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
        VIRTUALENV_OVERRIDE_APP_DATA=str(tmp_path_factory.mktemp("virtualenv-app-data")),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    return environ


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project that locks ``alpha`` from a folder of wheels, its lock committed."""
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "alpha", "1.0")
    make_wheel(wheels, "alpha", "2.0")
    root = tmp_path / "project"
    (root / "requirements").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        "[tool.pinlock]\n"
        'inputs = ["requirements/main.in"]\n'
        f"find-links = [{str(wheels)!r}]\n"
        "no-index = true\n",
        encoding="utf-8",
    )
    (root / "requirements" / "main.in").write_text("alpha<2\n", encoding="utf-8")
    (root / "README.md").write_text("a project\n", encoding="utf-8")
    compiled = subprocess.run(
        [sys.executable, "-m", "pinlock", "compile", "-q"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr
    git("init", "-q", "-b", "main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "locked", cwd=root)
    return root


def try_repo(
    project: Path, hook_repo: Path, environ: dict[str, str], hook: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def lock_text(project: Path) -> str:
    return (project / "requirements" / "main.txt").read_text(encoding="utf-8")


def test_the_compile_hook_rewrites_a_stale_lock_and_stops_the_commit(
    project: Path, hook_repo: Path, pre_commit_env: dict[str, str]
) -> None:
    # A commit that touches nothing a lock depends on does not run the hook.
    (project / "README.md").write_text("more words\n", encoding="utf-8")
    git("add", "README.md", cwd=project)
    unrelated = try_repo(project, hook_repo, pre_commit_env, "pinlock-compile")
    assert unrelated.returncode == 0, unrelated.stdout + unrelated.stderr
    assert "(no files to check)Skipped" in unrelated.stdout

    (project / "requirements" / "main.in").write_text("alpha>=2\n", encoding="utf-8")
    git("add", "requirements/main.in", cwd=project)
    stale = try_repo(project, hook_repo, pre_commit_env, "pinlock-compile")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "files were modified by this hook" in stale.stdout
    assert "alpha==2.0" in lock_text(project)

    git("add", "requirements/main.txt", cwd=project)
    fresh = try_repo(project, hook_repo, pre_commit_env, "pinlock-compile")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Passed" in fresh.stdout


def test_the_check_hook_fails_on_a_stale_lock_and_writes_nothing(
    project: Path, hook_repo: Path, pre_commit_env: dict[str, str]
) -> None:
    fresh = try_repo(project, hook_repo, pre_commit_env, "pinlock-check", "--all-files")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Passed" in fresh.stdout

    before = lock_text(project)
    (project / "requirements" / "main.in").write_text("alpha>=2\n", encoding="utf-8")
    git("add", "requirements/main.in", cwd=project)
    stale = try_repo(project, hook_repo, pre_commit_env, "pinlock-check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "requirements/main.txt" in stale.stdout
    assert "files were modified by this hook" not in stale.stdout
    assert lock_text(project) == before
