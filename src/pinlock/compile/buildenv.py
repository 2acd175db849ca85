"""Isolated build environments shared by the metadata builds of one compile run.

Creating a venv and installing setuptools into it costs seconds, and preparing an sdist's
metadata only a second more: backtracking through old sdist-only releases builds dozens of
them, nearly all with the same build requirements. One environment per set of build-system
requirements is made once and reused (as uv does); what a backend asks for on top
(``get_requires_for_build_wheel``) is installed into it when it is not there yet.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from build.env import DefaultIsolatedEnv

__all__ = ["BuildEnvironments"]


class BuildEnvironments:
    """A pool of entered ``DefaultIsolatedEnv``; ``close()`` removes them (so does exit)."""

    def __init__(self) -> None:
        self._envs: dict[frozenset[str], tuple[DefaultIsolatedEnv, set[str]]] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._envs)

    def environment(self, build_requires: Collection[str]) -> DefaultIsolatedEnv:
        """The environment for these build-system requirements, created on first use."""
        from build.env import DefaultIsolatedEnv

        key = frozenset(build_requires)
        with self._lock:
            known = self._envs.get(key)
            if known is not None:
                return known[0]
        env = DefaultIsolatedEnv()
        env.__enter__()
        try:
            env.install(key)
        except BaseException:
            env.__exit__(None, None, None)
            raise
        with self._lock:
            self._envs[key] = (env, set(key))
        return env

    def install(self, env: DefaultIsolatedEnv, requirements: Collection[str]) -> None:
        """Install what ``env`` lacks of ``requirements`` (as written: a string seen once is not
        asked of pip again)."""
        with self._lock:
            installed = next(seen for known, seen in self._envs.values() if known is env)
            missing = [r for r in requirements if r not in installed]
        if missing:
            env.install(missing)
            with self._lock:
                installed.update(missing)

    def close(self) -> None:
        self._finalizer()


def _close_all(envs: dict[frozenset[str], tuple[DefaultIsolatedEnv, set[str]]]) -> None:
    for env, _installed in envs.values():
        env.__exit__(None, None, None)
    envs.clear()
