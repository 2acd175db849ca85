"""GPU flavours at compile (issue 5): a local flavour index in PyTorch's real layout.

``<root>/cpu/`` and ``<root>/cu121/`` hold ``+cpu`` / ``+cu121`` builds of a torch-like family
(served as a PEP 503 index each, or read as plain folders); the normal index holds their ordinary
dependencies and, as bait, a newer same-named ``torch`` that must never win.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinlock.cli import app
from pinlock.compile import CompileResult
from pinlock.errors import PinlockError
from pinlock.flavour import Flavour, parse_flavour
from pinlock.lock.txt import read_lock
from pinlock.target import Target
from tests.support.artifacts import make_wheel
from tests.support.compiling import (
    compile_cli,
    compile_text,
    lock_hashes,
    pinned_versions,
    sha256_of,
)
from tests.support.index_server import IndexServer
from tests.support.pythons import find_python
from tests.sync_helpers import make_venv

Factory = Callable[..., Path]

LINUX = "cp312-cp312-linux_x86_64"
WINDOWS = "cp312-cp312-win_amd64"
MACOS = "cp312-none-macosx_11_0_arm64"
TORCH_DEPS = ["filelock", "typing-extensions>=4", 'nvidia-blas; platform_system == "Linux"']


class FlavourFiles:
    """Every wheel of the flavour layout, addressable as ``files[flavour, package, platform]``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheels: dict[tuple[str, str, str], Path] = {}

    def add(
        self, flavour: str, name: str, version: str, platform: str, tag: str, **kw: object
    ) -> None:
        path = make_wheel(self.root / flavour, name, version, tag=tag, **kw)  # type: ignore[arg-type]
        self.wheels[(flavour, name, platform)] = path

    def __getitem__(self, key: tuple[str, str, str]) -> Path:
        return self.wheels[key]


@pytest.fixture
def flavour_files(tmp_path: Path) -> FlavourFiles:
    files = FlavourFiles(tmp_path / "whl")
    for platform, tag in (("linux", LINUX), ("windows", WINDOWS)):
        for flavour in ("cpu", "cu121"):
            deps = TORCH_DEPS if flavour == "cu121" else TORCH_DEPS[:2]
            files.add(flavour, "torch", f"2.5.1+{flavour}", platform, tag, requires_dist=deps)
            files.add(
                flavour,
                "torchvision",
                f"0.20.1+{flavour}",
                platform,
                tag,
                requires_dist=["torch==2.5.1", "pillow"],
            )
        # An older build, so "newest" is a real choice inside the flavour.
        files.add("cpu", "torch", "2.4.0+cpu", f"{platform}-old", tag, requires_dist=TORCH_DEPS[:2])
    # PyTorch publishes macOS builds on the cpu index only, without a local label; cu121 has none.
    files.add("cpu", "torch", "2.5.1", "macos", MACOS, requires_dist=TORCH_DEPS[:2])
    files.add("cpu", "torchvision", "0.20.1", "macos", MACOS, requires_dist=["torch==2.5.1"])
    return files


@pytest.fixture
def normal_index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("filelock", "3.16.1")
    wheel_factory("typing-extensions", "4.12.2")
    wheel_factory("pillow", "11.0.0")
    wheel_factory("nvidia-blas", "12.1.3", tag="py3-none-manylinux_2_17_x86_64")
    wheel_factory("nvidia-blas", "12.1.3", tag="py3-none-win_amd64")
    # Same names as the flavour's packages, newer and installable anywhere: bait.
    wheel_factory("torch", "9.9")
    wheel_factory("torch", "2.5.1")
    wheel_factory("torchvision", "9.9", requires_dist=["torch"])
    return index_factory()


@pytest.fixture
def flavour_servers(
    flavour_files: FlavourFiles, index_factory: Callable[..., IndexServer]
) -> dict[str, IndexServer]:
    return {name: index_factory(flavour_files.root / name) for name in ("cpu", "cu121")}


def _compile(
    tmp_path: Path,
    normal: IndexServer,
    targets: tuple[Target, ...],
    flavours: tuple[Flavour, ...],
    content: str = "torch\ntorchvision\n",
) -> list[CompileResult]:
    return compile_text(tmp_path, content, index_url=normal.url, targets=targets, flavours=flavours)


def _check_matrix_lock(
    path: Path, flavour: str, platform: str, files: FlavourFiles, normal_files: Path
) -> str:
    """One lock of the linux/windows x cpu/cu121 matrix: pins, hashes and no mixing."""
    text = path.read_text()
    pins = pinned_versions(text)
    assert pins["torch"] == f"2.5.1+{flavour}", text
    assert pins["torchvision"] == f"0.20.1+{flavour}", text
    assert pins["filelock"] == "3.16.1" and pins["typing-extensions"] == "4.12.2"
    assert pins["pillow"] == "11.0.0"
    assert ("nvidia-blas" in pins) == (flavour == "cu121" and platform == "linux")
    assert f"# flavour: {flavour}\n" in text
    hashes = {str(p.name): set(p.hashes) for p in read_lock(path).packages}
    # Exactly this build's file for this platform: not the other flavour's, not other platforms'.
    assert hashes["torch"] == {sha256_of(files[flavour, "torch", platform])}
    assert hashes["torchvision"] == {sha256_of(files[flavour, "torchvision", platform])}
    assert hashes["filelock"] == {sha256_of(normal_files / "filelock-3.16.1-py3-none-any.whl")}
    if "nvidia-blas" in pins:
        wheel = normal_files / "nvidia_blas-12.1.3-py3-none-manylinux_2_17_x86_64.whl"
        assert hashes["nvidia-blas"] == {sha256_of(wheel)}
    return text


def test_matrix_from_flavour_indexes(
    tmp_path: Path,
    flavour_files: FlavourFiles,
    flavour_servers: dict[str, IndexServer],
    normal_index: IndexServer,
    files_dir: Path,
) -> None:
    targets = (Target.from_spec("3.12", "linux"), Target.from_spec("3.12", "windows"))
    flavours = tuple(
        parse_flavour(name, index=server.url) for name, server in flavour_servers.items()
    )
    results = _compile(tmp_path, normal_index, targets, flavours)
    assert sorted(r.output.name for r in results if r.output is not None) == [
        "main-py312-linux-cpu.txt",
        "main-py312-linux-cu121.txt",
        "main-py312-windows-cpu.txt",
        "main-py312-windows-cu121.txt",
    ]
    for result in results:
        assert result.output is not None and result.flavour is not None
        platform = "linux" if "linux" in result.output.name else "windows"
        text = _check_matrix_lock(
            result.output, result.flavour.name, platform, flavour_files, files_dir
        )
        # pip needs the flavour index to find the builds; the normal index stays the index.
        assert f"--index-url {normal_index.url}\n" in text
        assert f"--extra-index-url {flavour_servers[result.flavour.name].url}\n" in text
    # The normal index is never even asked about the flavour's packages.
    asked = {r.path for r in normal_index.requests}
    assert "/simple/filelock/" in asked
    assert not any(path.startswith(("/simple/torch", "/files/torch")) for path in asked), asked


def test_cli_matrix_from_plain_folders(
    tmp_path: Path, flavour_files: FlavourFiles, normal_index: IndexServer, files_dir: Path
) -> None:
    src = tmp_path / "main.in"
    src.write_text("torchvision\n")
    cpu, cu121 = flavour_files.root / "cpu", flavour_files.root / "cu121"
    code, _out, err = compile_cli(
        tmp_path,
        "-i",
        normal_index.url,
        "--python-version",
        "3.12",
        "--platform",
        "linux",
        "--platform",
        "windows",
        "--flavour",
        "cpu",
        "--flavour",
        "cu121",
        "--flavour-index",
        f"cpu={cpu}",
        "--flavour-index",
        f"cu121={cu121}",
        str(src),
    )
    assert code == 0, err
    for platform in ("linux", "windows"):
        for flavour, folder in (("cpu", cpu), ("cu121", cu121)):
            lock = tmp_path / f"main-py312-{platform}-{flavour}.txt"
            assert f"{lock.name} (" in err
            text = _check_matrix_lock(lock, flavour, platform, flavour_files, files_dir)
            assert f"--find-links {folder}\n" in text
            assert "--extra-index-url" not in text
            assert f"--flavour {flavour}" in text  # the header's command reproduces the lock
            # torch came in through torchvision, from the flavour's folder.
            assert "torch==2.5.1+" in text and "# via torchvision" in text


def test_no_mixing_when_one_index_holds_every_build(
    tmp_path: Path, flavour_files: FlavourFiles, normal_index: IndexServer, files_dir: Path
) -> None:
    # A mirror that keeps all builds in one place (like download.pytorch.org/whl/torch/).
    mixed = tmp_path / "mirror"
    mixed.mkdir()
    for wheel in flavour_files.wheels.values():
        (mixed / wheel.name).write_bytes(wheel.read_bytes())
    flavours = tuple(parse_flavour(name, index=str(mixed)) for name in ("cpu", "cu121"))
    targets = (Target.from_spec("3.12", "linux"), Target.from_spec("3.12", "windows"))
    results = _compile(tmp_path, normal_index, targets, flavours)
    assert len(results) == 4
    for result in results:
        assert result.output is not None and result.flavour is not None
        platform = "linux" if "linux" in result.output.name else "windows"
        _check_matrix_lock(result.output, result.flavour.name, platform, flavour_files, files_dir)


def test_only_the_matching_build_is_hashed_on_an_open_platform(
    tmp_path: Path, flavour_files: FlavourFiles, normal_index: IndexServer
) -> None:
    # Platform left open: every platform's cpu build of 2.5.1+cpu, never the cu121 ones, never
    # the unlabelled macOS build (another version) and never the bait.
    mixed = tmp_path / "mirror"
    mixed.mkdir()
    for wheel in flavour_files.wheels.values():
        (mixed / wheel.name).write_bytes(wheel.read_bytes())
    target = Target.from_spec("3.12", None)
    [result] = _compile(
        tmp_path, normal_index, (target,), (parse_flavour("cpu", index=str(mixed)),), "torch\n"
    )
    assert pinned_versions(result.text)["torch"] == "2.5.1+cpu"
    expected = {sha256_of(flavour_files["cpu", "torch", p]) for p in ("linux", "windows")}
    assert lock_hashes(result)["torch"] == expected
    assert result.output is not None and result.output.name == "main-cpu.txt"


def test_unlabelled_build_serves_a_platform_the_flavour_labels_elsewhere(
    tmp_path: Path,
    flavour_servers: dict[str, IndexServer],
    normal_index: IndexServer,
    flavour_files: FlavourFiles,
) -> None:
    target = Target.from_spec("3.12", "macos-arm64-14")
    flavour = parse_flavour("cpu", index=flavour_servers["cpu"].url)
    [result] = _compile(tmp_path, normal_index, (target,), (flavour,))
    pins = pinned_versions(result.text)
    assert pins["torch"] == "2.5.1" and pins["torchvision"] == "0.20.1"
    assert lock_hashes(result)["torch"] == {sha256_of(flavour_files["cpu", "torch", "macos"])}


def test_flavour_without_a_build_for_the_target_is_reported(
    tmp_path: Path, flavour_servers: dict[str, IndexServer], normal_index: IndexServer
) -> None:
    target = Target.from_spec("3.12", "macos-arm64-14")
    flavour = parse_flavour("cu121", index=flavour_servers["cu121"].url)
    with pytest.raises(PinlockError) as caught:
        _compile(tmp_path, normal_index, (target,), (flavour,), "torch\n")
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "CPython 3.12 on macos arm64" in message
    assert "torch:" in message and "2.5.1+cu121" in message
    assert (
        f"torch comes only from the cu121 flavour index {flavour_servers['cu121'].url}" in message
    )
    # The bait (torch 9.9, installable on macOS) did not step in.
    assert not (tmp_path / "main-cu121.txt").exists()
    src = tmp_path / "main.in"
    cu121_url = flavour_servers["cu121"].url
    code, _out, err = compile_cli(
        tmp_path,
        "-i",
        normal_index.url,
        "--python-version",
        "3.12",
        "--platform",
        "linux",
        "--platform",
        "macos",
        "--flavour",
        "cu121",
        "--flavour-index",
        f"cu121={cu121_url}",
        str(src),
    )
    assert code == 3
    assert "error: cannot resolve the requirements for CPython 3.12 on macos" in err
    assert "cu121 flavour index" in err
    # The run fails as a whole: the linux lock of the same run is not written either.
    assert not list(tmp_path.glob("main-*.txt"))


def test_flavour_packages_never_come_from_the_normal_index(
    tmp_path: Path, flavour_servers: dict[str, IndexServer], normal_index: IndexServer
) -> None:
    flavour = parse_flavour("cpu", index=flavour_servers["cpu"].url)
    target = Target.from_spec("3.12", "linux")
    # Asking for the bait's version by name: nothing on the flavour index has it.
    with pytest.raises(PinlockError) as caught:
        _compile(tmp_path, normal_index, (target,), (flavour,), "torch>=9\n")
    assert caught.value.exit_code == 3
    # Without a flavour, the normal index serves torch as usual.
    [plain] = _compile(tmp_path, normal_index, (target,), (), "torch\n")
    assert pinned_versions(plain.text)["torch"] == "9.9"


def test_configured_packages_and_pyproject_flavours(
    tmp_path: Path,
    flavour_files: FlavourFiles,
    normal_index: IndexServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.in").write_text("torchvision\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pinlock]\n"
        'inputs = ["main.in"]\n'
        f'index-url = "{normal_index.url}"\n'
        'python-version = ["3.12"]\n'
        'platform = ["linux"]\n'
        'flavour = ["cpu", "cu121"]\n'
        f'flavour-index = {{ cpu = "{flavour_files.root / "cpu"}", '
        f'cu121 = "{flavour_files.root / "cu121"}" }}\n'
    )
    code, _out, err = compile_cli(tmp_path)
    assert code == 0, err
    assert pinned_versions((tmp_path / "main-cpu.txt").read_text())["torch"] == "2.5.1+cpu"
    assert (
        pinned_versions((tmp_path / "main-cu121.txt").read_text())["torchvision"] == "0.20.1+cu121"
    )
    # A flavour owning only torch: torchvision then comes from the normal index.
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pinlock]\n"
        'inputs = ["main.in"]\n'
        f'index-url = "{normal_index.url}"\n'
        'python-version = ["3.12"]\n'
        'platform = ["linux"]\n'
        'flavour = ["cpu"]\n'
        'flavour-packages = ["torch"]\n'
        f'flavour-index = {{ cpu = "{flavour_files.root / "cpu"}" }}\n'
    )
    code, _out, err = compile_cli(tmp_path)
    assert code == 0, err
    pins = pinned_versions((tmp_path / "main-cpu.txt").read_text())
    assert pins["torchvision"] == "9.9" and pins["torch"] == "2.5.1+cpu"


def test_plain_pip_install_of_a_flavour_lock(
    tmp_path: Path,
    flavour_files: FlavourFiles,
    flavour_servers: dict[str, IndexServer],
    normal_index: IndexServer,
) -> None:
    python = Path("/root/.pyenv/versions/3.12.1/bin/python")
    if not python.is_file():
        pytest.skip(f"no CPython 3.12 at {python}")
    target = Target.from_python(python)
    flavour = parse_flavour("cu121", index=flavour_servers["cu121"].url)
    [result] = _compile(tmp_path, normal_index, (target,), (flavour,))
    assert result.output is not None
    venv = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True, capture_output=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    # Only the lock: its own index lines must lead pip to both indexes.
    install = subprocess.run(
        [*pip, "install", "--require-hashes", "-r", str(result.output)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run([*pip, "check"], check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = subprocess.run(
        [*pip, "list", "--format=freeze"], check=True, capture_output=True, text=True
    ).stdout
    assert "torch==2.5.1+cu121" in listed.split()
    assert "torchvision==0.20.1+cu121" in listed.split()
    assert "nvidia-blas==12.1.3" in listed.split()


# ---------------------------------------------------------------------------------------------
# This machine's find-links folder holds a real torch cpu wheel; its dependencies are on PyPI.

WHEELS = Path("/opt/wheels")


@pytest.mark.network
def test_real_torch_cpu_wheel_from_a_folder(tmp_path: Path) -> None:
    wheels = sorted(WHEELS.glob("torch-*+cpu-cp311-*.whl")) if WHEELS.is_dir() else []
    if not wheels:
        pytest.skip(f"no torch cpu wheel for cp311 in {WHEELS}")
    python311 = find_python("3.11")
    if python311 is None:
        pytest.skip("no CPython 3.11 to install the cp311 wheel into")
    wheel = wheels[-1]
    version = wheel.name.split("-")[1]
    src = tmp_path / "main.in"
    src.write_text("torch\n")
    code, _out, err = compile_cli(
        tmp_path,
        "--python-version",
        "3.11",
        "--platform",
        "linux",
        "--flavour",
        "cpu",
        "--flavour-index",
        f"cpu={WHEELS}",
        str(src),
    )
    assert code == 0, err
    lock = tmp_path / "main-cpu.txt"
    text = lock.read_text()
    pins = pinned_versions(text)
    assert pins["torch"] == version and version.endswith("+cpu")
    packages = {str(p.name): p for p in read_lock(lock).packages}
    assert set(packages["torch"].hashes) == {sha256_of(wheel)}
    # Everything else torch needs came from PyPI, hashed.
    for name in ("filelock", "typing-extensions", "sympy", "networkx", "jinja2", "fsspec"):
        assert name in packages, (name, sorted(packages))
        assert packages[name].hashes, name
    assert f"--find-links {WHEELS}\n" in text
    # ... and sync puts exactly that build into a fresh venv.
    python = make_venv(tmp_path / "venv", python=str(python311), with_pip=True)
    synced = CliRunner().invoke(app, ["sync", "--python", str(python), str(lock)])
    assert synced.exit_code == 0, synced.stderr
    freeze = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout
    assert f"torch=={version}\n" in freeze
    check = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout
