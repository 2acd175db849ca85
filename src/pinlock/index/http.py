"""HTTP(S) and ``file://`` transport with pip's rules for retries, certificates and credentials.

One ``HttpSession`` serves a whole run (compile's every input, target and flavour; sync's every
file) and every thread of it: urllib3 pools keep connections per host, and one credential store
(``pinlock.index.credentials``) and one set of trusted hosts hold what every index configuration
of the run brought (``include``), so pages, metadata, range reads and downloads of a private
index all authenticate alike. Each host is looked up once per session, a slow lookup raced by an
IPv4-only one (``pinlock.index.hostnames``). Connection errors, timeouts, 429 and 5xx answers
are retried with exponential backoff; other answers, 404 included, go back to the caller. A
host name that does not resolve, a TLS failure or a redirect loop is not retried
(``pinlock.index.failures``).
Offline (``offline=True``), nothing is fetched: every request of a remote URL raises
``OfflineMiss``, and the callers answer from the cache what they can.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, InsecureRequestWarning

from pinlock import __version__ as _pinlock_version
from pinlock.digests import Hasher
from pinlock.errors import ConfigError, HashMismatch, NetworkError, OfflineMiss, StorageError
from pinlock.index.config import IndexSettings
from pinlock.index.connections import (
    Proxies,
    TlsContexts,
    WarmableHTTPSPool,
    is_loopback,
    make_pool,
)
from pinlock.index.credentials import Credentials
from pinlock.index.failures import describe_failure, retry_after_seconds, status_text
from pinlock.index.hostnames import HostLookup
from pinlock.index.responses import HttpResponse, RangeResponse, file_get, file_range
from pinlock.urls import file_url_to_path, is_file_url, redact_url

__all__ = ["HttpResponse", "HttpSession", "RangeResponse", "status_error"]

_T = TypeVar("_T")
_CHUNK = 1 << 16
_MAX_REDIRECTS = 10
_BACKOFF_SECONDS = 0.25
_MAX_BACKOFF_SECONDS = 8.0
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_BYTE_RANGE = re.compile(r"(\d*)-(\d*)")
# urllib3 retries nothing, follows nothing (pip's rules are here); one Retry serves every request.
_NO_RETRIES = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=0)
# Connections ``warm`` opens to a host: about as many as a run's first requests to it at once.
_WARM_CONNECTIONS = 6


class _RetryableStatus(Exception):
    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(status_text(status, reason))
        self.retry_after = retry_after


def status_error(url: str, status: int, reason: str = "", *, authenticated: bool) -> NetworkError:
    """The error for an answer that is not what was asked; a 401 or 403 says whether credentials
    were sent, and for which host (never what they were)."""
    text = status_text(status, reason)
    if status in (401, 403):
        host = urlsplit(url).netloc.rpartition("@")[2]
        if authenticated:
            text += f": the credentials sent to {host} were refused"
        else:
            text += (
                f": no credentials were sent to {host} (give them in the index URL, "
                "https://user:password@host/..., or in netrc)"
            )
    return NetworkError(url, 1, text)


class HttpSession:
    """Fetches pages, byte ranges and files for a whole run; thread-safe.

    ``settings`` set timeouts, retries and certificates; their index and find-links URLs (and
    those of every ``include``d configuration) lend their credentials to their hosts, and their
    trusted hosts are trusted for the whole session, as pip trusts them for its whole run.
    """

    def __init__(
        self,
        settings: IndexSettings,
        *,
        user_agent: str | None = None,
        credentials: Credentials | None = None,
        offline: bool = False,
    ) -> None:
        self.settings = settings
        self.offline = offline
        self.credentials = Credentials() if credentials is None else credentials
        self._user_agent = user_agent or f"pinlock/{_pinlock_version}"
        self._timeout = urllib3.Timeout(connect=settings.timeout, read=settings.timeout)
        # As pip: its ``proxy`` setting, else http_proxy / https_proxy / no_proxy.
        self._proxies = Proxies.of(settings)
        self._pools_lock = threading.Lock()
        # Keyed by proxy, trusted, and whether TLS is spoken (to the host or through a proxy).
        self._pools: dict[tuple[str | None, bool, bool], urllib3.PoolManager] = {}
        # The TLS context for checked hosts and the one for trusted hosts, each built once.
        self.tls_contexts = TlsContexts(settings)
        # Every connection of the session, whichever pool, shares one lookup per host.
        self.hosts = HostLookup()
        self._trusted_hosts: frozenset[str] = frozenset()
        self._warmed: set[tuple[str, int | None]] = set()
        self.include(settings)

    # -- public API ----------------------------------------------------------------------

    def include(self, settings: IndexSettings, *, urls: Sequence[str] = ()) -> HttpSession:
        """Take in another index configuration of the run (a requirement file's, a flavour's):
        the credentials of its URLs and of ``urls``, and its trusted hosts."""
        named = (*settings.index_urls, *settings.find_links, *urls)
        self.credentials.learn_all(named)
        if settings.trusted_hosts:
            with self._pools_lock:
                self._trusted_hosts |= frozenset(settings.trusted_hosts)
            # Trusted hosts may present any certificate, as pip allows; the warning is moot.
            urllib3.disable_warnings(InsecureRequestWarning)
        if not self.offline and any(self._checks_certificates(url) for url in named):
            # An https index will be asked: its TLS context is loaded from now on, beside the
            # run's other work, rather than in front of the first request.
            self.tls_contexts.start(trusted=False)
        return self

    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> HttpResponse:
        if is_file_url(url):
            return file_get(url)
        request_url, request_headers = self._prepare(url, headers)
        request_headers.setdefault("Accept-Encoding", "gzip, deflate")

        def attempt() -> HttpResponse:
            final_url, response, authenticated = self._request(
                request_url, request_headers, stream=False
            )
            return HttpResponse(
                url=final_url,
                status=response.status,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=response.data,
                authenticated=authenticated,
            )

        return self._with_retries(url, attempt)

    def get_range(self, url: str, byte_range: str) -> RangeResponse | None:
        """Bytes ``byte_range`` (``"-N"`` for the last N, ``"A-B"`` inclusive, ``"A-"``)."""
        if _BYTE_RANGE.fullmatch(byte_range) is None or byte_range == "-":
            raise ValueError(f"bad byte range: {byte_range!r}")
        if is_file_url(url):
            return file_range(url, byte_range)
        request_url, request_headers = self._prepare(url, None)
        request_headers["Range"] = f"bytes={byte_range}"
        request_headers["Accept-Encoding"] = "identity"

        def attempt() -> RangeResponse | None:
            _final, response, authenticated = self._request(
                request_url, request_headers, stream=True
            )
            try:
                if response.status == 206:
                    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
                    if match is None or match.group(3) == "*":
                        return None
                    first, last, total = (int(match.group(i)) for i in (1, 2, 3))
                    data = response.read(decode_content=False)
                    if not first <= last < total or len(data) != last - first + 1:
                        # A span that cannot be placed in the file: read it whole instead.
                        return None
                    return RangeResponse(data=data, start=first, total=total)
                if response.status in (200, 416):
                    # The server sent (or would send) the whole file: the caller downloads instead.
                    return None
                raise status_error(
                    url, response.status, response.reason or "", authenticated=authenticated
                )
            finally:
                if response.status == 206:
                    response.release_conn()
                else:
                    # Never read a body the caller did not ask for; drop the connection.
                    response.close()

        return self._with_retries(url, attempt)

    def download(
        self,
        url: str,
        dest: Path,
        *,
        expected: Sequence[str] = (),
        on_bytes: Callable[[int], None] | None = None,
    ) -> str:
        """Save ``url`` at ``dest`` and return its ``sha256:<hex>``; checks ``expected`` first.

        ``dest`` only ever holds the complete, verified file. ``on_bytes`` hears the size of
        each piece as it arrives (for a progress display).
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if is_file_url(url):
            source = file_url_to_path(url)
            if not source.is_file():
                raise NetworkError(url, 1, "no such file")
            with source.open("rb") as handle:
                return _save(url, _read_chunks(handle), dest, expected, on_bytes)
        request_url, request_headers = self._prepare(url, None)
        # Digests are of the file as stored: never let a server re-encode it on the way.
        request_headers["Accept-Encoding"] = "identity"

        def attempt() -> str:
            _final, response, authenticated = self._request(
                request_url, request_headers, stream=True
            )
            try:
                if response.status != 200:
                    raise status_error(
                        url, response.status, response.reason or "", authenticated=authenticated
                    )
                chunks = response.stream(_CHUNK, decode_content=False)
                return _save(url, chunks, dest, expected, on_bytes)
            finally:
                if response.status == 200:
                    response.release_conn()
                else:
                    # An error body left unread would be taken for the next answer: drop it.
                    response.close()

        return self._with_retries(url, attempt)

    def warm(self, url: str, connections: int = _WARM_CONNECTIONS) -> None:
        """Open connections to the host of an https ``url`` in the background, once per host
        (and session): their TCP and TLS handshakes (two round trips, 20 ms and more to a far
        index) are made while the run does other work, rather than in front of its requests."""
        parts = urlsplit(url)
        if self.offline or parts.scheme != "https" or not parts.hostname:
            return
        if self._proxies.for_host(parts.scheme, parts.hostname) is not None:
            # Through a proxy, a connection is a tunnel that urllib3 opens for a request; one
            # opened ahead would be a bare one to the proxy.
            return
        with self._pools_lock:
            if (parts.hostname, parts.port) in self._warmed:
                return
            self._warmed.add((parts.hostname, parts.port))

        def open_ahead() -> None:
            try:
                pool = self._pool_for(parts).connection_from_url(url)
                if isinstance(pool, WarmableHTTPSPool):
                    pool.open_idle_connections(connections, self.settings.timeout)
            except Exception:  # a TLS setting that cannot load, a closed session: requests say
                return

        threading.Thread(target=open_ahead, name="pinlock-warm", daemon=True).start()

    def close(self) -> None:
        with self._pools_lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.clear()

    # -- internals -----------------------------------------------------------------------

    def _prepare(self, url: str, headers: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
        """The URL without userinfo, and the headers for it (credentials of its host included)."""
        if self.offline:
            raise OfflineMiss(url)
        plain_url = self.credentials.learn(url)
        parts = urlsplit(plain_url)
        if parts.scheme not in ("http", "https"):
            raise ConfigError(redact_url(url), "url", f"unsupported URL scheme {parts.scheme!r}")
        if parts.scheme == "http" and not self._is_trusted(parts) and not is_loopback(parts):
            raise ConfigError(
                redact_url(url),
                "trusted-host",
                f"{parts.hostname} is neither secure (https) nor trusted; "
                "use https or mark it with --trusted-host",
            )
        request_headers = {"User-Agent": self._user_agent}
        authorization = self.credentials.authorization(plain_url)
        if authorization is not None:
            request_headers["Authorization"] = authorization
        request_headers.update(headers or {})
        return plain_url, request_headers

    def _checks_certificates(self, url: str) -> bool:
        return url.startswith("https:") and not self._is_trusted(urlsplit(url))

    def _is_trusted(self, parts: Any) -> bool:
        trusted = self._trusted_hosts
        host = parts.hostname or ""
        return host in trusted or f"{host}:{parts.port}" in trusted

    def _request(
        self, url: str, headers: Mapping[str, str], *, stream: bool
    ) -> tuple[str, urllib3.BaseHTTPResponse, bool]:
        """The answer to GET ``url`` after redirects, the URL that gave it, and whether the
        request that got it carried credentials."""
        current, current_headers = url, dict(headers)
        visited = [url]
        # The first request to a host opens one connection; requests to it at once beside it
        # (a run's threads) find more already open.
        self.warm(url)
        for _ in range(_MAX_REDIRECTS + 1):
            pool = self._pool_for(urlsplit(current))
            response = pool.request(
                "GET",
                current,
                headers=current_headers,
                timeout=self._timeout,
                retries=_NO_RETRIES,
                redirect=False,
                preload_content=not stream,
                decode_content=True,
            )
            location = response.get_redirect_location()
            if response.status == 429 or response.status >= 500 or location:
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                response.drain_conn()
                response.release_conn()
            if response.status == 429 or response.status >= 500:
                raise _RetryableStatus(response.status, response.reason or "", retry_after)
            if not location:
                return current, response, "Authorization" in current_headers
            # Each hop is checked and authenticated for its own host, like a first request.
            target = urljoin(current, location)
            if target in visited:
                hops = " -> ".join(redact_url(hop) for hop in [*visited, target])
                raise NetworkError(url, 1, f"redirect loop: {hops}")
            visited.append(target)
            extra = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            current, current_headers = self._prepare(target, extra)
        raise NetworkError(url, 1, f"more than {_MAX_REDIRECTS} redirects")

    def _pool_for(self, parts: Any) -> urllib3.PoolManager:
        trusted = self._is_trusted(parts)
        proxy = self._proxies.for_host(parts.scheme, parts.hostname or "")
        # Plain http straight to a host needs no TLS context; through a proxy it may.
        tls = parts.scheme == "https" or proxy is not None
        key = (proxy, trusted, tls)
        with self._pools_lock:
            pool = self._pools.get(key)
        if pool is not None:
            return pool
        # Waited for outside the lock: threads whose pools exist go on meanwhile.
        context = self.tls_contexts.get(trusted=trusted) if tls else None
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = make_pool(proxy, context, self.hosts)
        return pool

    def _with_retries(self, url: str, attempt: Callable[[], _T]) -> _T:
        """``attempt()``, retried by pip's rules; failures name ``url`` (NetworkError masks it)."""
        attempts = 0
        while True:
            attempts += 1
            wait: float | None = None
            try:
                return attempt()
            except _RetryableStatus as error:
                reason, wait = str(error), error.retry_after
            except HashMismatch as error:
                # Not retried (pip does not either): the same bytes would come again.
                raise HashMismatch(
                    error.what, error.expected, error.actual, attempts=attempts
                ) from None
            except (HTTPError, OSError) as error:
                failure = describe_failure(error, timeout=self.settings.timeout)
                if not failure.transient:
                    raise NetworkError(url, attempts, failure.reason) from error
                reason = failure.reason
            if attempts > self.settings.retries:
                raise NetworkError(url, attempts, reason) from None
            backoff = min(_BACKOFF_SECONDS * 2 ** (attempts - 1), _MAX_BACKOFF_SECONDS)
            time.sleep(min(wait, _MAX_BACKOFF_SECONDS) if wait is not None else backoff)


def _read_chunks(handle: Any) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


def _save(
    url: str,
    chunks: Iterable[bytes],
    dest: Path,
    expected: Sequence[str],
    on_bytes: Callable[[int], None] | None = None,
) -> str:
    """Write ``dest``; the file must match one expected digest, in whatever algorithm given.

    A failure to write (a full disk) is a ``StorageError``: not a network failure, not retried.
    """
    hasher = Hasher(expected)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as error:
        raise StorageError(dest, error) from error
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:  # network errors come from here...
                hasher.update(chunk)
                try:
                    handle.write(chunk)  # ...storage errors from here
                except OSError as error:
                    raise StorageError(dest, error) from error
                if on_bytes is not None:
                    on_bytes(len(chunk))
            try:
                handle.flush()
            except OSError as error:
                raise StorageError(dest, error) from error
        digest = hasher.check(redact_url(url))
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest
