"""A misbehaving package index on 127.0.0.1: the real test index (``IndexServer``) with faults.

Each fault is set on a request path (``/simple/alpha/``, ``/files/alpha-1.0-py3-none-any.whl``;
shell-style patterns such as ``/files/*`` work too) for its next ``times`` requests, or for every
request with ``times=None``; later requests are served normally. Every request, faulty or not, is
in the server's log (``requests``), so a test counts attempts instead of timing them.

Faults: an HTTP status (``fail``, e.g. 503 then success), an answer that never comes (``hang``:
the connection is accepted and held until the server stops), a connection reset in the middle of
the body (``reset_mid_body``), a redirect loop (``redirect_loop``), a page of any content type
(``serve_page``, e.g. an HTML login page where an index page should be), a page that lists a
digest other than the file's (``lie_about_digest``), and an answer held back until another
request has arrived (``hold_until``), to order what concurrent clients do. A corrupt or
truncated file needs no fault: write it into the served folder.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import socket
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal

from tests.support.index_server import IndexServer, _FileInfo

__all__ = ["FaultIndex"]

FaultKind = Literal["status", "hang", "reset", "redirect", "page", "gate"]
# How long a hung answer waits at most, should a test forget to stop its server.
_HANG_LIMIT = 60.0


@dataclass(kw_only=True)
class _Fault:
    pattern: str
    kind: FaultKind
    times: int | None
    status: int = 503
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    content_type: str = "text/plain"
    location: str = ""
    after: str = ""

    def matches(self, path: str) -> bool:
        return path == self.pattern or fnmatch.fnmatchcase(path, self.pattern)


class FaultIndex(IndexServer):
    """``IndexServer`` with faults set per request path; see the module docstring."""

    def __init__(self, files_dir: Path, **options: Any) -> None:
        super().__init__(files_dir, **options)
        self._faults: list[_Fault] = []
        self._digest_lies: dict[str, str] = {}
        self._stopping = threading.Event()

    # -- faults ------------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int = 503,
        *,
        times: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FaultIndex:
        """Answer ``status`` (and ``headers``) to the next ``times`` requests of ``path``."""
        reason = HTTPStatus(status).phrase.encode() + b"\n"
        return self._add(
            _Fault(pattern=path, kind="status", times=times, status=status, body=reason,
                   headers=dict(headers or {}))
        )  # fmt: skip

    def hang(self, path: str, *, times: int | None = None) -> FaultIndex:
        """Read the request and never answer (until the server stops)."""
        return self._add(_Fault(pattern=path, kind="hang", times=times))

    def reset_mid_body(self, path: str, *, times: int | None = None) -> FaultIndex:
        """Promise the whole answer, send half its body, then reset the connection (TCP RST)."""
        return self._add(_Fault(pattern=path, kind="reset", times=times))

    def hold_until(self, path: str, after: str, *, times: int | None = 1) -> FaultIndex:
        """Answer ``path`` (normally) only once ``after`` has been requested: puts two requests
        of concurrent clients in a known order."""
        return self._add(_Fault(pattern=path, kind="gate", times=times, after=after))

    def redirect_loop(self, path: str) -> FaultIndex:
        """``path`` redirects to ``path + "loop/"``, which redirects back, for ever."""
        other = path.rstrip("/") + "/loop/"
        self._add(_Fault(pattern=path, kind="redirect", times=None, location=other))
        return self._add(_Fault(pattern=other, kind="redirect", times=None, location=path))

    def serve_page(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "text/html; charset=utf-8",
        times: int | None = None,
    ) -> FaultIndex:
        """Answer 200 with ``body`` of ``content_type`` in place of what ``path`` holds."""
        data = body.encode() if isinstance(body, str) else body
        return self._add(
            _Fault(pattern=path, kind="page", times=times, body=data, content_type=content_type)
        )

    def lie_about_digest(self, filename: str, sha256: str = "0" * 64) -> FaultIndex:
        """List ``filename`` on its project page with this sha256 instead of its own."""
        with self._lock:
            self._digest_lies[filename] = sha256
        return self

    def clear_faults(self) -> FaultIndex:
        """Serve every request normally again (digest lies included)."""
        with self._lock:
            self._faults.clear()
            self._digest_lies.clear()
        return self

    def requests_of(self, path: str) -> int:
        """How many requests of exactly ``path`` the server received (query strings apart)."""
        return sum(1 for request in self.requests if request.path == path)

    # -- the server side -----------------------------------------------------------------------

    def start(self) -> FaultIndex:
        self._stopping.clear()
        super().start()
        return self

    def __enter__(self) -> FaultIndex:
        return self.start()

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def intercept(self, handler: BaseHTTPRequestHandler, path: str, *, send_body: bool) -> bool:
        fault = self._take_fault(path)
        if fault is None:
            return False
        if fault.kind == "gate":
            deadline = time.monotonic() + _HANG_LIMIT
            while self.requests_of(fault.after) == 0 and time.monotonic() < deadline:
                if self._stopping.wait(0.01):
                    break
            return False
        if fault.kind == "hang":
            self._stopping.wait(_HANG_LIMIT)
            handler.close_connection = True
        elif fault.kind == "reset":
            self._reset(handler, path)
        elif fault.kind == "redirect":
            _answer(handler, 302, b"", "text/plain", {"Location": fault.location}, send_body)
        elif fault.kind == "page":
            _answer(handler, 200, fault.body, fault.content_type, {}, send_body)
        else:
            _answer(handler, fault.status, fault.body, "text/plain", fault.headers, send_body)
        return True

    def _project_files(self, project: str) -> list[_FileInfo]:
        infos = super()._project_files(project)
        with self._lock:
            lies = dict(self._digest_lies)
        return [
            dataclasses.replace(info, sha256=lies[info.filename]) if info.filename in lies else info
            for info in infos
        ]

    def _add(self, fault: _Fault) -> FaultIndex:
        with self._lock:
            self._faults.append(fault)
        return self

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(path) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _reset(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        """The real answer's status and headers, half its body, then a TCP reset."""
        body = self._real_body(path)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        # Linger 0: closing sends RST, not FIN, as a dropped connection or a crashed proxy does.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()

    def _real_body(self, path: str) -> bytes:
        parts = [part for part in path.split("/") if part]
        if parts[:1] == ["files"] and len(parts) == 2:
            file = self.files_dir / parts[1]
            if file.is_file():
                return file.read_bytes()
        if parts[:1] == ["simple"] and len(parts) == 2:
            infos = self._project_files(parts[1])
            return self.project_html(parts[1], infos).encode()
        return b"x" * 4096


def _answer(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str],
    send_body: bool,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if send_body:
        handler.wfile.write(body)
