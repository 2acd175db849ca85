"""The test helpers themselves: artefacts pip accepts, and an index pip can use."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from tests.support.artifacts import make_sdist, make_wheel
from tests.support.index_server import JSON_TYPE, IndexServer


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def _pip(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,
    )


# -- wheels ---------------------------------------------------------------------------------


def test_wheel_has_consistent_record_and_metadata(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "Foo.Bar",
        "2.5.1+cu121",
        requires_dist=["idna>=3", 'rich; extra == "cli"'],
        requires_python=">=3.9",
        provides_extra=["cli"],
    )
    assert wheel.name == "foo_bar-2.5.1+cu121-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = "foo_bar-2.5.1+cu121.dist-info"
        assert {"foo_bar/__init__.py", f"{dist_info}/METADATA", f"{dist_info}/RECORD"} <= set(names)
        metadata = BytesHeaderParser().parsebytes(archive.read(f"{dist_info}/METADATA"))
        record = archive.read(f"{dist_info}/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}"
            assert int(size) == len(data)
    assert metadata["Name"] == "Foo.Bar"
    assert metadata["Version"] == "2.5.1+cu121"
    assert metadata["Requires-Python"] == ">=3.9"
    assert metadata.get_all("Requires-Dist") == ["idna>=3", 'rich; extra == "cli"']
    assert metadata.get_all("Provides-Extra") == ["cli"]


def test_wheel_is_reproducible_and_padding_is_incompressible(tmp_path: Path) -> None:
    first = make_wheel(tmp_path / "a", "pad", "1.0", padding=300_000)
    second = make_wheel(tmp_path / "b", "pad", "1.0", padding=300_000)
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_size > 300_000
    with zipfile.ZipFile(first) as archive:
        # the metadata sits after the padding, near the end of the file
        offsets = {info.filename: info.header_offset for info in archive.infolist()}
    assert offsets["pad-1.0.dist-info/METADATA"] > offsets["pad/_padding.bin"]


def test_wheel_files_and_tags(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path, "native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64", files={"nat.py": b"x"}
    )
    assert wheel.name == "native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel) as archive:
        assert "nat.py" in archive.namelist()
        assert "native/__init__.py" not in archive.namelist()
        wheel_file = archive.read("native-1.0.dist-info/WHEEL").decode()
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64" in wheel_file


def test_pip_installs_the_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "tiny-thing", "0.3", padding=1000)
    result = _pip("install", "--no-deps", "--no-index", "--target", str(tmp_path / "t"), str(wheel))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "tiny_thing" / "__init__.py").read_text() == "__version__ = '0.3'\n"


# -- sdists ---------------------------------------------------------------------------------


def test_sdist_layout_and_pkg_info(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path, "My.Proj", "1.0", requires_dist=["idna"], dynamic=["Requires-Dist"]
    )
    assert sdist.name == "my_proj-1.0.tar.gz"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        pkg_info = archive.extractfile("my_proj-1.0/PKG-INFO")
        assert pkg_info is not None
        headers = BytesHeaderParser().parsebytes(pkg_info.read())
    assert {"my_proj-1.0/pyproject.toml", "my_proj-1.0/tinybackend.py"} <= names
    assert headers["Metadata-Version"] == "2.2"
    assert headers.get_all("Dynamic") == ["Requires-Dist"]
    assert headers.get_all("Requires-Dist") == ["idna"]


def test_sdist_without_pkg_info_and_as_zip(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "zipped", "2.0", pkg_info=False, archive_format="zip")
    assert sdist.name == "zipped-2.0.zip"
    with zipfile.ZipFile(sdist) as archive:
        assert "zipped-2.0/PKG-INFO" not in archive.namelist()
        assert "zipped-2.0/tinybackend.py" in archive.namelist()


def test_pip_builds_the_sdist_offline_with_the_backend_metadata(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path / "s", "built-thing", "1.2", requires_dist=["a"], backend_requires_dist=[]
    )
    out = tmp_path / "out"
    result = _pip("wheel", "--no-deps", "--no-index", "-w", str(out), str(sdist))
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    assert wheel.name == "built_thing-1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("built_thing-1.2.dist-info/METADATA").decode()
        assert "built_thing/__init__.py" in archive.namelist()
    assert "Requires-Dist" not in metadata


# -- index server ---------------------------------------------------------------------------


def test_project_list_and_html_page(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    wheel = make_wheel(files_dir, "Alpha", "1.0", requires_python=">=3.8,<4")
    sdist = make_sdist(files_dir, "alpha", "0.9")
    make_wheel(files_dir, "beta", "2.0")
    (files_dir / "notes.txt").write_text("not a distribution")
    index = index_factory(yanked={sdist.name: "broken build"})

    status, _, body = _get(index.url + "/")
    assert status == 200
    assert 'href="alpha/"' in body.decode() and 'href="beta/"' in body.decode()

    status, headers, body = _get(index.url + "/alpha/")
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f'{index.file_url(wheel.name)}#sha256={digest}"' in page
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in page
    assert 'data-yanked="broken build"' in page
    assert "data-core-metadata" not in page
    assert "notes.txt" not in page


def test_non_normalized_name_redirects_and_unknown_is_404(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    make_wheel(files_dir, "Some_Thing", "1.0")
    index = index_factory()
    status, _, body = _get(index.url + "/Some.Thing/")
    assert status == 200 and b"some_thing-1.0-py3-none-any.whl" in body
    assert _get(index.url + "/nothing-here/")[0] == 404


def test_validators_and_not_modified(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    wheel = make_wheel(files_dir, "alpha", "1.0")
    os.utime(wheel, (1_700_000_000, 1_700_000_000))
    index = index_factory(etags=True, last_modified=True, cache_control="max-age=60")
    status, headers, _body = _get(index.url + "/alpha/")
    assert status == 200
    assert headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert headers["Cache-Control"] == "max-age=60"
    etag = headers["ETag"]
    assert _get(index.url + "/alpha/", {"If-None-Match": etag})[0] == 304
    assert _get(index.url + "/alpha/", {"If-None-Match": '"other"'})[0] == 200
    since = {"If-Modified-Since": headers["Last-Modified"]}
    assert _get(index.url + "/alpha/", since)[0] == 304
    assert index.not_modified == ["/simple/alpha/", "/simple/alpha/"]
    make_wheel(files_dir, "alpha", "2.0")  # a new file: a new page
    assert _get(index.url + "/alpha/", {"If-None-Match": etag})[0] == 200
    # Without the options, no validators and never 304.
    plain = index_factory()
    status, headers, _body = _get(plain.url + "/alpha/", {"If-None-Match": etag})
    assert status == 200 and "ETag" not in headers and "Last-Modified" not in headers


def test_json_negotiation(files_dir: Path, index_factory: Callable[..., IndexServer]) -> None:
    wheel = make_wheel(files_dir, "gamma", "1.0+cpu", requires_python=">=3.10")
    index = index_factory(metadata_files=True, yanked={wheel.name: ""})
    accept = f"{JSON_TYPE}, text/html;q=0.1"
    status, headers, body = _get(index.url + "/gamma/", {"Accept": accept})
    assert status == 200 and headers["Content-Type"] == JSON_TYPE
    page = json.loads(body)
    (entry,) = page["files"]
    assert entry["filename"] == wheel.name
    assert entry["url"] == index.file_url(wheel.name)
    assert entry["url"].endswith("1.0%2Bcpu-py3-none-any.whl")
    assert entry["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert entry["requires-python"] == ">=3.10"
    assert entry["yanked"] is True
    assert set(entry["core-metadata"]) == {"sha256"}
    assert entry["dist-info-metadata"] == entry["core-metadata"]
    assert page["versions"] == ["1.0+cpu"]

    # HTML is preferred at equal quality, and chosen when JSON is not asked for
    assert _get(index.url + "/gamma/", {"Accept": "*/*"})[1]["Content-Type"].startswith("text/")
    assert _get(index.url + "/gamma/")[1]["Content-Type"].startswith("text/html")


def test_html_only_and_json_only_servers(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    make_wheel(files_dir, "delta", "1.0")
    json_only = index_factory(html=False)
    assert _get(json_only.url + "/delta/", {"Accept": "text/html"})[0] == 406
    assert _get(json_only.url + "/delta/", {"Accept": JSON_TYPE})[0] == 200
    html_only = index_factory(json=False)
    assert _get(html_only.url + "/delta/", {"Accept": JSON_TYPE})[0] == 406
    status, headers, _ = _get(
        html_only.url + "/delta/", {"Accept": f"{JSON_TYPE}, text/html;q=0.5"}
    )
    assert status == 200 and headers["Content-Type"].startswith("text/html")


def test_metadata_files(files_dir: Path, index_factory: Callable[..., IndexServer]) -> None:
    wheel = make_wheel(files_dir, "eps", "1.0", requires_dist=["idna"])
    sdist = make_sdist(files_dir, "eps", "1.0")
    index = index_factory(metadata_files=True)
    status, _, body = _get(index.file_url(wheel.name) + ".metadata")
    assert status == 200 and b"Requires-Dist: idna" in body
    page = _get(index.url + "/eps/")[2].decode()
    digest = hashlib.sha256(body).hexdigest()
    assert f'data-core-metadata="sha256={digest}"' in page
    assert f'data-dist-info-metadata="sha256={digest}"' in page
    assert _get(index.file_url(sdist.name) + ".metadata")[0] == 404
    assert index.bytes_sent(wheel.name) == 0
    assert index.bytes_sent(wheel.name + ".metadata") == len(body)

    plain = index_factory()
    assert _get(plain.file_url(wheel.name) + ".metadata")[0] == 404
    assert "data-core-metadata" not in _get(plain.url + "/eps/")[2].decode()


def test_ranges_and_request_log(files_dir: Path, index_factory: Callable[..., IndexServer]) -> None:
    wheel = make_wheel(files_dir, "big", "1.0", padding=200_000)
    data = wheel.read_bytes()
    total = len(data)
    index = index_factory()
    url = index.file_url(wheel.name)

    status, headers, body = _get(url, {"Range": "bytes=-1000"})
    assert status == 206 and body == data[-1000:]
    assert headers["Content-Range"] == f"bytes {total - 1000}-{total - 1}/{total}"
    status, headers, body = _get(url, {"Range": "bytes=10-19"})
    assert status == 206 and body == data[10:20]
    assert headers["Content-Range"] == f"bytes 10-19/{total}"
    status, _, body = _get(url, {"Range": f"bytes={total - 5}-"})
    assert status == 206 and body == data[-5:]
    status, headers, _ = _get(url, {"Range": f"bytes={total + 10}-{total + 20}"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{total}"

    assert index.bytes_sent(wheel.name) == 1000 + 10 + 5
    assert [r.range_header for r in index.requests_for(wheel.name)] == [
        "bytes=-1000",
        "bytes=10-19",
        f"bytes={total - 5}-",
        f"bytes={total + 10}-{total + 20}",
    ]
    assert index.requests[0] == ("GET", f"/files/{wheel.name}", "bytes=-1000")
    index.clear_log()
    assert index.requests == [] and index.bytes_sent(wheel.name) == 0


def test_ranges_ignored_when_disabled(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    wheel = make_wheel(files_dir, "whole", "1.0", padding=5000)
    index = index_factory(ranges=False)
    status, headers, body = _get(index.file_url(wheel.name), {"Range": "bytes=-100"})
    assert status == 200 and body == wheel.read_bytes()
    assert "Accept-Ranges" not in headers
    assert index.bytes_sent(wheel.name) == len(body)


def test_files_added_after_start_are_served(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    index = index_factory()
    assert _get(index.url + "/late/")[0] == 404
    wheel = make_wheel(files_dir, "late", "1.0")
    assert wheel.name.encode() in _get(index.url + "/late/")[2]
    assert _get(index.file_url(wheel.name))[2] == wheel.read_bytes()


def test_stop_closes_idle_keep_alive_connections(files_dir: Path) -> None:
    make_wheel(files_dir, "kept", "1.0")
    index = IndexServer(files_dir).start()
    host, port = index.root_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/simple/kept/")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
        index.stop()  # must not wait for the client to hang up
        index.stop()  # and is idempotent
    finally:
        connection.close()
    with pytest.raises(RuntimeError):
        _ = index.url


def test_pip_downloads_from_the_index(
    files_dir: Path, index_factory: Callable[..., IndexServer], tmp_path: Path
) -> None:
    make_wheel(files_dir, "pipped", "1.0")
    newest = make_wheel(files_dir, "pipped", "1.1")
    make_sdist(files_dir, "pipped", "1.2", requires_python="<3")
    index = index_factory(metadata_files=True)
    out = tmp_path / "out"
    result = _pip("download", "--no-deps", "--index-url", index.url, "-d", str(out), "pipped")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in out.iterdir()] == [newest.name]


def test_environment_is_isolated_from_pip_configuration() -> None:
    assert os.environ["PIP_CONFIG_FILE"] == os.devnull
    leaked = [
        v for v in os.environ if v.startswith(("PIP_", "PINLOCK_")) and v != "PIP_CONFIG_FILE"
    ]
    assert leaked == []
    assert "xdg-cache" in os.environ["XDG_CACHE_HOME"]


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_auth_and_bare_token(
    files_dir: Path, index_factory: Callable[..., IndexServer]
) -> None:
    wheel = make_wheel(files_dir, "locked", "1.0")
    index = index_factory(auth=("alice", "pw"))
    page = f"{index.url}/locked/"
    status, headers, _ = _get(page)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
    assert _get(page, _basic("alice", "wrong"))[0] == 401
    assert _get(page, _basic("alice", "pw"))[0] == 200
    assert _get(index.file_url(wheel.name), _basic("alice", "pw"))[0] == 200
    assert len(index.requests) == 4
    assert index.refused == index.requests[:2]
    token_index = index_factory(auth="tok")
    assert _get(f"{token_index.url}/locked/", _basic("tok", ""))[0] == 200
    assert _get(f"{token_index.url}/locked/", _basic("tok", "x"))[0] == 401


def test_pip_authenticates_like_pinlock(
    files_dir: Path, index_factory: Callable[..., IndexServer], tmp_path: Path
) -> None:
    """The server accepts a bare token the way pip sends it (user TOKEN, empty password)."""
    make_wheel(files_dir, "locked", "1.0")
    index = index_factory(auth="tok")
    url = index.url.replace("http://", "http://tok@")
    done = _pip("download", "--no-deps", "-d", str(tmp_path / "d"), "-i", url, "locked==1.0")
    assert done.returncode == 0, done.stderr
    assert index.requests and not index.refused


def test_files_without_digests(files_dir: Path, index_factory: Callable[..., IndexServer]) -> None:
    make_wheel(files_dir, "plain", "1.0")
    index = index_factory(digests=False)
    _, _, html = _get(f"{index.url}/plain/")
    assert b"#sha256=" not in html and b"plain-1.0-py3-none-any.whl" in html
    _, _, body = _get(f"{index.url}/plain/", {"Accept": JSON_TYPE})
    assert json.loads(body)["files"][0]["hashes"] == {}
