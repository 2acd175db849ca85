"""compile's pipeline: inputs -> targets x flavours -> index + metadata -> resolver -> locks.

- ``run``: one compile run, the targets x flavours matrix, and where each lock goes;
- ``metadata``, ``wheelzip``, ``sdist``: core metadata, cheapest source first;
- ``resolve``: the resolvelib provider, candidates and conflict explanations.
"""

from __future__ import annotations

from pinlock.compile.run import CompileRequest, CompileResult, compile_locks, lock_path

__all__ = ["CompileRequest", "CompileResult", "compile_locks", "lock_path"]
