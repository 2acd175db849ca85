"""HTTPS on 127.0.0.1 for tests: self-signed certificates, and a server answering ``ok``."""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def self_signed(folder: Path, name: str, subject: str, alt_name: str) -> tuple[Path, Path]:
    """A fresh self-signed certificate (``alt_name``: ``IP:...`` or ``DNS:...``) and its key."""
    cert, key = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={subject}"),
            *("-addext", f"subjectAltName={alt_name}"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class OkHandler(BaseHTTPRequestHandler):
    """Answers every GET with ``ok``, keeping the connection open (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@contextmanager
def https_server(
    context: ssl.SSLContext,
    handler: type[BaseHTTPRequestHandler] = OkHandler,
    server: type[ThreadingHTTPServer] = ThreadingHTTPServer,
) -> Iterator[ThreadingHTTPServer]:
    """``server`` on 127.0.0.1 speaking TLS with ``context``, running until the block ends."""
    httpd = server(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
