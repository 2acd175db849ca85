"""Requirement files in pip's syntax: what compile reads from ``.in`` files and sync from locks.

Parsing follows ``-r`` and ``-c`` includes and reports every bad line as ``path:line`` with the
text and the reason (``ReqFileError``).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import NormalizedName

__all__ = ["IndexOptions", "Origin", "ParsedRequirements", "ReqLine"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """Where a line came from; ``str()`` gives ``path:line``."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ReqLine:
    """One requirement line.

    ``requirement`` is None only for a bare path or URL whose project name is not known until its
    metadata is read (``-e ./src/pkg``, ``./dist/pkg.tar.gz``). ``link`` is the URL or path of a
    direct reference (``name @ URL``, ``-e PATH``, bare path/URL), made absolute for local paths.
    ``via`` is how a lock annotates the line's file: ``-r requirements/main.in`` or
    ``-c constraints.txt`` (the file the line is written in, as the user named it).
    """

    requirement: Requirement | None
    text: str
    origin: Origin
    via: str
    constraint: bool = False
    editable: bool = False
    link: str | None = None
    hashes: tuple[str, ...] = ()

    @property
    def name(self) -> NormalizedName | None:
        from packaging.utils import canonicalize_name

        return canonicalize_name(self.requirement.name) if self.requirement else None


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexOptions:
    """Index and format options written in requirement files (``None``/empty: not given)."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedRequirements:
    """Everything read from one top-level file and the files it includes."""

    requirements: tuple[ReqLine, ...]
    constraints: tuple[ReqLine, ...]
    options: IndexOptions
    files: tuple[str, ...]
