"""pinlock.digests: one pass, any algorithm, pip's any-of rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pinlock.digests import (
    Hasher,
    check_all_digests,
    check_digests,
    file_digest,
    file_record_digest,
    group_digests,
    record_digest,
)
from pinlock.errors import HashMismatch


def test_file_digest(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert file_digest(path) == "sha256:" + hashlib.sha256(b"x" * 3_000_000).hexdigest()
    assert file_digest(path, "sha512").startswith("sha512:")


def test_any_expected_digest_passes_in_any_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    sha512 = hashlib.sha512(b"data").hexdigest()
    sha256 = "sha256:" + hashlib.sha256(b"data").hexdigest()
    assert check_digests("f", path, [f"sha512:{sha512.upper()}", "sha256:" + "0" * 64]) == sha256
    assert check_digests("f", path, []) == sha256


def test_a_wrong_sha512_alone_fails(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    with pytest.raises(HashMismatch) as info:
        check_digests("f", path, ["sha512:" + "0" * 128])
    assert info.value.actual.startswith("sha512:")


def test_unknown_algorithms_neither_pass_nor_fail() -> None:
    assert group_digests(["nosuch:00", "SHA256:AB", "md5:"]) == {"sha256": {"ab"}}
    hasher = Hasher(["nosuch:00"])
    hasher.update(b"abc")
    assert hasher.check("x") == "sha256:" + hashlib.sha256(b"abc").hexdigest()


def test_check_all_digests_needs_every_one() -> None:
    good = hashlib.sha256(b"m").hexdigest()
    check_all_digests("m", b"m", {"sha256": good, "nosuch": "zz"})
    with pytest.raises(HashMismatch):
        check_all_digests("m", b"m", {"sha256": good, "sha512": "00"})


def test_record_digest() -> None:
    assert record_digest(b"") == "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"


def test_file_record_digest_in_the_rows_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    assert f"sha256={file_record_digest(path, 'sha256')}" == record_digest(b"")
    assert file_record_digest(path, "sha512").startswith("z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg")
    with pytest.raises(ValueError):
        file_record_digest(path, "no-such-algorithm")
