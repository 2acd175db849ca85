"""Real, installable wheels and sdists built in a few milliseconds for tests.

Wheels are byte-for-byte reproducible (fixed timestamps, seeded padding), so a test may rely on
their sha256 staying the same between two builds of the same arguments.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import re
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.tags import parse_tag
from packaging.version import Version

__all__ = ["escaped_name", "make_sdist", "make_wheel", "metadata_text"]

_FIXED_DATE = (2020, 1, 1, 0, 0, 0)
_FIXED_MTIME = 1577836800


def escaped_name(name: str) -> str:
    """The project name as file names spell it (``Foo.Bar-baz`` -> ``foo_bar_baz``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def metadata_text(
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    provides_extra: Sequence[str] = (),
    metadata_version: str = "2.1",
    dynamic: Sequence[str] = (),
) -> str:
    """Core metadata in its email-header form."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return "\n".join(lines) + "\n\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _zip_write(archive: zipfile.ZipFile, path: str, data: bytes, *, stored: bool = False) -> None:
    info = zipfile.ZipInfo(path, date_time=_FIXED_DATE)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def make_wheel(
    dest: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    provides_extra: Sequence[str] = (),
    tag: str = "py3-none-any",
    metadata_version: str = "2.1",
    files: Mapping[str, bytes] | None = None,
    padding: int = 0,
) -> Path:
    """Write a wheel pip can install into ``dest`` and return its path.

    ``tag`` is the file-name tag triple and may be compressed (``py2.py3-none-any``).
    ``files`` replaces the default ``<name>/__init__.py`` module. ``padding`` adds that many
    incompressible bytes, stored first in the archive, so the metadata stays at the far end.
    """
    dest.mkdir(parents=True, exist_ok=True)
    stem = escaped_name(name)
    file_version = str(Version(version)).replace("-", "_")
    dist_info = f"{stem}-{file_version}.dist-info"
    payload: dict[str, bytes] = {}
    if padding:
        payload[f"{stem}/_padding.bin"] = random.Random(f"{name}-{version}").randbytes(padding)
    if files is None:
        payload[f"{stem}/__init__.py"] = f"__version__ = {version!r}\n".encode()
    else:
        payload.update(files)
    wheel_lines = ["Wheel-Version: 1.0", "Generator: pinlock-tests", "Root-Is-Purelib: true"]
    wheel_lines += [f"Tag: {t}" for t in sorted(str(t) for t in parse_tag(tag))]
    payload[f"{dist_info}/WHEEL"] = ("\n".join(wheel_lines) + "\n").encode()
    payload[f"{dist_info}/METADATA"] = metadata_text(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=provides_extra,
        metadata_version=metadata_version,
    ).encode()
    record_path = f"{dist_info}/RECORD"
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in payload.items()]
    record.append(f"{record_path},,")
    payload[record_path] = ("\n".join(record) + "\n").encode()

    wheel_path = dest / f"{stem}-{file_version}-{tag}.whl"
    with zipfile.ZipFile(wheel_path, "w") as archive:
        for path, data in payload.items():
            _zip_write(archive, path, data, stored=path.endswith("/_padding.bin"))
    return wheel_path


_TINY_BACKEND = '''\
"""A tiny in-tree PEP 517 backend: standard library only, no network."""

import base64
import gzip
import hashlib
import json
import os
import re
import tarfile
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))


def _project():
    with open(os.path.join(_HERE, "tiny_project.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _stem(project):
    return re.sub(r"[-_.]+", "_", project["name"]).lower()


def _dist_info(project):
    return "%s-%s.dist-info" % (_stem(project), project["version"].replace("-", "_"))


def _metadata(project):
    lines = ["Metadata-Version: 2.1", "Name: " + project["name"], "Version: " + project["version"]]
    if project["requires_python"] is not None:
        lines.append("Requires-Python: " + project["requires_python"])
    lines += ["Requires-Dist: " + req for req in project["requires_dist"]]
    return "\\n".join(lines) + "\\n\\n"


def _wheel_file():
    lines = ["Wheel-Version: 1.0", "Generator: tinybackend", "Root-Is-Purelib: true"]
    return "\\n".join([*lines, "Tag: py3-none-any"]) + "\\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = _project()
    target = os.path.join(metadata_directory, _dist_info(project))
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "METADATA"), "w", encoding="utf-8") as handle:
        handle.write(_metadata(project))
    with open(os.path.join(target, "WHEEL"), "w", encoding="utf-8") as handle:
        handle.write(_wheel_file())
    return _dist_info(project)


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=" + digest


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    dist_info = _dist_info(project)
    payload = {}
    package_dir = os.path.join(_HERE, _stem(project))
    for root, _dirs, names in os.walk(package_dir):
        for name in sorted(names):
            full = os.path.join(root, name)
            relative = os.path.relpath(full, _HERE).replace(os.sep, "/")
            with open(full, "rb") as handle:
                payload[relative] = handle.read()
    payload[dist_info + "/METADATA"] = _metadata(project).encode()
    payload[dist_info + "/WHEEL"] = _wheel_file().encode()
    record = ["%s,%s,%d" % (p, _record_hash(d), len(d)) for p, d in payload.items()]
    record.append(dist_info + "/RECORD,,")
    payload[dist_info + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (_stem(project), project["version"].replace("-", "_"))
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in payload.items():
            archive.writestr(path, data)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = "%s-%s" % (_stem(project), project["version"])
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as archive:
        for name in sorted(os.listdir(_HERE)):
            if name != "__pycache__":
                archive.add(os.path.join(_HERE, name), arcname=base + "/" + name)
    return filename
'''

_PYPROJECT = """\
[build-system]
requires = []
build-backend = "tinybackend"
backend-path = ["."]
"""


def sdist_tree(
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    metadata_version: str = "2.2",
    dynamic: Sequence[str] = (),
    pkg_info: bool = True,
    backend_requires_dist: Sequence[str] | None = None,
    pyproject: str | None = None,
) -> dict[str, bytes]:
    """The files of a source tree built by the in-tree ``tinybackend`` (relative path -> bytes).

    ``pyproject`` replaces the default ``pyproject.toml`` (which has no ``[project]`` table).
    """
    backend_requires = requires_dist if backend_requires_dist is None else backend_requires_dist
    project = {
        "name": name,
        "version": version,
        "requires_dist": list(backend_requires),
        "requires_python": requires_python,
    }
    tree: dict[str, bytes] = {
        "pyproject.toml": (_PYPROJECT if pyproject is None else pyproject).encode(),
        "tinybackend.py": _TINY_BACKEND.encode(),
        "tiny_project.json": json.dumps(project, indent=2).encode(),
        f"{escaped_name(name)}/__init__.py": f"__version__ = {version!r}\n".encode(),
    }
    if pkg_info:
        tree["PKG-INFO"] = metadata_text(
            name,
            version,
            requires_dist=requires_dist,
            requires_python=requires_python,
            metadata_version=metadata_version,
            dynamic=dynamic,
        ).encode()
    return tree


def make_sdist(
    dest: Path,
    name: str,
    version: str,
    *,
    requires_dist: Sequence[str] = (),
    requires_python: str | None = None,
    metadata_version: str = "2.2",
    dynamic: Sequence[str] = (),
    pkg_info: bool = True,
    backend_requires_dist: Sequence[str] | None = None,
    archive_format: str = "tar.gz",
    extra_members: Mapping[str, bytes] | None = None,
    pyproject: str | None = None,
) -> Path:
    """Write an sdist (``.tar.gz`` or ``.zip``) that builds offline with ``tinybackend``.

    PKG-INFO states ``requires_dist``; the backend reports ``backend_requires_dist`` when given,
    so a test can tell which of the two a reader used. ``extra_members`` adds archive members
    at the given raw paths (outside the top folder too, for path-traversal tests).
    ``pyproject`` replaces the default ``pyproject.toml`` (build requirements, say).
    """
    dest.mkdir(parents=True, exist_ok=True)
    tree = sdist_tree(
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        metadata_version=metadata_version,
        dynamic=dynamic,
        pkg_info=pkg_info,
        backend_requires_dist=backend_requires_dist,
        pyproject=pyproject,
    )
    top = f"{escaped_name(name)}-{Version(version)}"
    members = {f"{top}/{path}": data for path, data in sorted(tree.items())}
    members.update(extra_members or {})
    if archive_format == "tar.gz":
        sdist_path = dest / f"{top}.tar.gz"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path, data in members.items():
                info = tarfile.TarInfo(path)
                info.size = len(data)
                info.mtime = _FIXED_MTIME
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(data))
        sdist_path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    elif archive_format == "zip":
        sdist_path = dest / f"{top}.zip"
        with zipfile.ZipFile(sdist_path, "w") as archive:
            for path, data in members.items():
                _zip_write(archive, path, data)
    else:
        raise ValueError(f"unknown sdist archive format {archive_format!r}")
    return sdist_path
