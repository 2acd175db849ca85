"""``--uploaded-prior-to`` (pip 26, pip-compile) / ``--exclude-newer`` (uv): files by upload time.

A lock made with a cut-off holds only files an index says were uploaded before it, so a
release published after the cut-off (a compromised one, or one too fresh to trust) cannot get
in. The upload times are PEP 700's ``upload-time`` of PEP 691 JSON pages; an index that serves
HTML alone states none, and then the run stops rather than guess, as pip does. Local files
(``file:`` find-links and indexes) are never filtered: nobody uploaded them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from pinlock.errors import ConfigError
from pinlock.index.models import DistFile
from pinlock.urls import is_file_url, redact_url

__all__ = ["parse_cutoff", "uploaded_before"]

_DAYS = re.compile(r"P(\d+)D", re.IGNORECASE)


def parse_cutoff(
    text: str, *, source: str, key: str = "uploaded-prior-to", now: datetime | None = None
) -> datetime:
    """The moment ``text`` names, as pip reads ``--uploaded-prior-to``: an ISO 8601 date or
    date and time (local time when it has no offset, ``Z`` for UTC), or ``P<n>D`` for ``n``
    days before ``now``. ``source`` and ``key`` say where it was set, in a ``ConfigError``."""
    value = text.strip()
    days = _DAYS.fullmatch(value)
    if days is not None:
        return (now or datetime.now(timezone.utc)) - timedelta(days=int(days.group(1)))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        expected = (
            "expected an ISO 8601 date or time (2025-01-31, 2025-01-31T12:00:00Z) or P<n>D "
            "(n days ago)"
        )
        reason = expected if key == text else f"{text!r}: {expected}"
        raise ConfigError(source, key, reason) from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def uploaded_before(files: Iterable[DistFile], cutoff: datetime) -> list[DistFile]:
    """The files uploaded before ``cutoff``; local files all. A remote file whose index states
    no upload time is a ``ConfigError``: the cut-off cannot be honoured for it."""
    kept = []
    for dist in files:
        if is_file_url(dist.url):
            kept.append(dist)
            continue
        uploaded = dist.upload_time
        if uploaded is None:
            raise ConfigError(
                "--uploaded-prior-to",
                redact_url(dist.source),
                f"this index states no upload time for {dist.filename}: the option needs "
                "upload times (PEP 700 upload-time in PEP 691 JSON pages, as PyPI serves them)",
            )
        if uploaded.tzinfo is None:
            uploaded = uploaded.replace(tzinfo=timezone.utc)  # PEP 700 times are UTC
        if uploaded < cutoff:
            kept.append(dist)
    return kept
