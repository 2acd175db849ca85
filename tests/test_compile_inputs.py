"""Inputs beyond one ``.in`` file: direct references (URLs with and without hashes, local files
and projects, VCS commits), constraint files on the command line, standard input, a lock as an
input, and what a lock leaves out (``--no-emit-package``, ``--no-emit-project``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinlock.cli import app
from pinlock.compile import CompileRequest, CompileResult, compile_locks
from pinlock.errors import PinlockError
from pinlock.lock.txt import read_lock
from tests.support.artifacts import make_sdist, make_wheel
from tests.support.compiling import compile_cli, pinned_versions, sha256_of
from tests.support.gitrepo import git
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta"])
    wheel_factory("alpha", "2.0", requires_dist=["beta"])
    wheel_factory("beta", "1.0")
    wheel_factory("beta", "1.1")
    wheel_factory("gamma", "0.5")
    return index_factory()


def compile_in(
    tmp_path: Path, index: IndexServer, content: str, **options: object
) -> CompileResult:
    source = tmp_path / "main.in"
    source.write_text(content)
    request = CompileRequest(
        inputs=(Path("main.in"),),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        **options,  # type: ignore[arg-type]
    )
    [result] = compile_locks(request)
    return result


def full_downloads(server: IndexServer, filename: str) -> int:
    return sum(
        1 for r in server.requests_for(filename) if r.method == "GET" and r.range_header is None
    )


# -- URLs -------------------------------------------------------------------------------------


def test_a_wheel_url_takes_its_hash_from_the_fragment_without_downloading(
    tmp_path: Path, index: IndexServer, files_dir: Path
) -> None:
    remote = tmp_path / "remote"
    wheel = make_wheel(remote, "remote-tool", "1.0", requires_dist=["beta<1.1"], padding=300_000)
    with IndexServer(remote) as host:
        url = host.file_url(wheel.name)
        digest = sha256_of(wheel)
        result = compile_in(tmp_path, index, f"remote-tool @ {url}#sha256={digest[7:]}\n")
        assert full_downloads(host, wheel.name) == 0  # metadata by range reads, hash given
    assert f"remote-tool @ {url} \\\n    --hash={digest}\n" in result.text
    assert pinned_versions(result.text) == {"beta": "1.0"}


def test_a_wheel_url_without_a_fragment_is_hashed_here(tmp_path: Path, index: IndexServer) -> None:
    remote = tmp_path / "remote"
    wheel = make_wheel(remote, "remote-tool", "1.0")
    with IndexServer(remote) as host:
        url = host.file_url(wheel.name)
        result = compile_in(tmp_path, index, f"remote-tool @ {url}\n")
        assert full_downloads(host, wheel.name) == 1
    assert f"remote-tool @ {url} \\\n    --hash={sha256_of(wheel)}\n" in result.text


@pytest.mark.parametrize("fragment", [True, False], ids=["hash-fragment", "no-fragment"])
def test_an_sdist_url_is_locked_with_its_hash_and_dependencies(
    tmp_path: Path, index: IndexServer, fragment: bool
) -> None:
    remote = tmp_path / "remote"
    sdist = make_sdist(remote, "src-tool", "2.0", requires_dist=["alpha<2"])
    digest = sha256_of(sdist)
    with IndexServer(remote) as host:
        url = host.file_url(sdist.name)
        suffix = f"#sha256={digest[7:]}" if fragment else ""
        result = compile_in(tmp_path, index, f"src-tool @ {url}{suffix}\n")
    assert f"src-tool @ {url} \\\n    --hash={digest}\n" in result.text
    assert pinned_versions(result.text) == {"alpha": "1.0", "beta": "1.1"}
    assert "    # via src-tool\n" in result.text


def test_a_local_wheel_is_written_relative_to_the_lock(tmp_path: Path, index: IndexServer) -> None:
    wheel = make_wheel(tmp_path / "vendor", "vendored", "3.0", requires_dist=["gamma"])
    result = compile_in(tmp_path, index, "./vendor/vendored-3.0-py3-none-any.whl\n")
    assert f"\n./vendor/vendored-3.0-py3-none-any.whl \\\n    --hash={sha256_of(wheel)}\n" in (
        result.text
    )
    [vendored] = [p for p in read_lock(tmp_path / "main.txt").packages if p.name == "vendored"]
    assert vendored.url == wheel.as_uri()


# -- projects and what a lock leaves out -------------------------------------------------------


def write_app(folder: Path, dependencies: str = '"beta<1.1", "gamma"') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "my-app"\nversion = "0.1"\ndependencies = [{dependencies}]\n'
    )
    return folder


def test_an_editable_project_is_written_as_dot_and_warned_about_once(
    tmp_path: Path, index: IndexServer
) -> None:
    write_app(tmp_path)
    (tmp_path / "main.in").write_text("-e .\n")
    versions = ("--python-version", "3.11", "--python-version", "3.12")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, *versions, "main.in")
    assert code == 0, err
    text = (tmp_path / "main-py311.txt").read_text()
    assert text.count("\n-e .\n") == 1
    assert pinned_versions(text) == {"beta": "1.0", "gamma": "0.5"}
    assert err.count("warning: this hashed lock holds -e ., which pip cannot hash-check") == 1
    assert "--no-emit-project" in err


def test_no_emit_project_and_no_emit_package_leave_packages_out(
    tmp_path: Path, index: IndexServer
) -> None:
    write_app(tmp_path)
    kept = compile_in(tmp_path, index, "-e .\nalpha\n", no_emit_project=True, output="-")
    assert "\n-e ." not in kept.text
    assert "    # via my-app\n" in kept.text  # its dependencies stay, and say why
    assert pinned_versions(kept.text) == {"alpha": "2.0", "beta": "1.0", "gamma": "0.5"}
    assert kept.warnings == ()
    fewer = compile_in(tmp_path, index, "alpha\n", no_emit_packages=("Beta",), output="-")
    assert pinned_versions(fewer.text) == {"alpha": "2.0"}
    assert "    # via -r main.in\n" in fewer.text


def test_no_emit_project_leaves_out_a_project_read_as_input(
    tmp_path: Path, index: IndexServer
) -> None:
    write_app(tmp_path)
    (tmp_path / "dev.in").write_text("-e .\n-r pyproject.toml\n")
    request = CompileRequest(
        inputs=(Path("dev.in"),),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        no_emit_project=True,
        output="-",
    )
    [result] = compile_locks(request)
    assert pinned_versions(result.text) == {"beta": "1.0", "gamma": "0.5"}
    assert "\n-e ." not in result.text


# -- VCS ---------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = write_app(tmp_path / "repo", '"beta<1.1"')
    git("init", "-q", "-b", "main", cwd=folder)
    git("add", ".", cwd=folder)
    git("commit", "-q", "-m", "one", cwd=folder)
    git("tag", "-a", "v1", "-m", "first", cwd=folder)
    return folder


def test_a_git_reference_is_pinned_to_the_full_commit_it_names(
    tmp_path: Path, index: IndexServer, repo: Path
) -> None:
    first = git("rev-parse", "HEAD", cwd=repo)
    write_app(repo, '"beta<1.1", "gamma"')
    git("commit", "-q", "-am", "two", cwd=repo)
    second = git("rev-parse", "HEAD", cwd=repo)
    url = f"git+{repo.as_uri()}"
    on_main = compile_in(tmp_path, index, f"my-app @ {url}@main\n", output="-")
    assert f"\nmy-app @ {url}@{second}\n    # via -r main.in\n" in on_main.text
    assert pinned_versions(on_main.text) == {"beta": "1.0", "gamma": "0.5"}
    [warning] = on_main.warnings
    assert f"my-app @ {url}@{second}, which pip cannot hash-check" in warning
    on_tag = compile_in(tmp_path, index, f"my-app @ {url}@v1\n", output="-")
    assert f"\nmy-app @ {url}@{first}\n" in on_tag.text
    assert pinned_versions(on_tag.text) == {"beta": "1.0"}
    short = compile_in(tmp_path, index, f"my-app @ {url}@{first[:10]}\n", output="-")
    assert f"\nmy-app @ {url}@{first}\n" in short.text
    editable = compile_in(tmp_path, index, f"-e {url}@v1#egg=my-app\n", output="-")
    assert f"\n-e {url}@{first}#egg=my-app\n" in editable.text


def test_a_git_reference_without_git_is_a_clear_error(
    tmp_path: Path, index: IndexServer, repo: Path
) -> None:
    (tmp_path / "main.in").write_text(f"my-app @ git+{repo.as_uri()}@main\n")
    empty = tmp_path / "no-git"
    empty.mkdir()
    request = CompileRequest(
        inputs=(Path("main.in"),),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        output="-",
    )
    with pytest.raises(PinlockError, match=r"needs git, which is not on PATH: install git"):
        compile_locks(request, environ={**os.environ, "PATH": str(empty)})


def test_an_unknown_git_ref_is_an_error(tmp_path: Path, index: IndexServer, repo: Path) -> None:
    with pytest.raises(PinlockError, match=r"has no branch or tag 'nope'"):
        compile_in(tmp_path, index, f"my-app @ git+{repo.as_uri()}@nope\n", output="-")


# -- constraint files, standard input, a lock as input ----------------------------------------


def test_constraint_files_on_the_command_line_limit_every_input(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "constraints.txt").write_text("beta<1.1\nalpha==1.0\n")
    (tmp_path / "other.in").write_text("beta\n")
    (tmp_path / "main.in").write_text("alpha\n")
    code, _out, err = compile_cli(
        tmp_path, "-i", index.url, "-c", "constraints.txt", "main.in", "other.in"
    )
    assert code == 0, err
    main = (tmp_path / "main.txt").read_text()
    other = (tmp_path / "other.txt").read_text()
    assert pinned_versions(main) == {"alpha": "1.0", "beta": "1.0"}
    assert pinned_versions(other) == {"beta": "1.0"}
    assert "    #   -c constraints.txt\n" in main
    assert "--constraint constraints.txt main.in other.in\n" in main


def test_standard_input_is_an_input_and_its_lock_goes_to_standard_output(
    tmp_path: Path, index: IndexServer
) -> None:
    result = CliRunner().invoke(
        app,
        ["compile", "--cache-dir", str(tmp_path / "cache"), "-i", index.url, "-"],
        input="alpha<2\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert pinned_versions(result.stdout) == {"alpha": "1.0", "beta": "1.1"}
    assert "    # via -r -\n" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "files"]


def test_a_requirements_txt_lock_is_an_input(tmp_path: Path, index: IndexServer) -> None:
    first = compile_in(tmp_path, index, "alpha==1.0\nbeta==1.0\n")
    assert first.output is not None
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-o", "again.txt", "main.txt")
    assert code == 0, err
    again = (tmp_path / "again.txt").read_text()
    assert pinned_versions(again) == {"alpha": "1.0", "beta": "1.0"}
    assert "    # via -r main.txt\n" in again
    # Without -o the lock would overwrite its own input: refused.
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "main.txt")
    assert code == 2 and "would overwrite the input" in err


def test_local_project_folders_are_written_relative_to_the_lock(
    tmp_path: Path, index: IndexServer
) -> None:
    write_app(tmp_path)
    write_app(tmp_path / "libs" / "sub", '"alpha<2"')
    (tmp_path / "libs" / "sub" / "pyproject.toml").write_text(
        '[project]\nname = "sub-lib"\nversion = "0.2"\ndependencies = ["alpha<2"]\n'
    )
    requirements = tmp_path / "requirements"
    requirements.mkdir()
    (requirements / "main.in").write_text("-e ..\n../libs/sub\n")
    request = CompileRequest(
        inputs=(Path("requirements/main.in"),),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
    )
    [result] = compile_locks(request)
    assert "\n-e ..\n" in result.text
    assert "\n../libs/sub\n    # via -r requirements/main.in\n" in result.text
    assert pinned_versions(result.text) == {"alpha": "1.0", "beta": "1.0", "gamma": "0.5"}
    lock = read_lock(tmp_path / "requirements" / "main.txt")
    packages = {str(p.name): p for p in lock.packages}
    assert packages["sub-lib"].url == (tmp_path / "libs" / "sub").as_uri()
    assert (packages["my-app"].url, packages["my-app"].editable) == (str(tmp_path), True)
