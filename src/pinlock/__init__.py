"""pinlock: hashed, per-target, per-flavour locks for pip, and an exact venv sync."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
