"""Index and format options as requirement files and locks write them (``--index-url`` ...)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_INDEX_URL", "IndexOptions"]

DEFAULT_INDEX_URL = "https://pypi.org/simple"


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
