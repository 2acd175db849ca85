"""An existing lock kept as it is: its packages re-made from a confirmed resolution, what
shaped it beyond its text, and why a lock would change, in words for ``--check``.

``pinlock.compile.confirm`` decides whether the pins hold; a cell (``pinlock.compile.cell``)
renders them with the lock's own hashes and keeps the lock when the text comes out the same.
What shapes a lock without showing in it (pip's configuration: its indexes, pre-releases,
binary choices; the target in full) and what the index said of the pins that the lock does not
say (which are yanked) are recorded in the cache under the lock's bytes (``remember_lock``). A
compile keeps a lock only under the record of its last run; ``--check`` judges a lock the cache
has no record of (a fresh clone) by its text alone, which is what a lock shared between machines
can promise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from pinlock.cache import Cache
from pinlock.compile.pins import PinSources, pin_location, project_root
from pinlock.compile.resolve import Resolution
from pinlock.flavour import Flavour
from pinlock.index.config import IndexSettings, PipConfiguration
from pinlock.lock.model import Lock, LockedPackage
from pinlock.target import Target
from pinlock.urls import redact_url

__all__ = [
    "LockRecord",
    "confirmed_packages",
    "context_digest",
    "lock_changes",
    "recall_lock",
    "remember_lock",
    "text_difference",
]

_RECORDS = "lock-records"
_NO_SOURCES = PinSources(fragment_hashes={}, vcs_urls={})


def confirmed_packages(
    resolution: Resolution, existing: Lock, *, lock_dir: Path
) -> tuple[LockedPackage, ...]:
    """The packages of a confirmed resolution as a lock lists them, with the hashes and
    indexes the existing lock gives them."""
    pins = {package.name: package for package in existing.packages}
    root = project_root(lock_dir)
    packages = []
    for package in resolution.packages:
        pin = pins.get(package.name)
        packages.append(
            LockedPackage(
                name=package.name,
                display_name=package.name,  # as compile writes them: canonical names
                version=package.version,
                url=pin_location(package, _NO_SOURCES, lock_dir, root),
                editable=package.editable,
                hashes=pin.hashes if pin is not None and not package.editable else (),
                via=package.via,
                index=pin.index if pin is not None else None,
            )
        )
    return tuple(packages)


def context_digest(
    settings: IndexSettings,
    pip: PipConfiguration,
    target: Target,
    flavour: Flavour | None,
    *,
    build_isolation: bool,
) -> str:
    """A digest of what shapes a lock of one cell without being written in it."""
    facts = {
        "indexes": [redact_url(url) for url in settings.index_urls],
        "find-links": [redact_url(link) for link in settings.find_links],
        "strategy": settings.index_strategy,
        "pip": [pip.pre, sorted(pip.only_binary), sorted(pip.no_binary), pip.prefer_binary],
        "target": [target.environment, [str(tag) for tag in target.tags], target.platform_open],
        "flavour": (
            [flavour.name, redact_url(flavour.index), sorted(flavour.packages)] if flavour else None
        ),
        "build-isolation": build_isolation,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class LockRecord:
    """What the cache keeps about a lock this machine wrote or confirmed: the ``context``
    digest it was made under, and its pins that are yanked (kept only while pinned with ==)."""

    context: str
    yanked: frozenset[NormalizedName] = frozenset()


def remember_lock(cache: Cache, text: str, record: LockRecord) -> None:
    """Record how the lock ``text`` was made (or confirmed)."""
    data = {"context": record.context, "yanked": sorted(record.yanked)}
    cache.put(_RECORDS, _text_key(text), json.dumps(data).encode())


def recall_lock(cache: Cache, text: str) -> LockRecord | None:
    """The record of the lock ``text``; None when this cache never saw it made."""
    data = cache.get(_RECORDS, _text_key(text))
    if data is None:
        return None
    try:
        found = json.loads(data)
        return LockRecord(
            context=str(found["context"]),
            yanked=frozenset(canonicalize_name(str(name)) for name in found["yanked"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def lock_changes(
    previous: str, new: str, old_lock: Lock | None, new_packages: Sequence[LockedPackage]
) -> str:
    """Why the lock ``previous`` is not ``new``, in a line: the pins that would change, else
    the first line of the text that would."""
    if old_lock is not None:
        pins = _pins(new_packages)
        old = _pins(old_lock.packages)
        changes = [
            f"{name} {old[name]} -> {pins[name]}"
            for name in old
            if name in pins and old[name] != pins[name]
        ]
        changes += [f"+{name} {pins[name]}" for name in pins if name not in old]
        changes += [f"-{name} {old[name]}" for name in old if name not in pins]
        if changes:
            return "pins would change: " + ", ".join(sorted(changes, key=lambda c: c.lstrip("+-")))
    return text_difference(previous, new)


def text_difference(previous: str, new: str) -> str:
    """The first difference between two lock texts, said as what it means."""
    old_lines, new_lines = previous.splitlines(), new.splitlines()
    number = next(
        (i for i, pair in enumerate(zip(old_lines, new_lines, strict=False)) if pair[0] != pair[1]),
        min(len(old_lines), len(new_lines)),
    )
    old = old_lines[number] if number < len(old_lines) else ""
    line = new_lines[number] if number < len(new_lines) else ""
    shown = f"{_quoted(old)} would be {_quoted(line)}"
    if old.startswith("#") and all(text.startswith("#") for text in old_lines[:number]):
        return f"option changed: the header's {shown}"
    if old.startswith("--") or line.startswith("--"):
        return f"option changed: the index options' {shown}"
    owner = next(
        (text for text in reversed(new_lines[: number + 1]) if text and not text[0].isspace()),
        line,
    )
    entry = owner.split(" ", 1)[0].split("==", 1)[0]
    return f"input line added or changed: the lock's entry for {entry}: {shown}"


def _pins(packages: Sequence[LockedPackage]) -> dict[str, str]:
    return {
        str(package.name): str(package.version if package.url is None else package.url)
        for package in packages
    }


def _quoted(line: str) -> str:
    return f"`{line.strip()}`" if line.strip() else "(nothing)"


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
