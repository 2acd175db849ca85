"""How connections are made: one TLS context per pool, proxies, and which hosts are local.

``HttpSession`` (``pinlock.index.http``) keeps one pool per (proxy, trusted) pair and builds it
here. Every connection of a session takes its addresses from the session's ``HostLookup``
(``pinlock.index.hostnames``): each host is looked up once per run. Each host keeps up to
``POOL_SIZE`` idle connections, more than the threads of a run ever ask one host at once, so a
connection, once made, serves every later request to its host.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import SSLError
from urllib3.util.ssl_ import create_urllib3_context

from pinlock.index.config import IndexSettings
from pinlock.index.hostnames import HostLookup, LookupHTTPConnection, LookupHTTPSConnection

__all__ = [
    "POOL_SIZE",
    "Proxies",
    "TlsContexts",
    "WarmableHTTPSPool",
    "is_loopback",
    "make_pool",
    "tls_context",
]

# Idle connections kept per host: the finder's 16 threads, the resolver's prefetch and the hash
# pool's 8 may all ask one host at once; a connection made beyond the pool would be dropped
# after one request, and the next would pay the TCP and TLS handshakes again.
POOL_SIZE = 32


def tls_context(settings: IndexSettings, *, trusted: bool) -> ssl.SSLContext:
    """One TLS context for every connection of a pool.

    Left to itself urllib3 builds a context per connection and loads the CA bundle into it
    each time: a tenth of a second of CPU, under the GIL, for every connection opened.
    """
    try:
        context = create_urllib3_context()
    except OSError as error:  # ssl.SSLError included
        raise SSLError(f"cannot set up TLS: {error}") from error
    if trusted:
        # Trusted hosts may present any certificate, as pip allows.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif settings.cert:
        cert = settings.cert
        with _loading(f"the CA bundle {cert} (pip's cert)"):
            if Path(cert).is_dir():
                context.load_verify_locations(capath=cert)
            else:
                context.load_verify_locations(cafile=cert)
    else:
        with _loading("the system's CA certificates"):
            context.load_default_certs()
    if settings.client_cert:
        # pip's --client-cert is one PEM file holding both the key and the certificate.
        with _loading(f"the client certificate {settings.client_cert} (pip's client-cert)"):
            context.load_cert_chain(settings.client_cert)
    return context


class TlsContexts:
    """A session's TLS context for checked hosts and its one for trusted hosts, each built
    once, on a thread of its own: OpenSSL loads the CA bundle (20 ms) without holding the GIL,
    so a run's other work goes on meanwhile, and a session that ``start``s it early (it will
    ask an https index) has it before its first request. Thread-safe; a failure to build a
    context is raised to every request that needs it."""

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._built: dict[bool, Future[ssl.SSLContext]] = {}

    def start(self, *, trusted: bool) -> Future[ssl.SSLContext]:
        with self._lock:
            future = self._built.get(trusted)
            if future is not None:
                return future
            future = self._built[trusted] = Future()

        def build() -> None:
            try:
                future.set_result(tls_context(self.settings, trusted=trusted))
            except BaseException as error:  # every waiter hears it; none waits forever
                future.set_exception(error)

        try:
            threading.Thread(target=build, name="pinlock-tls", daemon=True).start()
        except RuntimeError:  # no thread to be had (a pids limit): built here instead
            build()
        return future

    def get(self, *, trusted: bool) -> ssl.SSLContext:
        """The context, waited for if it is still being built."""
        return self.start(trusted=trusted).result()

    def started(self) -> list[bool]:
        """The ``trusted`` flags of the contexts built or being built."""
        with self._lock:
            return list(self._built)


@contextmanager
def _loading(what: str) -> Iterator[None]:
    """Name the file a TLS setting points at when it cannot be loaded (missing, not PEM)."""
    try:
        yield
    except OSError as error:  # ssl.SSLError included
        reason = error.strerror or str(error)
        raise SSLError(f"cannot set up TLS: cannot load {what}: {reason}") from error


def make_pool(
    proxy: str | None, context: ssl.SSLContext | None, lookup: HostLookup
) -> urllib3.PoolManager:
    """A pool manager whose connections take their addresses from ``lookup``; without a TLS
    ``context``, for plain http only."""
    options: dict[str, Any] = {"num_pools": 32, "maxsize": POOL_SIZE, "block": False}
    if context is not None:
        options["ssl_context"] = context
    manager: urllib3.PoolManager
    if proxy is None:
        manager = urllib3.PoolManager(**options)
    else:
        parsed = urllib3.util.parse_url(proxy)
        if parsed.auth:
            options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=unquote(parsed.auth))
            proxy = parsed._replace(auth=None).url
        manager = urllib3.ProxyManager(proxy, **options)
    manager.pool_classes_by_scheme = _pool_classes(lookup)
    return manager


class WarmableHTTPSPool(HTTPSConnectionPool):
    """An HTTPS pool that can open idle connections before any request asks for them."""

    def open_idle_connections(self, count: int, timeout: float) -> None:
        """Open up to ``count`` connections at once (their TCP and TLS handshakes on threads of
        their own) and keep them idle in the pool. A failure is left to the requests, which
        meet it again and report it."""
        # Taken out of the pool first (urllib3's pool holds a fixed number of places, idle
        # connections or empty ones), so that each place is filled once.
        held = [self._get_conn() for _ in range(count)]
        openers = [
            threading.Thread(target=_open, args=(connection, timeout), daemon=True)
            for connection in held
            if getattr(connection, "sock", None) is None
        ]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        for connection in held:
            self._put_conn(connection)


def _open(connection: Any, timeout: float) -> None:
    connection.timeout = timeout
    try:
        connection.connect()
    except Exception:
        connection.close()  # back into the pool closed: a request opens it again


def _pool_classes(lookup: HostLookup) -> dict[str, type[HTTPConnectionPool]]:
    http_connection = type(
        "SessionHTTPConnection", (LookupHTTPConnection,), {"host_lookup": lookup}
    )
    https_connection = type(
        "SessionHTTPSConnection", (LookupHTTPSConnection,), {"host_lookup": lookup}
    )
    http_pool = type("SessionHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_connection})
    https_pool = type("SessionHTTPSPool", (WarmableHTTPSPool,), {"ConnectionCls": https_connection})
    return {"http": http_pool, "https": https_pool}


def is_loopback(parts: Any) -> bool:
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True, slots=True)
class Proxies:
    """Which proxy each request goes through, as pip decides it.

    pip's ``proxy`` setting sends every http and https request through that one proxy and stops
    pip (requests) reading ``http_proxy``/``https_proxy``/``no_proxy``; ``no-proxy-env`` only
    stops the reading. Otherwise those variables apply, ``no_proxy`` included.
    """

    by_scheme: Mapping[str, str] = field(default_factory=dict)
    from_environment: bool = False

    @classmethod
    def of(cls, settings: IndexSettings) -> Proxies:
        if settings.proxy:
            return cls(by_scheme={"http": settings.proxy, "https": settings.proxy})
        if settings.no_proxy_env:
            return cls()
        if not any(name.lower().endswith("_proxy") for name in os.environ):
            # No proxy variable at all (the usual case): urllib.request need not be loaded.
            return cls(from_environment=True)
        import urllib.request

        found = urllib.request.getproxies_environment()
        return cls(
            by_scheme={s: p for s, p in found.items() if s in ("http", "https")},
            from_environment=True,
        )

    def for_host(self, scheme: str, host: str) -> str | None:
        """The proxy URL for a request to ``scheme://host``, None for a direct connection."""
        proxy = self.by_scheme.get(scheme)
        if proxy and self.from_environment:
            import urllib.request

            if urllib.request.proxy_bypass(host):
                return None
        return proxy
