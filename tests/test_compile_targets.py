"""Compiling for target interpreters and platforms (issue 4), end to end on a local index.

Targets come from specs (no interpreter of that version needed) or from real pyenv interpreters;
the locks written for the latter are installed with ``--require-hashes`` into real venvs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pinlock.compile import CompileRequest, CompileResult, compile_locks
from pinlock.errors import ResolutionImpossible
from pinlock.target import Target
from tests.support.compiling import (
    compile_cli,
    compile_text,
    lock_hashes,
    pinned_versions,
    sha256_of,
)
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]

PYENV = Path("/root/.pyenv/versions")


def _compile(
    tmp_path: Path, index: IndexServer, content: str, *targets: Target, **options: Any
) -> list[CompileResult]:
    return compile_text(tmp_path, content, index_url=index.url, targets=targets, **options)


@pytest.fixture
def marker_index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    """``app`` pulls in different packages depending on version, platform and machine."""
    wheel_factory(
        "app",
        "1.0",
        requires_dist=[
            'backport; python_version < "3.10"',
            'winhelper; sys_platform == "win32"',
            'posixhelper; sys_platform != "win32"',
            'armhelper; platform_machine == "arm64" or platform_machine == "aarch64"',
            'darwinhelper; sys_platform == "darwin" and python_full_version >= "3.10.2"',
            "modern",
        ],
    )
    for name in ("backport", "winhelper", "posixhelper", "armhelper", "darwinhelper"):
        wheel_factory(name, "1.0")
    # Each newer release drops older Pythons, as real projects do.
    wheel_factory("modern", "1.0", requires_python=">=3.8")
    wheel_factory("modern", "2.0", requires_python=">=3.10")
    wheel_factory("modern", "3.0", requires_python=">=3.13")
    wheel_factory("modern", "4.0", requires_python=">=3.14")
    return index_factory()


@pytest.mark.parametrize(
    ("version", "platform", "expected"),
    [
        ("3.8", "linux", {"backport": "1.0", "posixhelper": "1.0", "modern": "1.0"}),
        ("3.8", "windows", {"backport": "1.0", "winhelper": "1.0", "modern": "1.0"}),
        ("3.8", "linux-aarch64", {"backport": "1.0", "posixhelper": "1.0", "armhelper": "1.0"}),
        ("3.10", "linux", {"posixhelper": "1.0", "modern": "2.0"}),
        # 3.10 means 3.10.0: the python_full_version >= "3.10.2" marker stays false.
        ("3.10", "macos-arm64-14", {"posixhelper": "1.0", "armhelper": "1.0", "modern": "2.0"}),
        ("3.10.4", "macos-x86_64-12", {"posixhelper": "1.0", "darwinhelper": "1.0"}),
        ("3.10", "windows", {"winhelper": "1.0", "modern": "2.0"}),
        ("3.13", "linux", {"posixhelper": "1.0", "modern": "3.0"}),
        ("3.13", "macos", {"posixhelper": "1.0", "armhelper": "1.0", "darwinhelper": "1.0"}),
        ("3.13", "windows-arm64", {"winhelper": "1.0", "modern": "3.0"}),
    ],
)
def test_markers_and_requires_python_follow_the_target(
    tmp_path: Path,
    marker_index: IndexServer,
    version: str,
    platform: str,
    expected: dict[str, str],
) -> None:
    target = Target.from_spec(version, platform)
    [result] = _compile(tmp_path, marker_index, "app\n", target)
    pins = pinned_versions(result.text)
    assert pins.pop("app") == "1.0"
    # ``expected`` lists what must be there; every helper absent from it must be absent.
    for name, pinned in expected.items():
        assert pins.get(name) == pinned, (name, pins)
    helpers = {"backport", "winhelper", "posixhelper", "armhelper", "darwinhelper"}
    assert set(pins) & helpers == set(expected) & helpers
    assert result.target == target


def test_host_values_never_leak_into_a_spec_target(
    tmp_path: Path, marker_index: IndexServer
) -> None:
    # This host is Linux on x86_64 with CPython 3.11: none of that may decide a windows lock.
    [result] = _compile(tmp_path, marker_index, "app\n", Target.from_spec("3.9", "windows"))
    assert set(pinned_versions(result.text)) == {"app", "backport", "winhelper", "modern"}
    assert pinned_versions(result.text)["modern"] == "1.0"


@pytest.fixture
def native_files(wheel_factory: Factory, sdist_factory: Factory) -> dict[str, Path]:
    """``native`` 1.0: a pure wheel would hide the point, so only platform wheels and an sdist."""
    return {
        "linux310": wheel_factory("native", "1.0", tag="cp310-cp310-manylinux_2_17_x86_64"),
        "linux313": wheel_factory("native", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64"),
        "macos310": wheel_factory("native", "1.0", tag="cp310-cp310-macosx_11_0_arm64"),
        "win310": wheel_factory("native", "1.0", tag="cp310-cp310-win_amd64"),
        "abi3": wheel_factory("native", "1.0", tag="cp38-abi3-musllinux_1_1_x86_64"),
        "sdist": sdist_factory("native", "1.0"),
    }


@pytest.mark.parametrize(
    ("version", "platform", "expected"),
    [
        ("3.10", "linux", {"linux310", "sdist"}),
        ("3.13", "linux", {"linux313", "sdist"}),
        ("3.10", "macos-arm64-14", {"macos310", "sdist"}),
        ("3.10", "windows", {"win310", "sdist"}),
        ("3.12", "linux-musllinux_1_2", {"abi3", "sdist"}),
    ],
)
def test_platform_target_lists_only_installablelock_hashes(
    tmp_path: Path,
    native_files: dict[str, Path],
    index_factory: Callable[..., IndexServer],
    version: str,
    platform: str,
    expected: set[str],
) -> None:
    [result] = _compile(tmp_path, index_factory(), "native\n", Target.from_spec(version, platform))
    assert lock_hashes(result)["native"] == {sha256_of(native_files[key]) for key in expected}


def test_open_platform_lists_every_file(
    tmp_path: Path, native_files: dict[str, Path], index_factory: Callable[..., IndexServer]
) -> None:
    [result] = _compile(tmp_path, index_factory(), "native\n", Target.from_spec("3.10", None))
    assert result.target.platform_open
    assert lock_hashes(result)["native"] == {sha256_of(path) for path in native_files.values()}


def test_wheel_only_package_without_a_wheel_for_the_target_fails_clearly(
    tmp_path: Path, wheel_factory: Factory, index_factory: Callable[..., IndexServer]
) -> None:
    wheel_factory("winonly", "1.0", tag="cp312-cp312-win_amd64")
    wheel_factory("winonly", "1.0", tag="cp312-cp312-macosx_11_0_arm64")
    index = index_factory()
    [windows] = _compile(tmp_path, index, "winonly\n", Target.from_spec("3.12", "windows"))
    assert pinned_versions(windows.text) == {"winonly": "1.0"}
    with pytest.raises(ResolutionImpossible) as caught:
        _compile(tmp_path, index, "winonly\n", Target.from_spec("3.12", "linux"))
    message = str(caught.value)
    assert "winonly" in message
    assert "no wheel for CPython 3.12" in message
    assert caught.value.exit_code == 3
    src = tmp_path / "main.in"
    code, _out, err = compile_cli(
        tmp_path, "-i", index.url, "--python-version", "3.12", "--platform", "linux", str(src)
    )
    assert code == 3
    assert "winonly" in err and "no wheel for CPython 3.12" in err
    # The failed run left the windows lock as it was.
    assert (tmp_path / "main.txt").read_text() == windows.text


def test_several_targets_one_lock_each_named_and_headed(
    tmp_path: Path, marker_index: IndexServer
) -> None:
    targets = (
        Target.from_spec("3.8", "linux"),
        Target.from_spec("3.10", "linux"),
        Target.from_spec("3.13", "windows"),
    )
    results = _compile(tmp_path, marker_index, "app\n", *targets)
    names = [r.output.name for r in results if r.output is not None]
    assert names == ["main-py38-linux.txt", "main-py310-linux.txt", "main-py313-windows.txt"]
    assert not (tmp_path / "main.txt").exists()
    by_name = {r.output.name: r for r in results if r.output is not None}
    assert pinned_versions(by_name["main-py38-linux.txt"].text)["modern"] == "1.0"
    assert pinned_versions(by_name["main-py310-linux.txt"].text)["modern"] == "2.0"
    assert "winhelper" in pinned_versions(by_name["main-py313-windows.txt"].text)
    for result, target in zip(results, targets, strict=True):
        assert result.output is not None
        text = result.output.read_text()
        assert text == result.text
        assert f"# for target: {target.description}\n" in text
        assert f"with Python {target.python_version}\n" in text
    assert "CPython 3.13 on windows amd64" in by_name["main-py313-windows.txt"].text


def test_cli_targets_matrix_and_custom_names(tmp_path: Path, marker_index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("app\n")
    args = ["-i", marker_index.url, "--python-version", "3.8", "--python-version", "3.13"]
    code, _out, err = compile_cli(
        tmp_path, *args, "--platform", "linux", "--platform", "windows", str(src)
    )
    assert code == 0, err
    for name in ("py38-linux", "py38-windows", "py313-linux", "py313-windows"):
        assert (tmp_path / f"main-{name}.txt").is_file(), name
        assert f"main-{name}.txt" in err
    windows = (tmp_path / "main-py38-windows.txt").read_text()
    assert "--python-version 3.8" in windows and "--platform windows" in windows
    assert "# for target: CPython 3.8 on windows amd64\n" in windows
    code, _out, err = compile_cli(
        tmp_path,
        *args,
        "--platform",
        "linux",
        "--output-template",
        "{stem}.{python}.lock",
        str(src),
    )
    assert code == 0, err
    assert {p.name for p in tmp_path.glob("*.lock")} == {"main.38.lock", "main.313.lock"}


def test_one_target_keeps_the_plain_name(tmp_path: Path, marker_index: IndexServer) -> None:
    [result] = _compile(tmp_path, marker_index, "app\n", Target.from_spec("3.10", "linux"))
    assert result.output == tmp_path / "main.txt"
    assert "# for target: CPython 3.10 on linux x86_64" in result.text


def test_pyproject_sets_the_matrix(
    tmp_path: Path, marker_index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "main.in").write_text("app\n")
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'demo'\nversion = '0'\n\n"
        "[tool.pinlock]\n"
        'inputs = ["requirements/main.in"]\n'
        f'index-url = "{marker_index.url}"\n'
        'python-version = ["3.8", "3.13"]\n'
        'platform = ["linux"]\n'
        'annotation_style = "line"\n'
    )
    code, _out, err = compile_cli(tmp_path)
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "requirements").glob("*.txt"))
    assert written == ["main-py313-linux.txt", "main-py38-linux.txt"]
    old = (tmp_path / "requirements" / "main-py38-linux.txt").read_text()
    assert "backport==1.0" in old and "modern==1.0" in old
    assert "# via app" in old  # annotation_style = "line" from the config
    new = (tmp_path / "requirements" / "main-py313-linux.txt").read_text()
    assert "backport" not in new and "modern==3.0" in new
    # The command line still wins over the file; one target keeps the plain name.
    code, _out, err = compile_cli(tmp_path, "--python-version", "3.10")
    assert code == 0, err
    single = (tmp_path / "requirements" / "main.txt").read_text()
    assert "# for target: CPython 3.10 on linux x86_64" in single and "modern==2.0" in single


def test_unknown_config_key_names_key_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.in").write_text("app\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pinlock]\npython-version = ["3.12"]\npython-versions = ["3.13"]\n'
    )
    code, _out, err = compile_cli(tmp_path, "main.in")
    assert code == 2
    assert "python-versions" in err
    assert str(tmp_path / "pyproject.toml") in err or "pyproject.toml" in err
    assert not (tmp_path / "main.txt").exists()
    other = tmp_path / "pinlock.toml"
    other.write_text('platforms = ["linux"]\n')
    code, _out, err = compile_cli(tmp_path, "--config", str(other), "main.in")
    assert code == 2
    assert "platforms" in err and str(other) in err


def test_bad_platform_spec_is_a_usage_error(tmp_path: Path, marker_index: IndexServer) -> None:
    src = tmp_path / "main.in"
    src.write_text("app\n")
    code, _out, err = compile_cli(
        tmp_path, "-i", marker_index.url, "--python-version", "3.12", "--platform", "beos", str(src)
    )
    assert code == 2
    assert "beos" in err


# ---------------------------------------------------------------------------------------------
# Real interpreters: one run locks for 3.9 and 3.13, each lock installs into a real venv.


def _interpreter(version: str) -> Path:
    python = PYENV / version / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no CPython {version} at {python}")
    return python


def _venv(python: Path, where: Path) -> Path:
    subprocess.run([str(python), "-m", "venv", str(where)], check=True, capture_output=True)
    return where / "bin" / "python"


def _pip(venv_python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv_python), "-m", "pip", "--disable-pip-version-check", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def interpreter_index(
    wheel_factory: Factory, sdist_factory: Factory, index_factory: Callable[..., IndexServer]
) -> IndexServer:
    wheel_factory(
        "service",
        "1.0",
        requires_dist=[
            'backport>=1; python_version < "3.10"',
            'tomlish; python_version >= "3.11"',
            'winhelper; sys_platform == "win32"',
            "native",
            "modern",
        ],
    )
    wheel_factory("backport", "1.0")
    wheel_factory("tomlish", "2.0")
    wheel_factory("winhelper", "1.0")
    wheel_factory("modern", "1.0", requires_python=">=3.8")
    wheel_factory("modern", "2.0", requires_python=">=3.10")
    wheel_factory("modern", "3.0", requires_python=">=3.13")
    # One platform wheel per interpreter: each lock must hash exactly its own.
    wheel_factory("native", "1.0", tag="cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64")
    wheel_factory("native", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64")
    wheel_factory("native", "1.0", tag="cp312-cp312-win_amd64")
    sdist_factory("native", "1.0")
    return index_factory()


@pytest.mark.parametrize("source", ["find-links", "index"])
def test_locks_for_real_interpreters_install_with_requirelock_hashes(
    tmp_path: Path, interpreter_index: IndexServer, files_dir: Path, source: str
) -> None:
    python39 = _interpreter("3.9.18")
    python313 = _interpreter("3.13.0")
    targets = (Target.from_python(python39), Target.from_python(python313))
    assert [t.python_version for t in targets] == ["3.9", "3.13"]
    results = _compile(tmp_path, interpreter_index, "service\n", *targets)
    assert len(results) == 2 and len({r.output for r in results}) == 2
    expected = {
        # modern 2.0 needs >=3.10, so 3.9 keeps 1.0.
        "3.9": {"service": "1.0", "backport": "1.0", "native": "1.0", "modern": "1.0"},
        "3.13": {"service": "1.0", "tomlish": "2.0", "native": "1.0", "modern": "3.0"},
    }
    for result, python in zip(results, (python39, python313), strict=True):
        version = result.target.python_version
        assert pinned_versions(result.text) == expected[version]
        assert len(lock_hashes(result)["native"]) == 2  # its own wheel and the sdist
        assert result.output is not None
        venv_python = _venv(python, tmp_path / f"venv{version}")
        if source == "find-links":
            where = ["--no-index", "--find-links", str(files_dir)]
        else:
            where = ["--index-url", interpreter_index.url]
        install = _pip(
            venv_python,
            "install",
            *where,
            "--require-hashes",
            "--no-deps",
            "-r",
            str(result.output),
        )
        assert install.returncode == 0, install.stdout + install.stderr
        check = _pip(venv_python, "check")
        assert check.returncode == 0, check.stdout + check.stderr
        listed = _pip(venv_python, "list", "--format=freeze")
        installed = dict(line.split("==") for line in listed.stdout.split() if "==" in line)
        for name, pinned in expected[version].items():
            assert installed.get(name) == pinned, (name, listed.stdout)


def test_pages_and_metadata_are_fetched_once_for_all_targets(
    tmp_path: Path, marker_index: IndexServer
) -> None:
    def requests_of(*targets: Target, cache: str) -> list[str]:
        marker_index.clear_log()
        src = tmp_path / "main.in"
        src.write_text("app\n")
        compile_locks(
            CompileRequest(
                inputs=(src,),
                targets=targets,
                index_overrides={"index-url": marker_index.url},
                cache_dir=tmp_path / cache,
                dry_run=True,
            )
        )
        return [r.path for r in marker_index.requests]

    one = requests_of(Target.from_spec("3.13", "macos"), cache="one")
    matrix = tuple(
        Target.from_spec(version, platform)
        for version in ("3.8", "3.10", "3.13")
        for platform in ("linux", "macos", "windows")
    )
    nine = requests_of(*matrix, cache="nine")
    pages = [path for path in nine if path.startswith("/simple/")]
    assert len(pages) == len(set(pages)), pages  # each project page once per run
    # app's metadata is read once for nine targets: no more requests than for one target.
    app_wheel = [path for path in nine if path.startswith("/files/app-")]
    assert app_wheel and len(app_wheel) == len([p for p in one if p.startswith("/files/app-")])
