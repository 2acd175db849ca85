"""Test helpers: tiny real wheels and sdists, and a real package index on 127.0.0.1."""

from __future__ import annotations

from tests.support.artifacts import make_sdist, make_wheel
from tests.support.index_server import IndexServer

__all__ = ["IndexServer", "make_sdist", "make_wheel"]
