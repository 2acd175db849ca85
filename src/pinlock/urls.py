"""URL facts every stage shares: ``file:`` URLs and paths, and URLs as they may be shown.

There is one answer to each question here, so compile, sync and the index layer cannot drift:

- ``is_file_url`` / ``file_url_to_path`` / ``path_to_file_url``: ``file:`` URLs, decoded exactly
  once (decoding twice would turn a folder's literal ``%2B`` into ``+``), with Windows drive
  letters and ``localhost`` hosts as pip reads them;
- ``local_path``: where a location (``file:`` URL or plain path) is on this machine, or None for a
  remote URL;
- ``redact_url`` / ``redact_text``: the form of a URL (or of every URL in a text) that may be
  printed or stored: ``user:****@`` for a password, ``****@`` for a bare token.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PureWindowsPath
from urllib.parse import unquote, urlsplit

__all__ = [
    "file_url_to_path",
    "is_file_url",
    "is_vcs_url",
    "local_path",
    "path_to_file_url",
    "redact_text",
    "redact_url",
    "strip_userinfo",
    "url_filename",
]

_VCS_URL = re.compile(r"(git|hg|svn|bzr)\+[A-Za-z0-9.+-]+://", re.IGNORECASE)
_DRIVE = re.compile(r"/?([A-Za-z])[:|](/.*)?\Z")
# scheme://userinfo@host: the userinfo runs to the last "@" before the path, query or fragment.
_URL_WITH_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]+)@")


def is_file_url(url: str) -> bool:
    """Whether ``url`` is a ``file:`` URL (any case)."""
    return url[:5].lower() == "file:"


def is_vcs_url(url: str) -> bool:
    """Whether ``url`` is a VCS URL pip understands (``git+https://...``, ``hg+ssh://...``)."""
    return _VCS_URL.match(url) is not None


def file_url_to_path(url: str, *, windows: bool | None = None) -> Path:
    """The local path of a ``file:`` URL, percent-decoded once.

    ``file:///C:/x`` and ``file:///C|/x`` are drive paths on Windows; ``file://localhost/x`` is
    ``/x``; another host is a UNC share (``\\\\host\\share``) on Windows and an error elsewhere,
    as pip has it. ``windows`` (default: this machine) picks the rules, for tests.
    """
    if not is_file_url(url):
        raise ValueError(f"not a file: URL: {url}")
    on_windows = os.name == "nt" if windows is None else windows
    parts = urlsplit(url)
    host = parts.netloc
    if host.lower() == "localhost":
        host = ""
    path = unquote(parts.path)
    if on_windows:
        drive = _DRIVE.match(path)
        if drive is not None:
            text = f"{drive[1]}:{drive[2] or '/'}"
        elif host:
            text = f"//{host}{path}"
        else:
            text = path
        return Path(str(PureWindowsPath(text))) if os.name == "nt" else Path(text)
    if host:
        raise ValueError(f"file: URL names another machine ({host}): {url}")
    return Path(path or "/")


def path_to_file_url(path: Path | str) -> str:
    """The ``file:`` URL of ``path`` (made absolute, not resolved), percent-quoted."""
    return Path(path).absolute().as_uri()


def local_path(location: str) -> Path | None:
    """Where ``location`` is on this machine: a ``file:`` URL's path, or a plain path made
    absolute (``~`` expanded); None for a remote URL. A one-letter "scheme" is a drive letter."""
    if is_file_url(location):
        return file_url_to_path(location)
    scheme = urlsplit(location).scheme
    if scheme and len(scheme) > 1:
        return None
    return Path(location).expanduser().absolute()


def url_filename(url: str) -> str:
    """The file name a URL ends in (decoded; query and fragment left out)."""
    return unquote(urlsplit(url).path).rstrip("/").rsplit("/", 1)[-1]


def strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its userinfo, and the (decoded) user and password it carried.

    A lone token (``https://TOKEN@host``) comes back as the user with no password.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None, None
    user, colon, password = userinfo.partition(":")
    plain = parts._replace(netloc=hostport).geturl()
    return plain, unquote(user), unquote(password) if colon else None


def redact_url(url: str) -> str:
    """``url`` as it may be shown: ``user:****@`` for a password, ``****@`` for a bare token."""
    return _URL_WITH_USERINFO.sub(_masked, url, count=1)


def redact_text(text: str) -> str:
    """``text`` with the credentials of every URL in it masked as ``redact_url`` masks them."""
    return _URL_WITH_USERINFO.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    user, colon, _password = match["userinfo"].partition(":")
    shown = f"{user}:****" if colon else "****"
    return f"{match['head']}{shown}@"
