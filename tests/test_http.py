from __future__ import annotations

import base64
import gzip
import hashlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pinlock.errors import ConfigError, HashMismatch, NetworkError
from pinlock.index.config import IndexSettings
from pinlock.index.http import HttpSession, RangeResponse
from tests.support.index_server import IndexServer
from tests.support.tls import https_server, self_signed

Reply = tuple[int, dict[str, str], bytes]


class ScriptedServer:
    """An HTTP server whose answers per path are scripted, for the failure modes of a real one."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                replies = server.script.get(self.path) or [(404, {}, b"missing")]
                status, headers, body = replies.pop(0) if len(replies) > 1 else replies[0]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.stop()


@pytest.fixture
def client_factory() -> Iterator[Callable[..., HttpSession]]:
    clients: list[HttpSession] = []

    def make(**settings: Any) -> HttpSession:
        client = HttpSession(IndexSettings(**settings))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_get_page_follows_redirects_and_lowercases_headers(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    client_factory: Callable[..., HttpSession],
) -> None:
    wheel_factory("demo-pkg", "1.0")
    index = index_factory()
    client = client_factory()
    response = client.get(f"{index.url}/Demo_Pkg", headers={"Accept": "text/html"})
    assert response.status == 200
    assert response.url == f"{index.url}/demo-pkg/"
    assert response.headers["content-type"].startswith("text/html")
    assert b"demo_pkg-1.0-py3-none-any.whl" in response.body
    missing = client.get(f"{index.url}/nothing-here/")
    assert missing.status == 404


def test_get_range_and_download(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    client_factory: Callable[..., HttpSession],
    tmp_path: Path,
) -> None:
    wheel = wheel_factory("big", "1.0", padding=200_000)
    data = wheel.read_bytes()
    index = index_factory()
    client = client_factory()
    url = index.file_url(wheel.name)
    tail = client.get_range(url, "-1000")
    assert tail == RangeResponse(data=data[-1000:], start=len(data) - 1000, total=len(data))
    middle = client.get_range(url, "100-199")
    assert middle == RangeResponse(data=data[100:200], start=100, total=len(data))
    assert index.requests_for(wheel.name)[-1].range_header == "bytes=100-199"
    assert index.bytes_sent(wheel.name) == 1100

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    dest = tmp_path / "out" / wheel.name
    assert client.download(url, dest) == digest
    assert dest.read_bytes() == data
    assert client.download(url, dest, expected=["sha256:" + "0" * 64, digest.upper()]) == digest


def test_server_that_ignores_ranges_gives_none(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    client_factory: Callable[..., HttpSession],
) -> None:
    wheel = wheel_factory("big", "1.0", padding=300_000)
    index = index_factory(ranges=False)
    assert client_factory().get_range(index.file_url(wheel.name), "-4096") is None
    assert index.requests_for(wheel.name)[-1].range_header == "bytes=-4096"


def test_hash_mismatch_leaves_nothing(
    wheel_factory: Callable[..., Path],
    index_factory: Callable[..., IndexServer],
    client_factory: Callable[..., HttpSession],
    tmp_path: Path,
) -> None:
    wheel = wheel_factory("demo", "1.0")
    index = index_factory()
    dest = tmp_path / "dl" / wheel.name
    wrong = "sha256:" + "0" * 64
    with pytest.raises(HashMismatch) as caught:
        client_factory().download(index.file_url(wheel.name), dest, expected=[wrong])
    assert caught.value.expected == (wrong,)
    assert caught.value.actual == "sha256:" + hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert list(dest.parent.iterdir()) == []


def test_file_urls(tmp_path: Path, client_factory: Callable[..., HttpSession]) -> None:
    page = tmp_path / "my dir" / "index.html"
    page.parent.mkdir()
    page.write_bytes(b"<a href='x-1.0.tar.gz'>x</a>")
    client = client_factory()
    url = page.as_uri()
    response = client.get(url)
    assert (response.status, response.body) == (200, page.read_bytes())
    assert client.get((tmp_path / "absent.html").as_uri()).status == 404
    assert client.get_range(url, "-3") == RangeResponse(data=b"/a>", start=25, total=28)
    assert client.get_range(url, "0-1") == RangeResponse(data=b"<a", start=0, total=28)
    digest = client.download(url, tmp_path / "copy.html")
    assert digest == "sha256:" + hashlib.sha256(page.read_bytes()).hexdigest()
    with pytest.raises(HashMismatch):
        client.download(url, tmp_path / "bad.html", expected=["sha256:" + "1" * 64])
    assert not (tmp_path / "bad.html").exists()


def test_retries_server_errors_then_succeeds(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    scripted.script["/page"] = [
        (503, {}, b"busy"),
        (429, {"Retry-After": "0"}, b"slow down"),
        (200, {"Content-Type": "text/html"}, b"ok"),
    ]
    response = client_factory(retries=2).get(f"{scripted.url}/page")
    assert (response.status, response.body) == (200, b"ok")
    assert [path for path, _ in scripted.seen] == ["/page"] * 3


def test_gives_up_after_the_configured_retries(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    scripted.script["/page"] = [(500, {}, b"broken")]
    with pytest.raises(NetworkError) as caught:
        client_factory(retries=1).get(f"{scripted.url}/page")
    assert caught.value.attempts == 2
    assert caught.value.url == f"{scripted.url}/page"
    assert "500" in caught.value.reason
    assert caught.value.exit_code == 4


def test_connection_refused_is_a_network_error(client_factory: Callable[..., HttpSession]) -> None:
    with pytest.raises(NetworkError) as caught:
        client_factory(retries=1).get("http://127.0.0.1:9/simple/x/")
    assert caught.value.attempts == 2
    assert "object at 0x" not in str(caught.value)


def test_not_found_and_client_errors_are_returned(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    scripted.script["/forbidden"] = [(403, {}, b"no")]
    assert client_factory(retries=3).get(f"{scripted.url}/forbidden").status == 403
    assert len(scripted.seen) == 1


def test_gzip_is_decoded(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    scripted.script["/page"] = [(200, {"Content-Encoding": "gzip"}, gzip.compress(b"hello"))]
    assert client_factory().get(f"{scripted.url}/page").body == b"hello"
    assert "gzip" in scripted.seen[0][1]["accept-encoding"]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_url_credentials_apply_to_the_whole_host(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    host = scripted.url.removeprefix("http://")
    client = client_factory(index_url=f"http://alice:s%40cret@{host}/simple")
    scripted.script["/files/a.whl"] = [(200, {}, b"x")]
    assert client.get(f"{scripted.url}/files/a.whl").status == 200
    assert scripted.seen[-1][1]["authorization"] == _basic("alice", "s@cret")
    client.get(f"http://bob:pw@{host}/other")
    assert scripted.seen[-1][1]["authorization"] == _basic("bob", "pw")


def test_netrc_credentials(
    scripted: ScriptedServer,
    client_factory: Callable[..., HttpSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netrc_file = tmp_path / ".netrc"
    netrc_file.write_text("machine 127.0.0.1 login carol password hunter2\n")
    netrc_file.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    client_factory().get(f"{scripted.url}/page")
    assert scripted.seen[-1][1]["authorization"] == _basic("carol", "hunter2")


def test_plain_http_needs_a_trusted_host(client_factory: Callable[..., HttpSession]) -> None:
    with pytest.raises(ConfigError, match="trusted-host"):
        client_factory().get("http://untrusted.invalid/simple/x/")
    # Trusted: the request is made (and fails to resolve, which is a network error).
    with pytest.raises(NetworkError):
        client_factory(trusted_hosts=("untrusted.invalid",), retries=0).get(
            "http://untrusted.invalid/simple/x/"
        )


def test_proxy_from_the_environment(
    scripted: ScriptedServer,
    client_factory: Callable[..., HttpSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy_host = scripted.url.removeprefix("http://")
    monkeypatch.setenv("http_proxy", f"http://me:pw@{proxy_host}")
    monkeypatch.setenv("no_proxy", "bypassed.invalid")
    target = "http://via-proxy.invalid/page"
    scripted.script[target] = [(200, {}, b"proxied")]
    client = client_factory(trusted_hosts=("via-proxy.invalid", "bypassed.invalid"), retries=0)
    assert client.get(target).body == b"proxied"
    assert scripted.seen[-1][1]["proxy-authorization"] == _basic("me", "pw")
    with pytest.raises(NetworkError):
        client.get("http://bypassed.invalid/page")
    assert len(scripted.seen) == 1


def test_errors_do_not_show_passwords(client_factory: Callable[..., HttpSession]) -> None:
    with pytest.raises(NetworkError) as caught:
        client_factory(retries=0).get("http://user:topsecret@127.0.0.1:9/simple/x/")
    assert "topsecret" not in str(caught.value)
    assert "user:****@127.0.0.1:9" in caught.value.url


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a fresh self-signed certificate, and that certificate.

    The server asks for a client certificate without requiring one and says in ``X-Client``
    whose it was given: ``client.pem`` beside the certificate (key and certificate in one
    file, as pip's --client-cert takes them) is one it accepts.
    """
    cert, key = self_signed(tmp_path, "server", "127.0.0.1", "IP:127.0.0.1")
    client_cert, client_key = self_signed(tmp_path, "client", "pinlock-client", "IP:127.0.0.1")
    (tmp_path / "client.pem").write_bytes(client_key.read_bytes() + client_cert.read_bytes())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = self.path.encode()
            peer = self.connection.getpeercert()
            subject = dict(item for field in peer["subject"] for item in field) if peer else {}
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Client", subject.get("commonName", "none"))
            self.end_headers()
            self.wfile.write(body)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cafile=client_cert)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", cert
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_tls_certificates_are_checked_on_every_connection(
    tls_server: tuple[str, Path], client_factory: Callable[..., HttpSession]
) -> None:
    url, cert = tls_server
    client = client_factory(cert=str(cert), retries=0)
    # Enough parallel requests to open several connections, all sharing the client's TLS set-up.
    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(lambda i: client.get(f"{url}/page/{i}").body, range(12)))
    assert bodies == [f"/page/{i}".encode() for i in range(12)]
    with pytest.raises(NetworkError, match="TLS"):
        client_factory(retries=0).get(f"{url}/page")
    trusted = client_factory(trusted_hosts=("127.0.0.1",), retries=0)
    assert trusted.get(f"{url}/trusted").body == b"/trusted"
    missing = cert.with_name("missing.pem")
    with pytest.raises(NetworkError, match=f"cannot load the CA bundle {missing} \\(pip's cert\\)"):
        client_factory(cert=str(missing), retries=0).get(f"{url}/page")
    with pytest.raises(
        NetworkError, match=f"the client certificate {cert} \\(pip's client-cert\\)"
    ):
        # A certificate without its key is not what --client-cert takes.
        client_factory(cert=str(cert), client_cert=str(cert), retries=0).get(f"{url}/page")


def test_a_configured_client_certificate_is_presented(
    tls_server: tuple[str, Path], client_factory: Callable[..., HttpSession]
) -> None:
    url, cert = tls_server
    anonymous = client_factory(cert=str(cert), retries=0)
    assert anonymous.get(f"{url}/page").headers["x-client"] == "none"
    client_pem = str(cert.with_name("client.pem"))
    known = client_factory(cert=str(cert), client_cert=client_pem, retries=0)
    assert known.get(f"{url}/page").headers["x-client"] == "pinlock-client"
    missing = client_factory(cert=str(cert), client_cert=str(cert.with_name("no.pem")), retries=0)
    with pytest.raises(NetworkError, match="TLS"):
        missing.get(f"{url}/page")


def test_download_checks_digests_of_other_algorithms(
    tmp_path: Path, client_factory: Callable[..., HttpSession]
) -> None:
    # Indexes may give only sha512 (or md5): the file is checked against it, sha256 returned.
    source = tmp_path / "demo-1.0.tar.gz"
    source.write_bytes(b"demo sdist bytes")
    data = source.read_bytes()
    client = client_factory()
    sha512 = "sha512:" + hashlib.sha512(data).hexdigest()
    sha256 = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.download(source.as_uri(), tmp_path / "a", expected=[sha512]) == sha256
    md5 = "MD5:" + hashlib.md5(data).hexdigest().upper()
    assert client.download(source.as_uri(), tmp_path / "b", expected=[md5]) == sha256
    wrong = "sha512:" + "0" * 128
    with pytest.raises(HashMismatch) as caught:
        client.download(source.as_uri(), tmp_path / "c", expected=[wrong])
    assert caught.value.actual == sha512
    assert not (tmp_path / "c").exists()


def test_range_answer_whose_content_range_does_not_match_its_body_gives_none(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    # A body shorter or longer than the span its Content-Range claims cannot be placed.
    scripted.script["/short.whl"] = [(206, {"Content-Range": "bytes 900-999/1000"}, b"x" * 10)]
    scripted.script["/long.whl"] = [(206, {"Content-Range": "bytes 0-9/1000"}, b"x" * 100)]
    scripted.script["/fine.whl"] = [(206, {"Content-Range": "bytes 990-999/1000"}, b"y" * 10)]
    client = client_factory()
    assert client.get_range(f"{scripted.url}/short.whl", "-100") is None
    assert client.get_range(f"{scripted.url}/long.whl", "0-9") is None
    fine = client.get_range(f"{scripted.url}/fine.whl", "-10")
    assert fine == RangeResponse(data=b"y" * 10, start=990, total=1000)


def test_file_urls_are_unquoted_once(
    tmp_path: Path, client_factory: Callable[..., HttpSession]
) -> None:
    # A folder whose name holds a literal "%2B" is not the folder named "+".
    folder = tmp_path / "wheels%2Bcpu"
    folder.mkdir()
    (tmp_path / "wheels+cpu").mkdir()
    wheel = folder / "torch-2.5.1+cpu-py3-none-any.whl"
    wheel.write_bytes(b"wheel bytes")
    client = client_factory()
    response = client.get(wheel.as_uri())
    assert (response.status, response.body) == (200, b"wheel bytes")
    assert client.get_range(wheel.as_uri(), "-5") == RangeResponse(data=b"bytes", start=6, total=11)
    digest = client.download(wheel.as_uri(), tmp_path / "copy.whl")
    assert digest == "sha256:" + hashlib.sha256(b"wheel bytes").hexdigest()


def test_credentials_do_not_follow_a_redirect_to_another_host(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    other = ScriptedServer()
    try:
        other.script["/files/a.whl"] = [(200, {}, b"moved")]
        host = scripted.url.removeprefix("http://")
        scripted.script["/files/a.whl"] = [(302, {"Location": f"{other.url}/files/a.whl"}, b"")]
        client = client_factory(index_url=f"http://alice:pw@{host}/simple")
        assert client.get(f"{scripted.url}/files/a.whl").body == b"moved"
        assert scripted.seen[-1][1]["authorization"] == _basic("alice", "pw")
        assert "authorization" not in other.seen[-1][1]
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("userinfo", "shown"), [("bob:pw-403-x", "bob:****@"), ("tok-403-x", "****@")]
)
def test_refused_downloads_name_the_url_masked(
    userinfo: str,
    shown: str,
    scripted: ScriptedServer,
    client_factory: Callable[..., HttpSession],
    tmp_path: Path,
) -> None:
    scripted.script["/files/a.whl"] = [(403, {}, b"forbidden")]
    url = scripted.url.replace("http://", f"http://{userinfo}@") + "/files/a.whl"
    client = client_factory(retries=0)
    for attempt in (
        lambda: client.download(url, tmp_path / "a.whl"),
        lambda: client.get_range(url, "-100"),
    ):
        with pytest.raises(NetworkError, match="HTTP 403") as caught:
            attempt()
        message = str(caught.value)
        assert "403-x" not in message
        assert f"http://{shown}127.0.0.1" in message
        assert "were refused" in message
    assert not (tmp_path / "a.whl").exists()


def test_one_session_takes_in_every_configuration_of_a_run(
    scripted: ScriptedServer, client_factory: Callable[..., HttpSession]
) -> None:
    host = scripted.url.removeprefix("http://")
    scripted.script["/files/a.whl"] = [(200, {}, b"x")]
    session = client_factory(retries=0)
    session.get(f"{scripted.url}/files/a.whl")
    assert "authorization" not in scripted.seen[-1][1]
    # A requirement file's index, learned once, serves every later request to its host.
    session.include(IndexSettings(index_url=f"http://carol:pw@{host}/simple"))
    session.get(f"{scripted.url}/files/a.whl")
    assert scripted.seen[-1][1]["authorization"] == _basic("carol", "pw")
    # Masked userinfo, as locks carry it, is no credential.
    session.include(IndexSettings(index_url=f"http://carol:****@{host}/simple"))
    session.get(f"{scripted.url}/files/a.whl")
    assert scripted.seen[-1][1]["authorization"] == _basic("carol", "pw")
    with pytest.raises(ConfigError, match="trusted-host"):
        session.get("http://untrusted.invalid/x")
    session.include(IndexSettings(trusted_hosts=("untrusted.invalid",)))
    with pytest.raises(NetworkError):
        session.get("http://untrusted.invalid/x")


@pytest.fixture
def counting_tls_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[object]]]:
    """An HTTPS server on 127.0.0.1 (self-signed), its certificate, and the connections it
    accepted (TLS handshake done)."""
    cert, key = self_signed(tmp_path, "server", "127.0.0.1", "IP:127.0.0.1")
    accepted: list[object] = []

    class Counting(ThreadingHTTPServer):
        def get_request(self) -> tuple[Any, Any]:
            request = super().get_request()
            accepted.append(request[0])
            return request

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with https_server(context, server=Counting) as httpd:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", cert, accepted


def test_connections_are_opened_ahead_once_per_host_and_then_used(
    counting_tls_server: tuple[str, Path, list[object]],
    client_factory: Callable[..., HttpSession],
) -> None:
    url, cert, accepted = counting_tls_server
    client = client_factory(cert=str(cert), retries=0)
    client.warm(f"{url}/first", connections=3)
    deadline = time.monotonic() + 30
    while _warming() and time.monotonic() < deadline:  # until each is in the pool
        time.sleep(0.01)
    assert len(accepted) == 3
    client.warm(f"{url}/again", connections=3)  # once per host
    # Three requests at once: each finds a connection already open (the first request to a
    # host warms it too, but this host is warm already).
    with ThreadPoolExecutor(max_workers=3) as pool:
        bodies = list(pool.map(lambda i: client.get(f"{url}/page/{i}").body, range(3)))
    assert bodies == [b"ok"] * 3
    assert len(accepted) == 3


def test_no_connection_is_opened_ahead_through_a_proxy(
    client_factory: Callable[..., HttpSession],
) -> None:
    # Through a proxy a connection is a tunnel urllib3 opens for a request: none is made ahead.
    client = client_factory(proxy="http://127.0.0.1:9")
    client.warm("https://index.example/simple/", connections=3)
    assert _warming() == []


def _warming() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pinlock-warm")]
