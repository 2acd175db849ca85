"""select_packages and merge_options: lock lines for the target, merged across locks."""

from __future__ import annotations

import pytest
from packaging.markers import default_environment

from pinlock.errors import LockConflict
from pinlock.index.options import IndexOptions
from pinlock.lock.model import Lock
from pinlock.origin import Origin
from pinlock.sync.locks import merge_options, select_packages
from tests.sync_helpers import locked

ENV = {k: str(v) for k, v in default_environment().items()}
OLD_ENV = {**ENV, "python_version": "3.9", "python_full_version": "3.9.18"}


def test_markers_evaluated_for_the_given_environment() -> None:
    lock = Lock(
        packages=(
            locked("a", "1", marker="python_version < '3.10'", hashes=[]),
            locked("b", "1", marker="python_version >= '3.10'", hashes=[]),
        )
    )
    assert [p.name for p in select_packages([lock], OLD_ENV).packages] == ["a"]
    wanted = select_packages([lock], {**ENV, "python_version": "3.12"})
    assert [p.name for p in wanted.packages] == ["b"]
    assert [p.name for p in wanted.skipped] == ["a"]


def test_same_pin_in_two_locks_merges_hashes() -> None:
    first = Lock(packages=(locked("a", "1", hashes=["sha256:aa"]),))
    second = Lock(packages=(locked("a", "1", hashes=["sha256:bb"]),))
    (merged,) = select_packages([first, second], ENV).packages
    assert merged.hashes == ("sha256:aa", "sha256:bb")


def test_different_pins_conflict_naming_both_lines() -> None:
    from dataclasses import replace

    first = Lock(
        packages=(replace(locked("a", "1", hashes=[]), origin=Origin(path="x.txt", line=3)),)
    )
    second = Lock(
        packages=(replace(locked("a", "2", hashes=[]), origin=Origin(path="y.txt", line=7)),)
    )
    with pytest.raises(LockConflict) as conflict:
        select_packages([first, second], ENV)
    assert "x.txt:3: a==1" in str(conflict.value)
    assert "y.txt:7: a==2" in str(conflict.value)


def test_options_merge() -> None:
    merged = merge_options(
        [
            Lock(packages=(), options=IndexOptions(index_url="https://a", find_links=("f1",))),
            Lock(
                packages=(),
                options=IndexOptions(
                    index_url="https://b", extra_index_urls=("https://c",), find_links=("f1",)
                ),
            ),
        ]
    )
    assert merged.index_url == "https://a"
    assert merged.extra_index_urls == ("https://b", "https://c")
    assert merged.find_links == ("f1",)
