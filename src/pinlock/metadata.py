"""Core metadata of distributions, read the cheapest way each file allows.

For a wheel: the PEP 658 ``.metadata`` file when the index offers one, else HTTP range reads of
the wheel's zip directory, else a full download kept in the cache. For an sdist: its PKG-INFO
when trustworthy, else its build backend (see ``pinlock.sdist``). Results are remembered in
memory and, keyed by the file's sha256 (or its URL when the index gives no digest), on disk.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from packaging.markers import Marker
from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from pinlock import sdist, wheelzip

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
from pinlock.errors import HashMismatch, MetadataError

if TYPE_CHECKING:
    from pinlock.cache import Cache
    from pinlock.index.http import HttpClient
    from pinlock.index.models import DistFile

__all__ = ["CoreMetadata", "MetadataFetcher", "parse_metadata"]

_BUILT_BUCKET = "metadata-built"
_METADATA_BUCKET = "metadata"
_FILES_BUCKET = "files"
_DEPENDENCY_FIELDS = frozenset(
    {"dependencies", "optional-dependencies", "requires-python", "name", "version"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CoreMetadata:
    """What resolution needs of a distribution's core metadata."""

    name: NormalizedName
    display_name: str
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    provides_extra: frozenset[NormalizedName]
    dynamic: frozenset[str]


def parse_metadata(data: bytes | str, *, what: str) -> CoreMetadata:
    """Parse core metadata in its email-header form (METADATA, PKG-INFO, ``.metadata``).

    Unknown fields are ignored; a missing name or version, or a ``Requires-Dist`` or
    ``Requires-Python`` that is not valid, is a MetadataError naming ``what``.
    """
    raw, unparsed = parse_email(data)
    headers = _header_lines(data)
    display_name = raw.get("name") or _first(headers, "name")
    if not display_name:
        raise MetadataError(what, "no Name field")
    version_text = raw.get("version") or _first(headers, "version")
    if not version_text:
        raise MetadataError(what, "no Version field")
    try:
        version = Version(version_text)
    except InvalidVersion:
        raise MetadataError(what, f"invalid Version {version_text!r}") from None

    requires: list[Requirement] = []
    for line in [*raw.get("requires_dist", []), *_as_list(unparsed.get("requires-dist"))]:
        try:
            requires.append(Requirement(line))
        except InvalidRequirement as error:
            raise MetadataError(what, f"invalid Requires-Dist {line!r}: {error}") from None

    requires_python_text = raw.get("requires_python") or _first(headers, "requires-python")
    requires_python = None
    if requires_python_text and requires_python_text.strip():
        try:
            requires_python = SpecifierSet(requires_python_text)
        except InvalidSpecifier:
            reason = f"invalid Requires-Python {requires_python_text!r}"
            raise MetadataError(what, reason) from None

    extras = [*raw.get("provides_extra", []), *_as_list(unparsed.get("provides-extra"))]
    dynamic = [*raw.get("dynamic", []), *_as_list(unparsed.get("dynamic"))]
    return CoreMetadata(
        name=canonicalize_name(display_name),
        display_name=display_name,
        version=version,
        requires_dist=tuple(requires),
        requires_python=requires_python,
        provides_extra=frozenset(canonicalize_name(extra) for extra in extras),
        dynamic=frozenset(field.strip().lower() for field in dynamic),
    )


def _header_lines(data: bytes | str) -> dict[str, list[str]]:
    """Fields packaging could not place (duplicates of single fields, odd encodings), raw."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    fields: dict[str, list[str]] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        if not line or line[0] in " \t":
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), []).append(value.strip())
    return fields


def _first(headers: Mapping[str, list[str]], field: str) -> str | None:
    values = headers.get(field)
    return values[0] if values else None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


class MetadataFetcher:
    """Core metadata of index files and local projects; safe to share between threads."""

    def __init__(self, client: HttpClient, cache: Cache, *, build_isolation: bool = True) -> None:
        self._client = client
        self._cache = cache
        self._build_isolation = build_isolation
        self._memo: dict[str, CoreMetadata] = {}
        self._built: set[str] = set()
        self._guard = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def fetch(self, dist: DistFile) -> CoreMetadata:
        """The metadata of ``dist``, checked to name the file's project and version."""
        key = _cache_key(dist)
        with self._guard:
            known = self._memo.get(key)
            if known is not None:
                return known
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._guard:
                known = self._memo.get(key)
            if known is not None:
                return known
            metadata = self._load(dist, key)
            with self._guard:
                self._memo[key] = metadata
                self._key_locks.pop(key, None)
            return metadata

    def was_built(self, dist: DistFile) -> bool:
        """Whether ``dist``'s metadata came from building its sdist on this machine."""
        with self._guard:
            return (_cache_key(dist)) in self._built

    def for_source_tree(self, path: Path) -> CoreMetadata:
        """Metadata of a local project folder: its static ``[project]`` table when dependencies,
        requires-python, name and version are all static, else the backend's answer."""
        path = Path(path)
        static = _static_project_metadata(path)
        if static is not None:
            return static
        data = sdist.prepare_metadata(path, build_isolation=self._build_isolation, what=str(path))
        return parse_metadata(data, what=str(path))

    # -- one file ------------------------------------------------------------------------

    def _load(self, dist: DistFile, key: str) -> CoreMetadata:
        # A local file without a digest may be rebuilt under the same name: read it afresh.
        persistent = key != dist.url or _local_path(dist.url) is None
        cached = self._cache.get(_METADATA_BUCKET, key) if persistent else None
        if cached is not None:
            try:
                metadata = self._checked(parse_metadata(cached, what=dist.filename), dist)
            except MetadataError:
                pass  # a damaged entry is read again from the source below
            else:
                if self._cache.get(_BUILT_BUCKET, key) is not None:
                    self._mark_built(key)
                return metadata
        data, built = self._read(dist)
        metadata = self._checked(parse_metadata(data, what=dist.filename), dist)
        if built:
            self._mark_built(key)
        if persistent:
            if built:
                self._cache.put(_BUILT_BUCKET, key, b"")
            self._cache.put(_METADATA_BUCKET, key, data)
        return metadata

    def _mark_built(self, key: str) -> None:
        with self._guard:
            self._built.add(key)

    def _read(self, dist: DistFile) -> tuple[bytes, bool]:
        """The metadata bytes, and whether they were built here from an sdist."""
        if not dist.is_wheel:
            local = _local_path(dist.url)
            archive = local if local is not None else self._download(dist)
            return sdist.read_sdist_metadata(
                archive, build_isolation=self._build_isolation, name=dist.filename
            )
        return self._wheel_metadata(dist), False

    def _wheel_metadata(self, dist: DistFile) -> bytes:
        local = _local_path(dist.url)
        if local is not None:
            return _wheel_file_metadata(local, dist.filename)
        if dist.metadata_url is not None:
            data = self._pep658(dist, dist.metadata_url)
            if data is not None:
                return data
        data = wheelzip.read_metadata(self._client, dist.url)
        if data is not None:
            return data
        return _wheel_file_metadata(self._download(dist), dist.filename)

    def _pep658(self, dist: DistFile, url: str) -> bytes | None:
        response = self._client.get(url)
        if response.status != 200:
            return None
        expected = dict(dist.metadata_hashes or {})
        _verify(url, response.body, expected)
        return response.body

    def _download(self, dist: DistFile) -> Path:
        """The whole file, kept in the cache under its sha256."""
        known = dist.sha256
        if known is not None:
            cached = self._cache.path(_FILES_BUCKET, known)
            if cached.is_file():
                return cached
        staging = self._cache.root / _FILES_BUCKET
        staging.mkdir(parents=True, exist_ok=True)
        # A digest in an algorithm hashlib lacks cannot be checked, so it cannot fail the file.
        expected = [
            f"{algorithm}:{digest}"
            for algorithm, digest in dist.hashes.items()
            if algorithm in hashlib.algorithms_available
        ]
        with tempfile.TemporaryDirectory(prefix=".download-", dir=staging) as tmp:
            partial = Path(tmp) / dist.filename
            digest = self._client.download(dist.url, partial, expected=expected)
            target = self._cache.path(_FILES_BUCKET, digest.partition(":")[2])
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.replace(target)
        return target

    def _checked(self, metadata: CoreMetadata, dist: DistFile) -> CoreMetadata:
        if metadata.name != dist.name or metadata.version != dist.version:
            found = f"{metadata.display_name} {metadata.version}"
            raise MetadataError(
                dist.filename,
                f"the file is {dist.name} {dist.version} but its metadata says {found}",
            )
        return metadata


# Strongest first: the digest that names a file's bytes in the caches when sha256 is not given.
_KEY_ALGORITHMS = ("sha512", "sha384", "blake2b", "sha3_512", "sha3_384", "sha3_256", "sha224")


def _cache_key(dist: DistFile) -> str:
    """What names ``dist``'s bytes: its sha256, else another digest the index gave, else its URL."""
    if dist.sha256:
        return dist.sha256.lower()
    for algorithm in _KEY_ALGORITHMS:
        digest = dist.hashes.get(algorithm)
        if digest:
            return f"{algorithm}:{digest.lower()}"
    return dist.url


def _verify(url: str, data: bytes, expected: Mapping[str, str]) -> None:
    """Check ``data`` against every digest given in an algorithm we know."""
    checked = {
        algorithm: digest.lower()
        for algorithm, digest in expected.items()
        if algorithm in hashlib.algorithms_guaranteed
    }
    for algorithm, digest in checked.items():
        actual = hashlib.new(algorithm, data).hexdigest()
        if actual != digest:
            raise HashMismatch(url, [f"{algorithm}:{digest}"], f"{algorithm}:{actual}")


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    # url2pathname unquotes; unquoting twice would turn a literal "%2B" in a name into "+".
    return Path(url2pathname(parts.path))


def _wheel_file_metadata(path: Path, what: str) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(wheelzip.find_metadata_member(archive.namelist(), what))
    except (zipfile.BadZipFile, OSError) as error:
        raise MetadataError(what, f"not a readable wheel: {error}") from None


# -- static pyproject.toml ----------------------------------------------------------------


def _static_project_metadata(path: Path) -> CoreMetadata | None:
    """The PEP 621 ``[project]`` table as metadata, or None when something we need is dynamic."""
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        return None
    what = str(pyproject)
    try:
        document = _load_toml(pyproject.read_bytes())
    except ValueError as error:
        raise MetadataError(what, f"invalid TOML: {error}") from None
    project = document.get("project")
    if not isinstance(project, dict):
        return None
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or _DEPENDENCY_FIELDS & {str(f) for f in dynamic}:
        return None
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    requires_python = project.get("requires-python")
    if requires_python is not None:
        lines.append(f"Requires-Python: {_string(requires_python, what, 'requires-python')}")
    lines += [f"Requires-Dist: {req}" for req in _strings(project.get("dependencies"), what)]
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise MetadataError(what, "project.optional-dependencies must be a table")
    for extra, requirements in optional.items():
        lines.append(f"Provides-Extra: {extra}")
        for text in _strings(requirements, what):
            lines.append(f"Requires-Dist: {_with_extra(text, extra, what)}")
    lines += [f"Dynamic: {field}" for field in dynamic]
    return parse_metadata("\n".join(lines) + "\n", what=what)


def _with_extra(text: str, extra: str, what: str) -> str:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise MetadataError(what, f"invalid requirement {text!r}: {error}") from None
    condition = f'extra == "{canonicalize_name(extra)}"'
    if requirement.marker is None:
        requirement.marker = Marker(condition)
    else:
        requirement.marker = Marker(f"({requirement.marker}) and {condition}")
    return str(requirement)


def _string(value: object, what: str, key: str) -> str:
    if not isinstance(value, str):
        raise MetadataError(what, f"project.{key} must be a string")
    return value


def _strings(value: object, what: str) -> Iterable[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MetadataError(what, "project dependencies must be lists of strings")
    return value


def _load_toml(data: bytes) -> dict[str, Any]:
    document: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    return document
