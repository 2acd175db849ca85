"""Proxies as pip chooses them: pip's proxy setting, no-proxy-env, or the *_proxy variables."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

import pinlock.index.connections as connections_module
from pinlock.index.config import IndexSettings
from pinlock.index.connections import Proxies, tls_context
from pinlock.index.http import HttpSession


def test_configured_proxy_serves_every_host_and_ignores_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://env-proxy:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    proxies = Proxies.of(IndexSettings(proxy="http://u:p@conf-proxy:8080"))
    assert proxies.for_host("https", "pypi.org") == "http://u:p@conf-proxy:8080"
    assert proxies.for_host("http", "internal.example") == "http://u:p@conf-proxy:8080"


def test_variables_apply_with_no_proxy_unless_no_proxy_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "http://env-proxy:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    proxies = Proxies.of(IndexSettings())
    assert proxies.for_host("https", "pypi.org") == "http://env-proxy:3128"
    assert proxies.for_host("https", "internal.example") is None
    assert proxies.for_host("http", "pypi.org") is None
    assert Proxies.of(IndexSettings(no_proxy_env=True)).for_host("https", "pypi.org") is None


@pytest.fixture
def proxy_url() -> Iterator[str]:
    """A 'proxy' that answers every request it is sent with 200 and the requested URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_http_session_goes_through_the_configured_proxy(proxy_url: str) -> None:
    settings = IndexSettings(proxy=proxy_url, retries=0, trusted_hosts=("only-via-proxy.invalid",))
    session = HttpSession(settings)
    try:
        response = session.get("http://only-via-proxy.invalid/simple/x/")
    finally:
        session.close()
    assert response.body == b"http://only-via-proxy.invalid/simple/x/"


@pytest.fixture
def contexts_built(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each TLS context a session builds, as its ``trusted`` flag."""
    built: list[bool] = []

    def counting(settings: IndexSettings, *, trusted: bool) -> ssl.SSLContext:
        built.append(trusted)
        return tls_context(settings, trusted=trusted)

    monkeypatch.setattr(connections_module, "tls_context", counting)
    return built


def test_one_tls_context_is_built_early_and_shared_by_every_pool(
    monkeypatch: pytest.MonkeyPatch, contexts_built: list[bool]
) -> None:
    # One host through a proxy, one direct: two pools, one TLS context, loaded once.
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("no_proxy", "direct.invalid")
    session = HttpSession(IndexSettings(index_url="https://via-proxy.invalid/simple"))
    try:
        # Started with the session, before any request.
        assert session.tls_contexts.started() == [False]
        early = session.tls_contexts.get(trusted=False)
        via_proxy = session._pool_for(urlsplit("https://via-proxy.invalid/simple/x/"))
        direct = session._pool_for(urlsplit("https://direct.invalid/simple/x/"))
        assert via_proxy is not direct
        assert via_proxy.connection_pool_kw["ssl_context"] is early
        assert direct.connection_pool_kw["ssl_context"] is early
        assert session._pool_for(urlsplit("https://direct.invalid/other/")) is direct
    finally:
        session.close()
    assert contexts_built == [False]


def test_no_tls_context_offline_or_for_plain_http(
    proxy_url: str, contexts_built: list[bool]
) -> None:
    offline = HttpSession(IndexSettings(index_url="https://pypi.invalid/simple"), offline=True)
    offline.close()
    assert contexts_built == []
    local = HttpSession(IndexSettings(index_url=f"{proxy_url}/simple", retries=0))
    try:
        assert local.get(f"{proxy_url}/simple/x/").status == 200
    finally:
        local.close()
    assert contexts_built == []


def test_a_trusted_https_index_gets_only_the_unchecking_context(
    contexts_built: list[bool],
) -> None:
    settings = IndexSettings(
        index_url="https://mirror.invalid/simple", trusted_hosts=("mirror.invalid",)
    )
    session = HttpSession(settings)
    try:
        pool = session._pool_for(urlsplit("https://mirror.invalid/simple/x/"))
        assert pool.connection_pool_kw["ssl_context"].verify_mode == ssl.CERT_NONE
    finally:
        session.close()
    assert contexts_built == [True]


def test_without_a_thread_to_build_it_on_the_context_is_built_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pids limit can refuse the builder thread: no request may wait for it forever.
    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    contexts = connections_module.TlsContexts(IndexSettings())
    first = contexts.start(trusted=False)
    assert first.done()
    assert isinstance(contexts.get(trusted=False), ssl.SSLContext)
    assert contexts.start(trusted=False) is first
