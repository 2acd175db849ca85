"""Index and format options as requirement files and locks write them (``--index-url`` ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_INDEX_URL", "INDEX_STRATEGIES", "IndexOptions", "IndexStrategy"]

DEFAULT_INDEX_URL = "https://pypi.org/simple"

# How several indexes answer for one project (uv's names). "first-index": only the first index
# that has the project, the extra indexes searched before the default one, so nobody can shadow
# a private package by uploading the same name to a public index. "unsafe-best-match": every
# index's files merged, the best version wins wherever it is (pip's behaviour).
IndexStrategy = Literal["first-index", "unsafe-best-match"]
INDEX_STRATEGIES: tuple[IndexStrategy, ...] = ("first-index", "unsafe-best-match")


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
