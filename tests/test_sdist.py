"""Sdist metadata: trusted PKG-INFO, or the PEP 517 backend in an isolated environment."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from pinlock.compile.sdist import is_trusted_pkg_info, read_sdist_metadata, sdist_metadata
from pinlock.errors import BuildError, MetadataError
from tests.support.artifacts import make_sdist


def _requires(metadata: bytes) -> list[str]:
    prefix = b"Requires-Dist: "
    return [
        line[len(prefix) :].decode() for line in metadata.splitlines() if line.startswith(prefix)
    ]


def test_trusted_pkg_info_is_used_as_is(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path,
        "trusted",
        "1.0",
        requires_dist=["from-pkg-info"],
        dynamic=["License"],
        backend_requires_dist=["from-backend"],
    )
    metadata = sdist_metadata(sdist)
    assert _requires(metadata) == ["from-pkg-info"]
    assert b"Dynamic: License" in metadata


@pytest.mark.parametrize(
    "options",
    [
        {"metadata_version": "2.1"},
        {"dynamic": ["Requires-Dist"]},
        {"dynamic": ["requires-python"]},
        {"pkg_info": False},
    ],
    ids=["old-metadata-version", "dynamic-requires-dist", "dynamic-requires-python", "no-pkg-info"],
)
def test_untrusted_pkg_info_runs_the_backend(tmp_path: Path, options: dict[str, object]) -> None:
    sdist = make_sdist(
        tmp_path,
        "built",
        "2.0",
        requires_dist=["from-pkg-info"],
        backend_requires_dist=["from-backend"],
        **options,  # type: ignore[arg-type]
    )
    assert _requires(sdist_metadata(sdist)) == ["from-backend"]


def test_without_build_isolation(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "plain", "1.0", pkg_info=False, backend_requires_dist=["x>1"])
    assert _requires(sdist_metadata(sdist, build_isolation=False)) == ["x>1"]


def test_zip_sdists_and_cached_files_without_a_suffix(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "zipped", "1.0", requires_dist=["a"], archive_format="zip")
    assert _requires(sdist_metadata(sdist)) == ["a"]
    tarball = make_sdist(tmp_path, "cached", "1.0", pkg_info=False, backend_requires_dist=["b"])
    anonymous = tmp_path / "0f3a9c"
    tarball.rename(anonymous)
    assert _requires(sdist_metadata(anonymous, name="cached-1.0.tar.gz")) == ["b"]


def test_trust_rules() -> None:
    base = b"Metadata-Version: 2.2\nName: x\nVersion: 1\n"
    assert is_trusted_pkg_info(base)
    assert is_trusted_pkg_info(base + b"Dynamic: Summary\n")
    assert not is_trusted_pkg_info(base + b"Dynamic: Requires-Dist\n")
    assert not is_trusted_pkg_info(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n")
    assert not is_trusted_pkg_info(b"Metadata-Version: 2.4\nName: x\n")
    assert not is_trusted_pkg_info(b"Metadata-Version: junk\nName: x\nVersion: 1\n")


@pytest.mark.parametrize("member", ["../escape.txt", "/tmp/absolute.txt", "top/../../up.txt"])
def test_path_traversal_is_refused(tmp_path: Path, member: str) -> None:
    sdist = make_sdist(tmp_path, "evil", "1.0", pkg_info=False, extra_members={member: b"x"})
    with pytest.raises(MetadataError, match="outside the sdist"):
        sdist_metadata(sdist)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_links_in_the_archive_are_not_extracted(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "linked", "1.0", pkg_info=False, backend_requires_dist=["y"])
    with tarfile.open(sdist) as source:
        members = [(info, source.extractfile(info)) for info in source.getmembers()]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as target:
            for info, handle in members:
                target.addfile(info, handle)
            link = tarfile.TarInfo("linked-1.0/passwd")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            target.addfile(link)
    sdist.write_bytes(buffer.getvalue())
    assert _requires(sdist_metadata(sdist)) == ["y"]


def test_backend_failure_carries_its_output(tmp_path: Path) -> None:
    failing_backend = (
        b"import sys\n"
        b"def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        b"    print('the backend explains what went wrong')\n"
        b"    sys.stdout.flush()\n"
        b"    raise RuntimeError('boom')\n"
    )
    sdist = make_sdist(
        tmp_path,
        "failing",
        "1.0",
        pkg_info=False,
        extra_members={"failing-1.0/tinybackend.py": failing_backend},
    )
    with pytest.raises(BuildError) as caught:
        sdist_metadata(sdist)
    assert caught.value.what == "failing-1.0.tar.gz"
    assert "the backend explains what went wrong" in caught.value.output
    assert "boom" in caught.value.output


def test_uninstallable_build_requirements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # fail fast and offline
    pyproject = (
        b'[build-system]\nrequires = ["pinlock-no-such-backend-pkg"]\n'
        b'build-backend = "tinybackend"\nbackend-path = ["."]\n'
    )
    sdist = make_sdist(
        tmp_path,
        "needy",
        "1.0",
        pkg_info=False,
        extra_members={"needy-1.0/pyproject.toml": pyproject},
    )
    with pytest.raises(BuildError) as caught:
        sdist_metadata(sdist)
    assert "pinlock-no-such-backend-pkg" in caught.value.output


def test_not_an_archive(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus-1.0.tar.gz"
    bogus.write_bytes(b"plain text, not gzip")
    with pytest.raises(MetadataError, match="not a readable sdist archive"):
        sdist_metadata(bogus)


def test_backend_output_and_warnings_are_returned_not_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    noisy_backend = (
        b"import warnings\n"
        b"import tinybackend\n"
        b"build_wheel = tinybackend.build_wheel\n"
        b"def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        b"    print('noisy backend says hello')\n"
        b"    warnings.warn('License classifiers are deprecated', UserWarning)\n"
        b"    return tinybackend.prepare_metadata_for_build_wheel(metadata_directory)\n"
    )
    pyproject = (
        b'[build-system]\nrequires = []\nbuild-backend = "noisybackend"\nbackend-path = ["."]\n'
    )
    sdist = make_sdist(
        tmp_path,
        "noisy",
        "1.0",
        pkg_info=False,
        backend_requires_dist=["quiet-dep"],
        extra_members={
            "noisy-1.0/noisybackend.py": noisy_backend,
            "noisy-1.0/pyproject.toml": pyproject,
        },
    )
    found = read_sdist_metadata(sdist, build_isolation=False)
    assert found.built
    assert _requires(found.data) == ["quiet-dep"]
    assert "noisy backend says hello" in found.output
    assert "BuildBackendWarning: License classifiers are deprecated" in found.output
    printed = capfd.readouterr()
    assert "noisy backend" not in printed.out + printed.err
    assert "deprecated" not in printed.out + printed.err
