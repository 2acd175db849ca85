"""The lock as a value: what compile writes and sync reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from pinlock.index.options import IndexOptions
from pinlock.origin import Origin
from pinlock.urls import redact_url

__all__ = ["Lock", "LockedFile", "LockedPackage", "is_path"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedFile:
    """One file a pin installs from: a wheel or the sdist, as a pylock.toml lists it.

    ``hashes`` are ``"algorithm:<hex>"`` strings, sorted; ``size`` (bytes) and ``upload_time``
    are None when the index did not state them.
    """

    filename: str
    url: str
    hashes: tuple[str, ...] = ()
    size: int | None = None
    upload_time: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedPackage:
    """One pinned package.

    ``version`` is None only for a direct URL or editable whose version the lock does not state.
    ``url`` is a URL, an absolute path, or (as compile writes a local project or file inside the
    project) a path relative to the lock's folder: ``.``, ``./vendor/x.whl``.
    ``hashes`` are ``"sha256:<hex>"`` strings, sorted. ``via`` lists what asked for the package:
    ``-r file`` / ``-c file`` labels and the names of dependent packages, sorted as written.
    ``files`` are the files of the pin the lock allows (their hashes are ``hashes``), with the
    index they came from (``index``) and the version's ``requires_python``, when known: what a
    pylock.toml states. A requirements.txt lock leaves them out but names ``index`` in a
    ``# from <url>`` comment (pip ignores it) when it is not the lock's default index.
    """

    name: NormalizedName
    display_name: str
    version: Version | None
    url: str | None = None
    editable: bool = False
    hashes: tuple[str, ...] = ()
    marker: Marker | None = None
    via: tuple[str, ...] = ()
    origin: Origin | None = None
    files: tuple[LockedFile, ...] = ()
    index: str | None = None
    requires_python: SpecifierSet | None = None

    @property
    def requirement_text(self) -> str:
        """The requirement as a lock line spells it (without hashes or annotations)."""
        if self.editable:
            return f"-e {self.url}"
        if self.url and is_path(self.url):
            base = self.url  # a bare path: pip reads the name from the file or project
        elif self.url:
            base = f"{self.display_name} @ {self.url}"
        else:
            base = f"{self.display_name}=={self.version}"
        return f"{base} ; {self.marker}" if self.marker is not None else base

    @property
    def shown_text(self) -> str:
        """``requirement_text`` as it may be printed or stored: credentials in the URL masked."""
        return redact_url(self.requirement_text) if self.url else self.requirement_text


def is_path(location: str) -> bool:
    """Whether a lock location is a filesystem path rather than a URL (``scheme:...``)."""
    scheme, colon, _rest = location.partition(":")
    # A one-letter "scheme" is a Windows drive letter.
    return not colon or len(scheme) < 2 or not scheme.replace("+", "").replace("-", "").isalnum()


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A whole lock: its index options and its packages, sorted by name."""

    packages: tuple[LockedPackage, ...]
    options: IndexOptions = field(default_factory=IndexOptions)
    path: str | None = None
