"""Proxies as pip chooses them: pip's proxy setting, no-proxy-env, or the *_proxy variables."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pinlock.index.config import IndexSettings
from pinlock.index.connections import Proxies
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
