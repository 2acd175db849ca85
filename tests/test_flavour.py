from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.errors import ConfigError, EnvironmentProblem
from pinlock.flavour import (
    DEFAULT_FLAVOUR_BASE_URL,
    DEFAULT_FLAVOUR_PACKAGES,
    Detection,
    detect_flavour,
    parse_flavour,
)

ALL = ["cpu", "cu118", "cu121", "cu124", "cu126", "cu128", "cu130", "rocm6.1", "rocm6.2", "xpu"]
PROC_TEXT = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
)


def no_smi() -> str | None:
    return None


def smi(output: str) -> Callable[[], str | None]:
    return lambda: output


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def detect(available: list[str], root: Path, **environ: str) -> Detection:
    return detect_flavour(available, environ=environ, root=root, nvidia_smi=no_smi)


# --- parse_flavour / Flavour ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["cpu", "cu118", "cu121", "cu124", "cu126", "cu128", "cu130", "rocm6.2", "rocm6.2.4", "xpu"],
)
def test_parse_valid_names(name: str) -> None:
    flavour = parse_flavour(name)
    assert flavour.name == name
    assert flavour.index == f"{DEFAULT_FLAVOUR_BASE_URL}/{name}"
    assert flavour.packages == DEFAULT_FLAVOUR_PACKAGES


@pytest.mark.parametrize(
    "name", ["", "gpu", "cuda", "cu12", "cu", "rocm6", "rocm", "cu121x", "mps"]
)
def test_parse_invalid_names(name: str) -> None:
    with pytest.raises(ConfigError, match=r"cuNNN"):
        parse_flavour(name)


def test_parse_normalizes_case_and_options() -> None:
    flavour = parse_flavour(
        " CU121 ", base_url="http://127.0.0.1:8000/whl/", packages=["Torch", "my_ext"]
    )
    assert flavour.name == "cu121"
    assert flavour.index == "http://127.0.0.1:8000/whl/cu121"
    assert flavour.packages == {"torch", "my-ext"}
    local = parse_flavour("cpu", index="/srv/wheels/cpu")
    assert local.index == "/srv/wheels/cpu"
    with pytest.raises(ConfigError, match="at least one package"):
        parse_flavour("cpu", packages=[])


def test_default_packages() -> None:
    assert {"torch", "torchvision", "torchaudio", "triton", "xformers"} <= DEFAULT_FLAVOUR_PACKAGES
    assert "pytorch-triton-rocm" in DEFAULT_FLAVOUR_PACKAGES
    assert "numpy" not in DEFAULT_FLAVOUR_PACKAGES


def test_owns_and_accepts() -> None:
    cu121 = parse_flavour("cu121")
    assert cu121.owns(canonicalize_name("torch"))
    assert not cu121.owns(canonicalize_name("numpy"))
    assert cu121.accepts(Version("2.4.1+cu121"))
    assert cu121.accepts(Version("2.4.1"))
    assert not cu121.accepts(Version("2.4.1+cpu"))
    assert not cu121.accepts(Version("2.4.1+cu124"))
    rocm = parse_flavour("rocm6.2")
    assert rocm.accepts(Version("2.5.1+rocm6.2"))
    assert not rocm.accepts(Version("2.5.1+rocm6.1"))


# --- detection -----------------------------------------------------------------------------


def test_override_wins(tmp_path: Path) -> None:
    write(tmp_path, "proc/driver/nvidia/version", PROC_TEXT)
    found = detect(ALL, tmp_path, PINLOCK_FLAVOUR="rocm6.1")
    assert found.flavour == "rocm6.1"
    assert "PINLOCK_FLAVOUR" in found.reason


def test_override_must_be_available(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem) as info:
        detect(["cpu", "cu121"], tmp_path, PINLOCK_FLAVOUR="cu128")
    assert "cu128" in str(info.value)
    assert "cpu, cu121" in str(info.value)


def test_proc_driver_file(tmp_path: Path) -> None:
    path = write(tmp_path, "proc/driver/nvidia/version", PROC_TEXT)
    found = detect(["cpu", "cu118", "cu121", "cu130"], tmp_path)
    assert found.flavour == "cu121"
    assert found.reason == (
        f"NVIDIA driver 535.104.05 (from {path}) supports CUDA 12; newest available: cu121"
    )


def test_open_kernel_module_proc_text(tmp_path: Path) -> None:
    write(
        tmp_path,
        "proc/driver/nvidia/version",
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build\n",
    )
    assert detect(ALL, tmp_path).flavour == "cu130"


def test_sys_module_file_comes_before_proc(tmp_path: Path) -> None:
    path = write(tmp_path, "sys/module/nvidia/version", "570.86.15\n")
    write(tmp_path, "proc/driver/nvidia/version", PROC_TEXT.replace("535.104.05", "470.1.1"))
    found = detect(ALL, tmp_path)
    assert found.flavour == "cu128"
    assert str(path) in found.reason
    assert "570.86.15" in found.reason


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("580.65.06", "cu130"),
        ("580", "cu130"),
        ("575.51.03", "cu128"),
        ("525.60.13", "cu128"),
        ("525.60.12", "cu118"),
        ("470.82.01", "cu118"),
        ("450.80.02", "cu118"),
        ("450.80.01", "cpu"),
        ("390.1", "cpu"),
    ],
)
def test_driver_thresholds(driver: str, expected: str, tmp_path: Path) -> None:
    found = detect(ALL, tmp_path, PINLOCK_CUDA_DRIVER=driver)
    assert found.flavour == expected
    if expected == "cpu":
        assert "runs none of the available CUDA flavours" in found.reason


def test_falls_to_lower_cuda_major_when_preferred_is_missing(tmp_path: Path) -> None:
    found = detect(["cpu", "cu118", "cu124"], tmp_path, PINLOCK_CUDA_DRIVER="580.65.06")
    assert found.flavour == "cu124"
    assert "supports CUDA 12" in found.reason
    only_11 = detect(["cpu", "cu118"], tmp_path, PINLOCK_CUDA_DRIVER="580.65.06")
    assert only_11.flavour == "cu118"


def test_bad_driver_override(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="PINLOCK_CUDA_DRIVER"):
        detect(ALL, tmp_path, PINLOCK_CUDA_DRIVER="latest")


def test_nvidia_smi_callable(tmp_path: Path) -> None:
    found = detect_flavour(ALL, environ={}, root=tmp_path, nvidia_smi=smi("560.35.03\n560.35.03\n"))
    assert found.flavour == "cu128"
    assert "(from nvidia-smi)" in found.reason
    garbage = detect_flavour(ALL, environ={}, root=tmp_path, nvidia_smi=smi("No devices found"))
    assert garbage.flavour == "cpu"


def test_files_win_over_nvidia_smi(tmp_path: Path) -> None:
    write(tmp_path, "proc/driver/nvidia/version", PROC_TEXT)
    found = detect_flavour(ALL, environ={}, root=tmp_path, nvidia_smi=smi("580.1.1"))
    assert found.flavour == "cu128"


def _fake_smi(folder: Path, body: str) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def test_default_runner_uses_nvidia_smi_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake_smi(
        bin_dir,
        'if [ "$1" = "--query-gpu=driver_version" ] && [ "$2" = "--format=csv,noheader" ]; then\n'
        "  echo 550.54.14\nelse\n  exit 9\nfi",
    )
    found = detect_flavour(ALL, environ={"PATH": str(bin_dir)}, root=tmp_path)
    assert found.flavour == "cu128"
    assert "550.54.14" in found.reason


def test_default_runner_failing_or_absent(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake_smi(bin_dir, "echo 'NVIDIA-SMI has failed' ; exit 9")
    assert detect_flavour(ALL, environ={"PATH": str(bin_dir)}, root=tmp_path).flavour == "cpu"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert detect_flavour(ALL, environ={"PATH": str(empty)}, root=tmp_path).flavour == "cpu"


def test_nvidia_smi_not_run_without_cuda_flavours(tmp_path: Path) -> None:
    calls: list[int] = []

    def counting() -> str | None:
        calls.append(1)
        return "535.1.1"

    found = detect_flavour(["cpu", "rocm6.2"], environ={}, root=tmp_path, nvidia_smi=counting)
    assert found.flavour == "cpu"
    assert calls == []


def test_rocm_info_file(tmp_path: Path) -> None:
    path = write(tmp_path, "opt/rocm/.info/version", "6.2.4-120\n")
    found = detect(ALL, tmp_path)
    assert found.flavour == "rocm6.2"
    assert "6.2.4" in found.reason and str(path) in found.reason


@pytest.mark.parametrize(
    ("installed", "expected"),
    [("6.1.3", "rocm6.1"), ("6.2", "rocm6.2"), ("7.0.1", "rocm6.2"), ("5.7", "cpu")],
)
def test_rocm_override(installed: str, expected: str, tmp_path: Path) -> None:
    found = detect(ALL, tmp_path, PINLOCK_ROCM_VERSION=installed)
    assert found.flavour == expected


def test_rocm_patch_level_flavours(tmp_path: Path) -> None:
    available = ["cpu", "rocm6.2", "rocm6.2.4"]
    assert detect(available, tmp_path, PINLOCK_ROCM_VERSION="6.2.4").flavour == "rocm6.2.4"
    assert detect(available, tmp_path, PINLOCK_ROCM_VERSION="6.2.1").flavour == "rocm6.2"


def test_bad_rocm_override(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="PINLOCK_ROCM_VERSION"):
        detect(ALL, tmp_path, PINLOCK_ROCM_VERSION="new")


def test_cuda_before_rocm(tmp_path: Path) -> None:
    write(tmp_path, "opt/rocm/.info/version", "6.2.0")
    found = detect(ALL, tmp_path, PINLOCK_CUDA_DRIVER="535.104.05")
    assert found.flavour == "cu128"


def test_cpu_fallback_and_no_cpu(tmp_path: Path) -> None:
    found = detect(ALL, tmp_path)
    assert found == Detection(
        flavour="cpu", reason="no NVIDIA driver or ROCm installation found; using cpu"
    )
    with pytest.raises(EnvironmentProblem, match="cpu is not available"):
        detect(["cu121", "rocm6.2"], tmp_path)


def test_unknown_available_flavour(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        detect(["cpu", "metal"], tmp_path)


def test_default_environ_is_the_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PINLOCK_FLAVOUR", "cu121")
    assert detect_flavour(ALL, root=tmp_path, nvidia_smi=no_smi).flavour == "cu121"
