"""Wheels of what is installed here, for tools that ``pip install`` pinlock offline.

pre-commit builds its hook environment with ``pip install .`` of the hook repository: pip then
wants pinlock's build backend and every runtime dependency from an index. The tests run in an
environment that already holds all of them, so each installed pure-Python distribution is packed
back into a wheel (its files as ``RECORD`` lists them, scripts left for pip to make again from
``entry_points.txt``; compiled ones keep the tags of the wheel they came from, so they install
for this interpreter), and pip is pointed at that folder with ``--no-index --find-links``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from collections.abc import Iterable
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["CannotRepack", "requirement_closure", "wheel_of_installed", "wheelhouse"]

# Files pip writes when it installs, which a wheel does not carry.
_INSTALL_RECORDS = frozenset({"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"})


class CannotRepack(Exception):
    """An installed distribution that cannot be packed back into a wheel."""


def requirement_closure(names: Iterable[str]) -> list[Distribution]:
    """The installed distributions ``names`` need to run here, themselves included."""
    found: dict[str, Distribution] = {}
    pending = list(names)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # required only under a marker this interpreter does not meet
        found[name] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return [found[name] for name in sorted(found)]


def wheel_of_installed(dist: Distribution, dest: Path) -> Path:
    """Pack an installed distribution into a wheel in ``dest``, tagged as it was installed."""
    wheel_info = dist.read_text("WHEEL") or ""
    tags = [tag.split("-") for tag in re.findall(r"^Tag: *(\S+)", wheel_info, flags=re.MULTILINE)]
    if not tags or not dist.files or any(len(tag) != 3 for tag in tags):
        raise CannotRepack(f"{dist.metadata['Name']} was not installed from a wheel")
    tag = "-".join(".".join(sorted({t[part] for t in tags})) for part in range(3))
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    version = dist.version
    dist_info = f"{name}-{version}.dist-info"
    payload: dict[str, bytes] = {}
    for relative in dist.files or ():
        parts = relative.parts
        if parts[0] == ".." or "__pycache__" in parts or relative.suffix == ".pyc":
            continue  # scripts (made again by pip) and byte code
        if parts[0].endswith(".dist-info"):
            if parts[-1] in _INSTALL_RECORDS:
                continue
            parts = (dist_info, *parts[1:])
        payload["/".join(parts)] = Path(str(relative.locate())).read_bytes()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in payload.items()]
    record.append(f"{dist_info}/RECORD,,")
    payload[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in payload.items():
            archive.writestr(path, data)
    return wheel


def wheelhouse(names: Iterable[str], dest: Path) -> Path:
    """A folder with a wheel of every installed distribution ``names`` need to run."""
    for dist in requirement_closure(names):
        wheel_of_installed(dist, dest)
    return dest


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"
