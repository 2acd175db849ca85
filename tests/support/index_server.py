"""A real PEP 503 / PEP 691 package index on 127.0.0.1, serving the files of one folder.

Pages are built on every request, so files written to the folder after the server started
appear at once. Every request is logged, with the bytes of each file actually sent, so a test
can prove that a large wheel was read by ranges rather than downloaded.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.parser
import email.utils
import hashlib
import html as html_escape
import json as json_module
import re
import socket
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

__all__ = ["IndexServer", "LoggedRequest"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"


class LoggedRequest(NamedTuple):
    """One request as the server saw it: ``(method, path, range_header)``."""

    method: str
    path: str
    range_header: str | None


@dataclass(frozen=True, slots=True)
class _FileInfo:
    filename: str
    project: str
    sha256: str
    size: int
    metadata: bytes | None
    requires_python: str | None


def _project_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _wheel_metadata(path: Path) -> bytes | None:
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            parts = member.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return archive.read(member)
    return None


def _sdist_pkg_info(path: Path) -> bytes | None:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.count("/") == 1 and member.endswith("/PKG-INFO"):
                    return archive.read(member)
        return None
    with tarfile.open(path, "r:gz") as archive:
        for info in archive.getmembers():
            if info.isfile() and info.name.count("/") == 1 and info.name.endswith("/PKG-INFO"):
                handle = archive.extractfile(info)
                return None if handle is None else handle.read()
    return None


def _accepts(accept: str | None) -> dict[str, float]:
    """Media ranges of an Accept header with their q-values (no header accepts anything)."""
    if not accept:
        return {"*/*": 1.0}
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges[media.lower()] = quality
    return ranges


def _quality(ranges: Mapping[str, float], media: str) -> float:
    major = media.split("/", maxsplit=1)[0]
    for candidate in (media, f"{major}/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


class IndexServer:
    """A package index over ``files_dir``, as a context manager; ``url`` is its ``/simple`` root.

    ``html``/``json`` choose which page formats are offered (JSON only to clients that prefer
    it); ``metadata_files`` serves PEP 658 ``<wheel>.metadata`` files and advertises them;
    ``ranges=False`` makes file requests ignore ``Range``; ``yanked`` maps file names to a
    yank reason; ``digests=False`` lists files without their sha256. ``auth`` makes every
    request need HTTP basic credentials: ``(user, password)``, or a bare token (sent as the user
    with an empty password, as pip sends ``https://TOKEN@host``); others get 401.
    ``upload_times`` maps file names to the PEP 700 ``upload-time`` their JSON entries state.
    ``etags`` and ``last_modified`` send those validators with project pages and answer a
    conditional request whose validator still holds with ``304 Not Modified`` (listed in
    ``not_modified``); ``cache_control`` is sent with project pages as it is.
    ``throttle`` slows whole-file answers down: that many seconds of pause after each 64 KiB sent.
    """

    def __init__(
        self,
        files_dir: Path,
        *,
        html: bool = True,
        json: bool = True,
        metadata_files: bool = False,
        ranges: bool = True,
        yanked: Mapping[str, str] | None = None,
        digests: bool = True,
        auth: tuple[str, str] | str | None = None,
        upload_times: Mapping[str, str] | None = None,
        etags: bool = False,
        last_modified: bool = False,
        cache_control: str | None = None,
        throttle: float = 0.0,
    ) -> None:
        self.files_dir = Path(files_dir)
        self.etags = etags
        self.last_modified = last_modified
        self.cache_control = cache_control
        self._not_modified: list[str] = []
        self.upload_times = dict(upload_times or {})
        self.throttle = throttle
        self.digests = digests
        self.auth = (auth, "") if isinstance(auth, str) else auth
        self.html = html
        self.json = json
        self.metadata_files = metadata_files
        self.ranges = ranges
        self.yanked = dict(yanked or {})
        self._lock = threading.Lock()
        self._requests: list[LoggedRequest] = []
        self._refused: list[LoggedRequest] = []
        self._sent: dict[str, int] = {}
        self._info_cache: dict[tuple[str, int, int], _FileInfo] = {}
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> IndexServer:
        handler = type("_BoundHandler", (_Handler,), {"index": self})
        server = _QuietServer(("127.0.0.1", 0), handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        # Idle keep-alive connections would hold their handler threads open: end them.
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the index server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.root_url}/simple"

    def file_url(self, filename: str) -> str:
        return f"{self.root_url}/files/{quote(filename)}"

    # -- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def refused(self) -> list[LoggedRequest]:
        """Requests answered 401 for want of the credentials ``auth`` asks for."""
        with self._lock:
            return list(self._refused)

    @property
    def not_modified(self) -> list[str]:
        """Paths answered ``304 Not Modified``."""
        with self._lock:
            return list(self._not_modified)

    def page_requests(self) -> list[LoggedRequest]:
        """Requests of project pages (``/simple/<name>/``)."""
        return [r for r in self.requests if r.path.startswith("/simple/") and r.path != "/simple/"]

    def requests_for(self, filename: str) -> list[LoggedRequest]:
        """Requests of ``/files/<filename>`` exactly (not its ``.metadata``)."""
        wanted = f"/files/{filename}"
        return [r for r in self.requests if r.path == wanted]

    def bytes_sent(self, filename: str) -> int:
        """Body bytes sent for ``/files/<filename>`` (or ``<filename>.metadata``) so far."""
        with self._lock:
            return self._sent.get(filename, 0)

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()
            self._refused.clear()
            self._not_modified.clear()
            self._sent.clear()

    def intercept(self, handler: BaseHTTPRequestHandler, path: str, *, send_body: bool) -> bool:
        """A subclass's chance to answer a request its own way (``tests/support/fault_index``):
        True when it answered. Called after the request is logged and found authorized."""
        return False

    def _log(self, entry: LoggedRequest, *, authorized: bool = True) -> None:
        with self._lock:
            self._requests.append(entry)
            if not authorized:
                self._refused.append(entry)

    def _count_sent(self, filename: str, size: int) -> None:
        with self._lock:
            self._sent[filename] = self._sent.get(filename, 0) + size

    # -- content ---------------------------------------------------------------------------

    def _file_info(self, path: Path) -> _FileInfo | None:
        project = _project_of(path.name)
        if project is None:
            return None
        stat = path.stat()
        key = (path.name, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._info_cache.get(key)
        if cached is not None:
            return cached
        data = path.read_bytes()
        try:
            if path.name.endswith(".whl"):
                metadata = _wheel_metadata(path)
                requires_source = metadata
            else:
                metadata = None
                requires_source = _sdist_pkg_info(path)
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError):
            metadata = requires_source = None
        requires_python = None
        if requires_source is not None:
            headers = email.parser.BytesHeaderParser().parsebytes(requires_source)
            requires_python = headers.get("Requires-Python")
        info = _FileInfo(
            filename=path.name,
            project=project,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            metadata=metadata,
            requires_python=None if requires_python is None else str(requires_python),
        )
        with self._lock:
            self._info_cache[key] = info
        return info

    def _files(self) -> list[_FileInfo]:
        infos = []
        for path in sorted(self.files_dir.iterdir()) if self.files_dir.is_dir() else []:
            if path.is_file():
                info = self._file_info(path)
                if info is not None:
                    infos.append(info)
        return infos

    def _project_files(self, project: str) -> list[_FileInfo]:
        return [info for info in self._files() if info.project == project]

    def _metadata_for(self, filename: str) -> bytes | None:
        path = self.files_dir / filename
        if not self.metadata_files or not path.is_file():
            return None
        info = self._file_info(path)
        return None if info is None else info.metadata

    def project_list_html(self) -> str:
        projects = sorted({info.project for info in self._files()})
        links = "\n".join(f'    <a href="{p}/">{p}</a>' for p in projects)
        return f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n"

    def project_list_json(self) -> dict[str, Any]:
        projects = sorted({info.project for info in self._files()})
        return {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}

    def project_html(self, project: str, infos: list[_FileInfo]) -> str:
        anchors = []
        for info in infos:
            fragment = f"#sha256={info.sha256}" if self.digests else ""
            attributes = [f'href="{self.file_url(info.filename)}{fragment}"']
            if info.requires_python is not None:
                attributes.append(
                    f'data-requires-python="{html_escape.escape(info.requires_python)}"'
                )
            if info.filename in self.yanked:
                attributes.append(f'data-yanked="{html_escape.escape(self.yanked[info.filename])}"')
            if self.metadata_files and info.metadata is not None:
                digest = hashlib.sha256(info.metadata).hexdigest()
                attributes.append(f'data-core-metadata="sha256={digest}"')
                attributes.append(f'data-dist-info-metadata="sha256={digest}"')
            anchors.append(f"    <a {' '.join(attributes)}>{info.filename}</a><br/>")
        body = "\n".join(anchors)
        return (
            '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
            f"<title>Links for {project}</title></head><body>\n<h1>Links for {project}</h1>\n"
            f"{body}\n</body></html>\n"
        )

    def project_json(self, project: str, infos: list[_FileInfo]) -> dict[str, Any]:
        files = []
        for info in infos:
            metadata: bool | dict[str, str] = False
            if self.metadata_files and info.metadata is not None:
                metadata = {"sha256": hashlib.sha256(info.metadata).hexdigest()}
            entry: dict[str, Any] = {
                "filename": info.filename,
                "url": self.file_url(info.filename),
                "hashes": {"sha256": info.sha256} if self.digests else {},
                "requires-python": info.requires_python,
                "yanked": self.yanked.get(info.filename, False) or (info.filename in self.yanked),
                "core-metadata": metadata,
                "dist-info-metadata": metadata,
                "size": info.size,
            }
            if info.filename in self.upload_times:
                entry["upload-time"] = self.upload_times[info.filename]
            files.append(entry)
        versions = sorted({_version_of(info.filename) for info in infos})
        return {
            "meta": {"api-version": "1.1"},
            "name": project,
            "files": files,
            "versions": versions,
        }


def _version_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[1])
    return str(parse_sdist_filename(filename)[1])


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is normal here (a reader stops early)."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    index: IndexServer
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        with self.index._lock:
            self.index._connections.add(self.connection)

    def finish(self) -> None:
        with self.index._lock:
            self.index._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean: the index keeps its own request log."""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        authorized = self._authorized()
        entry = LoggedRequest(self.command, path, self.headers.get("Range"))
        self.index._log(entry, authorized=authorized)
        if authorized and self.index.intercept(self, path, send_body=send_body):
            return
        if not authorized:
            self.send_response(HTTPStatus.UNAUTHORIZED)
            self.send_header("WWW-Authenticate", 'Basic realm="test index"')
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "13")
            self.end_headers()
            if send_body:
                self.wfile.write(b"unauthorized\n")
            return
        parts = [part for part in path.split("/") if part]
        if parts[:1] == ["simple"] and len(parts) == 1:
            self._serve_page(None, send_body=send_body)
        elif parts[:1] == ["simple"] and len(parts) == 2:
            name = parts[1]
            if name != canonicalize_name(name):
                self._redirect(f"/simple/{canonicalize_name(name)}/")
            elif not path.endswith("/"):
                self._redirect(f"/simple/{name}/")
            else:
                self._serve_page(name, send_body=send_body)
        elif parts[:1] == ["files"] and len(parts) == 2:
            self._serve_file(parts[1], send_body=send_body)
        else:
            self._send_simple(HTTPStatus.NOT_FOUND, b"not found\n", send_body=send_body)

    def _authorized(self) -> bool:
        if self.index.auth is None:
            return True
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = given.partition(":")
        return (user, password) == self.index.auth

    def _choose_format(self) -> str | None:
        ranges = _accepts(self.headers.get("Accept"))
        offers: list[tuple[float, int, str]] = []
        if self.index.json:
            offers.append((_quality(ranges, JSON_TYPE), 2, "json"))
        if self.index.html:
            explicit = max(_quality(ranges, HTML_V1_TYPE), _quality(ranges, "text/html"))
            offers.append((explicit, 1, "html"))
        offers = [offer for offer in offers if offer[0] > 0]
        if not offers:
            return None
        # Prefer the client's preference; at equal quality (e.g. */*) prefer HTML, as PyPI does.
        offers.sort(key=lambda offer: (offer[0], -offer[1]), reverse=True)
        return offers[0][2]

    def _serve_page(self, project: str | None, *, send_body: bool) -> None:
        chosen = self._choose_format()
        if chosen is None:
            self._send_simple(HTTPStatus.NOT_ACCEPTABLE, b"not acceptable\n", send_body=send_body)
            return
        if project is None:
            if chosen == "json":
                body = json_module.dumps(self.index.project_list_json()).encode()
            else:
                body = self.index.project_list_html().encode()
        else:
            infos = self.index._project_files(project)
            if not infos:
                self._send_simple(HTTPStatus.NOT_FOUND, b"no such project\n", send_body=send_body)
                return
            if chosen == "json":
                body = json_module.dumps(self.index.project_json(project, infos)).encode()
            else:
                body = self.index.project_html(project, infos).encode()
        content_type = JSON_TYPE if chosen == "json" else "text/html; charset=utf-8"
        validators = self._validators(project, body)
        if project is not None and self._still_valid(validators):
            with self.index._lock:
                self.index._not_modified.append(urlsplit(self.path).path)
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept")
        for name, value in validators.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _validators(self, project: str | None, body: bytes) -> dict[str, str]:
        index = self.index
        headers: dict[str, str] = {}
        if project is None:
            return headers
        if index.etags:
            headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        if index.last_modified:
            newest = max(
                (index.files_dir / info.filename).stat().st_mtime
                for info in index._project_files(project)
            )
            headers["Last-Modified"] = email.utils.formatdate(int(newest), usegmt=True)
        if index.cache_control is not None:
            headers["Cache-Control"] = index.cache_control
        return headers

    def _still_valid(self, validators: Mapping[str, str]) -> bool:
        """Whether a conditional request's validator still holds (If-None-Match first)."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return "ETag" in validators and validators["ETag"] in (
                tag.strip() for tag in if_none_match.split(",")
            )
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None or "Last-Modified" not in validators:
            return False
        since = email.utils.parsedate_to_datetime(if_modified_since)
        return email.utils.parsedate_to_datetime(validators["Last-Modified"]) <= since

    def _serve_file(self, filename: str, *, send_body: bool) -> None:
        if filename.endswith(".metadata"):
            metadata = self.index._metadata_for(filename.removesuffix(".metadata"))
            if metadata is None:
                self._send_simple(HTTPStatus.NOT_FOUND, b"no metadata\n", send_body=send_body)
                return
            self._send_bytes(filename, metadata, "text/plain", send_body=send_body)
            return
        path = self.index.files_dir / filename
        if "/" in filename or filename.startswith(".") or not path.is_file():
            self._send_simple(HTTPStatus.NOT_FOUND, b"no such file\n", send_body=send_body)
            return
        data = path.read_bytes()
        total = len(data)
        range_header = self.headers.get("Range")
        if not self.index.ranges or range_header is None:
            self._send_bytes(filename, data, "application/octet-stream", send_body=send_body)
            return
        match = _RANGE.match(range_header.strip())
        if match is None or match.group(1) == match.group(2) == "":
            self._send_bytes(filename, data, "application/octet-stream", send_body=send_body)
            return
        first_text, last_text = match.groups()
        if first_text == "":
            start = max(0, total - int(last_text))
            end = total - 1
        else:
            start = int(first_text)
            end = total - 1 if last_text == "" else min(int(last_text), total - 1)
        if start >= total or start > end:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{total}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        chunk = data[start : end + 1]
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if send_body:
            # Counted before writing, so a client that has read the body always sees it counted.
            self.index._count_sent(filename, len(chunk))
            self.wfile.write(chunk)

    def _send_bytes(
        self, filename: str, data: bytes, content_type: str, *, send_body: bool
    ) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.index.ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if send_body:
            self.index._count_sent(filename, len(data))
            if not self.index.throttle:
                self.wfile.write(data)
                return
            for start in range(0, len(data), 1 << 16):
                self.wfile.write(data[start : start + (1 << 16)])
                self.wfile.flush()
                time.sleep(self.index.throttle)

    def _send_simple(self, status: HTTPStatus, body: bytes, *, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
