"""What an index says about one file of a project: the value every later stage works from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

__all__ = ["DistFile", "FileKind", "parse_dist_filename"]


class FileKind(Enum):
    WHEEL = "wheel"
    SDIST = "sdist"


@dataclass(frozen=True, kw_only=True, slots=True)
class DistFile:
    """One downloadable file of a project version, as an index or find-links source lists it.

    ``hashes`` maps an algorithm name to a hex digest, as the index gave it (``sha256`` is filled
    in by pinlock when the index gives none and the file had to be read anyway).
    ``metadata_hashes`` is None when no PEP 658 ``.metadata`` file is advertised, and a (possibly
    empty) mapping of its digests when one is.
    ``source`` is the index or find-links URL the file was found through.
    """

    name: NormalizedName
    version: Version
    filename: str
    url: str
    kind: FileKind
    source: str
    wheel_tags: frozenset[Tag] = frozenset()
    hashes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    requires_python: SpecifierSet | None = None
    yanked: bool = False
    yanked_reason: str = ""
    metadata_hashes: Mapping[str, str] | None = field(default=None, compare=False, hash=False)

    @property
    def is_wheel(self) -> bool:
        return self.kind is FileKind.WHEEL

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def metadata_url(self) -> str | None:
        """The PEP 658 metadata file's URL, when the index advertises one."""
        return None if self.metadata_hashes is None else self.url + ".metadata"


def parse_dist_filename(
    filename: str,
) -> tuple[NormalizedName, Version, FileKind, frozenset[Tag]] | None:
    """Name, version, kind and tags of a wheel or sdist file name; None for anything else.

    Sdists are ``.tar.gz`` or ``.zip``; other archive names (``.exe``, ``.egg``, ``.tar.bz2``)
    are ignored, as pip ignores them.
    """
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return name, version, FileKind.WHEEL, tags
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return name, version, FileKind.SDIST, frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None
