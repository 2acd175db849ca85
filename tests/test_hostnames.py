"""Host names looked up once per run; a stalled lookup raced by an IPv4-only one; TLS still
checks the host name; connections reused across every request to a host."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from urllib3.util.connection import allowed_gai_family

from pinlock.errors import NetworkError
from pinlock.index import hostnames
from pinlock.index.config import IndexSettings
from pinlock.index.connections import POOL_SIZE
from pinlock.index.hostnames import HostLookup
from pinlock.index.http import HttpSession
from tests.support.compiling import compile_text, pinned_versions
from tests.support.index_server import IndexServer
from tests.support.tls import https_server, self_signed

_REAL_GETADDRINFO = socket.getaddrinfo
_LOOPBACK = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]


class FakeResolver:
    """``socket.getaddrinfo`` for made-up names: records every call; a lookup of a family in
    ``stalled`` waits until ``release`` (as a resolver that drops the AAAA answer)."""

    def __init__(
        self, names: dict[str, list[Any]], *, stalled: frozenset[int] = frozenset()
    ) -> None:
        self.names = names
        self.stalled = stalled
        self.calls: list[tuple[str, int]] = []
        self.released = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, host: Any, port: Any, family: int = 0, *args: Any) -> list[Any]:
        if host not in self.names:
            return _REAL_GETADDRINFO(host, port, family, *args)
        with self._lock:
            self.calls.append((host, family))
        if family in self.stalled:
            self.released.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if not self.names[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        number = int(port or 0)
        return [(*info[:4], (info[4][0], number, *info[4][2:])) for info in self.names[host]]

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def dual_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine with IPv6: a first lookup asks for every address family."""
    monkeypatch.setattr(hostnames, "allowed_gai_family", lambda: socket.AF_UNSPEC)


@pytest.mark.usefixtures("dual_stack")
def test_a_stalled_lookup_is_raced_by_an_ipv4_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeResolver({"index.example": _LOOPBACK}, stalled=frozenset({socket.AF_UNSPEC}))
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    try:
        found = HostLookup(race_after=0.01).addresses("index.example", 443)
    finally:
        fake.release()
    assert found == [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]
    assert fake.calls == [
        ("index.example", socket.AF_UNSPEC),
        ("index.example", socket.AF_INET),
    ]


@pytest.mark.usefixtures("dual_stack")
def test_a_prompt_lookup_is_not_raced_and_is_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeResolver({"index.example": _LOOPBACK})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    lookup = HostLookup(race_after=60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda port: lookup.addresses("index.example", port), range(16)))
    assert [answer[0][4] for answer in answers] == [("127.0.0.1", port) for port in range(16)]
    assert fake.calls == [("index.example", socket.AF_UNSPEC)]


@pytest.mark.usefixtures("dual_stack")
def test_when_both_lookups_fail_the_full_lookups_error_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeResolver({"nowhere.example": []}, stalled=frozenset({socket.AF_UNSPEC}))
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    lookup = HostLookup(race_after=0.01)
    with ThreadPoolExecutor(max_workers=1) as pool:
        asked = pool.submit(lookup.addresses, "nowhere.example", 443)
        # The IPv4 lookup fails at once; the answer waits for the stalled full lookup.
        while len(fake.calls) < 2:
            threading.Event().wait(0.01)
        assert not asked.done() or asked.exception() is None
        fake.release()
        with pytest.raises(socket.gaierror) as caught:
            asked.result()
    assert caught.value.errno == socket.EAI_AGAIN
    # A name that did not resolve is not asked again in the same run.
    with pytest.raises(socket.gaierror):
        lookup.addresses("nowhere.example", 80)
    assert fake.calls == [
        ("nowhere.example", socket.AF_UNSPEC),
        ("nowhere.example", socket.AF_INET),
    ]


class _Barrier:
    """A server whose answers wait until ``parties`` requests are in at once: so many
    connections must be open together. Counts the connections it accepted."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    outer.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.barrier.wait()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.port = self.httpd.server_address[1]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def test_connections_share_one_lookup_and_are_reused_by_later_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeResolver({"index.example": _LOOPBACK})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    parties = 20
    assert parties <= POOL_SIZE
    server = _Barrier(parties)
    client = HttpSession(IndexSettings(retries=0, trusted_hosts=("index.example",)))
    url = f"http://index.example:{server.port}/page"
    try:
        for _round in range(2):
            with ThreadPoolExecutor(max_workers=parties) as pool:
                bodies = list(pool.map(lambda i: client.get(f"{url}/{i}").body, range(parties)))
            assert bodies == [b"ok"] * parties
    finally:
        client.close()
        server.stop()
    # Twenty connections at once, one lookup for all; the second round reused every one.
    assert fake.calls == [("index.example", allowed_gai_family())]
    assert server.connections == parties


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only ``pinlock-tls.example``."""
    cert, key = self_signed(tmp_path, "server", "pinlock-tls.example", "DNS:pinlock-tls.example")
    seen: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def remember_name(sock: Any, name: str | None, _context: Any) -> None:
        seen.append(name)

    context.sni_callback = remember_name
    with https_server(context) as httpd:
        yield httpd.server_address[1], cert
        assert set(seen) <= {"pinlock-tls.example", "other-name.example"}


def test_tls_checks_the_host_name_not_the_looked_up_address(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[int, Path]
) -> None:
    port, cert = tls_server
    fake = FakeResolver({"pinlock-tls.example": _LOOPBACK, "other-name.example": _LOOPBACK})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    client = HttpSession(IndexSettings(cert=str(cert), retries=0))
    try:
        assert client.get(f"https://pinlock-tls.example:{port}/page").body == b"ok"
        # Same address, another name: the certificate does not name it.
        with pytest.raises(NetworkError, match="TLS"):
            client.get(f"https://other-name.example:{port}/page")
    finally:
        client.close()


def test_a_compile_looks_its_index_host_up_once(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
) -> None:
    names = [f"pkg{i}" for i in range(8)]
    wheel_factory("app", "1.0", requires_dist=names)
    for name in names:
        wheel_factory(name, "1.0")
    index = index_factory()
    fake = FakeResolver({"127.0.0.1": _LOOPBACK})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    results = compile_text(tmp_path, "app\n", index_url=index.url)
    assert set(pinned_versions(results[0].text)) == {"app", *names}
    assert fake.calls == [("127.0.0.1", allowed_gai_family())]
