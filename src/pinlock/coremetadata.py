"""Core metadata (METADATA, PKG-INFO, PEP 658 ``.metadata``): the part resolution and sync use.

Shared by compile (which reads it from indexes, wheels and sdists) and sync (which checks that
the wheels it is about to install need nothing the lock leaves out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    header = _header_part(data)
    fields = _plain_fields(header) or _email_fields(header)
    display_name = fields.name
    if not display_name:
        raise MetadataError(what, "no Name field")
    version_text = fields.version
    if not version_text:
        raise MetadataError(what, "no Version field")
    try:
        version = Version(version_text)
    except InvalidVersion:
        raise MetadataError(what, f"invalid Version {version_text!r}") from None

    requires: list[Requirement] = []
    for line in fields.requires_dist:
        try:
            requires.append(_requirement(line))
        except InvalidRequirement as error:
            raise MetadataError(what, f"invalid Requires-Dist {line!r}: {error}") from None

    requires_python_text = fields.requires_python
    requires_python = None
    if requires_python_text and requires_python_text.strip():
        try:
            requires_python = SpecifierSet(requires_python_text)
        except InvalidSpecifier:
            reason = f"invalid Requires-Python {requires_python_text!r}"
            raise MetadataError(what, reason) from None

    return CoreMetadata(
        name=canonicalize_name(display_name),
        display_name=display_name,
        version=version,
        requires_dist=tuple(requires),
        requires_python=requires_python,
        provides_extra=frozenset(canonicalize_name(extra) for extra in fields.provides_extra),
        dynamic=frozenset(field.strip().lower() for field in fields.dynamic),
    )


# The same Requires-Dist lines recur across a project's versions and across projects; parsing
# one is most of the cost of a METADATA. Nothing changes a Requirement once parsed here (code
# that edits a marker works on its own copy), so each line's parse is shared; the bound only
# keeps a long-lived process from growing without end.
_REQUIREMENTS: dict[str, Requirement] = {}
_MAX_REQUIREMENTS = 50_000


def _requirement(line: str) -> Requirement:
    requirement = _REQUIREMENTS.get(line)
    if requirement is None:
        requirement = Requirement(line)
        if len(_REQUIREMENTS) < _MAX_REQUIREMENTS:
            _REQUIREMENTS[line] = requirement
    return requirement


@dataclass(frozen=True, kw_only=True, slots=True)
class _Fields:
    """The raw texts of the fields used, as the email parser and packaging give them."""

    name: str | None
    version: str | None
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    dynamic: tuple[str, ...]


def _email_fields(header: bytes) -> _Fields:
    """The fields through packaging's email parser: every odd header (encodings, folded or
    repeated fields) is read here. Loaded only then: packaging.metadata brings the email
    package, a tenth of a compile's start, and plain headers never need it."""
    from packaging.metadata import parse_email

    raw, unparsed = parse_email(header)
    headers = _header_lines(header)
    return _Fields(
        name=raw.get("name") or _first(headers, "name"),
        version=raw.get("version") or _first(headers, "version"),
        requires_dist=(*raw.get("requires_dist", []), *_as_list(unparsed.get("requires-dist"))),
        requires_python=raw.get("requires_python") or _first(headers, "requires-python"),
        provides_extra=(*raw.get("provides_extra", []), *_as_list(unparsed.get("provides-extra"))),
        dynamic=(*raw.get("dynamic", []), *_as_list(unparsed.get("dynamic"))),
    )


# A header the email parser reads line by line as written: every line a "Field-Name:" line
# (the characters it allows in a name) or a continuation, each ended by LF or CRLF.
_PLAIN_HEADER = re.compile(rb"(?:(?:[!-9;-~]+:|[ \t])[^\r\n]*\r?\n)*")
# Characters str.splitlines (_header_lines) or the email parser may also take as line breaks.
_ODD_BREAK = re.compile(rb"[\x0b\x0c\x1c-\x1e]|\xc2\x85|\xe2\x80[\xa8\xa9]")
# A used field's line, its value without the leading blanks the email parser drops, and
# whether a continuation line follows.
_USED_FIELD = re.compile(
    rb"^(name|version|requires-dist|requires-python|provides-extra|dynamic):[ \t]*"
    rb"([^\r\n]*)\r?\n(?=([ \t]?))",
    re.MULTILINE | re.IGNORECASE,
)
_SINGLE_FIELDS = ("name", "version", "requires-python")


def _plain_fields(header: bytes) -> _Fields | None:
    """The fields of a plain header, read directly; None when the header is not plain.

    Plain: well-formed lines (see _PLAIN_HEADER), no odd line breaks, and the used fields
    ASCII, unfolded, without ``=?`` and the single-use ones at most once. For such a header
    the email parser gives each field's text after ``:`` less leading blanks, which is what
    is read here; anything else goes to the email parser.
    """
    if not header.endswith(b"\n"):
        header += b"\n"
    if header[:1] in (b" ", b"\t") or _PLAIN_HEADER.fullmatch(header) is None:
        return None
    if _ODD_BREAK.search(header) is not None:
        return None
    found: dict[str, list[str]] = {}
    for match in _USED_FIELD.finditer(header):
        field, value, continued = match.groups()
        if continued or not value.isascii() or b"=?" in value:
            return None
        found.setdefault(field.decode("ascii").lower(), []).append(value.decode("ascii"))
    if any(len(found.get(field, ())) > 1 for field in _SINGLE_FIELDS):
        return None
    return _Fields(
        name=_first(found, "name"),
        version=_first(found, "version"),
        requires_dist=tuple(found.get("requires-dist", ())),
        requires_python=_first(found, "requires-python"),
        provides_extra=tuple(found.get("provides-extra", ())),
        dynamic=tuple(found.get("dynamic", ())),
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
