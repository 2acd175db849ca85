"""``--json`` on both commands: the documents docs/json.md describes, field for field, with their
schema version, and errors as ``{"error": {...}}``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.compiling import compile_cli
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, pip_install, sha256_hex

DOC = Path(__file__).resolve().parents[1] / "docs" / "json.md"
Factory = Callable[..., Path]


def documented() -> dict[str, set[str]]:
    """The fields docs/json.md lists under each heading (its tables' first column)."""
    fields: dict[str, set[str]] = {}
    heading = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        found = re.match(r"\| `([a-z_]+)` \|", line)
        if found:
            fields.setdefault(heading, set()).add(found.group(1))
    return fields


_ENVELOPE = "`--json`: what pinlock tells a program"


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("alpha", "2.0", requires_dist=["gamma"])
    wheel_factory("beta", "1.0")
    wheel_factory("gamma", "1.0")
    return index_factory()


def _compile_json(tmp_path: Path, index: IndexServer, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = compile_cli(tmp_path, "-i", index.url, "--json", *args)
    assert "Traceback" not in err
    return code, json.loads(out)


def test_compile_json_is_the_documented_document(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha<2\n")
    docs = documented()
    code, document = _compile_json(tmp_path, index, "main.in")
    assert code == 0
    assert set(document) == docs[_ENVELOPE] | docs["`pinlock compile --json`"]
    assert (document["version"], document["command"]) == (1, "compile")
    [lock] = document["locks"]
    assert set(lock) == docs["each of `locks`"] - {"text"}
    assert lock == {
        "input": "main.in",
        "path": "main.txt",
        "format": "txt",
        "target": "host",
        "python_version": lock["python_version"],
        "flavour": None,
        "packages": 2,
        "changed": True,
        "written": True,
        "confirmed": False,
        "stale": None,
        "added": [{"name": "alpha", "version": "1.0"}, {"name": "beta", "version": "1.0"}],
        "removed": [],
        "updated": [],
        "warnings": [],
    }
    assert (tmp_path / "main.txt").is_file()

    # Kept as it is: nothing changes, nothing is written.
    code, document = _compile_json(tmp_path, index, "main.in")
    [lock] = document["locks"]
    assert (lock["changed"], lock["written"], lock["confirmed"]) == (False, False, True)
    assert (lock["added"], lock["removed"], lock["updated"]) == ([], [], [])


def test_compile_json_says_what_a_dry_run_would_change(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha<2\n")
    assert compile_cli(tmp_path, "-i", index.url, "main.in")[0] == 0
    before = (tmp_path / "main.txt").read_text()
    (tmp_path / "main.in").write_text("alpha\n")
    code, document = _compile_json(tmp_path, index, "--dry-run", "-P", "alpha", "main.in")
    assert code == 0
    assert document["dry_run"] is True
    [lock] = document["locks"]
    assert lock["updated"] == [{"name": "alpha", "old": "1.0", "new": "2.0"}]
    assert lock["added"] == [{"name": "gamma", "version": "1.0"}]
    assert lock["removed"] == [{"name": "beta", "version": "1.0"}]
    assert (lock["changed"], lock["written"]) == (True, False)
    assert "alpha==2.0" in lock["text"]
    assert (tmp_path / "main.txt").read_text() == before


def test_compile_check_json_names_the_stale_lock(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha<2\n")
    assert compile_cli(tmp_path, "-i", index.url, "main.in")[0] == 0
    (tmp_path / "main.in").write_text("alpha<2\ngamma\n")
    code, document = _compile_json(tmp_path, index, "--check", "main.in")
    assert code == 1
    assert (document["check"], document["stale"]) == (True, 1)
    [lock] = document["locks"]
    assert lock["stale"].startswith("input line added")
    assert lock["written"] is False


def test_compile_json_error(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("alpha>=3\n")
    code, document = _compile_json(tmp_path, index, "main.in")
    assert code == 3
    assert set(document) == {"version", "command", "error"}
    assert document["version"] == 1
    error = document["error"]
    assert set(error) <= documented()["`error`"]
    assert (error["type"], error["exit_code"]) == ("ResolutionImpossible", 3)
    assert "alpha" in error["message"]


def test_sync_json_is_the_documented_document(
    tmp_path: Path, index: IndexServer, files_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinlock.cli.sync import main

    lock = tmp_path / "requirements.txt"
    lines = [f"--index-url {index.url}"]
    for name, version in [("alpha", "2.0"), ("gamma", "1.0")]:
        wheel = files_dir / f"{name}-{version}-py3-none-any.whl"
        lines.append(f"{name}=={version} --hash=sha256:{sha256_hex(wheel)}")
    lock.write_text("\n".join(lines) + "\n")
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(files_dir / "alpha-1.0-py3-none-any.whl"))
    pip_install(python, str(files_dir / "beta-1.0-py3-none-any.whl"))
    docs = documented()

    with pytest.raises(SystemExit) as exited:
        main([str(lock), "--python", str(python), "--json", "--cache-dir", str(tmp_path / "c")])
    assert exited.value.code == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == docs[_ENVELOPE] | docs["`pinlock sync --json`"]
    assert (document["version"], document["command"]) == (1, "sync")
    assert document["locks"] == [str(lock)]
    assert document["flavour"] is None
    changes = {change["name"]: change for change in document["changes"]}
    assert all(set(change) == docs["each of `changes`"] for change in changes.values())
    assert {name: (c["action"], c["reason"]) for name, c in changes.items()} == {
        "alpha": ("upgrade", "older than the lock's"),
        "beta": ("remove", "in no lock"),
        "gamma": ("install", "not installed"),
    }
    assert set(document["result"]) == docs["`result`"]
    assert sorted(document["result"]["installed"]) == ["alpha", "gamma"]
    assert sorted(document["result"]["removed"]) == ["alpha", "beta"]
    assert freeze(python) == ["alpha==2.0", "gamma==1.0"]

    with pytest.raises(SystemExit):
        main([str(lock), "--python", str(python), "--json", "--dry-run"])
    document = json.loads(capsys.readouterr().out)
    assert (document["applied"], document["changes"], document["result"]) == (False, [], None)


def test_sync_json_error_carries_the_schema_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinlock.cli.sync import main

    python = make_venv(tmp_path / "venv")
    lock = tmp_path / "requirements.txt"
    lock.write_text("alpha==1.0 --hash=sha256:00\nbeta==1.0\n")
    with pytest.raises(SystemExit) as exited:
        main([str(lock), "--python", str(python), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert exited.value.code == document["error"]["exit_code"] == 2
    assert (document["version"], document["command"]) == (1, "sync")
    assert set(document["error"]) <= documented()["`error`"]


def test_the_flavour_object_is_documented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinlock.cli.sync import main

    for flavour in ("cpu", "cu121"):
        (tmp_path / f"ml-{flavour}.txt").write_text(f"# flavour: {flavour}\n", encoding="utf-8")
    python = make_venv(tmp_path / "venv")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "ml"), "--flavour", "cpu", "--python", str(python), "-n", "--json"])
    flavour = json.loads(capsys.readouterr().out)["flavour"]
    assert set(flavour) == documented()["`flavour`"]
