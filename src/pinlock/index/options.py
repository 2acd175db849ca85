"""Index and format options as requirement files and locks write them (``--index-url`` ...)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name

__all__ = [
    "DEFAULT_INDEX_URL",
    "INDEX_STRATEGIES",
    "IndexOptions",
    "IndexStrategy",
    "layer_format_control",
    "update_format_control",
]

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


def update_format_control(value: str, target: set[str], other: set[str]) -> None:
    """One ``--no-binary``/``--only-binary`` value (``target`` is its set), by pip's rules:
    a name leaves the other set, ``:all:`` empties both and covers every project, ``:none:``
    empties ``target``. Values are comma-separated; the caller rejects a leading ``-``."""
    names = value.split(",")
    while ":all:" in names:
        other.clear()
        target.clear()
        target.add(":all:")
        del names[: names.index(":all:") + 1]
        # Without a :none: after it, :all: covers whatever else was listed.
        if ":none:" not in names:
            return
    for name in names:
        if name == ":none:":
            target.clear()
            continue
        if not name:
            continue
        canonical = canonicalize_name(name)
        other.discard(canonical)
        target.add(canonical)


def layer_format_control(
    only_binary: Iterable[str],
    no_binary: Iterable[str],
    *,
    over: tuple[Iterable[str], Iterable[str]] = ((), ()),
) -> tuple[frozenset[str], frozenset[str]]:
    """``(only_binary, no_binary)`` given on top of the state ``over``, as pip layers its
    command line over its configuration and a requirement file's options over both.

    The sets given are a state, not a sequence, so they are replayed in the one order that
    rebuilds them: the set holding ``:all:`` first, and ``:all:``, then ``:none:``, then names.
    """
    only, no = set(over[0]), set(over[1])
    given_only, given_no = set(only_binary), set(no_binary)
    layers = [(given_only, only, no), (given_no, no, only)]
    if ":all:" in given_no:
        layers.reverse()
    for names, target, other in layers:
        specials = [name for name in (":all:", ":none:") if name in names]
        for name in [*specials, *sorted(names - {":all:", ":none:"})]:
            update_format_control(name, target, other)
    return frozenset(only), frozenset(no)
