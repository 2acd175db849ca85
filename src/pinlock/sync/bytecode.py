"""Byte code for what pinlock's own installer installed (``wheelinstall``), as pip makes it.

Compiled by the target interpreter itself (byte code belongs to the interpreter that imports
it), on all its cores (``_compile_script``), once per wheel and interpreter (cache tag): into
the wheel's unpacked copy in the cache (``unpacked``), whose modules the venv's are hard links
of, so the byte code matches them. It is then linked in beside the installed modules and added
to each RECORD without hash, as pip adds it. A later sync of the same wheel for the same
interpreter links it in while installing (``wheelinstall``) and compiles nothing.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pinlock.atomic import link_or_copy
from pinlock.errors import InstallFailed
from pinlock.processes import run_child
from pinlock.sync.envlock import inherited_fds
from pinlock.sync.unpacked import Unpacked

if TYPE_CHECKING:
    from pinlock.sync.environment import Environment
    from pinlock.sync.wheelinstall import Installed

__all__ = ["compile_bytecode"]


@functools.cache
def _compile_script() -> str:
    return Path(__file__).with_name("_compile_script.py").read_text(encoding="utf-8")


def compile_bytecode(installed: Sequence[Installed], env: Environment, work: Path) -> None:
    """Byte code for the modules of ``installed``: compiled by the target interpreter beside
    the unpacked modules where it was not yet (in parallel), linked in, and added to each
    RECORD without hash, as pip adds it."""
    tag = env.cache_tag
    if not tag:
        return  # an interpreter that writes no byte code
    compiled: dict[Path, dict[str, str]] = {}
    missing: list[tuple[Unpacked, str]] = []
    installed = [item for item in installed if not item.compiled]
    for item in installed:
        unpacked = item.prepared.unpacked
        if unpacked.root in compiled:
            continue
        known = unpacked.compiled(tag)
        if known is not None:
            compiled[unpacked.root] = known
        else:
            compiled[unpacked.root] = {}
            missing.extend((unpacked, member) for _target, member in item.modules)
    if missing:
        _compile(missing, env, work, compiled)
    for item in installed:
        pycs = compiled[item.prepared.unpacked.root]
        rows: list[tuple[str, str, str]] = []
        for target, member in item.modules:
            pyc = pycs.get(member)
            if pyc is None:
                continue
            installed_pyc = os.path.join(
                os.path.dirname(target), "__pycache__", os.path.basename(pyc)
            )
            os.makedirs(os.path.dirname(installed_pyc), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(installed_pyc)
            link_or_copy(os.path.join(item.prepared.unpacked.root, pyc), installed_pyc)
            relative = os.path.relpath(installed_pyc, item.root).replace(os.sep, "/")
            rows.append((relative, "", ""))  # byte code has no hash in RECORD, as pip writes it
        if rows:
            with item.record.open("a", encoding="utf-8", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerows(rows)


def _compile(
    modules: Sequence[tuple[Unpacked, str]],
    env: Environment,
    work: Path,
    compiled: dict[Path, dict[str, str]],
) -> None:
    listing = work / "compile.txt"
    paths = [str(unpacked.root / member) for unpacked, member in modules]
    listing.write_text("".join(f"{path}\n" for path in paths), encoding="utf-8")
    done = run_child(
        [str(env.python), "-I", "-c", _compile_script(), str(listing)],
        merge_output=False,
        pass_fds=inherited_fds(),
    )
    written = _answer(done.output) if done.returncode == 0 else None
    if written is None or len(written) != len(paths):
        tail = "\n".join(done.errors.strip().splitlines()[-5:])
        raise InstallFailed("byte code", f"{env.python} could not compile the modules\n{tail}")
    touched: dict[Path, Unpacked] = {}
    for (unpacked, member), pyc in zip(modules, written, strict=True):
        touched[unpacked.root] = unpacked
        if pyc is not None:
            relative = os.path.relpath(pyc, unpacked.root).replace(os.sep, "/")
            compiled[unpacked.root][member] = relative
    for root, unpacked in touched.items():
        unpacked.remember_compiled(env.cache_tag, compiled[root])


def _answer(output: str) -> list[str | None] | None:
    try:
        answer = json.loads(output)
    except ValueError:
        return None
    if not isinstance(answer, list):
        return None
    return [item if isinstance(item, str) else None for item in answer]
