"""How a command's process holds its heap: the cyclic garbage collector and glibc's arenas.

A compile keeps hundreds of thousands of small objects alive and makes few cycles; its threads
mostly wait on the network. The defaults of both the collector and the allocator are tuned for
other programs, and cost a compile a fifth of its CPU and a sixth of its memory.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator

__all__ = ["few_collections_while_importing", "no_collections"]


@contextlib.contextmanager
def few_collections_while_importing() -> Iterator[None]:
    """The cyclic garbage collector held back while the command's modules load: importing them
    makes tens of thousands of objects and no garbage, and with the default thresholds the
    collector's passes over them cost a compile 3 ms of its start."""
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


@contextlib.contextmanager
def no_collections() -> Iterator[None]:
    """The cyclic garbage collector off during a compile: it keeps hundreds of thousands of
    small objects alive (index records, versions, requirements) and makes few cycles. With the
    default thresholds the collector's passes over them took half the CPU of a large run; with
    rare passes (100,000 allocations apart) a cold jupyter compile still spent 60-75 ms in
    them and the airflow set 0.5 s, while off, the peak memory of both stayed the same
    (81 MB; 155 -> 153 MB). It is switched back on (and what cycles there are collected by
    its next pass) when the compile ends, for a caller that goes on in this process."""
    _few_malloc_arenas()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Everything made meanwhile would be the youngest generation, and the collector's
            # first pass, at the next allocation, would walk it all (30 ms after a cold jupyter
            # compile): moved to the oldest generation instead, it waits for a full pass.
            try:
                gc.freeze()
                gc.unfreeze()
            finally:
                gc.enable()


def _few_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own memory arena (up to 8 per core); the
    pages that a compile's threads decode then leave partly used arenas behind, 15-20 MB of a
    100 MB run. Two arenas serve threads that mostly wait on the network as well. Set before
    the run's threads start; elsewhere (macOS, Windows, musl) nothing is done."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        return


_M_ARENA_MAX = -8  # glibc's malloc.h
