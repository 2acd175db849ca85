"""make_plan: the pure diff between a lock and an environment, case by case."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.lock.model import LockedPackage
from pinlock.sync.environment import InstalledDist
from pinlock.sync.plan import Action, Plan, make_plan, seed_names

PY311 = (3, 11, 7)


def locked(
    name: str, version: str | None = None, *, url: str | None = None, editable: bool = False
) -> LockedPackage:
    return LockedPackage(
        name=canonicalize_name(name),
        display_name=name,
        version=Version(version) if version else None,
        url=url,
        editable=editable,
    )


def installed(
    name: str, version: str, *, url: str | None = None, editable: bool = False
) -> InstalledDist:
    return InstalledDist(
        name=canonicalize_name(name),
        display_name=name,
        version=Version(version) if version[0].isdigit() else None,
        raw_version=version,
        info_dir=Path(f"/site/{name}-{version}.dist-info"),
        url=url,
        editable=editable,
    )


def only_step(plan: Plan) -> tuple[Action, str]:
    (step,) = plan.steps
    return step.action, step.reason


@pytest.mark.parametrize(
    ("want", "have", "action"),
    [
        (locked("a", "1.0"), None, Action.INSTALL),
        (None, installed("a", "1.0"), Action.REMOVE),
        (locked("a", "1.0"), installed("a", "1.0"), Action.KEEP),
        (locked("a", "1.0"), installed("a", "1.0.0"), Action.KEEP),
        (locked("a", "2.0"), installed("a", "1.0"), Action.UPGRADE),
        (locked("a", "1.0"), installed("a", "2.0"), Action.DOWNGRADE),
        (locked("a", "1.0+cu121"), installed("a", "1.0+cpu"), Action.REINSTALL),
        (locked("a", "1.0+cu121"), installed("a", "1.0"), Action.REINSTALL),
        (locked("a", "1.0"), installed("a", "1.0+cpu"), Action.REINSTALL),
        (locked("a", "2.0+cu121"), installed("a", "1.0+cpu"), Action.UPGRADE),
        (
            locked("a", "1.0"),
            installed("a", "1.0", url="file:///src/a", editable=True),
            Action.REINSTALL,
        ),
        (locked("a", url="file:///src/a", editable=True), installed("a", "1.0"), Action.REINSTALL),
        (
            locked("a", url="file:///src/a", editable=True),
            installed("a", "1.0", url="file:///src/a", editable=True),
            Action.KEEP,
        ),
        (
            locked("a", url="file:///src/a/", editable=True),
            installed("a", "1.0", url="file:///src/a", editable=True),
            Action.KEEP,
        ),
        (
            locked("a", url="file:///src/b", editable=True),
            installed("a", "1.0", url="file:///src/a", editable=True),
            Action.REINSTALL,
        ),
        (
            locked("a", "1.0", url="https://x/a-1.0.whl"),
            installed("a", "1.0", url="https://x/a-1.0.whl"),
            Action.KEEP,
        ),
        (
            locked("a", "1.0", url="https://y/a-1.0.whl"),
            installed("a", "1.0", url="https://x/a-1.0.whl"),
            Action.REINSTALL,
        ),
        (locked("a", "1.0", url="https://x/a-1.0.whl"), installed("a", "1.0"), Action.REINSTALL),
        (locked("a", "1.0"), installed("a", "1.0", url="https://x/a-1.0.whl"), Action.REINSTALL),
        (locked("a", "1.0"), installed("a", "not-a-version"), Action.REINSTALL),
    ],
)
def test_one_package(
    want: LockedPackage | None, have: InstalledDist | None, action: Action
) -> None:
    plan = make_plan([want] if want else [], [have] if have else [], python_version=PY311)
    assert only_step(plan)[0] is action
    assert plan.is_empty is (action is Action.KEEP)


def test_editable_path_compared_after_resolving(tmp_path: Path) -> None:
    real = tmp_path / "src"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    plan = make_plan(
        [locked("a", url=link.as_uri(), editable=True)],
        [installed("a", "1.0", url=real.as_uri(), editable=True)],
        python_version=PY311,
    )
    assert only_step(plan)[0] is Action.KEEP


@pytest.mark.parametrize(
    ("python_version", "name", "action"),
    [
        ((3, 11, 0), "pip", Action.KEEP),
        ((3, 11, 0), "setuptools", Action.KEEP),
        ((3, 11, 0), "wheel", Action.KEEP),
        ((3, 12, 0), "pip", Action.KEEP),
        ((3, 12, 0), "setuptools", Action.REMOVE),
        ((3, 12, 0), "wheel", Action.REMOVE),
        ((3, 9, 18), "setuptools", Action.KEEP),
    ],
)
def test_seeds_kept_when_unlisted(
    python_version: tuple[int, int, int], name: str, action: Action
) -> None:
    plan = make_plan([], [installed(name, "1.0")], python_version=python_version)
    assert only_step(plan)[0] is action


def test_seeds_follow_the_lock_when_pinned() -> None:
    plan = make_plan([locked("pip", "24.0")], [installed("pip", "23.0")], python_version=PY311)
    assert only_step(plan)[0] is Action.UPGRADE


def test_protected_packages_are_not_removed() -> None:
    plan = make_plan(
        [],
        [installed("pinlock", "0.1"), installed("typer", "0.12"), installed("junk", "1")],
        python_version=PY311,
        protected={canonicalize_name("pinlock"), canonicalize_name("typer")},
    )
    assert [(s.name, s.action) for s in plan.steps] == [
        ("junk", Action.REMOVE),
        ("pinlock", Action.KEEP),
        ("typer", Action.KEEP),
    ]


def test_whole_plan_lists_and_summaries() -> None:
    plan = make_plan(
        [locked("New", "1.2"), locked("up", "1.2"), locked("same", "3"), locked("t", "2+cu121")],
        [
            installed("up", "1.0"),
            installed("same", "3"),
            installed("gone", "0.3"),
            installed("t", "2+cpu"),
        ],
        python_version=PY311,
    )
    assert [s.summary for s in plan.changes] == [
        "- gone 0.3",
        "+ new 1.2",
        "~ t 2+cpu -> 2+cu121 (other local version)",
        "~ up 1.0 -> 1.2",
    ]
    assert [d.name for d in plan.to_uninstall] == ["gone", "t", "up"]
    assert [p.name for p in plan.to_install] == ["new", "t", "up"]
    assert plan.count(Action.KEEP) == 1


def test_seed_names_by_python() -> None:
    assert seed_names((3, 12)) == {"pip"}
    assert seed_names((3, 10)) == {"pip", "setuptools", "wheel"}


def test_editable_given_as_a_plain_path(tmp_path: Path) -> None:
    plan = make_plan(
        [locked("a", url=str(tmp_path), editable=True)],
        [installed("a", "1.0", url=tmp_path.as_uri(), editable=True)],
        python_version=PY311,
    )
    assert only_step(plan)[0] is Action.KEEP
