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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.cache import Cache
from pinlock.compile.pins import PinSources, pin_location, project_root
from pinlock.compile.request import PinChanges
from pinlock.compile.resolve import Constraint, Resolution, ResolvedPackage
from pinlock.digests import file_digest
from pinlock.flavour import Flavour
from pinlock.index.config import IndexSettings, PipConfiguration
from pinlock.lock.model import Lock, LockedPackage
from pinlock.pyproject import static_project_metadata
from pinlock.reqfile import ReqLine
from pinlock.target import Target
from pinlock.urls import local_path, redact_url, strip_userinfo

__all__ = [
    "LockRecord",
    "PinFacts",
    "confirmed_packages",
    "context_digest",
    "inputs_digest",
    "lock_changes",
    "pin_changes",
    "pin_facts",
    "recall_lock",
    "remember_lock",
    "text_difference",
]

_RECORDS = "lock-records"
_NO_SOURCES = PinSources(fragment_hashes={}, vcs_urls={})
# What a local project folder's metadata is read from.
_PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


# What a lock says of each pin besides its version and annotations: its hashes and the index
# it comes from (``# from``), by name.
PinFacts = Mapping[NormalizedName, tuple[tuple[str, ...], str | None]]


def pin_facts(
    packages: Iterable[LockedPackage],
) -> dict[NormalizedName, tuple[tuple[str, ...], str | None]]:
    return {package.name: (package.hashes, package.index) for package in packages}


def confirmed_packages(
    resolution: Resolution, pins: PinFacts, *, lock_dir: Path
) -> tuple[LockedPackage, ...]:
    """The packages of a confirmed resolution as a lock lists them, with the hashes and
    indexes the existing lock gives them (``pins``)."""
    root = project_root(lock_dir)
    packages = []
    for package in resolution.packages:
        hashes, index = pins.get(package.name, ((), None))
        packages.append(
            LockedPackage(
                name=package.name,
                display_name=package.name,  # as compile writes them: canonical names
                version=package.version,
                url=pin_location(package, _NO_SOURCES, lock_dir, root),
                editable=package.editable,
                hashes=() if package.editable else hashes,
                via=package.via,
                index=index,
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
    digest it was made under, its pins that are yanked (kept only while pinned with ==), and
    the resolution it holds for the inputs of digest ``inputs`` (``inputs_digest``) with the
    hashes and indexes it lists (``pins``), so a run with the same inputs needs neither
    metadata nor even to read the lock to keep it."""

    context: str
    yanked: frozenset[NormalizedName] = frozenset()
    inputs: str | None = None
    resolution: Resolution | None = None
    pins: PinFacts | None = None


def remember_lock(cache: Cache, text: str, record: LockRecord) -> None:
    """Record how the lock ``text`` was made (or confirmed)."""
    packages = record.resolution.packages if record.resolution is not None else None
    data = {
        "context": record.context,
        "yanked": sorted(record.yanked),
        "inputs": record.inputs,
        "packages": None
        if packages is None
        else [
            [p.name, p.display_name, str(p.version), list(p.via), p.link, p.editable]
            for p in packages
        ],
        "pins": None
        if record.pins is None
        else {
            # The index without its credentials: the cache keeps no secret (``existing`` puts
            # the configured URL back when it renders the lock again).
            name: [list(hashes), None if index is None else strip_userinfo(index)[0]]
            for name, (hashes, index) in record.pins.items()
        },
    }
    cache.put(_RECORDS, _text_key(text), json.dumps(data).encode())


def recall_lock(cache: Cache, text: str) -> LockRecord | None:
    """The record of the lock ``text``; None when this cache never saw it made."""
    data = cache.get(_RECORDS, _text_key(text))
    if data is None:
        return None
    try:
        found = json.loads(data)
        packages = found.get("packages")
        resolution = (
            None
            if packages is None
            else Resolution(
                packages=tuple(
                    ResolvedPackage(
                        name=canonicalize_name(name),
                        display_name=str(display_name),
                        version=Version(version),
                        files=(),
                        via=tuple(str(label) for label in via),
                        link=None if link is None else str(link),
                        editable=bool(editable),
                    )
                    for name, display_name, version, via, link, editable in packages
                )
            )
        )
        pins = found.get("pins")
        return LockRecord(
            context=str(found["context"]),
            yanked=frozenset(canonicalize_name(str(name)) for name in found["yanked"]),
            inputs=found.get("inputs"),
            resolution=resolution,
            pins=None
            if pins is None
            else {
                NormalizedName(name): (
                    tuple(str(h) for h in hashes),
                    None if index is None else str(index),
                )
                for name, (hashes, index) in pins.items()
            },
        )
    except (ValueError, KeyError, TypeError):
        return None


def inputs_digest(
    requirements: Sequence[ReqLine],
    constraints: Sequence[Constraint],
    *,
    target: Target,
    pre: bool,
    left_out: Iterable[str],
) -> str | None:
    """A digest of everything a confirmation (``confirm_lock``) reads besides the lock and the
    metadata kept under its hashes (which never change): the input lines, the limits, the
    target's markers, and the files local references name (a project folder's static
    metadata files, a local wheel or sdist). None when an input's metadata may change while
    its files do not (a project whose metadata a backend builds)."""
    lines = []
    for line in requirements:
        local = local_path(line.link) if line.link is not None else None
        named: list[str | None] = []
        if local is not None and local.is_dir():
            if static_project_metadata(local) is None:
                return None
            named = [_file_digest(local / name) for name in _PROJECT_FILES]
        elif local is not None:
            named = [_file_digest(local)]
        lines.append(
            [line.text, line.via, str(line.requirement), str(line.marker), sorted(line.extras),
             line.link, line.editable, named]
        )  # fmt: skip
    facts = {
        "lines": lines,
        "limits": [[c.name, str(c.specifier), c.label, c.annotate] for c in constraints],
        "target": target.environment,
        "pre": pre,
        "left-out": sorted(left_out),
    }
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return file_digest(path).partition(":")[2]
    except OSError:
        return None


def lock_changes(
    previous: str, new: str, old_lock: Lock | None, new_packages: Sequence[LockedPackage]
) -> str:
    """Why the lock ``previous`` is not ``new``, in a line: the pins that would change, else
    the first line of the text that would."""
    if old_lock is not None:
        found = pin_changes(old_lock.packages, new_packages)
        changes = [f"{name} {old} -> {new}" for name, old, new in found.changed]
        changes += [f"+{name} {version}" for name, version in found.added]
        changes += [f"-{name} {version}" for name, version in found.removed]
        if changes:
            return "pins would change: " + ", ".join(sorted(changes, key=lambda c: c.lstrip("+-")))
    return text_difference(previous, new)


def pin_changes(
    old_packages: Sequence[LockedPackage], new_packages: Sequence[LockedPackage]
) -> PinChanges:
    """The pins ``new_packages`` add, remove and change against ``old_packages``."""
    old, new = _pins(old_packages), _pins(new_packages)
    return PinChanges(
        added=tuple(sorted((name, new[name]) for name in new.keys() - old.keys())),
        removed=tuple(sorted((name, old[name]) for name in old.keys() - new.keys())),
        changed=tuple(
            sorted(
                (name, old[name], new[name])
                for name in old
                if new.get(name, old[name]) != old[name]
            )
        ),
    )


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
    # A direct reference's URL stands for its version, shown without credentials.
    return {
        str(package.name): str(package.version) if package.url is None else redact_url(package.url)
        for package in packages
    }


def _quoted(line: str) -> str:
    return f"`{line.strip()}`" if line.strip() else "(nothing)"


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
