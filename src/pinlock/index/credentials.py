"""Who pinlock is at each host: the run's one store of HTTP credentials.

As pip finds them: the userinfo of a URL (``https://user:password@host/``, or a bare token
``https://TOKEN@host/`` sent as the user with an empty password) applies to every request to
that ``host[:port]`` from then on; a host no URL named is looked up in netrc, read as pip's
requests reads it (``$NETRC`` when set, else ``~/.netrc`` or ``~/_netrc``, the first that exists;
the account field stands in for an empty login). Userinfo masked as pinlock writes it in locks
(``user:****@``, ``****@``) is no credential: the host's come from elsewhere. Secrets never leave
this object but as an ``Authorization`` header.
"""

from __future__ import annotations

import base64
import contextlib
import netrc
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pinlock.urls import strip_userinfo

__all__ = ["Credentials", "is_masked", "netrc_path"]

# What redact_url puts in place of a secret.
_MASK = "****"


def is_masked(user: str | None, password: str | None) -> bool:
    """Whether userinfo is a mask written in place of credentials (``user:****``, ``****``)."""
    return password == _MASK or (password is None and user == _MASK)


_NETRC_NAMES = (".netrc", "_netrc")


def netrc_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The netrc file requests (so pip) reads: ``$NETRC``, else the first of ``~/.netrc`` and
    ``~/_netrc`` that exists; None when there is none."""
    env = os.environ if environ is None else environ
    if env.get("NETRC") is not None:
        candidates = [env["NETRC"]]
    else:
        candidates = [f"~/{name}" for name in _NETRC_NAMES]
    home = env.get("HOME")
    for candidate in candidates:
        if candidate.startswith("~") and home:
            path = Path(home + candidate[1:])
        else:
            path = Path(candidate).expanduser()
        if path.exists():
            return path
    return None


class Credentials:
    """Credentials by ``host[:port]``, learned from URLs, else from netrc; thread-safe."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._lock = threading.Lock()
        self._by_netloc: dict[str, tuple[str, str]] = {}
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False

    def learn(self, url: str) -> str:
        """``url`` without its userinfo; the credentials it carried now apply to its host."""
        plain, user, password = strip_userinfo(url)
        if user is not None and not is_masked(user, password):
            with self._lock:
                self._by_netloc[urlsplit(plain).netloc] = (user, password or "")
        return plain

    def learn_all(self, urls: Iterable[str]) -> None:
        for url in urls:
            self.learn(url)

    def authorization(self, url: str) -> str | None:
        """The ``Authorization`` header for a request to ``url`` (without userinfo), if any."""
        found = self.lookup(url)
        if found is None:
            return None
        token = base64.b64encode(f"{found[0]}:{found[1]}".encode()).decode()
        return f"Basic {token}"

    def lookup(self, url: str) -> tuple[str, str] | None:
        """``(user, password)`` for ``url``'s host: from a URL seen before, else from netrc."""
        parts = urlsplit(url)
        with self._lock:
            known = self._by_netloc.get(parts.netloc)
            if known is not None:
                return known
            entry = self._netrc_entry(parts.hostname or "")
        if entry is None:
            return None
        login, account, password = entry
        return (login or account or "", password or "")

    def _netrc_entry(self, hostname: str) -> tuple[str, str, str] | None:
        if not self._netrc_loaded:
            self._netrc_loaded = True
            path = netrc_path(self._environ)
            if path is not None:
                # A netrc pip cannot parse gives no credentials there either.
                with contextlib.suppress(OSError, netrc.NetrcParseError):
                    self._netrc = netrc.netrc(str(path))
        if self._netrc is None:
            return None
        entry = self._netrc.authenticators(hostname)
        if entry is None:
            return None
        login, account, password = entry
        return (login, account or "", password or "")
