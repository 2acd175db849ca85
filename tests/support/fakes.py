"""In-memory stand-ins for the resolver's sources: no HTTP, no disk.

``FakeIndex`` declares releases once and serves them through the two Protocols of
``pinlock.compile.resolve``: ``index.files`` is a ``FileSource`` (what a finder lists) and
``index.metadata`` a ``MetadataSource`` (the core metadata of each file). Both record what they
were asked, so tests can count requests. Like the real source, ``peek`` answers for wheels only
(an sdist would have to be downloaded and perhaps built) and never records a fetch.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.coremetadata import CoreMetadata
from pinlock.errors import BuildError, MetadataError, PinlockError
from pinlock.index.models import DistFile, FileKind, ProjectListing
from pinlock.origin import Origin
from pinlock.reqfile import ReqLine

__all__ = ["FakeFiles", "FakeIndex", "FakeMetadata", "req_lines"]

FAKE_INDEX = "https://index.invalid/simple/"


class FakeFiles:
    """A ``FileSource``: the files of each project, as a finder would list them."""

    def __init__(self) -> None:
        self.by_name: dict[NormalizedName, list[DistFile]] = defaultdict(list)
        self.asked: list[NormalizedName] = []
        self._lock = threading.Lock()

    def find(self, name: NormalizedName) -> tuple[DistFile, ...]:
        with self._lock:
            self.asked.append(name)
        return tuple(self.by_name.get(name, ()))

    def listing(self, name: NormalizedName) -> ProjectListing:
        return ProjectListing.of(self.find(name))

    def prefetch(self, names: Iterable[NormalizedName]) -> None:
        """Nothing to fetch ahead: every page is in memory."""


class FakeMetadata:
    """A ``MetadataSource``: the core metadata of each file (by URL) and source tree."""

    def __init__(self) -> None:
        self.by_url: dict[str, CoreMetadata] = {}
        self.errors: dict[str, PinlockError] = {}
        self.trees: dict[Path, CoreMetadata] = {}
        self.fetched: list[str] = []
        self.peeked: list[str] = []
        self.built: dict[str, str] = {}
        self._lock = threading.Lock()

    def fetch(self, dist: DistFile) -> CoreMetadata:
        with self._lock:
            self.fetched.append(dist.filename)
        error = self.errors.get(dist.url)
        if error is not None:
            raise error
        try:
            meta = self.by_url[dist.url]
        except KeyError:
            raise MetadataError(dist.filename, "the fake index has no metadata for it") from None
        if not dist.is_wheel:
            with self._lock:
                self.built.setdefault(dist.url, f"building {dist.filename}\n")
        return meta

    def peek(self, dist: DistFile) -> CoreMetadata | None:
        with self._lock:
            self.peeked.append(dist.filename)
        if not dist.is_wheel or dist.url in self.errors:
            return None
        return self.by_url.get(dist.url)

    def build_output(self, dist: DistFile) -> str | None:
        with self._lock:
            return self.built.get(dist.url)

    def for_source_tree(self, path: Path) -> CoreMetadata:
        try:
            return self.trees[path]
        except KeyError:
            raise MetadataError(str(path), "the fake index has no such tree") from None


class FakeIndex:
    """Releases declared in one call each, served as files and metadata."""

    def __init__(self) -> None:
        self.files = FakeFiles()
        self.metadata = FakeMetadata()

    def release(
        self,
        name: str,
        version: str,
        *requires: str,
        requires_python: str | None = None,
        extras: Sequence[str] = (),
        wheels: Sequence[str] = ("py3-none-any",),
        sdist: bool = False,
        yanked: bool = False,
        index_requires_python: str | None = None,
        broken: str | None = None,
        build: str | None = None,
    ) -> list[DistFile]:
        """Add ``name`` ``version`` with a wheel per tag in ``wheels`` (and an sdist if asked).

        ``requires`` are its Requires-Dist lines and ``requires_python`` its metadata's
        Requires-Python; ``index_requires_python`` is what the index page says of each file
        (PEP 503 ``data-requires-python``), ``yanked`` marks every file yanked (PEP 592).
        ``broken`` makes reading the metadata of every file fail with that reason (a build
        error for an sdist, bad metadata for a wheel). An sdist's metadata counts as built.
        ``build`` is a PEP 427 build tag for the wheels' file names.
        """
        canonical = canonicalize_name(name)
        parsed = Version(version)
        stem = f"{canonical.replace('-', '_')}-{version}"
        meta = CoreMetadata(
            name=canonical,
            display_name=name,
            version=parsed,
            requires_dist=tuple(Requirement(line) for line in requires),
            requires_python=SpecifierSet(requires_python) if requires_python else None,
            provides_extra=frozenset(canonicalize_name(extra) for extra in extras),
            dynamic=frozenset(),
        )
        made: list[DistFile] = []
        build_part = f"-{build}" if build else ""
        names = [(f"{stem}{build_part}-{tag}.whl", FileKind.WHEEL, tag) for tag in wheels]
        if sdist:
            names.append((f"{stem}.tar.gz", FileKind.SDIST, ""))
        for filename, kind, tag in names:
            dist = DistFile(
                name=canonical,
                version=parsed,
                filename=filename,
                url=f"https://files.invalid/{filename}",
                kind=kind,
                source=FAKE_INDEX,
                wheel_tags=parse_tag(tag) if tag else frozenset(),
                hashes={"sha256": f"{len(made):064x}"},
                requires_python=(
                    SpecifierSet(index_requires_python) if index_requires_python else None
                ),
                yanked=yanked,
                yanked_reason="broken" if yanked else "",
            )
            self.files.by_name[canonical].append(dist)
            self.metadata.by_url[dist.url] = meta
            if broken is not None:
                self.metadata.errors[dist.url] = (
                    MetadataError(filename, broken)
                    if kind is FileKind.WHEEL
                    else BuildError(filename, "backend failed", f"output of {filename}\n{broken}\n")
                )
            made.append(dist)
        return made


def req_lines(*texts: str, via: str = "-r requirements.in") -> list[ReqLine]:
    """Input lines as the requirement-file parser gives them, written in ``via``'s file."""
    path = via.split(" ", 1)[-1]
    return [
        ReqLine(
            requirement=Requirement(text),
            text=text,
            origin=Origin(path=path, line=number),
            via=via,
        )
        for number, text in enumerate(texts, start=1)
    ]
