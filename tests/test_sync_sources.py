"""What pip installs from source for ``pinlock sync``: editables as pip-compile, uv and pinlock
write them, a VCS commit and a local project folder; each left alone by the next sync when it is
installed from the same place already."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinlock.sync import SyncRequest, sync
from pinlock.sync.plan import Action
from tests.support.gitrepo import git
from tests.sync_helpers import editable_project, freeze, make_venv


def named_project(folder: Path) -> Path:
    """An editable project whose name only its pyproject.toml's [project] table states."""
    project = editable_project(folder, "my-app", "1.0")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[project]\nname = "My-App"\nversion = "1.0"\n')
    return project


@pytest.mark.slow
@pytest.mark.parametrize(
    "line",
    ["-e .", "-e file:.", "-e {uri}", "-e {uri}#egg=my-app", "--editable=file:."],
    ids=["pinlock-uv", "pip-compile-relative", "pip-compile-absolute", "egg", "long-option"],
)
def test_every_editable_spelling_installs_once_and_is_kept(tmp_path: Path, line: str) -> None:
    project = named_project(tmp_path / "app")
    lock = project / "requirements.txt"
    lock.write_text(line.format(uri=project.as_uri()) + "\n")
    python = make_venv(tmp_path / "venv")

    first = sync(SyncRequest(locks=(lock,), python=python, cache_dir=tmp_path / "cache"))
    again = sync(SyncRequest(locks=(lock,), python=python, cache_dir=tmp_path / "cache"))

    assert first.applied is not None and first.applied.installed == ("my-app",)
    assert freeze(python) == ["my-app==1.0 (editable)"]
    assert not again.differs
    assert [(s.name, s.action) for s in again.plan.steps] == [("my-app", Action.KEEP)]


@pytest.mark.slow
def test_a_vcs_commit_and_a_local_folder_install_once_and_are_kept(tmp_path: Path) -> None:
    repo = named_project(tmp_path / "repo")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    commit = git("rev-parse", "HEAD", cwd=repo)
    folder = editable_project(tmp_path / "work" / "vendor" / "local", "local-lib", "2.0")
    (folder / "pyproject.toml").write_text(
        (folder / "pyproject.toml").read_text()
        + '\n[project]\nname = "local-lib"\nversion = "2.0"\n'
    )
    lock = tmp_path / "work" / "requirements.txt"
    lock.write_text(f"my-app @ git+{repo.as_uri()}@{commit}\n./vendor/local\n")
    python = make_venv(tmp_path / "venv")

    first = sync(SyncRequest(locks=(lock,), python=python, cache_dir=tmp_path / "cache"))
    again = sync(SyncRequest(locks=(lock,), python=python, cache_dir=tmp_path / "cache"))

    assert first.applied is not None
    assert freeze(python) == ["local-lib==2.0", "my-app==1.0"]
    assert [(s.name, s.action) for s in again.plan.steps] == [
        ("local-lib", Action.KEEP),
        ("my-app", Action.KEEP),
    ]
