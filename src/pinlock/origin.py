"""Where a requirement line came from: reported in errors, kept in locks read back."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Origin"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """Where a line came from; ``str()`` gives ``path:line``."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"
