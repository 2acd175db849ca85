"""GPU flavours: which build of PyTorch-like packages a lock pins, and which one this machine wants.

A flavour (``cpu``, ``cu121``, ``rocm6.2``, ``xpu``) names a family of builds published on an
index of their own, whose versions carry the flavour as a PEP 440 local label (``2.4.1+cu121``).
Only the packages a flavour *owns* come from its index; everything else resolves as usual.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.errors import ConfigError, EnvironmentProblem

__all__ = [
    "DEFAULT_FLAVOUR_BASE_URL",
    "DEFAULT_FLAVOUR_PACKAGES",
    "Detection",
    "Flavour",
    "detect_flavour",
    "is_flavour_name",
    "parse_flavour",
]

DEFAULT_FLAVOUR_BASE_URL = "https://download.pytorch.org/whl"
DEFAULT_FLAVOUR_PACKAGES: frozenset[NormalizedName] = frozenset(
    canonicalize_name(name)
    for name in (
        "torch",
        "torchvision",
        "torchaudio",
        "triton",
        "pytorch-triton",
        "pytorch-triton-rocm",
        "pytorch-triton-xpu",
        "xformers",
    )
)

_CUDA_RE = re.compile(r"cu(\d{2,})(\d)")
_ROCM_RE = re.compile(r"rocm(\d+)\.(\d+)(?:\.(\d+))?")
_FLAVOUR_GRAMMAR = "cpu, cuNNN (e.g. cu118, cu121, cu128, cu130), rocmX.Y[.Z] (e.g. rocm6.2) or xpu"


@dataclass(frozen=True, kw_only=True, slots=True)
class Flavour:
    """One flavour: its name, the index its builds come from, and the packages it owns."""

    name: str
    index: str
    packages: frozenset[NormalizedName]

    def owns(self, name: NormalizedName) -> bool:
        """Whether ``name`` must come from this flavour's index."""
        return name in self.packages

    def accepts(self, version: Version) -> bool:
        """Whether ``version`` is a build of this flavour.

        A build labelled with another flavour (``+cu121`` for ``cpu``) is refused; an unlabelled
        one is accepted, since PyTorch publishes some builds without a label (macOS, some cpu).
        """
        return version.local is None or version.local == self.name


@dataclass(frozen=True, kw_only=True, slots=True)
class Detection:
    """The flavour this machine wants, and a sentence saying why."""

    flavour: str
    reason: str


def is_flavour_name(name: str) -> bool:
    """Whether ``name`` is a flavour name (``cpu``, ``cu121``, ``rocm6.2``, ``xpu``), any case."""
    text = name.strip().lower()
    return text in {"cpu", "xpu"} or bool(_CUDA_RE.fullmatch(text) or _ROCM_RE.fullmatch(text))


def _check_name(name: str, source: str = "flavour") -> str:
    text = name.strip().lower()
    if text in {"cpu", "xpu"} or _CUDA_RE.fullmatch(text) or _ROCM_RE.fullmatch(text):
        return text
    raise ConfigError(source, name, f"unknown flavour; expected {_FLAVOUR_GRAMMAR}")


def parse_flavour(
    name: str,
    *,
    base_url: str = DEFAULT_FLAVOUR_BASE_URL,
    index: str | None = None,
    packages: Iterable[str] | None = None,
) -> Flavour:
    """A validated flavour; its index defaults to ``{base_url}/{name}``."""
    checked = _check_name(name)
    owned = (
        DEFAULT_FLAVOUR_PACKAGES
        if packages is None
        else frozenset(canonicalize_name(p) for p in packages)
    )
    if not owned:
        raise ConfigError("flavour", checked, "a flavour must own at least one package")
    return Flavour(
        name=checked,
        index=index if index is not None else f"{base_url.rstrip('/')}/{checked}",
        packages=owned,
    )


# ---------------------------------------------------------------------------------------------
# Detection

# The oldest driver each CUDA major runs on (CUDA minor-version compatibility).
_CUDA_DRIVER_MINIMUM = ((13, (580,)), (12, (525, 60, 13)), (11, (450, 80, 2)))
_NVIDIA_SMI_TIMEOUT = 15
_DRIVER_RE = re.compile(r"\d+(?:\.\d+)+")
_PROC_DRIVER_RE = re.compile(r"NVRM version:.*?(\d+\.\d+(?:\.\d+)*)")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _run_nvidia_smi(path: str | None) -> str | None:
    program = shutil.which("nvidia-smi", path=path)
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=_NVIDIA_SMI_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _driver_version(
    env: Mapping[str, str], root: Path, nvidia_smi: Callable[[], str | None]
) -> tuple[str, str] | None:
    """The NVIDIA driver version and where it was found, or None without a driver."""
    override = env.get("PINLOCK_CUDA_DRIVER", "").strip()
    if override:
        if not re.fullmatch(r"\d+(?:\.\d+)*", override):
            raise EnvironmentProblem(
                f"PINLOCK_CUDA_DRIVER={override!r} is not a driver version such as 535.104.05"
            )
        return override, "PINLOCK_CUDA_DRIVER"
    module_file = root / "sys/module/nvidia/version"
    text = _read(module_file)
    if text is not None and (found := _DRIVER_RE.search(text)):
        return found[0], str(module_file)
    proc_file = root / "proc/driver/nvidia/version"
    text = _read(proc_file)
    if text is not None and (found := _PROC_DRIVER_RE.search(text)):
        return found[1], str(proc_file)
    text = nvidia_smi()
    if text is not None:
        for line in text.splitlines():
            if found := _DRIVER_RE.fullmatch(line.strip()):
                return found[0], "nvidia-smi"
    return None


def _rocm_version(env: Mapping[str, str], root: Path) -> tuple[str, str] | None:
    override = env.get("PINLOCK_ROCM_VERSION", "").strip()
    if override:
        found = _DRIVER_RE.match(override)
        if found is None:
            raise EnvironmentProblem(
                f"PINLOCK_ROCM_VERSION={override!r} is not a ROCm version such as 6.2.4"
            )
        return found[0], "PINLOCK_ROCM_VERSION"
    info_file = root / "opt/rocm/.info/version"
    text = _read(info_file)
    if text is not None and (found := _DRIVER_RE.match(text.strip())):
        return found[0], str(info_file)
    return None


def _cuda_choice(available: Sequence[str], driver: tuple[int, ...]) -> tuple[int, str] | None:
    """The CUDA major the driver runs and the newest available flavour of it."""
    by_major: dict[int, list[tuple[int, str]]] = {}
    for name in available:
        if match := _CUDA_RE.fullmatch(name):
            by_major.setdefault(int(match[1]), []).append((int(match[2]), name))
    for major, minimum in _CUDA_DRIVER_MINIMUM:
        if driver >= minimum and major in by_major:
            return major, max(by_major[major])[1]
    return None


def _rocm_choice(available: Sequence[str], installed: tuple[int, ...]) -> str | None:
    fitting = [
        (_version_tuple(name.removeprefix("rocm")), name)
        for name in available
        if _ROCM_RE.fullmatch(name) and _version_tuple(name.removeprefix("rocm")) <= installed
    ]
    return max(fitting)[1] if fitting else None


def detect_flavour(
    available: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    root: Path = Path("/"),
    nvidia_smi: Callable[[], str | None] | None = None,
) -> Detection:
    """The best of ``available`` flavours for this machine's GPU driver, with the reason.

    Order: ``PINLOCK_FLAVOUR``; the newest CUDA flavour the NVIDIA driver runs; the newest ROCm
    flavour not newer than the installed ROCm; ``cpu``.
    """
    env = os.environ if environ is None else environ
    names = [_check_name(name, "available flavours") for name in available]
    listed = ", ".join(names) or "(none)"

    override = env.get("PINLOCK_FLAVOUR", "").strip().lower()
    if override:
        if override not in names:
            raise EnvironmentProblem(
                f"PINLOCK_FLAVOUR={override!r} is not an available flavour; available: {listed}"
            )
        return Detection(flavour=override, reason=f"PINLOCK_FLAVOUR={override} (override)")

    notes: list[str] = []
    if any(_CUDA_RE.fullmatch(name) for name in names):
        runner = nvidia_smi if nvidia_smi is not None else lambda: _run_nvidia_smi(env.get("PATH"))
        driver = _driver_version(env, root, runner)
        if driver is not None:
            version, source = driver
            choice = _cuda_choice(names, _version_tuple(version))
            if choice is not None:
                major, flavour = choice
                return Detection(
                    flavour=flavour,
                    reason=f"NVIDIA driver {version} (from {source}) supports CUDA {major}; "
                    f"newest available: {flavour}",
                )
            notes.append(
                f"NVIDIA driver {version} (from {source}) runs none of the available CUDA flavours"
            )

    if any(_ROCM_RE.fullmatch(name) for name in names):
        rocm = _rocm_version(env, root)
        if rocm is not None:
            version, source = rocm
            rocm_flavour = _rocm_choice(names, _version_tuple(version))
            if rocm_flavour is not None:
                return Detection(
                    flavour=rocm_flavour,
                    reason=f"ROCm {version} (from {source}); "
                    f"newest available not newer: {rocm_flavour}",
                )
            notes.append(
                f"ROCm {version} (from {source}) is older than every available ROCm flavour"
            )

    if "cpu" in names:
        why = "; ".join(notes) if notes else "no NVIDIA driver or ROCm installation found"
        return Detection(flavour="cpu", reason=f"{why}; using cpu")
    why = "; ".join(notes) if notes else "no NVIDIA driver or ROCm installation found"
    raise EnvironmentProblem(f"{why}, and cpu is not available; available flavours: {listed}")
