from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import packaging
import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

from pinlock.errors import ConfigError, EnvironmentProblem
from pinlock.target import MARKER_KEYS, Target

PYENV = Path("/root/.pyenv/versions")


def pyenv_python(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        pytest.skip(f"no pyenv Python {version} on this machine")
    return found[-1]


def fits(target: Target, wheel: str) -> bool:
    _, _, _, tags = parse_wheel_filename(wheel)
    return target.tag_rank(tags) is not None


# --- markers -------------------------------------------------------------------------------

EXPECTED_PLATFORM_MARKERS = {
    "linux": {
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
    },
    "linux-aarch64": {
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "aarch64",
    },
    "macos": {
        "os_name": "posix",
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "arm64",
    },
    "macos-x86_64": {
        "os_name": "posix",
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "x86_64",
    },
    "windows": {
        "os_name": "nt",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "AMD64",
    },
    "windows-arm64": {
        "os_name": "nt",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "ARM64",
    },
    "windows-x86": {
        "os_name": "nt",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "x86",
    },
}


@pytest.mark.parametrize("python", ["3.8", "3.10", "3.13"])
@pytest.mark.parametrize("platform", sorted(EXPECTED_PLATFORM_MARKERS))
def test_spec_markers_are_all_the_targets(python: str, platform: str) -> None:
    target = Target.from_spec(python, platform)
    markers = target.markers
    assert set(markers) == set(MARKER_KEYS)
    assert markers == {
        **EXPECTED_PLATFORM_MARKERS[platform],
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
    }
    assert target.platform_open is False


def test_full_version_is_kept() -> None:
    target = Target.from_spec("3.11.4", "linux")
    assert target.markers["python_full_version"] == "3.11.4"
    assert target.markers["python_version"] == "3.11"
    assert str(target.python_full_version) == "3.11.4"


def test_markers_evaluate_for_the_target_not_the_host() -> None:
    windows = Target.from_spec("3.8", "windows")
    assert windows.evaluate(Marker("sys_platform == 'win32' and python_version < '3.9'"))
    assert not windows.evaluate(Marker("os_name == 'posix'"))
    mac = Target.from_spec("3.13", "macos")
    assert mac.evaluate(Marker("platform_machine == 'arm64' and platform_system == 'Darwin'"))
    assert mac.evaluate(Marker("extra == 'gpu'"), extras=["cli", "gpu"])
    assert not mac.evaluate(Marker("extra == 'gpu'"))


def test_requires_python_compares_full_versions() -> None:
    target = Target.from_spec("3.10", "linux")
    assert target.accepts_python(">=3.10")
    assert not target.accepts_python(">=3.10.1")
    assert target.accepts_python(SpecifierSet("<3.11,!=3.10.1"))
    assert not target.accepts_python("<3.10")
    assert target.accepts_python(None)
    assert target.accepts_python("")
    assert Target.from_spec("3.10.2", "linux").accepts_python(">=3.10.1")


# --- names and descriptions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("python", "platform", "name", "description"),
    [
        ("3.12", "linux", "py312-linux", "CPython 3.12 on linux x86_64 (manylinux_2_28)"),
        ("3.10", "linux-aarch64", "py310-linux-aarch64", None),
        ("3.12", "LINUX-X86_64-MANYLINUX_2_28", "py312-linux", None),
        ("3.12", "linux-x86_64-manylinux_2_17", "py312-linux-manylinux_2_17", None),
        (
            "3.12",
            "linux-musllinux_1_2",
            "py312-linux-musllinux_1_2",
            "CPython 3.12 on linux x86_64 (musllinux_1_2)",
        ),
        ("3.12", "macos", "py312-macos-arm64", "CPython 3.12 on macos arm64 (macOS 12.0)"),
        ("3.12", "macos-x86_64-13", "py312-macos-x86_64-13.0", None),
        ("3.11", "windows", "py311-windows", "CPython 3.11 on windows amd64"),
        ("3.11", "windows-win32", "py311-windows-x86", None),
        ("3.11", "windows-arm64", "py311-windows-arm64", None),
        ("3.13t", "linux", "py313t-linux", None),
        ("3.12.3", "linux", "py312-linux", "CPython 3.12.3 on linux x86_64 (manylinux_2_28)"),
    ],
)
def test_names_and_descriptions(
    python: str, platform: str, name: str, description: str | None
) -> None:
    target = Target.from_spec(python, platform)
    assert target.name == name
    if description is not None:
        assert target.description == description


def test_spec_without_platform_uses_host_platform_and_stays_open() -> None:
    target = Target.from_spec("3.12", None)
    host = Target.host().markers
    assert target.name == "py312"
    assert target.platform_open is True
    markers = target.markers
    assert set(markers) == set(MARKER_KEYS)
    assert markers["python_full_version"] == "3.12.0"
    assert markers["implementation_version"] == "3.12.0"
    for key in ("sys_platform", "platform_machine", "os_name", "platform_system"):
        assert markers[key] == host[key]
    assert target.tags[0].interpreter == "cp312"
    assert Tag("py3", "none", "any") in target.tags


def test_spec_without_anything_is_the_host_python() -> None:
    target = Target.from_spec(None, None)
    major, minor = sys.version_info[:2]
    assert target.python_version == f"{major}.{minor}"
    assert target.markers["python_full_version"] == Target.host().markers["python_full_version"]


@pytest.mark.parametrize(
    "platform",
    [
        "",
        "freebsd",
        "linux-sparc",
        "linux-x86_64-glibc_2_28",
        "linux-aarch64-manylinux_2_12",
        "linux-x86_64-manylinux_2_28-extra",
        "linux-musllinux_2_1",
        "macos-ppc",
        "macos-arm64-10.15",
        "macos-x86_64-10",
        "macos-arm64-twelve",
        "windows-mips",
        "windows-amd64-extra",
    ],
)
def test_bad_platform_explains_grammar(platform: str) -> None:
    with pytest.raises(ConfigError) as info:
        Target.from_spec("3.12", platform)
    assert "linux[-ARCH[-manylinux_X_Y|-musllinux_X_Y]]" in str(info.value)
    assert "windows[-ARCH]" in str(info.value)


@pytest.mark.parametrize("python", ["3", "2.7", "3.x", "3.12.1.2", "3.12rc1", "3.12t", " "])
def test_bad_python_version(python: str) -> None:
    with pytest.raises(ConfigError, match="python version"):
        Target.from_spec(python, "linux")


# --- tags ----------------------------------------------------------------------------------


def test_linux_tags_follow_glibc_and_pip_order() -> None:
    target = Target.from_spec("3.12", "linux")
    platforms = list(dict.fromkeys(t.platform for t in target.tags if t.abi == "cp312"))
    assert platforms[0] == "linux_x86_64"
    assert platforms[1] == "manylinux_2_28_x86_64"
    assert platforms[-1] == "manylinux1_x86_64"
    index = platforms.index
    assert index("manylinux_2_17_x86_64") + 1 == index("manylinux2014_x86_64")
    assert index("manylinux_2_12_x86_64") + 1 == index("manylinux2010_x86_64")
    assert index("manylinux_2_5_x86_64") + 1 == index("manylinux1_x86_64")
    assert "manylinux_2_29_x86_64" not in platforms
    assert not any(p.startswith("musllinux") for p in platforms)

    aarch64 = Target.from_spec("3.12", "linux-aarch64")
    arm_platforms = {t.platform for t in aarch64.tags}
    assert "manylinux2014_aarch64" in arm_platforms
    assert "manylinux_2_16_aarch64" not in arm_platforms
    assert not any(p.endswith("x86_64") for p in arm_platforms)


def test_musllinux_tags() -> None:
    target = Target.from_spec("3.12", "linux-aarch64-musllinux_1_2")
    platforms = list(dict.fromkeys(t.platform for t in target.tags if t.abi == "cp312"))
    assert platforms == [
        "linux_aarch64",
        "musllinux_1_2_aarch64",
        "musllinux_1_1_aarch64",
        "musllinux_1_0_aarch64",
    ]


def test_tags_most_preferred_first() -> None:
    target = Target.from_spec("3.12", "linux")
    assert target.tags[0] == Tag("cp312", "cp312", "linux_x86_64")
    assert target.tags[-1] == Tag("py30", "none", "any")
    specific = target.tag_rank([Tag("cp312", "cp312", "manylinux_2_17_x86_64")])
    stable = target.tag_rank([Tag("cp39", "abi3", "manylinux_2_17_x86_64")])
    pure = target.tag_rank([Tag("py3", "none", "any")])
    assert specific is not None and stable is not None and pure is not None
    assert specific < stable < pure


@pytest.mark.parametrize(
    ("python", "platform", "wheel", "expected"),
    [
        (
            "3.12",
            "linux",
            "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            True,
        ),
        ("3.12", "linux", "numpy-2.0.0-cp312-cp312-manylinux_2_31_x86_64.whl", False),
        ("3.12", "linux-x86_64-manylinux_2_34", "x-1-cp312-cp312-manylinux_2_31_x86_64.whl", True),
        ("3.12", "linux", "numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl", False),
        ("3.12", "linux", "numpy-2.0.0-cp312-cp312-musllinux_1_1_x86_64.whl", False),
        ("3.12", "linux-musllinux_1_2", "numpy-2.0.0-cp312-cp312-musllinux_1_1_x86_64.whl", True),
        ("3.12", "linux-musllinux_1_2", "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.whl", False),
        ("3.12", "linux-aarch64", "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.whl", False),
        ("3.12", "linux-aarch64", "numpy-2.0.0-cp312-cp312-manylinux_2_17_aarch64.whl", True),
        ("3.8", "linux", "cffi-1.0-cp38-cp38-manylinux1_x86_64.whl", True),
        ("3.7", "linux", "cffi-1.0-cp37-cp37m-manylinux1_x86_64.whl", True),
        ("3.12", "macos", "numpy-2.0.0-cp312-cp312-macosx_10_9_universal2.whl", True),
        ("3.12", "macos", "numpy-2.0.0-cp312-cp312-macosx_11_0_arm64.whl", True),
        ("3.12", "macos", "numpy-2.0.0-cp312-cp312-macosx_14_0_arm64.whl", False),
        ("3.12", "macos", "numpy-2.0.0-cp312-cp312-macosx_10_9_x86_64.whl", False),
        ("3.12", "macos-x86_64", "numpy-2.0.0-cp312-cp312-macosx_10_9_x86_64.whl", True),
        ("3.12", "macos-x86_64", "numpy-2.0.0-cp312-cp312-macosx_10_9_universal2.whl", True),
        ("3.12", "macos-x86_64", "numpy-2.0.0-cp312-cp312-macosx_11_0_arm64.whl", False),
        ("3.12", "windows", "numpy-2.0.0-cp312-cp312-win_amd64.whl", True),
        ("3.12", "windows", "numpy-2.0.0-cp312-cp312-win32.whl", False),
        ("3.12", "windows-x86", "numpy-2.0.0-cp312-cp312-win32.whl", True),
        ("3.12", "windows-arm64", "numpy-2.0.0-cp312-cp312-win_arm64.whl", True),
        ("3.12", "linux", "numpy-2.0.0-cp312-cp312-win_amd64.whl", False),
        ("3.12", "windows", "cryptography-43-cp39-abi3-win_amd64.whl", True),
        ("3.12", "linux", "cryptography-43-cp39-abi3-manylinux_2_28_x86_64.whl", True),
        ("3.8", "linux", "cryptography-43-cp39-abi3-manylinux_2_28_x86_64.whl", False),
        ("3.13t", "linux", "cryptography-43-cp39-abi3-manylinux_2_28_x86_64.whl", False),
        ("3.13t", "linux", "x-1-cp313-cp313t-manylinux_2_28_x86_64.whl", True),
        ("3.13", "linux", "x-1-cp313-cp313t-manylinux_2_28_x86_64.whl", False),
        ("3.12", "windows", "six-1.16.0-py2.py3-none-any.whl", True),
        ("3.12", "macos", "typing_extensions-4-py3-none-any.whl", True),
        ("3.12", "linux", "old-1.0-py2-none-any.whl", False),
    ],
)
def test_wheel_fits_target(python: str, platform: str, wheel: str, expected: bool) -> None:
    assert fits(Target.from_spec(python, platform), wheel) is expected


def test_spec_tags_never_come_from_host() -> None:
    # A Windows target on this (non-Windows) test machine must not accept host wheels.
    target = Target.from_spec(f"{sys.version_info[0]}.{sys.version_info[1]}", "windows")
    host_platform = Target.host().tags[0].platform
    assert host_platform.startswith("win") or all(t.platform != host_platform for t in target.tags)


# --- from_python ----------------------------------------------------------------------------


def _sys_tags_of(python: Path, tmp_path: Path) -> list[str] | None:
    """The interpreter's own packaging.tags.sys_tags(), using our installed packaging."""
    copy = tmp_path / "pkgpath"
    shutil.copytree(Path(packaging.__file__).parent, copy / "packaging")
    done = subprocess.run(
        [
            str(python),
            "-c",
            "import json, packaging.tags as t; print(json.dumps([str(x) for x in t.sys_tags()]))",
        ],
        env={"PYTHONPATH": str(copy), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None  # our packaging does not run on that Python
    tags: list[str] = json.loads(done.stdout)
    return tags


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.12", "3.13"])
def test_from_python_tags_equal_its_own_sys_tags(version: str, tmp_path: Path) -> None:
    python = pyenv_python(version)
    theirs = _sys_tags_of(python, tmp_path)
    if theirs is None:
        pytest.skip(f"installed packaging does not run on {python}")
    target = Target.from_python(python)
    assert [str(t) for t in target.tags] == theirs


@pytest.mark.parametrize("version", ["3.8", "3.10", "3.13"])
def test_from_python_markers(version: str) -> None:
    python = pyenv_python(version)
    done = subprocess.run(
        [str(python), "-I", "-c", "import platform, sys; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    target = Target.from_python(python)
    markers = target.markers
    assert set(markers) == set(MARKER_KEYS)
    assert markers["python_full_version"] == done.stdout.strip()
    assert markers["python_version"] == version
    assert markers["implementation_name"] == "cpython"
    assert markers["sys_platform"] == sys.platform
    assert target.name.startswith(f"py{version.replace('.', '')}-")
    assert str(python) in target.description
    assert target.platform_open is False
    nodot = version.replace(".", "")
    assert target.tags[0].interpreter == f"cp{nodot}"
    assert Tag(f"cp{nodot}", "abi3", target.tags[0].platform) in target.tags
    assert target.tags[-1] == Tag("py30", "none", "any")


def test_from_python_matches_equivalent_spec() -> None:
    python = pyenv_python("3.12")
    real = Target.from_python(python)
    glibc = next(t.platform for t in real.tags if t.platform.startswith("manylinux_"))
    libc = "manylinux_" + "_".join(glibc.split("_")[1:3])
    arch = real.markers["platform_machine"]
    spec = Target.from_spec(real.markers["python_full_version"], f"linux-{arch}-{libc}")
    assert spec.tags == real.tags
    for key in MARKER_KEYS:
        if key not in {"platform_release", "platform_version"}:
            assert spec.markers[key] == real.markers[key], key


def test_from_python_accepts_a_venv_folder(tmp_path: Path) -> None:
    python = pyenv_python("3.10")
    venv = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    target = Target.from_python(venv)
    assert target.python_version == "3.10"
    assert str(venv) in target.description


def test_from_python_rejects_non_pythons(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="no Python interpreter"):
        Target.from_python(tmp_path / "missing")
    with pytest.raises(EnvironmentProblem, match="folder without"):
        Target.from_python(tmp_path)
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    with pytest.raises(EnvironmentProblem, match="did not answer like a Python"):
        Target.from_python(script)
    failing = tmp_path / "failing-python"
    failing.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(EnvironmentProblem, match="exit status 3"):
        Target.from_python(failing)
    plain = tmp_path / "not-executable"
    plain.write_text("data")
    with pytest.raises(EnvironmentProblem, match="cannot run"):
        Target.from_python(plain)


def test_from_python_rejects_python2() -> None:
    python = PYENV / "2.7.18" / "bin" / "python"
    if not python.exists():
        pytest.skip("no Python 2.7 here")
    with pytest.raises(EnvironmentProblem):
        Target.from_python(python)


def test_host_is_unchanged() -> None:
    host = Target.host()
    assert host.name == "host"
    assert host.platform_open is True
    assert set(host.markers) >= set(MARKER_KEYS)
