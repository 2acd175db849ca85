"""The interpreter a lock is resolved for: its PEP 508 marker environment and its wheel tags.

A target need not be the running interpreter. It is a plain value: everything that depends on
"where will this install" (markers, requires-python, which wheels fit) asks the target, never
``sys`` or ``platform``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.markers import Marker, default_environment
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, sys_tags
from packaging.version import Version

__all__ = ["MARKER_KEYS", "Target"]

# Every key PEP 508 defines; a target must give each one a value of its own.
MARKER_KEYS = (
    "implementation_name",
    "implementation_version",
    "os_name",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_full_version",
    "python_version",
    "sys_platform",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One interpreter and platform to resolve for.

    ``environment`` holds every PEP 508 marker key as ``(key, value)`` pairs, so the target stays
    hashable. ``tags`` are the wheel tags the target accepts, most preferred first.
    ``platform_open`` means the lock must install on any platform, so it lists the hashes of every
    file of a pinned version rather than only the files that fit ``tags``.
    """

    name: str
    description: str
    environment: tuple[tuple[str, str], ...]
    tags: tuple[Tag, ...]
    platform_open: bool = False

    @classmethod
    def host(cls, *, platform_open: bool = True) -> Target:
        """The running interpreter; by default its locks stay installable on any platform."""
        env = default_environment()
        tags = tuple(sys_tags())
        return cls(
            name="host",
            description=f"{env['implementation_name']} {env['python_full_version']} "
            f"on {env['sys_platform']} {env['platform_machine']}",
            environment=tuple(sorted((k, str(v)) for k, v in env.items())),
            tags=tags,
            platform_open=platform_open,
        )

    @property
    def markers(self) -> dict[str, str]:
        """The marker environment as a fresh dict (callers may add ``extra``)."""
        return dict(self.environment)

    @property
    def python_full_version(self) -> Version:
        return Version(self.markers["python_full_version"])

    @property
    def python_version(self) -> str:
        """``X.Y``, as the ``python_version`` marker spells it."""
        return self.markers["python_version"]

    def evaluate(self, marker: Marker | None, extras: Iterable[str] = ()) -> bool:
        """True when ``marker`` holds on this target for any of the requested ``extras``."""
        if marker is None:
            return True
        env = self.markers
        wanted = list(extras) or [""]
        for extra in wanted:
            env["extra"] = extra
            if marker.evaluate(env):  # type: ignore[arg-type]
                return True
        return False

    def accepts_python(self, requires_python: SpecifierSet | str | None) -> bool:
        """Whether a ``Requires-Python`` value admits this target's full Python version."""
        if requires_python is None or requires_python == "":
            return True
        spec = (
            requires_python
            if isinstance(requires_python, SpecifierSet)
            else SpecifierSet(requires_python)
        )
        return spec.contains(self.python_full_version, prereleases=True)

    def tag_rank(self, tags: Iterable[Tag]) -> int | None:
        """The best (lowest) position among ``tags`` in this target's list; None if none fit."""
        ranks = _rank_table(self.tags)
        return min((ranks[t] for t in tags if t in ranks), default=None)


_RANK_CACHE: dict[tuple[Tag, ...], Mapping[Tag, int]] = {}


def _rank_table(tags: tuple[Tag, ...]) -> Mapping[Tag, int]:
    table = _RANK_CACHE.get(tags)
    if table is None:
        table = {tag: i for i, tag in reversed(list(enumerate(tags)))}
        _RANK_CACHE[tags] = table
    return table
