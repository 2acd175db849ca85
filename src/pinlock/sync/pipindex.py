"""Index settings handed to pip the way pip reads them, with no secret on a command line.

pip needs the indexes only to build (an sdist's or an editable's build requirements). Its
command line is public (``ps``, CI logs of failed commands), and pip copies its index URLs onto
the command line of the pip it starts for an isolated build environment. So the URLs go to pip
without their userinfo, as ``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``PIP_FIND_LINKS``...
(which pip ranks above its configuration files, as it ranks its command line), and the
credentials go into a netrc file, owner-only, in the sync's work folder (deleted with it),
named by ``NETRC``: requests, under pip, reads it for every host, in every pip it starts. The
netrc the user had (``$NETRC``, ``~/.netrc``) comes first in that file, so its hosts keep
their credentials; a URL's own credentials win for its host, as in pip.

A credential that netrc cannot spell (white space, quotes, a backslash) stays in the URL, in
the environment only; so does a bare token (a user without password) for a pip running on
Python 3.10 or older, whose netrc reader refuses an entry without password.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pinlock.urls import local_path, path_to_file_url, strip_userinfo

if TYPE_CHECKING:
    from pinlock.index.config import IndexSettings

__all__ = ["pip_index_environment"]

_NETRC_FILE = "pip-credentials.netrc"
_UNSPELLABLE = frozenset(" \t\n\r\"\\'")


def pip_index_environment(
    settings: IndexSettings,
    folder: Path,
    environ: Mapping[str, str] | None = None,
    *,
    pip_python: tuple[int, ...] = (3, 11),
) -> dict[str, str]:
    """``environ`` (default: this process's) with ``settings`` for a pip running on Python
    ``pip_python``; may write a netrc into ``folder``, which the caller deletes."""
    env = dict(os.environ if environ is None else environ)
    entries: dict[str, tuple[str, str]] = {}

    def plain(url: str) -> str:
        if local_path(url) is not None and "://" not in url:
            return path_to_file_url(url)  # a folder: no spaces in a space-separated variable
        bare, user, password = strip_userinfo(url)
        if user is None:
            return url
        if _UNSPELLABLE & set(user + (password or "")) or (not password and pip_python < (3, 11)):
            return url
        host = (urlsplit(bare).hostname or "").lower()
        if host and host not in entries:
            entries[host] = (user, password or "")
            return bare
        return bare if host and entries.get(host) == (user, password or "") else url

    if settings.no_index:
        env["PIP_NO_INDEX"] = "1"
    else:
        env.pop("PIP_NO_INDEX", None)
        env["PIP_INDEX_URL"] = plain(settings.index_url)
        env["PIP_EXTRA_INDEX_URL"] = " ".join(plain(url) for url in settings.extra_index_urls)
    env["PIP_FIND_LINKS"] = " ".join(plain(link) for link in settings.find_links)
    env["PIP_TRUSTED_HOST"] = " ".join(settings.trusted_hosts)
    for name, value in (("PIP_CERT", settings.cert), ("PIP_CLIENT_CERT", settings.client_cert)):
        if value:
            env[name] = value
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST"):
        if not env.get(name):
            env.pop(name, None)  # pip ignores an empty value anyway
    if entries:
        env["NETRC"] = str(_write_netrc(folder, entries, env))
    return env


def _write_netrc(
    folder: Path, entries: Mapping[str, tuple[str, str]], env: Mapping[str, str]
) -> Path:
    from pinlock.index.credentials import netrc_path

    lines: list[str] = []
    existing = netrc_path(env)
    if existing is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines.append(existing.read_text(encoding="utf-8"))
    for host, (user, password) in entries.items():
        entry = f"machine {host} login {user}"
        lines.append(f"{entry} password {password}" if password else entry)
    path = folder / _NETRC_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n\n".join(lines) + "\n")
    return path
