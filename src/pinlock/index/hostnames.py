"""Host names looked up once per run, and never held up by a slow IPv6 answer.

Left to itself, every new connection of urllib3 calls ``getaddrinfo`` again, from whichever
thread opens it. A lookup for any address family asks for A and AAAA records together; some
resolvers (container platforms, where build servers live) drop one of the two answers, and the
C library then waits its 5-second retry before giving up on it. ``HostLookup`` asks once per
host for the whole run (every connection of an ``HttpSession`` shares the answer) and, when that
lookup has not answered within ``race_after`` seconds, asks for IPv4 addresses alone in
parallel: whichever answers first is used. The slow lookup is left to finish on its own thread.

``LookupHTTPConnection`` and ``LookupHTTPSConnection`` are urllib3's connections with their
addresses from a ``HostLookup``; TLS still checks the certificate against the host name (SNI
and hostname verification use the name, never the address).
"""

from __future__ import annotations

import contextlib
import ipaddress
import queue
import socket
import ssl
import sys
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

__all__ = ["RACE_AFTER", "HostLookup", "LookupHTTPConnection", "LookupHTTPSConnection"]

# How long the first lookup may take before an IPv4-only lookup runs beside it: longer than a
# healthy resolver needs, far shorter than the C library's 5-second retry.
RACE_AFTER = 0.2

AddressInfo = tuple[Any, ...]


class _Pending:
    """One lookup in flight (or done): its answer or error, for every thread that waits."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: list[AddressInfo] | None = None
        self.error: BaseException | None = None


class HostLookup:
    """The addresses of each host, looked up once and shared by every thread; thread-safe."""

    def __init__(self, *, race_after: float = RACE_AFTER) -> None:
        self.race_after = race_after
        self._lock = threading.Lock()
        self._hosts: dict[str, _Pending] = {}

    def addresses(self, host: str, port: int) -> list[AddressInfo]:
        """``getaddrinfo`` results for ``host`` (stream sockets) with ``port`` filled in.

        A failure is kept too: a name that did not resolve is not asked again in this run
        (the resolver retried already, and requests to it are not retried either).
        """
        host = host.strip("[]")
        with self._lock:
            pending = self._hosts.get(host)
            owner = pending is None
            if pending is None:
                pending = self._hosts[host] = _Pending()
        if owner:
            try:
                pending.answer = self._look_up(host)
            except BaseException as error:
                pending.error = error
            finally:
                pending.done.set()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.answer is not None
        return [_with_port(info, port) for info in pending.answer]

    def _look_up(self, host: str) -> list[AddressInfo]:
        family = allowed_gai_family()
        if _is_address(host) or family == socket.AF_INET:
            # An address needs no DNS; IPv4-only machines ask for A records alone already.
            return _getaddrinfo(host, family)
        outcomes: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
        _start_lookup(host, family, outcomes)
        try:
            first = outcomes.get(timeout=self.race_after)
        except queue.Empty:
            # Slow: race it with an IPv4-only lookup; the first answer wins, the other is left
            # to finish on its daemon thread.
            _start_lookup(host, socket.AF_INET, outcomes)
            errors: dict[int, BaseException] = {}
            while len(errors) < 2:
                outcome = outcomes.get()
                if outcome.error is None:
                    return outcome.answer
                errors[outcome.family] = outcome.error
            # Both failed: the full lookup's error says most.
            raise errors[family] from None
        if first.error is not None:
            raise first.error
        return first.answer


class _Outcome(NamedTuple):
    family: int
    answer: list[AddressInfo]
    error: BaseException | None


def _start_lookup(host: str, family: int, outcomes: queue.SimpleQueue[_Outcome]) -> None:
    """``getaddrinfo`` on a daemon thread: a stalled lookup must not hold up the exit."""

    def run() -> None:
        try:
            outcomes.put(_Outcome(family, _getaddrinfo(host, family), None))
        except BaseException as error:  # handed to the waiting thread, which raises it
            outcomes.put(_Outcome(family, [], error))

    threading.Thread(target=run, name="pinlock-lookup", daemon=True).start()


def _getaddrinfo(host: str, family: int) -> list[AddressInfo]:
    # ``socket.getaddrinfo`` looked up at call time: tests count and stall it.
    flags = socket.AI_NUMERICHOST if _is_address(host) else 0
    return list(socket.getaddrinfo(host, None, family, socket.SOCK_STREAM, 0, flags))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _with_port(info: AddressInfo, port: int) -> AddressInfo:
    family, kind, proto, canonical, address = info
    return (family, kind, proto, canonical, (address[0], port, *address[2:]))


def connect(
    lookup: HostLookup,
    host: str,
    port: int,
    timeout: float | object | None,
    *,
    source_address: tuple[str, int] | None = None,
    socket_options: Sequence[tuple[int, int, int | bytes]] | None = None,
) -> socket.socket:
    """A connected socket to the first address of ``host`` that accepts (as urllib3's
    ``create_connection``, with the addresses from ``lookup``)."""
    error: OSError | None = None
    for family, kind, proto, _canonical, address in lookup.addresses(host, port):
        sock = None
        try:
            sock = socket.socket(family, kind, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)  # type: ignore[arg-type]
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as failed:
            error = failed
            if sock is not None:
                sock.close()
    raise error if error is not None else OSError(f"no address found for {host}")


class _LookupConnection:
    """``_new_conn`` of urllib3's connections with addresses from ``host_lookup``."""

    host_lookup: ClassVar[HostLookup]
    _dns_host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any
    host: str

    def _new_conn(self) -> socket.socket:
        try:
            sock = connect(
                self.host_lookup,
                self._dns_host,  # a trailing dot kept: it matters to DNS, as in urllib3
                self.port,
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error  # type: ignore[arg-type]
        except TimeoutError as error:
            raise ConnectTimeoutError(
                self,
                f"Connection to {self.host} timed out. (connect timeout={self.timeout})",
            ) from error
        except OSError as error:
            raise NewConnectionError(
                self,  # type: ignore[arg-type]
                f"Failed to establish a new connection: {error}",
            ) from error
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class LookupHTTPConnection(_LookupConnection, HTTPConnection):
    """An HTTP connection whose addresses come from ``host_lookup`` (set on a subclass)."""


class LookupHTTPSConnection(_LookupConnection, HTTPSConnection):
    """An HTTPS connection whose addresses come from ``host_lookup``; the certificate is
    still checked against the host name."""

    @property
    def is_connected(self) -> bool:
        """As urllib3 judges it (a socket with something to read was closed by the server),
        except that a connection opened ahead (``HttpSession.warm``) may hold the session
        tickets a TLS 1.3 server sends after the handshake, unread: read here, it is found
        still connected, not dropped and opened again."""
        if HTTPSConnection.is_connected.fget(self):  # type: ignore[attr-defined]
            return True
        sock = self.sock
        if not isinstance(sock, ssl.SSLSocket):
            return False
        timeout = sock.gettimeout()
        try:
            sock.setblocking(False)
            sock.recv(1)  # records that are not data (tickets) are taken in; data is not
        except ssl.SSLWantReadError:
            return True  # nothing but what TLS itself sent
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(timeout)
        return False  # the server closed it (or sent what nobody asked for)
