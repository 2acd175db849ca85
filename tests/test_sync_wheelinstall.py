"""pinlock's own installer (``--installer pinlock``, the default) against pip's, on real venvs:
the same files in the same places, RECORD, INSTALLER, scripts for the target interpreter, byte
code; pip can check and uninstall what it installed; upgrades, removals, another Python; a
failure half-way restores the venv exactly."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from pinlock.cache import Cache
from pinlock.errors import ConfigError, HashMismatch, InstallFailed, SyncFailed
from pinlock.sync import SyncRequest, sync
from pinlock.sync.piprun import run_pip
from pinlock.sync.unpacked import unpack
from tests.support.artifacts import make_wheel
from tests.support.index_server import IndexServer
from tests.support.pythons import find_python
from tests.sync_helpers import file_tree, freeze, make_venv, sha256_hex

pytestmark = pytest.mark.slow

ENTRY_POINTS = (
    b"[console_scripts]\nrichcmd = richpkg:main\n\n[gui_scripts]\nrichgui = richpkg:gui\n"
)


def rich_wheel(folder: Path, version: str = "1.0", *, moved: bool = False) -> Path:
    """A wheel with every part a wheel can have: modules (one that moves in 2.0), entry points,
    a raw script, a header, a data file."""
    module = "richpkg/moved.py" if moved else "richpkg/sub/mod.py"
    files = {
        "richpkg/__init__.py": (
            f"VERSION = {version!r}\n"
            "def main():\n    print('richcmd', VERSION)\n"
            "def gui():\n    return 0\n"
        ).encode(),
        module: b"X = 1\n",
        f"richpkg-{version}.data/scripts/rawscript": b"#!python\nprint('raw')\n",
        f"richpkg-{version}.data/headers/rich.h": b"int rich;\n",
        f"richpkg-{version}.data/data/share/richpkg/data.txt": b"data\n",
        f"richpkg-{version}.dist-info/entry_points.txt": ENTRY_POINTS,
    }
    return make_wheel(folder, "richpkg", version, files=files)


def write_lock(path: Path, folder: Path, *wheels: Path) -> Path:
    lines = ["--no-index", f"--find-links {folder}"]
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{name}=={version} --hash=sha256:{sha256_hex(wheel)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def synced(tmp_path: Path, name: str, lock: Path, **options: object) -> Path:
    python = make_venv(tmp_path / name)
    run(python, lock, **options)
    return python


def run(python: Path, lock: Path, **options: object) -> None:
    request = SyncRequest(
        locks=(lock,),
        python=python,
        cache_dir=python.parent.parent.parent / "cache",
        allow_empty=True,
        **options,  # type: ignore[arg-type]
    )
    sync(request)


def site_of(python: Path) -> Path:
    [site] = python.parent.parent.glob("lib/python*/site-packages")
    return site


def everything(python: Path) -> dict[str, bytes]:
    """Every file of the venv (byte code included), by path relative to it; the venv's own
    folder written as PREFIX."""
    prefix = python.parent.parent
    found: dict[str, bytes] = {}
    for folder, dirs, names in os.walk(prefix):
        dirs[:] = [d for d in dirs if not d.startswith(".pinlock")]
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or name == ".pinlock.lock":
                continue
            data = path.read_bytes()
            if path.suffix != ".pyc":
                data = data.replace(str(prefix).encode(), b"PREFIX")
            found[str(path.relative_to(prefix))] = data
    return found


def modes(python: Path) -> dict[str, int]:
    prefix = python.parent.parent
    return {key: (prefix / key).stat().st_mode for key in everything(python)}


def record_rows(info_dir: Path) -> list[list[str]]:
    with (info_dir / "RECORD").open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.reader(handle) if row]


def check_record(info_dir: Path) -> set[str]:
    """Every RECORD entry exists and matches its hash and size; the entries, normalised."""
    entries: set[str] = set()
    for path, digest, size in record_rows(info_dir):
        target = Path(os.path.normpath(info_dir.parent / path))
        assert target.is_file(), path
        if digest:
            algorithm, _, expected = digest.partition("=")
            data = target.read_bytes()
            actual = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=")
            assert actual.decode() == expected, path
            assert int(size) == len(data), path
        entries.add(path)
    return entries


def test_the_same_files_as_pip_installs(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    lock = write_lock(
        tmp_path / "lock.txt", folder, rich_wheel(folder), make_wheel(folder, "plain", "2.0")
    )
    by_pip = synced(tmp_path, "by-pip", lock, installer="pip")
    ours = synced(tmp_path, "ours", lock)

    theirs, mine = everything(by_pip), everything(ours)
    assert sorted(mine) == sorted(theirs)  # byte code, scripts, headers, data: all there
    info = "lib/python{}.{}/site-packages/richpkg-1.0.dist-info".format(*sys.version_info[:2])
    assert mine[f"{info}/INSTALLER"] == b"pinlock\n"
    assert theirs[f"{info}/INSTALLER"] == b"pip\n"
    scripts = {"bin/richcmd", "bin/richgui"}
    # Byte code holds the source's time and path; activation scripts the venv's name.
    differ = {
        key
        for key in mine
        if mine[key] != theirs[key] and not key.endswith(".pyc") and "/activate" not in key
    }
    # Only what names the installer, and the generated scripts (pip's template quotes apart).
    plain = "lib/python{}.{}/site-packages/plain-2.0.dist-info".format(*sys.version_info[:2])
    assert differ == {
        f"{info}/INSTALLER",
        f"{info}/RECORD",
        f"{plain}/INSTALLER",
        f"{plain}/RECORD",
        *scripts,
    }
    assert mine["bin/rawscript"] == b"#!PREFIX/bin/python\nprint('raw')\n"
    for python in (by_pip, ours):
        site = site_of(python)
        info_dir = site / "richpkg-1.0.dist-info"
        assert check_record(info_dir) == check_record(site_of(by_pip) / "richpkg-1.0.dist-info")
        assert any(row[0].endswith(".pyc") for row in record_rows(info_dir))
    assert (ours.parent / "richcmd").read_bytes().startswith(f"#!{ours}\n".encode())
    done = subprocess.run([ours.parent / "richcmd"], capture_output=True, text=True, check=True)
    assert done.stdout == "richcmd 1.0\n"
    assert modes(ours) == modes(by_pip)  # scripts executable, the rest not, as pip makes them
    # pip accepts what pinlock installed: its checks, and its uninstall leaves nothing behind.
    run_pip(["check"], python=ours)
    empty = everything(make_venv(tmp_path / "empty"))
    run_pip(["uninstall", "--yes", "richpkg", "plain"], python=ours)
    assert sorted(everything(ours)) == sorted(empty)


def test_a_url_package_records_the_lock_url_without_credentials(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    wheel = make_wheel(folder, "urlpkg", "1.0")
    url = f"file://user:secret@{wheel.as_uri().removeprefix('file://')}"
    lock = tmp_path / "lock.txt"
    lock.write_text(f"urlpkg @ {wheel.as_uri()} --hash=sha256:{sha256_hex(wheel)}\n")
    python = synced(tmp_path, "venv", lock)
    info_dir = site_of(python) / "urlpkg-1.0.dist-info"
    direct = json.loads((info_dir / "direct_url.json").read_text())
    assert direct["url"] == wheel.as_uri() != url
    assert direct["archive_info"]["hashes"] == {"sha256": sha256_hex(wheel)}
    assert "urlpkg-1.0.dist-info/direct_url.json" in check_record(info_dir)
    run(python, lock)  # the next sync sees the URL it wants: nothing to do
    assert freeze(python) == ["urlpkg==1.0"]


TAG = sys.implementation.cache_tag
BYTE_CODE = {
    "1.0": {f"richpkg/__pycache__/__init__.{TAG}.pyc", f"richpkg/sub/__pycache__/mod.{TAG}.pyc"},
    "2.0": {f"richpkg/__pycache__/__init__.{TAG}.pyc", f"richpkg/__pycache__/moved.{TAG}.pyc"},
}


def test_upgrade_downgrade_and_removal_leave_what_pip_leaves(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    one, two = rich_wheel(folder, "1.0"), rich_wheel(folder, "2.0", moved=True)
    other = make_wheel(folder, "other", "1.0")
    steps = [
        write_lock(tmp_path / "one.txt", folder, one, other),
        write_lock(tmp_path / "two.txt", folder, two),
        write_lock(tmp_path / "back.txt", folder, one),
        write_lock(tmp_path / "none.txt", folder),
    ]
    ours, by_pip = make_venv(tmp_path / "ours"), make_venv(tmp_path / "by-pip")
    for lock in steps:
        run(ours, lock)
        run(by_pip, lock, installer="pip")
        assert freeze(ours) == freeze(by_pip)
        assert sorted(everything(ours)) == sorted(everything(by_pip)), lock.name
        for info_dir in site_of(ours).glob("richpkg-*.dist-info"):
            # Compiled once per wheel: "back" links the byte code "one" made; RECORD lists it.
            version = info_dir.name.removesuffix(".dist-info").split("-")[1]
            pycs = {path for path in check_record(info_dir) if path.endswith(".pyc")}
            assert pycs == BYTE_CODE[version]
    assert not (site_of(ours) / "richpkg").exists()


def test_removing_a_single_module_keeps_the_byte_code_of_others(tmp_path: Path) -> None:
    """Top-level modules share site-packages' own ``__pycache__``: removing one (``six.py``)
    removes its byte code only, as pip does; the others' RECORD still holds."""
    folder = tmp_path / "files"
    solo = make_wheel(folder, "solo", "1.0", files={"solo.py": b"S = 1\n"})
    other = make_wheel(folder, "keeper", "1.0", files={"keeper.py": b"K = 1\n"})
    both = write_lock(tmp_path / "both.txt", folder, solo, other)
    alone = write_lock(tmp_path / "alone.txt", folder, other)
    for installer in ("pinlock", "pip"):
        python = synced(tmp_path, installer, both, installer=installer)
        pycache = site_of(python) / "__pycache__"
        assert {path.name.partition(".")[0] for path in pycache.iterdir()} >= {"solo", "keeper"}
        run(python, alone, installer=installer)
        left = {path.name.partition(".")[0] for path in pycache.iterdir()}
        assert "keeper" in left
        assert "solo" not in left
        check_record(site_of(python) / "keeper-1.0.dist-info")


def test_no_compile_writes_no_byte_code(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    lock = write_lock(tmp_path / "lock.txt", folder, rich_wheel(folder))
    for installer in ("pinlock", "pip"):
        python = synced(tmp_path, installer, lock, installer=installer, compile_bytecode=False)
        assert (site_of(python) / "richpkg" / "__init__.py").is_file()
        assert not list(site_of(python).glob("richpkg/**/__pycache__")), installer
        rows = record_rows(site_of(python) / "richpkg-1.0.dist-info")
        assert not [row for row in rows if row[0].endswith(".pyc")]


@pytest.mark.parametrize("version", ["3.12", "3.10"])
def test_a_venv_of_another_python(tmp_path: Path, version: str) -> None:
    interpreter = find_python(version)
    if interpreter is None:
        pytest.skip(f"no Python {version} here")
    folder = tmp_path / "files"
    lock = write_lock(tmp_path / "lock.txt", folder, rich_wheel(folder))
    python = make_venv(tmp_path / "venv", python=str(interpreter))
    run(python, lock)
    site = site_of(python)
    assert site.parent.name == f"python{version}"
    tag = version.replace(".", "")
    assert (site / "richpkg" / "__pycache__" / f"__init__.cpython-{tag}.pyc").is_file()
    assert (
        python.parent.parent / "include" / "site" / f"python{version}" / "richpkg" / "rich.h"
    ).is_file()
    done = subprocess.run([python.parent / "richcmd"], capture_output=True, text=True, check=True)
    assert done.stdout == "richcmd 1.0\n"
    check_record(site / "richpkg-1.0.dist-info")


def test_a_wheel_that_cannot_be_installed_restores_the_venv(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    old = rich_wheel(folder, "1.0")
    lock = write_lock(
        tmp_path / "lock.txt",
        folder,
        rich_wheel(folder, "2.0", moved=True),
        *(make_wheel(folder, f"fine{i}", "1.0") for i in range(6)),
        make_wheel(folder, "clash", "1.0", files={"clash.py": b"X = 1\n"}),
    )
    python = synced(tmp_path, "venv", write_lock(tmp_path / "old.txt", folder, old))
    # A folder where the wheel has a file: no installer can write it.
    (site_of(python) / "clash.py").mkdir()
    (site_of(python) / "clash.py" / "keep.txt").write_text("mine")
    before_tree, before = file_tree(python), everything(python)
    with pytest.raises(SyncFailed) as failed:
        run(python, lock)
    assert failed.value.restored is True
    assert isinstance(failed.value.cause, InstallFailed)
    assert "clash-1.0" in str(failed.value)
    assert file_tree(python) == before_tree
    assert everything(python) == before
    assert freeze(python) == ["richpkg==1.0"]


def test_an_unknown_installer_is_refused(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    lock = tmp_path / "lock.txt"
    lock.write_text("")
    with pytest.raises(ConfigError, match="--installer"):
        run(python, lock, installer="pip3")


def test_an_unchanged_lock_syncs_again_without_asking_the_index(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    wheels = [rich_wheel(folder), make_wheel(folder, "plain", "2.0")]
    with IndexServer(folder) as server:
        lock = tmp_path / "lock.txt"
        lines = [f"--index-url {server.url}"]
        lines += [f"{w.name.split('-')[0]}==1.0 --hash=sha256:{sha256_hex(w)}" for w in wheels[:1]]
        lines.append(f"plain==2.0 --hash=sha256:{sha256_hex(wheels[1])}")
        lock.write_text("\n".join(lines) + "\n")
        first = synced(tmp_path, "first", lock)
        assert server.page_requests() and server.requests_for(wheels[0].name)
        server.clear_log()
        # Another venv, the same lock, the same cache: the file chosen for each pin is known.
        second = synced(tmp_path, "second", lock)
        assert server.requests == []
        assert freeze(second) == freeze(first) == ["plain==2.0", "richpkg==1.0"]
        # A pin whose hashes changed is asked for again.
        old_hash = sha256_hex(wheels[1])
        other = make_wheel(folder, "plain", "2.0", padding=10)  # the same name, other bytes
        lock.write_text(lock.read_text().replace(old_hash, sha256_hex(other)), encoding="utf-8")
        synced(tmp_path, "third", lock)
        assert [r.path for r in server.requests] == ["/simple/plain/", f"/files/{other.name}"]


def test_a_kept_page_without_the_pinned_file_is_asked_for_again(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    one = make_wheel(folder, "plain", "1.0")
    with IndexServer(folder, cache_control="max-age=600") as server:
        lock = tmp_path / "lock.txt"
        lock.write_text(f"--index-url {server.url}\nplain==1.0 --hash=sha256:{sha256_hex(one)}\n")
        synced(tmp_path, "first", lock)
        server.clear_log()
        # Released after the page was kept (fresh for ten minutes): the page is read again.
        two = make_wheel(folder, "plain", "2.0")
        lock.write_text(f"--index-url {server.url}\nplain==2.0 --hash=sha256:{sha256_hex(two)}\n")
        second = synced(tmp_path, "second", lock)
        assert [r.path for r in server.requests] == ["/simple/plain/", f"/files/{two.name}"]
        assert freeze(second) == ["plain==2.0"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="umask read from /proc")
def test_the_umask_is_read_without_being_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Setting it for a moment, on one of several threads, can leave another thread's wrong.
    folder = tmp_path / "files"
    lock = write_lock(tmp_path / "lock.txt", folder, rich_wheel(folder))
    python = make_venv(tmp_path / "venv")

    def no_umask(mask: int) -> int:
        raise AssertionError(f"os.umask({mask:o}) called")

    monkeypatch.setattr(os, "umask", no_umask)
    run(python, lock)
    script = python.parent / "richcmd"
    assert script.stat().st_mode & 0o111


def test_byte_code_a_wheel_ships_is_left_out_without_a_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "files"
    files = {
        "pycpkg/__init__.py": b"X = 1\n",
        "pycpkg/__pycache__/__init__.cpython-311.pyc": b"not byte code",
        "pycpkg-1.0.data/data/share/__pycache__/x.cpython-311.pyc": b"not byte code",
    }
    lock = write_lock(
        tmp_path / "lock.txt", folder, make_wheel(folder, "pycpkg", "1.0", files=files)
    )
    python = make_venv(tmp_path / "venv")
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(python, lock, compile_bytecode=False)
    assert "Warning" not in capfd.readouterr().err
    assert (site_of(python) / "pycpkg" / "__init__.py").is_file()
    assert not list(python.parent.parent.glob("**/pycpkg/__pycache__/*"))
    assert not list(python.parent.parent.glob("share/__pycache__"))


def test_a_wheel_unpacked_is_checked_against_the_digest_it_was_verified_with(
    tmp_path: Path,
) -> None:
    # A local file a lock names is checked by fetch, then read again to be unpacked: what is
    # unpacked must be what was checked, or nothing.
    folder = tmp_path / "files"
    wheel = rich_wheel(folder)
    verified = f"sha256:{sha256_hex(wheel)}"
    other = rich_wheel(tmp_path / "other", "2.0")
    wheel.write_bytes(other.read_bytes())
    cache = Cache(tmp_path / "cache")
    with pytest.raises(HashMismatch) as raised:
        unpack(wheel, verified, cache, umask=0o022)
    assert raised.value.actual == f"sha256:{sha256_hex(other)}"
    assert not list((cache.root / "unpacked").glob("*/*"))


@pytest.mark.parametrize("manifest", [None, b"[1, 2]", b'{"richpkg/__init__.py": 3}'])
def test_an_unpacked_folder_without_a_good_manifest_is_unpacked_again(
    tmp_path: Path, manifest: bytes | None
) -> None:
    wheel = rich_wheel(tmp_path / "files")
    cache = Cache(tmp_path / "cache")
    folder = cache.path("unpacked", sha256_hex(wheel))
    (folder / "richpkg").mkdir(parents=True)
    (folder / "richpkg" / "half.py").write_bytes(b"")
    if manifest is not None:
        (folder / "pinlock-manifest.json").write_bytes(manifest)
    unpacked = unpack(wheel, f"sha256:{sha256_hex(wheel)}", cache, umask=0o022)
    assert unpacked.root == folder
    assert "richpkg/__init__.py" in unpacked.members
    assert not (folder / "richpkg" / "half.py").exists()
    assert (folder / "richpkg" / "sub" / "mod.py").read_bytes() == b"X = 1\n"
    assert [entry.name for entry in folder.parent.iterdir()] == [folder.name]


@pytest.mark.parametrize("gone", ["richpkg/sub/mod.py", "richpkg/__pycache__/*.pyc"])
def test_a_file_gone_from_an_unpacked_wheel_is_unpacked_again(tmp_path: Path, gone: str) -> None:
    folder = tmp_path / "files"
    wheel = rich_wheel(folder)
    lock = write_lock(tmp_path / "lock.txt", folder, wheel)
    first = synced(tmp_path, "first", lock)
    unpacked = (tmp_path / "cache").glob(f"unpacked/{sha256_hex(wheel)}")
    [removed] = next(unpacked).glob(gone)
    removed.unlink()
    second = synced(tmp_path, "second", lock)
    assert everything(second).keys() == everything(first).keys()
    check_record(site_of(second) / "richpkg-1.0.dist-info")
    assert removed.is_file()
