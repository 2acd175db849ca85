"""The lock as a value: what compile writes and sync reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.markers import Marker
from packaging.utils import NormalizedName
from packaging.version import Version

from pinlock.index.options import IndexOptions
from pinlock.origin import Origin
from pinlock.urls import redact_url

__all__ = ["Lock", "LockedPackage"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LockedPackage:
    """One pinned package.

    ``version`` is None only for a direct URL or editable whose version the lock does not state.
    ``hashes`` are ``"sha256:<hex>"`` strings, sorted. ``via`` lists what asked for the package:
    ``-r file`` / ``-c file`` labels and the names of dependent packages, sorted as written.
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

    @property
    def requirement_text(self) -> str:
        """The requirement as a lock line spells it (without hashes or annotations)."""
        if self.editable:
            return f"-e {self.url}"
        base = (
            f"{self.display_name} @ {self.url}"
            if self.url
            else f"{self.display_name}=={self.version}"
        )
        return f"{base} ; {self.marker}" if self.marker is not None else base

    @property
    def shown_text(self) -> str:
        """``requirement_text`` as it may be printed or stored: credentials in the URL masked."""
        return redact_url(self.requirement_text) if self.url else self.requirement_text


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A whole lock: its index options and its packages, sorted by name."""

    packages: tuple[LockedPackage, ...]
    options: IndexOptions = field(default_factory=IndexOptions)
    path: str | None = None
