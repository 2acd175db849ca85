"""A lock missing a dependency is refused before any change, and by --check (issue #9, 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.errors import MissingDependencies
from pinlock.sync.consistency import Member, check_dependencies
from pinlock.target import Target
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.sync_helpers import file_tree, freeze, make_venv, pip_install, run_cli, sha256_hex


def member(name: str, version: str, *requires: str) -> Member:
    return Member(
        name=canonicalize_name(name),
        display_name=name,
        version=Version(version),
        requires=requires,
    )


def test_every_requirement_must_be_met_inside_the_set() -> None:
    target = Target.from_spec("3.12", "linux")
    members = [
        member("requests", "2.32.3", "idna<4,>=2.5", "urllib3<3,>=1.21.1", "certifi"),
        member("urllib3", "3.0.0"),
        member("certifi", "2024.1.1"),
        # Extras nobody asks for, and markers false for this target, need nothing.
        member("app", "1", "pytest ; extra == 'test'", "pywin32 ; sys_platform == 'win32'"),
    ]
    with pytest.raises(MissingDependencies) as caught:
        check_dependencies(members, target)
    assert caught.value.problems == (
        "requests 2.32.3 needs idna<4,>=2.5, which no lock line provides",
        "requests 2.32.3 needs urllib3<3,>=1.21.1, but the lock has urllib3 3.0.0",
    )
    assert str(caught.value).startswith("the lock is incomplete, so nothing was changed:\n    ")


def test_extras_asked_for_bring_their_requirements() -> None:
    target = Target.from_spec("3.12", "linux")
    base = member(
        "requests",
        "2.32.3",
        "charset-normalizer",
        'PySocks!=1.5.7,>=1.5.6 ; extra == "socks"',
        'chardet ; (python_version >= "3") and extra == "use-chardet"',
    )
    plain = [base, member("charset-normalizer", "3.3")]
    assert check_dependencies(plain, target) == ()
    asking = [*plain, member("app", "1", "requests[socks]>=2")]
    with pytest.raises(MissingDependencies) as caught:
        check_dependencies(asking, target)
    assert caught.value.problems == (
        "requests 2.32.3 needs PySocks!=1.5.7,>=1.5.6 (for extra socks), which no lock line "
        "provides",
    )
    check_dependencies([*asking, member("pysocks", "1.7.1")], target)
    # A member whose metadata is not at hand is named, not guessed.
    unknown = Member(name=canonicalize_name("x"), display_name="X", version=None, requires=None)
    assert check_dependencies([*plain, unknown], target) == ("X",)


@pytest.fixture
def requests_like(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    files = tmp_path / "files"
    wheels = {
        "reqs": make_wheel(files, "reqs", "2.0", requires_dist=["idnaish<4,>=2.5", "certish"]),
        "idnaish": make_wheel(files, "idnaish", "3.7"),
        "certish": make_wheel(files, "certish", "1.0"),
    }
    return files, wheels


def write_lock(path: Path, server: IndexServer, wheels: dict[str, Path], names: list[str]) -> Path:
    lines = [f"--index-url {server.url}"]
    for name in names:
        version = wheels[name].name.split("-")[1]
        lines.append(f"{name}=={version} --hash=sha256:{sha256_hex(wheels[name])}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sync_refuses_an_incomplete_lock_before_any_change(
    requests_like: tuple[Path, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, wheels = requests_like
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(make_wheel(tmp_path / "old", "junk", "1")))
    before = file_tree(python)
    with IndexServer(files) as server:
        lock = write_lock(tmp_path / "lock.txt", server, wheels, ["certish", "reqs"])
        code, _, err = run_cli([str(lock), "--python", str(python)], capsys)
    assert code == 2
    assert err == (
        "error: the lock is incomplete, so nothing was changed:\n"
        f"    reqs 2.0 ({lock}:3) needs idnaish<4,>=2.5, which no lock line provides\n"
    )
    assert file_tree(python) == before


def test_check_reports_an_incomplete_lock_without_the_network(
    requests_like: tuple[Path, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, wheels = requests_like
    python = make_venv(tmp_path / "venv")
    cache = tmp_path / "cache"
    with IndexServer(files) as server:
        complete = write_lock(tmp_path / "full.txt", server, wheels, ["certish", "idnaish", "reqs"])
        # Installed as an older pinlock left it: matching a lock that lacks idnaish.
        pip_install(python, str(wheels["reqs"]), str(wheels["certish"]))
        partial = write_lock(tmp_path / "partial.txt", server, wheels, ["certish", "reqs"])
        server.clear_log()
        code, out, err = run_cli([str(partial), "--python", str(python), "--check"], capsys)
        assert code == 2
        assert f"reqs 2.0 ({partial}:3) needs idnaish<4,>=2.5, which no lock line" in err
        # Packages still to install are checked from the artifact store, when there.
        code, out, err = run_cli(
            [str(complete), "--python", str(python), "--check", "--cache-dir", str(cache)], capsys
        )
        assert code == 1
        assert "dependencies not checked (no metadata without the network): idnaish" in err
        assert server.requests == []
        fresh = make_venv(tmp_path / "fresh")
        code, _, err = run_cli(
            [str(complete), "--python", str(fresh), "--cache-dir", str(cache)], capsys
        )
        assert code == 0, err
        code, out, err = run_cli(
            [str(complete), "--python", str(python), "--check", "--cache-dir", str(cache)], capsys
        )
        assert (code, err) == (1, "")
        assert out.splitlines()[0] == "+ idnaish 3.7"
    assert freeze(python) == ["certish==1.0", "reqs==2.0"]
