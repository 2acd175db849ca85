"""Core metadata parsing and fetching, against real wheels and sdists on a local index."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.cache import Cache
from pinlock.compile.metadata import MetadataFetcher
from pinlock.coremetadata import CoreMetadata, parse_metadata
from pinlock.errors import BuildError, HashMismatch, MetadataError
from pinlock.index.config import IndexSettings
from pinlock.index.http import HttpSession
from pinlock.index.models import DistFile, FileKind
from pinlock.index.pages import parse_html
from pinlock.store import ArtifactStore
from tests.support.artifacts import make_sdist, make_wheel
from tests.support.index_server import IndexServer

# -- parse_metadata -------------------------------------------------------------------------


def test_parse_metadata_fields() -> None:
    text = (
        "Metadata-Version: 2.3\n"
        "Name: Foo.Bar\n"
        "Version: 2.5.1+cu121\n"
        "Summary: something\n"
        "X-Unknown-Field: whatever\n"
        "Requires-Python: >=3.9\n"
        "Provides-Extra: Fancy_CLI\n"
        "Dynamic: License\n"
        "Requires-Dist: idna>=3\n"
        'Requires-Dist: rich; extra == "fancy-cli"\n'
        "\n"
        "Long description\nRequires-Dist: not-a-header\n"
    )
    metadata = parse_metadata(text.encode(), what="foo")
    assert metadata == CoreMetadata(
        name=canonicalize_name("foo-bar"),
        display_name="Foo.Bar",
        version=Version("2.5.1+cu121"),
        requires_dist=(Requirement("idna>=3"), Requirement('rich; extra == "fancy-cli"')),
        requires_python=SpecifierSet(">=3.9"),
        provides_extra=frozenset({canonicalize_name("fancy-cli")}),
        dynamic=frozenset({"license"}),
    )
    assert parse_metadata(text, what="foo") == metadata
    # Windows line endings alike: the body is never read as header fields.
    assert parse_metadata(text.replace("\n", "\r\n").encode(), what="foo") == metadata


def test_parse_metadata_minimal() -> None:
    metadata = parse_metadata(b"Metadata-Version: 1.0\nName: x\nVersion: 1\n", what="x")
    assert metadata.requires_dist == ()
    assert metadata.requires_python is None
    assert metadata.provides_extra == frozenset()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Metadata-Version: 2.1\nVersion: 1.0\n", "no Name field"),
        ("Metadata-Version: 2.1\nName: x\n", "no Version field"),
        ("Metadata-Version: 2.1\nName: x\nVersion: banana\n", "invalid Version 'banana'"),
        (
            "Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Dist: idna >>= 3\n",
            "invalid Requires-Dist 'idna >>= 3'",
        ),
        (
            "Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Python: three\n",
            "invalid Requires-Python 'three'",
        ),
    ],
)
def test_parse_metadata_errors(text: str, reason: str) -> None:
    with pytest.raises(MetadataError) as caught:
        parse_metadata(text, what="x-1.0.whl")
    assert caught.value.what == "x-1.0.whl"
    assert reason in caught.value.reason
    assert "x-1.0.whl" in str(caught.value)


# -- fetching -------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[HttpSession]:
    http = HttpSession(IndexSettings(retries=0))
    yield http
    http.close()


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def _dists(client: HttpSession, index: IndexServer, project: str) -> list[DistFile]:
    page_url = f"{index.url}/{project}/"
    response = client.get(page_url)
    assert response.status == 200
    return parse_html(
        response.body, page_url=page_url, source=index.url, project=canonicalize_name(project)
    )


def _only(dists: list[DistFile], filename: str) -> DistFile:
    (found,) = [dist for dist in dists if dist.filename == filename]
    return found


def _file_requests(index: IndexServer, filename: str) -> list[str]:
    return [r.path for r in index.requests if r.path.startswith(f"/files/{filename}")]


def test_pep658_metadata_file_is_used_first(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    wheel = make_wheel(files_dir, "alpha", "1.0", requires_dist=["idna"], padding=100_000)
    index = index_factory(metadata_files=True)
    dist = _only(_dists(client, index, "alpha"), wheel.name)
    assert dist.metadata_url is not None
    index.clear_log()

    metadata = MetadataFetcher(client, cache).fetch(dist)

    assert metadata.requires_dist == (Requirement("idna"),)
    assert _file_requests(index, wheel.name) == [f"/files/{wheel.name}.metadata"]
    assert index.bytes_sent(wheel.name) == 0


def test_pep658_digest_mismatch_is_an_error(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    wheel = make_wheel(files_dir, "alpha", "1.0")
    index = index_factory(metadata_files=True)
    dist = _only(_dists(client, index, "alpha"), wheel.name)
    tampered = _replace(dist, metadata_hashes={"sha256": "0" * 64})
    with pytest.raises(HashMismatch):
        MetadataFetcher(client, cache).fetch(tampered)


def test_range_reads_when_no_metadata_file(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    wheel = make_wheel(files_dir, "big", "2.0+cu121", requires_python=">=3.9", padding=3_000_000)
    index = index_factory()
    dist = _only(_dists(client, index, "big"), wheel.name)
    assert dist.metadata_url is None
    index.clear_log()

    metadata = MetadataFetcher(client, cache).fetch(dist)

    assert metadata.version == Version("2.0+cu121")
    assert metadata.requires_python == SpecifierSet(">=3.9")
    assert len(_file_requests(index, wheel.name)) <= 2
    assert index.bytes_sent(wheel.name) < 100_000 < wheel.stat().st_size


def test_full_download_when_ranges_are_ignored_and_disk_cache(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    wheel = make_wheel(files_dir, "whole", "1.0", requires_dist=["six"], padding=50_000)
    index = index_factory(ranges=False)
    dist = _only(_dists(client, index, "whole"), wheel.name)
    index.clear_log()

    fetcher = MetadataFetcher(client, cache)
    metadata = fetcher.fetch(dist)
    assert metadata.requires_dist == (Requirement("six"),)
    # one range probe (answered with the whole file, which the client drops), one download
    ranges = [r.range_header for r in index.requests_for(wheel.name)]
    assert ranges == ["bytes=-65536", None]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert ArtifactStore(cache).path(digest, wheel.name).read_bytes() == wheel.read_bytes()

    index.clear_log()
    assert fetcher.fetch(dist) is metadata  # memo
    assert MetadataFetcher(client, cache).fetch(dist) == metadata  # disk cache
    assert index.requests == []


def test_disk_cache_key_uses_another_digest_when_sha256_is_unknown(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    # The index gives only sha512: a file replaced under the same URL is a new cache entry.
    def listed_with_sha512() -> DistFile:
        (dist,) = _dists(client, index, "swapped")
        sha512 = hashlib.sha512(wheel.read_bytes()).hexdigest()
        return _replace(dist, hashes={"sha512": sha512})

    wheel = make_wheel(files_dir, "swapped", "1.0", requires_dist=["first"])
    index = index_factory()
    before = MetadataFetcher(client, cache).fetch(listed_with_sha512())
    assert before.requires_dist == (Requirement("first"),)
    make_wheel(files_dir, "swapped", "1.0", requires_dist=["second"])
    after = MetadataFetcher(client, cache).fetch(listed_with_sha512())
    assert after.requires_dist == (Requirement("second"),)


def test_full_download_ignores_digests_in_algorithms_it_cannot_compute(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    # PEP 691 allows any algorithm name; one hashlib lacks cannot fail the download.
    wheel = make_wheel(files_dir, "odd", "1.0", requires_dist=["six"])
    index = index_factory(ranges=False)
    (listed,) = _dists(client, index, "odd")
    sha512 = hashlib.sha512(wheel.read_bytes()).hexdigest()
    dist = _replace(listed, hashes={"blake3": "ab" * 32, "sha512": sha512})
    assert MetadataFetcher(client, cache).fetch(dist).requires_dist == (Requirement("six"),)
    only_unknown = _replace(listed, url=listed.url + "?again", hashes={"blake3": "ab" * 32})
    assert MetadataFetcher(client, cache).fetch(only_unknown).requires_dist == (Requirement("six"),)


def test_concurrent_fetches_read_once(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    wheel = make_wheel(files_dir, "shared", "1.0")
    index = index_factory(metadata_files=True)
    dist = _only(_dists(client, index, "shared"), wheel.name)
    index.clear_log()
    fetcher = MetadataFetcher(client, cache)
    results: list[CoreMetadata] = []
    threads = [
        threading.Thread(target=lambda: results.append(fetcher.fetch(dist))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert len(index.requests) == 1


def test_metadata_that_names_another_version_is_an_error(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
    tmp_path: Path,
) -> None:
    built = make_wheel(tmp_path / "build", "liar", "1.0")
    built.rename(files_dir / "liar-2.0-py3-none-any.whl")
    index = index_factory()
    (dist,) = _dists(client, index, "liar")
    with pytest.raises(MetadataError, match=r"liar 2\.0 but its metadata says liar 1\.0"):
        MetadataFetcher(client, cache).fetch(dist)


def test_bad_requires_dist_in_a_wheel(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    make_wheel(files_dir, "broken", "1.0", requires_dist=["ok", "not valid ((("])
    index = index_factory(metadata_files=True)
    (dist,) = _dists(client, index, "broken")
    with pytest.raises(MetadataError, match="not valid"):
        MetadataFetcher(client, cache).fetch(dist)


def test_file_urls_are_read_locally(client: HttpSession, cache: Cache, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "local-thing", "1.0", requires_dist=["idna"])
    sdist = make_sdist(tmp_path, "local-thing", "0.9", requires_dist=["six"])
    fetcher = MetadataFetcher(client, cache)
    for path, requirement in ((wheel, "idna"), (sdist, "six")):
        dist = _file_dist(path)
        assert fetcher.fetch(dist).requires_dist == (Requirement(requirement),)


def test_file_urls_of_folders_with_percent_signs(
    client: HttpSession, cache: Cache, tmp_path: Path
) -> None:
    # "%2B" in a folder's name is literal: the URL quotes it once, and it is unquoted once.
    folder = tmp_path / "wheels%2Bcpu"
    folder.mkdir()
    (tmp_path / "wheels+cpu").mkdir()
    wheel = make_wheel(folder, "local-thing", "2.5.1+cpu", requires_dist=["idna"])
    dist = _file_dist(wheel)
    assert MetadataFetcher(client, cache).fetch(dist).requires_dist == (Requirement("idna"),)


def test_sdists_from_the_index(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    trusted = make_sdist(
        files_dir, "src-pkg", "1.0", requires_dist=["from-pkg-info"], backend_requires_dist=["x"]
    )
    built = make_sdist(
        files_dir,
        "src-pkg",
        "2.0",
        requires_dist=["from-pkg-info"],
        dynamic=["Requires-Dist"],
        backend_requires_dist=["from-backend"],
    )
    index = index_factory()
    dists = _dists(client, index, "src-pkg")
    fetcher = MetadataFetcher(client, cache)
    assert fetcher.fetch(_only(dists, trusted.name)).requires_dist == (
        Requirement("from-pkg-info"),
    )
    assert fetcher.fetch(_only(dists, built.name)).requires_dist == (Requirement("from-backend"),)


# -- local source trees ---------------------------------------------------------------------


def test_static_pyproject_needs_no_build(client: HttpSession, cache: Cache, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[build-system]\n"
        'requires = ["this-backend-does-not-exist"]\n'
        'build-backend = "nowhere"\n'
        "[project]\n"
        'name = "My_App"\n'
        'version = "0.3"\n'
        'requires-python = ">=3.10"\n'
        'dependencies = ["idna>=3"]\n'
        'dynamic = ["readme"]\n'
        "[project.optional-dependencies]\n"
        'Dev = ["pytest; python_version >= \'3.11\'", "ruff"]\n'
    )
    metadata = MetadataFetcher(client, cache).for_source_tree(tmp_path)
    assert metadata.name == "my-app"
    assert metadata.version == Version("0.3")
    assert metadata.requires_python == SpecifierSet(">=3.10")
    assert metadata.provides_extra == frozenset({"dev"})
    assert metadata.dynamic == frozenset({"readme"})
    assert [str(r) for r in metadata.requires_dist] == [
        "idna>=3",
        'pytest; python_version >= "3.11" and extra == "dev"',
        'ruff; extra == "dev"',
    ]


def test_dynamic_dependencies_use_the_backend(
    client: HttpSession, cache: Cache, tmp_path: Path
) -> None:
    from tests.support.artifacts import sdist_tree

    pyproject = (
        "[build-system]\n"
        "requires = []\n"
        'build-backend = "tinybackend"\n'
        'backend-path = ["."]\n'
        "[project]\n"
        'name = "dyn"\n'
        'version = "1.0"\n'
        'dynamic = ["dependencies"]\n'
    )
    tree = sdist_tree("dyn", "1.0", requires_dist=["from-backend"], pyproject=pyproject)
    for relative, data in tree.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(data)
    metadata = MetadataFetcher(client, cache).for_source_tree(tmp_path)
    assert metadata.requires_dist == (Requirement("from-backend"),)


# -- helpers --------------------------------------------------------------------------------


def _replace(dist: DistFile, **changes: object) -> DistFile:
    import dataclasses

    return dataclasses.replace(dist, **changes)  # type: ignore[arg-type]


def _file_dist(path: Path) -> DistFile:
    from pinlock.index.models import parse_dist_filename

    parsed = parse_dist_filename(path.name)
    assert parsed is not None
    name, version, kind, tags = parsed
    return DistFile(
        name=name,
        version=version,
        filename=path.name,
        url=path.as_uri(),
        kind=kind,
        source=path.parent.as_uri(),
        wheel_tags=tags if kind is FileKind.WHEEL else frozenset(),
        hashes={"sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
    )


def test_local_files_without_a_digest_are_not_cached_on_disk(
    client: HttpSession, cache: Cache, tmp_path: Path
) -> None:
    make_wheel(tmp_path, "rebuilt", "1.0", requires_dist=["first"])
    dist = _replace(_file_dist(tmp_path / "rebuilt-1.0-py3-none-any.whl"), hashes={})
    assert MetadataFetcher(client, cache).fetch(dist).requires_dist == (Requirement("first"),)
    make_wheel(tmp_path, "rebuilt", "1.0", requires_dist=["second"])
    assert MetadataFetcher(client, cache).fetch(dist).requires_dist == (Requirement("second"),)


# -- peek: cheap reads only; failures remembered ------------------------------------------


def test_peek_reads_ranges_but_never_downloads_or_builds(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
) -> None:
    ranged = make_wheel(files_dir, "ranged", "1.0", requires_dist=["six"], padding=200_000)
    built = make_sdist(files_dir, "built", "1.0", dynamic=["Requires-Dist"])
    with_ranges = index_factory()
    without_ranges = index_factory(ranges=False)
    fetcher = MetadataFetcher(client, cache)

    wheel = _only(_dists(client, with_ranges, "ranged"), ranged.name)
    peeked = fetcher.peek(wheel)
    assert peeked is not None and peeked.requires_dist == (Requirement("six"),)
    assert with_ranges.bytes_sent(ranged.name) < 100_000

    whole_only = _only(_dists(client, without_ranges, "ranged"), ranged.name)
    sdist = _only(_dists(client, without_ranges, "built"), built.name)
    without_ranges.clear_log()
    # Without its digest the same wheel is not the one read above (metadata is keyed by sha256).
    assert fetcher.peek(_replace(whole_only, hashes={})) is None
    assert fetcher.peek(sdist) is None
    assert [r.range_header for r in without_ranges.requests_for(ranged.name)] == ["bytes=-65536"]
    assert without_ranges.requests_for(built.name) == []
    assert fetcher.build_output(sdist) is None


def test_peek_waits_for_another_threads_read_of_the_same_file(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The prefetcher's walk goes on from a file the resolver is reading at that moment: its
    # peek waits for that read's answer instead of giving up (and leaving the file's
    # dependencies unwalked).
    wheel_file = make_wheel(files_dir, "shared", "1.0", requires_dist=["six"])
    index = index_factory()
    wheel = _only(_dists(client, index, "shared"), wheel_file.name)
    fetcher = MetadataFetcher(client, cache)
    reading, release = threading.Event(), threading.Event()
    real_load = MetadataFetcher._load

    def slow_load(self: MetadataFetcher, *args: object, **kwargs: object) -> object:
        reading.set()
        release.wait(10)
        return real_load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MetadataFetcher, "_load", slow_load)
    fetched: list[CoreMetadata] = []
    reader = threading.Thread(target=lambda: fetched.append(fetcher.fetch(wheel)))
    reader.start()
    assert reading.wait(10)
    peeked: list[CoreMetadata | None] = []
    peeker = threading.Thread(target=lambda: peeked.append(fetcher.peek(wheel)))
    peeker.start()
    peeker.join(0.3)
    assert peeker.is_alive()  # waiting for the read under way, not answering None
    release.set()
    reader.join(10)
    peeker.join(10)
    assert peeked == fetched
    assert fetched[0].requires_dist == (Requirement("six"),)
    assert len(index.requests_for(wheel_file.name)) == 1


def test_a_failed_build_is_remembered_for_the_run(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = tmp_path / "attempts"
    monkeypatch.setenv("BACKEND_ATTEMPTS_FILE", str(attempts))
    failing_backend = (
        b"import os\n"
        b"def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        b"    with open(os.environ['BACKEND_ATTEMPTS_FILE'], 'a') as log:\n"
        b"        log.write('build\\n')\n"
        b"    raise RuntimeError('old setup.py')\n"
    )
    sdist = make_sdist(
        files_dir,
        "broken",
        "1.0",
        pkg_info=False,
        extra_members={"broken-1.0/tinybackend.py": failing_backend},
    )
    index = index_factory()
    dist = _only(_dists(client, index, "broken"), sdist.name)
    fetcher = MetadataFetcher(client, cache, build_isolation=False)
    for _ in range(3):
        with pytest.raises(BuildError, match=r"could not build broken-1\.0\.tar\.gz"):
            fetcher.fetch(dist)
    assert fetcher.peek(dist) is None
    assert attempts.read_text() == "build\n"


def test_builds_with_the_same_build_requirements_share_one_environment(
    files_dir: Path,
    index_factory: Callable[..., IndexServer],
    client: HttpSession,
    cache: Cache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_wheel(files_dir, "buildhelper", "1.0")
    pyproject = (
        b'[build-system]\nrequires = ["buildhelper"]\n'
        b'build-backend = "tinybackend"\nbackend-path = ["."]\n'
    )
    sdists = [
        make_sdist(
            files_dir,
            name,
            "1.0",
            pkg_info=False,
            backend_requires_dist=[f"dep-of-{name}"],
            extra_members={f"{name}-1.0/pyproject.toml": pyproject},
        )
        for name in ("first", "second")
    ]
    index = index_factory()
    monkeypatch.setenv("PIP_INDEX_URL", index.url)  # where the build environment's pip looks
    fetcher = MetadataFetcher(client, cache)
    try:
        for sdist in sdists:
            project = sdist.name.split("-")[0]
            metadata = fetcher.fetch(_only(_dists(client, index, project), sdist.name))
            assert metadata.requires_dist == (Requirement(f"dep-of-{project}"),)
    finally:
        fetcher.close()
    # buildhelper was installed once, into one environment used by both builds.
    assert len(index.requests_for("buildhelper-1.0-py3-none-any.whl")) == 1
