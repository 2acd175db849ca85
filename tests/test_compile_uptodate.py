"""A compile with nothing changed keeps the lock without asking any index, and ``compile
--check`` says whether each lock still fits its inputs and options, writing nothing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, compile_locks
from tests.support.artifacts import make_wheel
from tests.support.compiling import compile_cli, compile_in_fresh_process, pinned_versions
from tests.support.gitrepo import git
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta>=1.0", "gamma[fast]; extra == 'speed'"])
    wheel_factory("alpha", "2.0", requires_dist=["beta>=1.0"])
    wheel_factory("beta", "1.0", requires_dist=["delta; python_version < '3'"])
    wheel_factory("beta", "1.5")
    wheel_factory(
        "gamma", "1.0", provides_extra=["fast"], requires_dist=["epsilon; extra == 'fast'"]
    )
    wheel_factory("delta", "1.0")
    wheel_factory("epsilon", "1.0")
    wheel_factory("zeta", "1.0")
    return index_factory()


def _compile(tmp_path: Path, index: IndexServer, *extra: str) -> tuple[int, str]:
    code, _out, err = compile_cli(tmp_path, "-i", index.url, *extra, "requirements.in")
    assert "Traceback" not in err
    return code, err


def _locked(tmp_path: Path, index: IndexServer, content: str, *extra: str) -> Path:
    """``requirements.in`` with ``content``, compiled; the lock is made to look old."""
    (tmp_path / "requirements.in").write_text(content)
    code, err = _compile(tmp_path, index, *extra)
    assert code == 0, err
    lock = tmp_path / "requirements.txt"
    os.utime(lock, (1_000_000_000, 1_000_000_000))
    index.clear_log()
    return lock


def _state(lock: Path) -> tuple[bytes, int]:
    return lock.read_bytes(), lock.stat().st_mtime_ns


def test_a_compile_with_nothing_changed_asks_no_index(tmp_path: Path, index: IndexServer) -> None:
    lock = _locked(tmp_path, index, "alpha[speed]==1.0\nzeta ; sys_platform == 'nowhere'\n")
    before = lock.read_bytes()
    assert pinned_versions(before.decode()) == {
        "alpha": "1.0",
        "beta": "1.5",
        "gamma": "1.0",
        "epsilon": "1.0",
    }
    code, err = _compile(tmp_path, index)
    assert code == 0, err
    assert "up to date: requirements.txt (4 packages)" in err
    assert index.requests == []
    assert lock.read_bytes() == before
    # Touched, so a Make rule that made it settles.
    assert lock.stat().st_mtime_ns > 1_000_000_000 * 10**9


def test_a_compile_with_nothing_changed_needs_no_index_at_all(
    tmp_path: Path, index: IndexServer
) -> None:
    _locked(tmp_path, index, "alpha\n")
    url = index.url
    index.stop()
    code, _out, err = compile_cli(tmp_path, "-i", url, "requirements.in")
    assert code == 0, err
    assert "up to date" in err


def test_the_library_says_a_kept_lock_was_confirmed(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n")

    def run() -> bool:
        request = CompileRequest(
            inputs=(tmp_path / "requirements.in",),
            index_overrides={"index-url": index.url},
            cache_dir=tmp_path / "cache",
        )
        (result,) = compile_locks(request)
        return result.confirmed

    assert run() is False
    index.clear_log()
    assert run() is True
    assert index.requests == []


@pytest.mark.parametrize(
    ("content", "extra"),
    [
        pytest.param("alpha\nzeta\n", (), id="input line added"),
        pytest.param("alpha==2.0\n", (), id="pin no longer allowed"),
        pytest.param("alpha\n-c constraints.txt\n", (), id="constraint added"),
        pytest.param("alpha\n", ("--annotation-style", "line"), id="option changed"),
        pytest.param("alpha\n", ("--refresh",), id="refresh"),
        pytest.param("alpha\n", ("--upgrade",), id="upgrade"),
    ],
)
def test_a_change_resolves_again(
    tmp_path: Path, index: IndexServer, content: str, extra: tuple[str, ...]
) -> None:
    (tmp_path / "constraints.txt").write_text("beta<1.5\n")
    lock = _locked(tmp_path, index, "alpha==1.0\n")
    (tmp_path / "requirements.in").write_text(content)
    code, err = _compile(tmp_path, index, *extra)
    assert code == 0, err
    assert index.page_requests() != []
    if content == "alpha==2.0\n":
        assert pinned_versions(lock.read_text())["alpha"] == "2.0"
    if "constraints" in content:
        assert pinned_versions(lock.read_text())["beta"] == "1.0"
    if "zeta" in content:
        assert "zeta==1.0" in lock.read_text()


def test_a_lock_kept_for_the_same_inputs_needs_no_metadata(
    tmp_path: Path, index: IndexServer
) -> None:
    # The cache recorded the resolution the lock holds for these very inputs.
    _locked(tmp_path, index, "alpha\n")
    shutil.rmtree(tmp_path / "cache" / "metadata")
    code, err = _compile(tmp_path, index)
    assert code == 0, err
    assert "up to date" in err
    assert index.requests == []


def test_changed_inputs_without_metadata_resolve_again(tmp_path: Path, index: IndexServer) -> None:
    lock = _locked(tmp_path, index, "alpha\n")
    before = lock.read_bytes()
    shutil.rmtree(tmp_path / "cache" / "metadata")
    (tmp_path / "requirements.in").write_text("alpha>=1\n")  # still met by the lock
    code, err = _compile(tmp_path, index)
    assert code == 0, err
    assert index.page_requests() != []
    assert lock.read_bytes() == before
    # Now the metadata is back: another harmless change is told from the cache.
    (tmp_path / "requirements.in").write_text("alpha>=0.5\n")
    index.clear_log()
    assert _compile(tmp_path, index)[0] == 0
    assert index.requests == []


def test_a_lock_this_cache_never_saw_made_is_resolved_once(
    tmp_path: Path, index: IndexServer
) -> None:
    lock = _locked(tmp_path, index, "alpha\n")
    shutil.rmtree(tmp_path / "cache" / "lock-records")
    assert _compile(tmp_path, index)[0] == 0
    assert index.page_requests() != []
    index.clear_log()
    os.utime(lock, (1_000_000_000, 1_000_000_000))
    assert _compile(tmp_path, index)[0] == 0
    assert index.requests == []


def test_a_changed_pip_configuration_resolves_again(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _locked(tmp_path, index, "alpha\n")
    monkeypatch.setenv("PIP_ONLY_BINARY", ":all:")
    code, err = _compile(tmp_path, index, "--check")
    assert code == 1
    assert "stale: requirements.txt: option changed: pip's configuration" in err
    assert _compile(tmp_path, index)[0] == 0
    assert index.page_requests() != []


def test_layered_inputs_with_nothing_changed_ask_no_index(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "main.in").write_text("alpha\n")
    (tmp_path / "dev.in").write_text("-c main.txt\nbeta\nzeta\n")
    args = ("-i", index.url, "main.in", "dev.in")
    code, _out, err = compile_cli(tmp_path, *args)
    assert code == 0, err
    index.clear_log()
    code, _out, err = compile_cli(tmp_path, *args)
    assert code == 0, err
    assert err.count("up to date") == 2
    assert index.requests == []


def test_a_static_local_project_is_confirmed_from_its_pyproject(
    tmp_path: Path, index: IndexServer
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1"\ndependencies = ["alpha"]\n'
    )
    (tmp_path / "requirements.in").write_text("-e ./proj\n")
    assert _compile(tmp_path, index)[0] == 0
    index.clear_log()
    code, err = _compile(tmp_path, index)
    assert code == 0, err
    assert "up to date" in err
    assert index.requests == []
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0.1"\ndependencies = ["alpha", "zeta"]\n'
    )
    code, err = _compile(tmp_path, index, "--check")
    assert code == 1
    assert "dependency missing: proj 0.1 requires zeta; the lock has no zeta" in err


# -- --check ----------------------------------------------------------------------------------


def test_check_of_a_lock_that_holds(tmp_path: Path, index: IndexServer) -> None:
    lock = _locked(tmp_path, index, "alpha\n")
    before = _state(lock)
    code, err = _compile(tmp_path, index, "--check")
    assert code == 0, err
    assert err.strip() == "up to date: requirements.txt"
    assert index.requests == []
    assert _state(lock) == before  # not even touched


@pytest.mark.parametrize(
    ("content", "edit", "extra", "reason"),
    [
        pytest.param(
            "alpha\nzeta\n",
            None,
            (),
            "input line added: zeta (-r requirements.in)",
            id="input line added",
        ),
        pytest.param(
            "alpha>=2\n",
            None,
            (),
            "pin no longer allowed: alpha==1.0 does not satisfy alpha>=2 (-r requirements.in)",
            id="pin no longer allowed",
        ),
        pytest.param(
            "alpha\n-c constraints.txt\n",
            None,
            (),
            "pin no longer allowed: beta==1.5 is outside <1.5 (-c constraints.txt)",
            id="constraint",
        ),
        pytest.param(
            "alpha\n",
            ("beta==1.5", "beta==0.9"),
            (),
            "dependency not met: alpha 2.0 requires beta>=1.0; the lock pins beta 0.9",
            id="dependency not met",
        ),
        pytest.param(
            "alpha\n",
            ("beta==1.5", "zeta==1.0"),
            (),
            "dependency missing: alpha 2.0 requires beta>=1.0; the lock has no beta",
            id="dependency missing",
        ),
        pytest.param(
            "alpha\nbeta\n",
            None,
            (),
            "input line added or changed: the lock's entry for beta: `# via alpha` would be "
            "`# via`",
            id="input line already pinned",
        ),
        pytest.param(
            "alpha\n",
            None,
            ("--no-hashes",),
            "option changed: the header's `#    pinlock compile --index-url",
            id="option changed",
        ),
    ],
)
def test_check_names_why_a_lock_is_stale(
    tmp_path: Path,
    index: IndexServer,
    content: str,
    edit: tuple[str, str] | None,
    extra: tuple[str, ...],
    reason: str,
) -> None:
    (tmp_path / "constraints.txt").write_text("beta<1.5\n")
    lock = _locked(tmp_path, index, "alpha==1.0\n" if content.startswith("alpha>=2") else "alpha\n")
    if edit is not None:
        lock.write_text(lock.read_text().replace(*edit))
    (tmp_path / "requirements.in").write_text(content)
    before = _state(lock)
    code, err = _compile(tmp_path, index, "--check", *extra)
    assert code == 1, err
    assert err.startswith(f"stale: requirements.txt: {reason}"), err
    assert index.requests == []
    assert _state(lock) == before


def test_check_of_a_missing_lock(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "requirements.in").write_text("alpha\n")
    code, err = _compile(tmp_path, index, "--check")
    assert code == 1
    assert err.strip() == "stale: requirements.txt: no lock yet"
    assert not (tmp_path / "requirements.txt").exists()
    assert index.requests == []


def test_check_without_cached_metadata_reads_it_and_writes_nothing(
    tmp_path: Path, index: IndexServer
) -> None:
    lock = _locked(tmp_path, index, "alpha\n")
    before = _state(lock)
    shutil.rmtree(tmp_path / "cache")
    code, err = _compile(tmp_path, index, "--check")
    assert code == 0, err
    assert index.requests != []
    assert _state(lock) == before
    # What it read is kept: the next check asks nothing.
    index.clear_log()
    assert _compile(tmp_path, index, "--check")[0] == 0
    assert index.requests == []


def test_check_of_a_lock_from_elsewhere_judges_its_text(tmp_path: Path, index: IndexServer) -> None:
    # A fresh clone on a build server: metadata in the cache, but no record of this lock.
    _locked(tmp_path, index, "alpha\n")
    shutil.rmtree(tmp_path / "cache" / "lock-records")
    assert _compile(tmp_path, index, "--check")[0] == 0
    assert index.requests == []


def test_check_after_an_index_change_names_the_pins_that_would_change(
    tmp_path: Path, index: IndexServer, wheel_factory: Factory
) -> None:
    lock = _locked(tmp_path, index, "alpha\n")
    lock.write_text(lock.read_text().replace("beta==1.5", "beta==1.0"))
    shutil.rmtree(tmp_path / "cache" / "metadata")  # undecided offline: resolved
    wheel_factory("beta", "1.0", requires_dist=["zeta"])  # same file name, new content
    code, err = _compile(tmp_path, index, "--check")
    assert code == 1
    assert err.strip() == "stale: requirements.txt: pins would change: +zeta 1.0"


def test_check_and_refresh_or_upgrade_or_stdout_are_refused(
    tmp_path: Path, index: IndexServer
) -> None:
    _locked(tmp_path, index, "alpha\n")
    assert _compile(tmp_path, index, "--check", "--upgrade")[0] == 2
    assert _compile(tmp_path, index, "--check", "-o", "-")[0] == 2
    assert _compile(tmp_path, index, "--offline", "--refresh")[0] == 2


def test_a_kept_lock_loads_neither_typer_nor_the_http_stack(
    tmp_path: Path, index: IndexServer
) -> None:
    _locked(tmp_path, index, "alpha\n")
    status, loaded, err = compile_in_fresh_process(
        tmp_path,
        ["-i", index.url, "--cache-dir", "cache", "requirements.in"],
        loaded="sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'urllib3', 'ssl'})",
    )
    assert (status, loaded) == ("exit 0", "[]"), err
    assert "up to date" in err
    assert index.requests == []


def test_the_quick_reader_and_typer_give_compile_the_same_values() -> None:
    from typer.testing import CliRunner

    from pinlock.cli.declare import parse_quickly
    from pinlock.cli.options import COMPILE_OPTIONS
    from pinlock.cli.typed import single_command_app

    argv = ["a.in", "--check", "--refresh", "-i", "i", "-P", "x", "--no-hashes", "b.in", "-q"]
    seen: list[dict[str, object]] = []

    def body(given: object) -> int:
        seen.append(dict(given))  # type: ignore[call-overload]
        return 0

    result = CliRunner().invoke(single_command_app(COMPILE_OPTIONS, body, help=""), argv)
    assert result.exit_code == 0, result.output
    quick = parse_quickly(COMPILE_OPTIONS, argv)
    assert quick is not None
    assert {k: v for k, v in seen[0].items() if v not in (None, False, [], ())} == {
        k: v for k, v in quick.items() if v not in (None, False, [], ())
    }
    assert quick["check"] is True and quick["refresh"] is True


def test_several_targets_with_nothing_changed_ask_no_index(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "requirements.in").write_text("alpha[speed]\n")
    versions = ("--python-version", "3.10", "--python-version", "3.12")
    assert _compile(tmp_path, index, *versions)[0] == 0
    index.clear_log()
    code, err = _compile(tmp_path, index, *versions)
    assert code == 0, err
    assert err.count("up to date") == 2
    assert index.requests == []
    assert _compile(tmp_path, index, "--check", *versions)[0] == 0


def test_a_git_reference_is_checked_by_resolving(
    tmp_path: Path, index: IndexServer, wheel_factory: Factory
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "my-app"\nversion = "0.1"\ndependencies = ["beta"]\n'
    )
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    (tmp_path / "requirements.in").write_text(f"my-app @ git+{repo.as_uri()}@main\n")
    assert _compile(tmp_path, index)[0] == 0
    # The branch may have moved: only git can tell, so the lock is not kept unasked.
    code, err = _compile(tmp_path, index, "--check")
    assert code == 0, err
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "my-app"\nversion = "0.1"\ndependencies = ["beta", "zeta"]\n'
    )
    git("commit", "-q", "-am", "two", cwd=repo)
    code, err = _compile(tmp_path, index, "--check")
    assert code == 1
    assert "stale: requirements.txt: pins would change: " in err


def test_a_rebuilt_local_wheel_is_not_kept_under_its_old_hash(
    tmp_path: Path, index: IndexServer
) -> None:
    dist = tmp_path / "dist"
    wheel = make_wheel(dist, "local-thing", "1.0", requires_dist=["beta"])
    (tmp_path / "requirements.in").write_text(f"./dist/{wheel.name}\n")
    lock = tmp_path / "requirements.txt"
    assert _compile(tmp_path, index)[0] == 0
    before = lock.read_text()
    index.clear_log()
    code, err = _compile(tmp_path, index)
    assert code == 0, err
    assert "up to date" in err
    make_wheel(dist, "local-thing", "1.0", requires_dist=["beta", "zeta"])
    assert _compile(tmp_path, index)[0] == 0
    assert lock.read_text() != before
    assert "zeta==1.0" in lock.read_text()


def test_a_project_whose_metadata_is_built_is_resolved_each_time(
    tmp_path: Path, index: IndexServer
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='proj', version='0.1', install_requires=open('deps.txt').read().split())\n"
    )
    (project / "deps.txt").write_text("alpha\n")
    (tmp_path / "requirements.in").write_text("-e ./proj\n")
    assert _compile(tmp_path, index, "--no-build-isolation")[0] == 0
    (project / "deps.txt").write_text("alpha\nzeta\n")  # setup.py unchanged
    assert _compile(tmp_path, index, "--no-build-isolation")[0] == 0
    assert "zeta==1.0" in (tmp_path / "requirements.txt").read_text()


@pytest.mark.parametrize("fmt", ["requirements.txt", "pylock.toml"])
def test_a_lock_made_by_a_custom_command_keeps_its_header(
    tmp_path: Path, index: IndexServer, fmt: str
) -> None:
    """A lock written under ``CUSTOM_COMPILE_COMMAND=make lock`` is up to date for a plain
    ``pinlock compile`` (a pre-commit hook): the header's command is not a change, so the lock
    is neither rewritten nor called stale; a real change rewrites it with the new command."""
    (tmp_path / "requirements.in").write_text("alpha\n")
    custom = {"CUSTOM_COMPILE_COMMAND": "make lock"}
    code, _out, err = compile_cli(
        tmp_path, "-i", index.url, "-o", fmt, "requirements.in", env=custom
    )
    assert code == 0, err
    lock = tmp_path / fmt
    made = lock.read_bytes()
    assert b"make lock" in made

    code, _out, err = compile_cli(
        tmp_path, "-i", index.url, "-o", fmt, "--check", "requirements.in"
    )
    assert (code, "Traceback" in err) == (0, False), err
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-o", fmt, "requirements.in")
    assert code == 0, err
    assert lock.read_bytes() == made

    (tmp_path / "requirements.in").write_text("alpha\nzeta\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-o", fmt, "requirements.in")
    assert code == 0, err
    assert b"make lock" not in lock.read_bytes()
    assert b"zeta" in lock.read_bytes()
