"""What the requirement part of a line names: a project, a URL, a local path or archive."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pinlock.index.models import parse_dist_filename
from pinlock.reqfile._syntax import LineProblem
from pinlock.urls import file_url_to_path, is_file_url, url_filename

_EXTRAS_SUFFIX = re.compile(r"^(.+)(\[[^\]]+\])$")

_EGG = re.compile(r"[#&]egg=([^&]*)")

VCS_SCHEMES = frozenset(
    {
        "git",
        "git+file",
        "git+git",
        "git+http",
        "git+https",
        "git+ssh",
        "hg+file",
        "hg+http",
        "hg+https",
        "hg+ssh",
        "hg+static-http",
        "svn",
        "svn+file",
        "svn+http",
        "svn+https",
        "svn+ssh",
        "svn+svn",
        "bzr+ftp",
        "bzr+http",
        "bzr+https",
        "bzr+lp",
        "bzr+sftp",
        "bzr+ssh",
        "bzr+file",
    }
)

_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"}) | VCS_SCHEMES

_ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)


def is_url(text: str) -> bool:
    if ":" not in text:
        return False
    return text.split(":", 1)[0].lower() in _URL_SCHEMES


def _looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def _is_archive(text: str) -> bool:
    return text.lower().endswith(_ARCHIVE_SUFFIXES)


def is_installable_dir(path: str) -> bool:
    return (Path(path) / "pyproject.toml").is_file() or (Path(path) / "setup.py").is_file()


def absolute(*parts: str) -> str:
    """An absolute, normalised path; symlinks are kept as the user wrote them."""
    return os.path.normpath(Path(*parts).absolute())


def _first_line(message: object) -> str:
    return str(message).strip().splitlines()[0] if str(message).strip() else "invalid"


def strip_extras(text: str) -> tuple[str, frozenset[str]]:
    match = _EXTRAS_SUFFIX.match(text)
    if match is None:
        return text, frozenset()
    try:
        extras = Requirement("placeholder" + match.group(2)).extras
    except InvalidRequirement as error:
        raise LineProblem(f"invalid extras {match.group(2)}: {_first_line(error)}") from None
    return match.group(1), frozenset(canonicalize_name(extra) for extra in extras)


def _parse_marker(text: str) -> Marker | None:
    if not text.strip():
        return None
    try:
        return Marker(text.strip())
    except InvalidMarker as error:
        raise LineProblem(f"invalid marker: {_first_line(error)}") from None


def egg_name(url: str) -> tuple[str | None, frozenset[str]]:
    match = _EGG.search(url)
    if match is None or not match.group(1):
        return None, frozenset()
    egg = unquote(match.group(1))
    try:
        parsed = Requirement(egg)
    except InvalidRequirement:
        raise LineProblem(f"invalid #egg= fragment {egg!r}: expected a project name") from None
    if parsed.specifier or parsed.url or parsed.marker:
        raise LineProblem(f"invalid #egg= fragment {egg!r}: expected a project name")
    return parsed.name, frozenset(canonicalize_name(extra) for extra in parsed.extras)


@dataclass(frozen=True, kw_only=True, slots=True)
class Parsed:
    requirement: Requirement | None
    link: str | None
    extras: frozenset[str]
    marker: Marker | None


def direct(
    name: str | None, extras: frozenset[str], location: str, marker: Marker | None
) -> Parsed:
    """A direct reference; ``location`` is a URL or an absolute filesystem path."""
    if name is None:
        return Parsed(requirement=None, link=location, extras=extras, marker=marker)
    url = location if is_url(location) else Path(location).as_uri()
    extras_text = f"[{','.join(sorted(extras))}]" if extras else ""
    marker_text = f" ; {marker}" if marker is not None else ""
    requirement = Requirement(f"{name}{extras_text} @ {url}{marker_text}")
    return Parsed(requirement=requirement, link=location, extras=extras, marker=marker)


def local_file_location(url: str, folder: str, *, absolute_urls: bool = False) -> str | None:
    """The absolute path a relative ``file:`` URL names (``file:.``, ``file:../x.whl``), taken
    from ``folder`` as every other relative path of the file; None for other URLs.

    pip-compile writes a project next to its lock as ``-e file:.``. An absolute ``file://``
    URL stays a URL unless ``absolute_urls`` (an editable is a folder either way).
    """
    if not is_file_url(url) or (url[5:7] == "//" and not absolute_urls):
        return None
    try:
        path = file_url_to_path(url.split("#", 1)[0])
    except ValueError as error:
        raise LineProblem(str(error)) from None
    return absolute(folder, str(path))


def parse_requirement(spec: str, folder: str) -> Parsed:
    """A requirement line's requirement part, following pip's order of interpretation."""
    if is_url(spec):
        # After a URL only "; " starts a marker: a bare ";" may be part of the URL.
        url, _, marker_text = spec.partition("; ")
        url = url.strip()
        name, extras = egg_name(url)
        if name is None:
            filename = url_filename(url)
            dist = parse_dist_filename(filename)
            name = dist[0] if dist else None
        location = local_file_location(url, folder) or url
        return direct(name, extras, location, _parse_marker(marker_text))

    before_at = spec.split("@", 1)[0]
    if "@" not in spec or _looks_like_path(before_at):
        path_part, _, marker_text = spec.partition(";")
        path_text, extras = strip_extras(path_part.strip())
        location = absolute(folder, path_text)
        if _looks_like_path(path_text) and Path(location).is_dir():
            if not is_installable_dir(location):
                raise LineProblem(
                    f"directory {path_text!r} is not installable: "
                    "it has neither pyproject.toml nor setup.py"
                )
            return direct(None, extras, location, _parse_marker(marker_text))
        if _is_archive(path_text):
            if not Path(location).is_file():
                raise LineProblem(f"file not found: {location}")
            dist = parse_dist_filename(Path(path_text).name)
            name = dist[0] if dist else None
            return direct(name, extras, location, _parse_marker(marker_text))

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as error:
        reason = f"invalid requirement: {_first_line(error)}"
        if _looks_like_path(before_at):
            location = absolute(folder, before_at.split(";")[0].strip())
            reason += f" (it looks like a path, but {location} does not exist)"
        raise LineProblem(reason) from None
    if requirement.url is not None and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", requirement.url):
        raise LineProblem(
            f"direct reference {requirement.url!r} is not a URL: "
            "use a file:// URL or write the path alone"
        )
    local = local_file_location(requirement.url, folder) if requirement.url else None
    if local is not None:
        extras = frozenset(canonicalize_name(extra) for extra in requirement.extras)
        return direct(requirement.name, extras, local, requirement.marker)
    return Parsed(
        requirement=requirement,
        link=requirement.url,
        extras=frozenset(canonicalize_name(extra) for extra in requirement.extras),
        marker=requirement.marker,
    )
