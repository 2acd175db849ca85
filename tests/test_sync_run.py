"""``pinlock.sync.sync``, the library's one entry to a sync: a request in, a report out."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinlock.errors import EnvironmentProblem
from pinlock.sync import SyncReport, SyncRequest, sync
from pinlock.sync.plan import Action
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, pip_install, sha256_hex


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    for name, version in [("alpha", "1.0"), ("alpha", "2.0"), ("junk", "1")]:
        make_wheel(folder, name, version)
    return folder


def write_lock(path: Path, files: Path, *pins: str, header: str = "") -> Path:
    lines = [header] if header else []
    for pin in pins:
        name, version = pin.split("==")
        wheel = files / f"{name}-{version}-py3-none-any.whl"
        lines.append(f"{pin} --hash=sha256:{sha256_hex(wheel)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_dry_run_reports_the_plan_and_changes_nothing(files: Path, tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "lock.txt", files, "alpha==2.0")
    python = make_venv(tmp_path / "venv")
    pip_install(
        python, str(files / "alpha-1.0-py3-none-any.whl"), str(files / "junk-1-py3-none-any.whl")
    )

    report = sync(SyncRequest(locks=(lock,), python=tmp_path / "venv", dry_run=True))

    assert isinstance(report, SyncReport)
    assert report.differs and not report.changed and report.applied is None
    assert report.locks == (lock,)
    assert report.environment.prefix == tmp_path / "venv"
    assert {step.name: step.action for step in report.plan.changes} == {
        "alpha": Action.UPGRADE,
        "junk": Action.REMOVE,
    }
    assert report.as_json()["applied"] is False
    assert freeze(python) == ["alpha==1.0", "junk==1"]


def test_a_sync_applies_and_tells_before_it_changes_anything(files: Path, tmp_path: Path) -> None:
    lock = write_lock(tmp_path / "lock.txt", files, "alpha==2.0")
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(files / "junk-1-py3-none-any.whl"))
    seen: list[tuple[SyncReport, list[str]]] = []

    with IndexServer(files) as server:
        request = SyncRequest(
            locks=(lock,),
            python=python,
            index_overrides={"index-url": server.url},
            cache_dir=tmp_path / "cache",
        )
        report = sync(request, before_changes=lambda r: seen.append((r, freeze(python))))
        again = sync(request, before_changes=lambda r: seen.append((r, freeze(python))))

    assert report.changed and report.applied is not None
    assert report.applied.installed == ("alpha",)
    assert report.applied.removed == ("junk",)
    assert report.as_json()["applied"] is True
    [(before, installed_then)] = seen
    assert before.applied is None and before.plan == report.plan
    assert installed_then == ["junk==1"]
    assert freeze(python) == ["alpha==2.0"]
    assert not again.differs and not again.changed


def test_a_flavour_choice_is_in_the_report(files: Path, tmp_path: Path) -> None:
    cpu = write_lock(tmp_path / "ml-cpu.txt", files, "alpha==1.0", header="# flavour: cpu")
    write_lock(tmp_path / "ml-cu121.txt", files, "alpha==2.0", header="# flavour: cu121")
    make_venv(tmp_path / "venv")

    report = sync(
        SyncRequest(locks=(tmp_path / "ml",), python=tmp_path / "venv", flavour="cpu", dry_run=True)
    )

    assert report.locks == (cpu,)
    assert report.flavour is not None and report.flavour.chosen.path == cpu
    assert report.notes == (f"flavour cpu: {report.flavour.reason}",)
    assert report.as_json()["flavour"]["chosen"] == "cpu"


def test_a_dry_run_creates_no_venv(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="does not exist"):
        sync(SyncRequest(venv=tmp_path / "new", dry_run=True))
    assert not (tmp_path / "new").exists()


def test_the_target_environments_own_pip_conf_is_pips_site_configuration(
    files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip --python VENV reads VENV/pip.conf as its site file; so does sync for VENV.
    lock = write_lock(tmp_path / "lock.txt", files, "alpha==2.0")
    python = make_venv(tmp_path / "venv")
    (tmp_path / "venv" / "pip.conf").write_text(
        f"[global]\nno-index = true\nfind-links = {files}\n", encoding="utf-8"
    )
    monkeypatch.delenv("PIP_CONFIG_FILE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))

    report = sync(SyncRequest(locks=(lock,), python=python, cache_dir=tmp_path / "cache"))

    assert report.applied is not None and report.applied.installed == ("alpha",)
    assert freeze(python) == ["alpha==2.0"]
