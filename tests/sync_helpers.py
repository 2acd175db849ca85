"""Shared helpers of the sync tests: venvs, locks of built wheels, a folder as a file source."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.errors import HashMismatch
from pinlock.index.models import DistFile, parse_dist_filename
from pinlock.lock.model import Lock, LockedPackage
from pinlock.sync.piprun import run_pip
from tests.support.artifacts import sdist_tree

_EDITABLE_BACKEND = """

def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    dist_info = _dist_info(project)
    payload = {_stem(project) + ".pth": (_HERE + "\\n").encode()}
    payload[dist_info + "/METADATA"] = _metadata(project).encode()
    payload[dist_info + "/WHEEL"] = _wheel_file().encode()
    record = ["%s,%s,%d" % (p, _record_hash(d), len(d)) for p, d in payload.items()]
    record.append(dist_info + "/RECORD,,")
    payload[dist_info + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (_stem(project), project["version"])
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in payload.items():
            archive.writestr(path, data)
    return filename
"""


def make_venv(dest: Path, *, python: str = sys.executable, with_pip: bool = False) -> Path:
    """A fresh venv at ``dest``; its interpreter."""
    command = [python, "-m", "venv", str(dest)]
    if not with_pip:
        command.insert(3, "--without-pip")
    subprocess.run(command, check=True, capture_output=True)
    return dest / "bin" / "python"


def editable_project(dest: Path, name: str, version: str) -> Path:
    """A source folder pip can install with ``-e`` offline."""
    for relative, data in sdist_tree(name, version).items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        content = data + _EDITABLE_BACKEND.encode() if relative == "tinybackend.py" else data
        path.write_bytes(content)
    return dest


def sha256_hex(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locked(
    name: str,
    version: str | None = None,
    *,
    files: Sequence[Path] = (),
    url: str | None = None,
    editable: bool = False,
    marker: str | None = None,
    hashes: Sequence[str] | None = None,
) -> LockedPackage:
    return LockedPackage(
        name=canonicalize_name(name),
        display_name=name,
        version=Version(version) if version else None,
        url=url,
        editable=editable,
        hashes=tuple(
            sorted(hashes if hashes is not None else [f"sha256:{sha256_hex(f)}" for f in files])
        ),
        marker=Marker(marker) if marker else None,
    )


def lock_of(*packages: LockedPackage) -> Lock:
    return Lock(packages=tuple(sorted(packages, key=lambda p: p.name)))


class FolderSource:
    """A ``FileSource`` over one folder of wheels and sdists (a stand-in for an index).

    The digests are read when the source is made, as an index page states them; a file changed
    afterwards is what a tampered download looks like.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.listing: list[DistFile] = []
        for path in sorted(folder.iterdir()):
            parsed = parse_dist_filename(path.name)
            if parsed is None:
                continue
            name, version, kind, tags = parsed
            self.listing.append(
                DistFile(
                    name=name,
                    version=version,
                    filename=path.name,
                    url=path.as_uri(),
                    kind=kind,
                    source=folder.as_uri(),
                    wheel_tags=tags,
                    hashes={"sha256": sha256_hex(path)},
                )
            )
        self.downloads: list[str] = []

    def files(self, package: LockedPackage) -> list[DistFile]:
        return [d for d in self.listing if d.name == package.name]

    def download(self, url: str, dest: Path, expected: Sequence[str]) -> str:
        self.downloads.append(url)
        source = self.folder / unquote(url.rsplit("/", 1)[-1])
        shutil.copyfile(source, dest)
        digest = f"sha256:{sha256_hex(dest)}"
        if expected and digest not in expected:
            raise HashMismatch(url, expected, digest)
        return digest


def pip_install(python: Path, *args: str) -> None:
    run_pip(["install", "--no-deps", "--no-index", *args], python=python)


def freeze(python: Path) -> list[str]:
    output = run_pip(["list", "--format=json"], python=python)
    return sorted(
        f"{item['name'].lower()}=={item['version']}"
        + (" (editable)" if "editable_project_location" in item else "")
        for item in json.loads(output)
    )


def file_tree(python: Path) -> dict[str, str]:
    """Every file of the venv's site-packages and bin, with its digest (byte code aside, and
    the lock file a sync leaves in the venv)."""
    prefix = python.parent.parent
    tree: dict[str, str] = {}
    for folder, dirs, names in os.walk(prefix):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".pinlock")]
        for name in names:
            if name == ".pinlock.lock" and folder == str(prefix):
                continue
            path = Path(folder) / name
            key = str(path.relative_to(prefix))
            tree[key] = "link" if path.is_symlink() else sha256_hex(path)
    return tree


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``pinlock-sync ARGV`` in this process: ``(exit code, stdout, stderr)``."""
    from pinlock.cli.sync import main

    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def spawn_sync(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """A real ``pinlock sync`` in a process group of its own, its output in ``log``.*."""
    with log.with_suffix(".out").open("wb") as out, log.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "pinlock", "sync", *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.005)


def holds(prefix: Path, process: subprocess.Popen[bytes]) -> bool:
    try:
        return (prefix / ".pinlock.lock").read_text().strip() == f"pid {process.pid}"
    except OSError:
        return False


def process_table() -> dict[int, tuple[int, str, str]]:
    """Every process: ``pid -> (parent pid, state, command line)``, read from /proc."""
    table: dict[int, tuple[int, str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        line = " ".join(part.decode(errors="replace") for part in argv).strip()
        table[int(entry.name)] = (int(fields[1]), fields[0], line)
    return table


def descendants(pid: int) -> dict[int, str]:
    """The processes ``pid`` started, and theirs: ``pid -> command line``."""
    table = process_table()
    found: dict[int, str] = {}
    parents = {pid}
    while True:
        more = {
            child: line
            for child, (parent, _state, line) in table.items()
            if parent in parents and child not in found
        }
        if not more:
            return found
        found.update(more)
        parents |= set(more)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"
