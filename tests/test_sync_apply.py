"""apply_plan against real venvs and real pip: exact results, and all-or-nothing on failure."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.cache import Cache
from pinlock.errors import HashMismatch, InstallFailed, NoMatchingDistribution, SyncFailed
from pinlock.index.config import IndexSettings
from pinlock.lock.model import Lock
from pinlock.sync import snapshot as snapshot_module
from pinlock.sync.apply import INSTALLERS, Installer, apply_plan
from pinlock.sync.environment import Environment, InstalledDist, inspect_environment
from pinlock.sync.locks import select_packages
from pinlock.sync.plan import Action, Plan, make_plan
from tests.support.artifacts import make_sdist, make_wheel
from tests.sync_helpers import (
    FolderSource,
    editable_project,
    file_tree,
    freeze,
    lock_of,
    locked,
    make_venv,
    pip_install,
)


def plan_for(lock: Lock, env: Environment) -> Plan:
    wanted = select_packages([lock], env.marker_environment)
    return make_plan(
        wanted.packages, env.installed, python_version=env.python_version, skipped=wanted.skipped
    )


def sync(
    lock: Lock,
    python: Path,
    source: FolderSource,
    cache: Cache,
    checkpoint: Callable[[str], None] | None = None,
    installer: Installer = "pinlock",
) -> Plan:
    env = inspect_environment(python)
    plan = plan_for(lock, env)
    apply_plan(
        plan,
        env,
        source=source,
        cache=cache,
        index=IndexSettings(no_index=True),
        checkpoint=checkpoint,
        installer=installer,
    )
    return plan


def in_the_way(python: Path, relative: str) -> None:
    """A folder (holding a file) where a wheel has a file: any installer fails there."""
    [site] = python.parent.parent.glob("lib/python*/site-packages")
    folder = python.parent.parent / relative if relative.startswith("share/") else site / relative
    folder.mkdir(parents=True)
    (folder / "inner.txt").write_text("not the wheel's")


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def polluted(tmp_path: Path) -> tuple[Path, Path, Lock, Path]:
    """A venv with extras, wrong versions, a wrong flavour, an orphan and editables; a lock."""
    files = tmp_path / "files"
    wheels = {
        (name, version): make_wheel(files, name, version, requires_dist=requires)
        for name, version, requires in [
            ("alpha", "1.0", []),
            ("alpha", "2.0", []),
            ("beta", "1.0", []),
            ("beta", "2.0", []),
            ("torchy", "1.0+cpu", []),
            ("torchy", "1.0+cu121", []),
            ("extra1", "1.0", ["orphan-dep"]),
            ("orphan-dep", "1.0", []),
            ("keepme", "1.0", []),
            ("mylib", "1.0", []),
            ("newpkg", "1.0", []),
        ]
    }
    mylib_src = editable_project(tmp_path / "mylib-src", "mylib", "1.0")
    edkeep_src = editable_project(tmp_path / "edkeep-src", "edkeep", "0.5")
    python = make_venv(tmp_path / "venv")
    pip_install(
        python,
        "--find-links",
        str(files),
        "alpha==1.0",
        "beta==2.0",
        "torchy==1.0+cpu",
        "extra1",
        "orphan-dep",
        "keepme",
        "-e",
        str(mylib_src),
        "-e",
        str(edkeep_src),
    )
    lock = lock_of(
        locked("alpha", "2.0", files=[wheels["alpha", "2.0"]]),
        locked("beta", "1.0", files=[wheels["beta", "1.0"]]),
        locked("torchy", "1.0+cu121", files=[wheels["torchy", "1.0+cu121"]]),
        locked("keepme", "1.0", files=[wheels["keepme", "1.0"]]),
        locked("mylib", "1.0", files=[wheels["mylib", "1.0"]]),
        locked("newpkg", "1.0", files=[wheels["newpkg", "1.0"]]),
        locked("edkeep", url=edkeep_src.as_uri(), editable=True),
        locked("never", "9.9", files=[], marker="python_version < '3'"),
    )
    return python, files, lock, edkeep_src


EXPECTED = [
    "alpha==2.0",
    "beta==1.0",
    "edkeep==0.5 (editable)",
    "keepme==1.0",
    "mylib==1.0",
    "newpkg==1.0",
    "torchy==1.0+cu121",
]


def test_polluted_venv_ends_equal_to_the_lock(
    polluted: tuple[Path, Path, Lock, Path], cache: Cache
) -> None:
    python, files, lock, _ = polluted
    source = FolderSource(files)
    plan = sync(lock, python, source, cache)
    actions = {step.name: step.action for step in plan.steps}
    assert actions == {
        "alpha": Action.UPGRADE,
        "beta": Action.DOWNGRADE,
        "edkeep": Action.KEEP,
        "extra1": Action.REMOVE,
        "keepme": Action.KEEP,
        "mylib": Action.REINSTALL,
        "newpkg": Action.INSTALL,
        "orphan-dep": Action.REMOVE,
        "torchy": Action.REINSTALL,
    }
    assert [p.requirement_text for p in plan.skipped] == ['never==9.9 ; python_version < "3"']
    assert freeze(python) == EXPECTED
    again = plan_for(lock, inspect_environment(python))
    assert again.is_empty
    # Pinned installs carry no direct URL, so nothing looks like a URL install next time.
    assert all(d.url is None for d in inspect_environment(python).installed if not d.editable)


def test_cached_files_need_no_download(
    polluted: tuple[Path, Path, Lock, Path], cache: Cache, tmp_path: Path
) -> None:
    python, files, lock, _ = polluted
    sync(lock, python, FolderSource(files), cache)
    fresh = make_venv(tmp_path / "second")
    source = FolderSource(files)
    sync(lock, fresh, source, cache)
    # Only keepme, which the first sync kept rather than fetched, is new to the cache.
    assert [url.rsplit("/", 1)[-1] for url in source.downloads] == ["keepme-1.0-py3-none-any.whl"]
    assert [line for line in freeze(fresh) if "editable" not in line] == [
        line for line in EXPECTED if "editable" not in line
    ]


def test_interrupt_after_the_first_uninstall_restores_everything(
    polluted: tuple[Path, Path, Lock, Path], cache: Cache
) -> None:
    python, files, lock, _ = polluted
    before_freeze, before_files = freeze(python), file_tree(python)

    def interrupt(stage: str) -> None:
        if stage == "uninstalled":
            raise KeyboardInterrupt

    with pytest.raises(SyncFailed) as failure:
        sync(lock, python, FolderSource(files), cache, checkpoint=interrupt)
    assert failure.value.restored is True
    assert "interrupted" in str(failure.value)
    assert freeze(python) == before_freeze
    assert file_tree(python) == before_files


@pytest.mark.parametrize("installer", INSTALLERS)
def test_install_failing_midway_restores_everything(
    tmp_path: Path, cache: Cache, installer: Installer
) -> None:
    files = tmp_path / "files"
    old = [make_wheel(files, name, "1.0") for name in ("aaa", "mmm", "zzz")]
    new = [make_wheel(files, name, "2.0") for name in ("aaa", "mmm")]
    broken = make_wheel(files, "zzz", "2.0", files={"zzz/__init__.py": b"", "zzz/data": b"x"})
    fresh = make_wheel(files, "fresh", "1.0")
    python = make_venv(tmp_path / "venv")
    pip_install(python, *map(str, old))
    in_the_way(python, "zzz/data")
    before_freeze, before_files = freeze(python), file_tree(python)
    lock = lock_of(
        locked("aaa", "2.0", files=[new[0]]),
        locked("mmm", "2.0", files=[new[1]]),
        locked("zzz", "2.0", files=[broken]),
        locked("fresh", "1.0", files=[fresh]),
    )
    with pytest.raises(SyncFailed) as failure:
        sync(lock, python, FolderSource(files), cache, installer=installer)
    assert failure.value.restored is True
    assert freeze(python) == before_freeze
    assert file_tree(python) == before_files


def test_a_wheel_at_odds_with_itself_is_refused_before_any_change(
    tmp_path: Path, cache: Cache
) -> None:
    # A file and a folder of the same name: pinlock's installer finds out when it unpacks it.
    files = tmp_path / "files"
    broken = make_wheel(files, "zzz", "2.0", files={"zzz/data": b"x", "zzz/data/inner.py": b""})
    python = make_venv(tmp_path / "venv")
    before = file_tree(python)
    with pytest.raises(InstallFailed, match=r"zzz-2\.0"):
        sync(lock_of(locked("zzz", "2.0", files=[broken])), python, FolderSource(files), cache)
    assert file_tree(python) == before
    assert not list((cache.root / "unpacked").rglob("*.py"))


def test_hash_mismatch_refuses_before_any_change(tmp_path: Path, cache: Cache) -> None:
    files = tmp_path / "files"
    wheel = make_wheel(files, "alpha", "2.0")
    old = make_wheel(tmp_path / "old", "alpha", "1.0")
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(old))
    before = file_tree(python)
    lock = lock_of(locked("alpha", "2.0", files=[wheel]))
    source = FolderSource(files)  # states the digest the lock has...
    make_wheel(files, "alpha", "2.0", padding=10)  # ...but serves other bytes
    with pytest.raises(HashMismatch):
        sync(lock, python, source, cache)
    assert file_tree(python) == before


def test_no_file_with_a_locked_hash_refuses(tmp_path: Path, cache: Cache) -> None:
    files = tmp_path / "files"
    make_wheel(files, "alpha", "2.0")
    python = make_venv(tmp_path / "venv")
    lock = lock_of(locked("alpha", "2.0", hashes=["sha256:" + "0" * 64]))
    with pytest.raises(NoMatchingDistribution, match="alpha"):
        sync(lock, python, FolderSource(files), cache)
    assert freeze(python) == []


def test_sdist_is_built_into_a_wheel_first(tmp_path: Path, cache: Cache) -> None:
    files = tmp_path / "files"
    sdist = make_sdist(files, "fromsource", "1.5")
    python = make_venv(tmp_path / "venv")
    sync(lock_of(locked("fromsource", "1.5", files=[sdist])), python, FolderSource(files), cache)
    assert freeze(python) == ["fromsource==1.5"]


def test_wheel_preferred_over_sdist_and_tags_respected(tmp_path: Path, cache: Cache) -> None:
    files = tmp_path / "files"
    chosen = make_wheel(files, "tagged", "1.0")
    other = make_wheel(files, "tagged", "1.0", tag="cp27-cp27m-win32")
    sdist = make_sdist(files, "tagged", "1.0")
    python = make_venv(tmp_path / "venv")
    source = FolderSource(files)
    sync(lock_of(locked("tagged", "1.0", files=[chosen, other, sdist])), python, source, cache)
    assert source.downloads == [chosen.as_uri()]


@pytest.mark.skipif(
    not Path("/root/.pyenv/versions/3.9.18/bin/python").exists(), reason="no pyenv Python 3.9"
)
def test_markers_are_evaluated_for_the_target_interpreter(tmp_path: Path, cache: Cache) -> None:
    files = tmp_path / "files"
    old_py = make_wheel(files, "onlyold", "1.0")
    new_py = make_wheel(files, "onlynew", "1.0")
    python = make_venv(
        tmp_path / "venv39", python="/root/.pyenv/versions/3.9.18/bin/python", with_pip=True
    )
    lock = lock_of(
        locked("onlyold", "1.0", files=[old_py], marker="python_version < '3.10'"),
        locked("onlynew", "1.0", files=[new_py], marker="python_version >= '3.10'"),
    )
    assert sys.version_info >= (3, 10)
    sync(lock, python, FolderSource(files), cache)
    names = [line.split("==")[0] for line in freeze(python)]
    assert "onlyold" in names
    assert "onlynew" not in names
    assert plan_for(lock, inspect_environment(python)).is_empty


def test_a_direct_url_install_records_the_locks_url_and_is_kept_next_time(
    tmp_path: Path, cache: Cache
) -> None:
    files = tmp_path / "files"
    wheel = make_wheel(files, "direct", "1.0")
    sdist = make_sdist(files, "fromurl", "2.0")
    python = make_venv(tmp_path / "venv")
    lock = lock_of(
        locked("direct", url=wheel.as_uri(), files=[wheel]),
        locked("fromurl", url=sdist.as_uri(), files=[sdist]),
    )
    sync(lock, python, FolderSource(files), cache)
    env = inspect_environment(python)
    assert {d.name: d.url for d in env.installed} == {
        "direct": wheel.as_uri(),
        "fromurl": sdist.as_uri(),
    }
    assert plan_for(lock, env).is_empty
    # The rewritten RECORD still lets pip remove the package cleanly.
    sync(lock_of(), python, FolderSource(files), cache)
    assert freeze(python) == []
    assert not any((tmp_path / "venv").rglob("direct*"))


def test_an_editable_gets_its_build_requirements_from_the_indexes(
    tmp_path: Path, cache: Cache
) -> None:
    files = tmp_path / "files"
    make_wheel(files, "buildhelper", "1.0")
    project = editable_project(tmp_path / "edproj-src", "edproj", "1.0")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(
            "requires = []", 'requires = ["buildhelper"]'
        ),
        encoding="utf-8",
    )
    python = make_venv(tmp_path / "venv")
    env = inspect_environment(python)
    lock = lock_of(locked("edproj", url=project.as_uri(), editable=True))
    apply_plan(
        plan_for(lock, env),
        env,
        source=FolderSource(files),
        cache=cache,
        index=IndexSettings(no_index=True, find_links=(str(files),)),
    )
    assert freeze(python) == ["edproj==1.0 (editable)"]


def test_a_second_interrupt_does_not_stop_the_restore(
    tmp_path: Path, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tmp_path / "files"
    old = make_wheel(files, "aaa", "1.0")
    new = make_wheel(files, "aaa", "2.0")
    fresh = make_wheel(files, "fresh", "1.0")
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(old))
    before_freeze, before_files = freeze(python), file_tree(python)
    lock = lock_of(locked("aaa", "2.0", files=[new]), locked("fresh", "1.0", files=[fresh]))
    remove_dist = snapshot_module.remove_dist

    def interrupted_again(dist: InstalledDist, *, stops: set[Path]) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C once more
        remove_dist(dist, stops=stops)

    def interrupt(stage: str) -> None:
        if stage == "installed":
            raise KeyboardInterrupt

    monkeypatch.setattr(snapshot_module, "remove_dist", interrupted_again)
    outcome: BaseException | None = None
    try:
        sync(lock, python, FolderSource(files), cache, checkpoint=interrupt)
    except BaseException as exc:  # a KeyboardInterrupt escaping the restore is the failure
        outcome = exc
    assert isinstance(outcome, SyncFailed)
    assert outcome.restored is True
    assert freeze(python) == before_freeze
    assert file_tree(python) == before_files


_PY39 = Path("/root/.pyenv/versions/3.9.18/bin/python")
_PIP_23_2 = Path(
    "/root/.pyenv/versions/3.11.7/lib/python3.11/ensurepip/_bundled/pip-23.2.1-py3-none-any.whl"
)


@pytest.mark.skipif(
    not (_PY39.exists() and _PIP_23_2.exists()), reason="no pyenv Python 3.9 or pip 23.2.1 wheel"
)
def test_a_target_driven_by_its_own_pip_can_change_pip(tmp_path: Path, cache: Cache) -> None:
    # pinlock's pip refuses Python 3.9, so the venv's own pip installs into it: it must not
    # be uninstalled before it has installed the locked pip.
    files = tmp_path / "files"
    files.mkdir()
    wheel = files / _PIP_23_2.name
    wheel.write_bytes(_PIP_23_2.read_bytes())
    python = make_venv(tmp_path / "venv39", python=str(_PY39), with_pip=True)
    lock = lock_of(locked("pip", "23.2.1", files=[wheel]))
    plan = sync(lock, python, FolderSource(files), cache)
    assert [step.action for step in plan.changes] == [Action.UPGRADE]
    assert [d.raw_version for d in inspect_environment(python).installed if d.name == "pip"] == [
        "23.2.1"
    ]


@pytest.mark.parametrize("installer", INSTALLERS)
def test_data_files_of_a_failed_install_outside_site_packages_are_removed(
    tmp_path: Path, cache: Cache, installer: Installer
) -> None:
    files = tmp_path / "files"
    broken = make_wheel(
        files,
        "withdata",
        "1.0",
        files={
            "withdata/__init__.py": b"",
            "withdata-1.0.data/data/share/withdata/0-first.txt": b"written before the failure",
            "withdata-1.0.data/data/share/withdata/z-clash": b"a file...",
        },
    )
    python = make_venv(tmp_path / "venv")
    in_the_way(python, "share/withdata/z-clash")
    before_files = file_tree(python)
    lock = lock_of(locked("withdata", "1.0", files=[broken]))
    with pytest.raises(SyncFailed) as failure:
        sync(lock, python, FolderSource(files), cache, installer=installer)
    assert failure.value.restored is True
    assert file_tree(python) == before_files


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_kept_packages_file_overwritten_by_a_failed_sync_is_restored(
    tmp_path: Path, cache: Cache, installer: Installer
) -> None:
    files = tmp_path / "files"
    kept = make_wheel(
        files,
        "nsold",
        "1.0",
        files={
            "shared/__init__.py": b"# nsold's\n",
            "shared/old.py": b"def main():\n    pass\n",
            "nsold-1.0.dist-info/entry_points.txt": b"[console_scripts]\ntool = shared.old:main\n",
        },
    )
    newcomer = make_wheel(
        files,
        "nsnew",
        "1.0",
        files={
            "shared/__init__.py": b"# nsnew's\n",
            "shared/new.py": b"def main():\n    pass\n",
            "nsnew-1.0.dist-info/entry_points.txt": b"[console_scripts]\ntool = shared.new:main\n",
        },
    )
    # pip installs the last requirement first: this one fails after nsnew went in.
    broken = make_wheel(files, "aaa", "1.0", files={"aaa/data": b"x"})
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(kept))
    in_the_way(python, "aaa/data")
    before_freeze, before_files = freeze(python), file_tree(python)
    assert "bin/tool" in before_files
    lock = lock_of(
        locked("nsold", "1.0", files=[kept]),
        locked("nsnew", "1.0", files=[newcomer]),
        locked("aaa", "1.0", files=[broken]),
    )
    with pytest.raises(SyncFailed) as failure:
        sync(lock, python, FolderSource(files), cache, installer=installer)
    assert failure.value.restored is True
    assert freeze(python) == before_freeze
    assert file_tree(python) == before_files
