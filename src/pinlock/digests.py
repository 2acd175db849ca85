"""File digests: what a lock's ``--hash`` lines and an index's ``#sha256=`` fragments name.

Digests are written ``algorithm:hex`` (pip's ``--hash`` form). A file matches a set of expected
digests when any one of them is its own, as pip's ``--require-hashes`` decides; algorithms this
Python cannot compute are left out of that decision (they can neither pass nor fail a file).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from pinlock.errors import HashMismatch

__all__ = [
    "STRONG_ALGORITHMS",
    "Hasher",
    "check_all_digests",
    "check_digests",
    "check_stream",
    "file_digest",
    "file_record_digest",
    "group_digests",
    "record_digest",
]

_CHUNK = 1 << 20
# Strongest first: which algorithm names a file's bytes when sha256 is not among those given.
STRONG_ALGORITHMS = ("sha256", "sha512", "sha384", "blake2b", "sha3_512", "sha3_384", "sha3_256")


def group_digests(expected: Iterable[str]) -> dict[str, set[str]]:
    """``algorithm:hex`` strings grouped by (lower-case) algorithm; unknown algorithms dropped."""
    grouped: dict[str, set[str]] = {}
    for text in expected:
        algorithm, _, value = text.partition(":")
        algorithm = algorithm.strip().lower()
        if algorithm in hashlib.algorithms_available and value.strip():
            grouped.setdefault(algorithm, set()).add(value.strip().lower())
    return grouped


class Hasher:
    """Digests of a stream in sha256 and every algorithm of ``expected``, in one pass."""

    def __init__(self, expected: Iterable[str] = ()) -> None:
        self.expected = tuple(expected)
        self._wanted = group_digests(self.expected)
        self._hashes = {name: hashlib.new(name) for name in {"sha256", *self._wanted}}

    def update(self, chunk: bytes) -> None:
        for digest in self._hashes.values():
            digest.update(chunk)

    @property
    def sha256(self) -> str:
        """``sha256:<hex>`` of what was read so far."""
        return f"sha256:{self._hashes['sha256'].hexdigest()}"

    def check(self, what: str) -> str:
        """``sha256:<hex>``, after checking the bytes against ``expected`` (HashMismatch)."""
        actual = {name: digest.hexdigest() for name, digest in self._hashes.items()}
        if self._wanted and not any(actual[a] in values for a, values in self._wanted.items()):
            # Report the digest in an algorithm the caller gave: sha256 when it is one.
            shown = "sha256" if "sha256" in self._wanted else sorted(self._wanted)[0]
            raise HashMismatch(what, self.expected, f"{shown}:{actual[shown]}")
        return self.sha256


def _hash_file(path: Path, algorithm: str) -> hashlib._Hash:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """``algorithm:<hex>`` of the file at ``path``."""
    return f"{algorithm}:{_hash_file(path, algorithm).hexdigest()}"


def file_record_digest(path: Path, algorithm: str) -> str:
    """The file's digest as a wheel's RECORD row gives it after ``algorithm=``: urlsafe base64
    without padding. ValueError for an algorithm this Python cannot compute."""
    return base64.urlsafe_b64encode(_hash_file(path, algorithm).digest()).rstrip(b"=").decode()


def check_digests(what: str, path: Path, expected: Iterable[str]) -> str:
    """The file's ``sha256:<hex>``, after checking it against ``expected`` as pip would."""
    with path.open("rb") as handle:
        return check_stream(what, handle, expected)


def check_stream(what: str, handle: BinaryIO, expected: Iterable[str]) -> str:
    """``check_digests`` of what is left to read from ``handle``: for a caller that goes on
    reading the same open file, so that what it reads is what was checked."""
    hasher = Hasher(expected)
    while chunk := handle.read(_CHUNK):
        hasher.update(chunk)
    return hasher.check(what)


def check_all_digests(what: str, data: bytes, expected: Mapping[str, str]) -> None:
    """Check ``data`` against *every* digest of ``expected`` (``{algorithm: hex}``) that this
    Python can compute: an index's statement about one file (a PEP 658 ``.metadata`` file)."""
    for algorithm, digest in expected.items():
        name = algorithm.lower()
        if name not in hashlib.algorithms_available:
            continue
        actual = hashlib.new(name, data).hexdigest()
        if actual != digest.lower():
            raise HashMismatch(what, [f"{name}:{digest.lower()}"], f"{name}:{actual}")


def record_digest(data: bytes) -> str:
    """The ``sha256=<urlsafe-base64>`` form a wheel's RECORD uses."""
    encoded = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={encoded}"
