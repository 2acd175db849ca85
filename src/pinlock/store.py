"""The artifact store: every distribution file this machine downloaded or built, kept once.

Layout: ``<cache>/files/<sha256>/<filename>``, the one place compile (a file read for its
metadata, or for its digest) and sync (a file to install, a wheel built from an sdist) keep
files, so each is downloaded once per machine. An entry is taken out only after its bytes are
read again and found to have the digest that names it; a damaged entry is removed and fetched
anew, never used.

Entries are written whole: a file is downloaded (or copied) into a staging folder beside the
entries, checked, then renamed into place, and the staging folder goes whatever happens. Two
processes storing the same file write the same bytes, so readers need no locks.

Besides files, the store remembers two kinds of pointers (small cache entries, each checked
through the file it names): the digest of a remote URL whose index gave none (``fetch``), and
named entries such as "the wheel built from the sdist with this digest for this interpreter"
(``remember`` / ``recall``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pinlock.cache import Cache
from pinlock.digests import Hasher, group_digests
from pinlock.errors import HashMismatch, StorageError
from pinlock.urls import is_file_url, strip_userinfo

__all__ = ["ArtifactStore", "Download"]

# (url, destination, expected digests) -> "sha256:<hex>" of what was written; raises on mismatch.
Download = Callable[[str, Path, Sequence[str]], str]

_FILES = "files"
_URL_DIGESTS = "url-digests"
_NAMED = "named-files"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


class ArtifactStore:
    """Files by sha256 in a ``Cache``; thread-safe, and safe to share between processes."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.root = cache.root / _FILES
        self._guard = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def path(self, sha256: str, filename: str) -> Path:
        """Where the file with this (hex) sha256 and name lives, whether or not it is there."""
        sha256 = sha256.lower()
        if not _SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
            raise ValueError(f"not a plain file name: {filename!r}")
        return self.root / sha256 / filename

    def lookup(self, sha256: str, filename: str, *, expected: Sequence[str] = ()) -> Path | None:
        """The stored file, once its bytes are found to have that sha256 (and to match one of
        ``expected``, when given); None when absent. A damaged entry is removed."""
        path = self.path(sha256, filename)
        if not path.is_file():
            return None
        hasher = Hasher(expected)
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
        except OSError:
            return None
        if hasher.sha256 != f"sha256:{sha256.lower()}":
            path.unlink(missing_ok=True)
            return None
        try:
            hasher.check(filename)
        except HashMismatch:
            return None  # a sound entry, but not the file these digests want
        return path

    def find_wheel(self, expected: Sequence[str]) -> Path | None:
        """A stored wheel whose sha256 is one of ``expected``, checked; None if there is none
        (what ``--check`` reads a wheel's metadata from, without the network)."""
        for sha256 in sorted(group_digests(expected).get("sha256", ())):
            if not _SHA256_HEX.fullmatch(sha256):
                continue
            try:
                names = sorted(entry.name for entry in (self.root / sha256).iterdir())
            except OSError:
                continue
            for name in names:
                if name.endswith(".whl") and not name.startswith("."):
                    path = self.lookup(sha256, name)
                    if path is not None:
                        return path
        return None

    def fetch(
        self, url: str, filename: str, download: Download, *, expected: Sequence[str] = ()
    ) -> tuple[Path, str]:
        """``(path, "sha256:<hex>")`` of the file at ``url``: from the store when a sha256 of
        ``expected`` (or the digest recorded for this URL) names a sound entry, else downloaded
        into it by ``download``, which checks ``expected``."""
        found = self._stored(url, filename, expected)
        if found is not None:
            return found
        with self._lock_for(_url_key(url)):
            # Another thread of this process may have fetched it meanwhile.
            found = self._stored(url, filename, expected)
            if found is not None:
                return found
            path, digest = self.add(filename, lambda dest: download(url, dest, expected))
            if not is_file_url(url):
                # Remote files do not change under their URL: the next run finds this one.
                self.cache.put(_URL_DIGESTS, _url_key(url), digest.encode())
            return path, digest

    def add(self, filename: str, write: Callable[[Path], str]) -> tuple[Path, str]:
        """Store the file ``write(staging_path)`` writes; ``write`` returns its
        ``"sha256:<hex>"``, computed from the bytes it wrote (and raises when they are not the
        ones wanted). Nothing is left behind when it fails. A folder or file that cannot be
        written (a full disk) is a ``StorageError`` naming it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # The process id in its name tells a later run whether the folder is stale.
            staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=self.root))
        except OSError as error:
            raise StorageError(self.root / filename, error) from error
        try:
            staged = staging / filename
            try:
                digest = write(staged)
            except StorageError as error:
                # Named by the store, not by its temporary folder, which is gone by now.
                raise StorageError(self.root / filename, error.error) from error
            algorithm, _, hex_digest = digest.partition(":")
            if algorithm != "sha256":
                raise ValueError(f"expected a sha256 digest, got {digest!r}")
            final = self.path(hex_digest, filename)
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                staged.replace(final)
            except OSError as error:
                raise StorageError(final, error) from error
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final, f"sha256:{hex_digest.lower()}"

    def add_file(self, source: Path) -> tuple[Path, str]:
        """Store a copy of a local file (a wheel built here); ``(path, "sha256:<hex>")``."""

        def copy(dest: Path) -> str:
            try:
                shutil.copyfile(source, dest)
            except OSError as error:
                raise StorageError(dest, error) from error
            hasher = Hasher()
            with dest.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
            return hasher.sha256

        return self.add(source.name, copy)

    def remember(self, key: str, digest: str, filename: str) -> None:
        """Name a stored file (``digest`` is ``"sha256:<hex>"``) by ``key``."""
        self.cache.put(_NAMED, key, f"{digest} {filename}".encode())

    def recall(self, key: str) -> tuple[Path, str] | None:
        """``(path, "sha256:<hex>")`` of the file named ``key``, checked; None if it is gone."""
        entry = self.cache.get(_NAMED, key)
        if entry is None:
            return None
        digest, _, filename = entry.decode("utf-8", "replace").partition(" ")
        algorithm, _, hex_digest = digest.partition(":")
        if algorithm != "sha256" or not _SHA256_HEX.fullmatch(hex_digest):
            return None
        with contextlib.suppress(ValueError):
            path = self.lookup(hex_digest, filename)
            if path is not None:
                return path, digest
        return None

    # -- internals -----------------------------------------------------------------------

    def _stored(self, url: str, filename: str, expected: Sequence[str]) -> tuple[Path, str] | None:
        candidates = sorted(group_digests(expected).get("sha256", ()))
        if not candidates and not is_file_url(url):
            recorded = self.cache.get(_URL_DIGESTS, _url_key(url))
            if recorded is not None:
                candidates = [recorded.decode("ascii", "replace").removeprefix("sha256:")]
        for sha256 in candidates:
            if not _SHA256_HEX.fullmatch(sha256):
                continue
            path = self.lookup(sha256, filename, expected=expected)
            if path is not None:
                return path, f"sha256:{sha256}"
        return None

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._key_locks.setdefault(key, threading.Lock())


def _url_key(url: str) -> str:
    # The same file whoever asks for it; and no secret goes into the cache, even hashed.
    return strip_userinfo(url)[0]
