"""An on-disk cache of immutable things (metadata of a pinned file, digests of a URL's bytes).

Distribution files themselves live in the artifact store under ``<root>/files``
(``pinlock.store``), built on this cache.

Entries never change once written, so readers need no locks: a writer fills a temporary file in
the entry's folder and renames it into place, and two processes writing the same entry both
write the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import platformdirs

__all__ = ["Cache"]

_HEX_DIGEST = re.compile(r"[0-9a-f]{32,128}")
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class Cache:
    """Byte blobs filed by bucket (a kind of thing) and key (which one)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(platformdirs.user_cache_dir("pinlock")) if root is None else Path(root)

    def path(self, bucket: str, key: str) -> Path:
        """Where the entry lives; keys that are not already hex digests are hashed."""
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"bad cache bucket name: {bucket!r}")
        name = key if _HEX_DIGEST.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()
        # One join: a run asks for hundreds of entries, and each / of a Path costs.
        return self.root / f"{bucket}/{name[:2]}/{name[2:]}"

    def get(self, bucket: str, key: str) -> bytes | None:
        try:
            return self.path(bucket, key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, bucket: str, key: str, data: bytes) -> Path:
        target = self.path(bucket, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(tmp_name).replace(target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target
