"""What the resolver reads from: the files of a project and their core metadata.

The resolver knows them only through these Protocols; compile hands it the index's finder and
the metadata fetcher, the tests an in-memory fake index.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from packaging.utils import NormalizedName

from pinlock.coremetadata import CoreMetadata
from pinlock.index.models import DistFile, ProjectListing

__all__ = ["FileSource", "MetadataSource"]


class FileSource(Protocol):
    """Where the files of a project come from (``pinlock.index.finder.PackageFinder``)."""

    def listing(self, name: NormalizedName) -> ProjectListing: ...

    def prefetch(self, names: Iterable[NormalizedName]) -> None: ...


class MetadataSource(Protocol):
    """Where core metadata comes from (``pinlock.compile.metadata.MetadataFetcher``).

    ``fetch`` may download and build; ``peek`` answers only when that is cheap (PEP 658 file,
    range reads, cache) and never builds. ``build_output`` is None unless the file's metadata
    was built on this machine, and then what the backend printed.
    """

    def fetch(self, dist: DistFile) -> CoreMetadata: ...

    def peek(self, dist: DistFile) -> CoreMetadata | None: ...

    def build_output(self, dist: DistFile) -> str | None: ...

    def for_source_tree(self, path: Path) -> CoreMetadata: ...
