"""Core metadata (METADATA, PKG-INFO, PEP 658 ``.metadata``): the part resolution and sync use.

Shared by compile (which reads it from indexes, wheels and sdists) and sync (which checks that
the wheels it is about to install need nothing the lock leaves out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from pinlock.errors import MetadataError

__all__ = ["CoreMetadata", "parse_metadata"]


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
    # Only the header fields matter here: the body (a long description, often most of the
    # bytes) is left out before the email parser, which costs by the byte, ever sees it.
    data = _header_part(data)
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


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def _header_part(data: bytes | str) -> bytes:
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    found = _BLANK_LINE.search(raw)
    return raw if found is None else raw[: found.start()] + b"\n"


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
