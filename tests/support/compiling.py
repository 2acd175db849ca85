"""Helpers for tests that compile locks: run a compile, read pins and hashes back."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from pinlock.cli import app
from pinlock.compile import CompileRequest, CompileResult, compile_locks
from pinlock.lock.txt import read_lock

__all__ = [
    "compile_cli",
    "compile_in_fresh_process",
    "compile_text",
    "lock_hashes",
    "pinned_versions",
    "sha256_of",
]


def pinned_versions(text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a lock."""
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.MULTILINE))


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def lock_hashes(result: CompileResult) -> dict[str, set[str]]:
    """The hashes each package of a written lock lists."""
    assert result.output is not None
    return {str(p.name): set(p.hashes) for p in read_lock(result.output).packages}


def compile_text(
    tmp_path: Path, content: str, *, index_url: str, name: str = "main.in", **options: Any
) -> list[CompileResult]:
    """Write ``content`` as an input in ``tmp_path`` and compile it against ``index_url``."""
    src = tmp_path / name
    src.write_text(content)
    request = CompileRequest(
        inputs=(src,),
        index_overrides={"index-url": index_url},
        cache_dir=tmp_path / "cache",
        **options,
    )
    return compile_locks(request)


def compile_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``pinlock compile ARGS`` in-process: exit code, stdout, stderr."""
    result = CliRunner().invoke(
        app,
        ["compile", "--cache-dir", str(tmp_path / "cache"), *args],
        env=env,
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def compile_in_fresh_process(cwd: Path, args: list[str], *, loaded: str) -> tuple[str, str, str]:
    """Run ``pinlock compile args`` in a new interpreter (in ``cwd``, pinlock from this checkout,
    no pip configuration): ``exit <code>``, what the expression ``loaded`` gives over
    ``sys.modules`` after the compile (what it imported), and what it wrote on standard error.
    """
    code = (
        "import sys\n"
        "from pinlock.cli import main\n"
        "try:\n"
        f"    main(['compile', *{args!r}])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        f"print({loaded})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={"PYTHONPATH": str(Path(__file__).parents[2] / "src"), "PIP_CONFIG_FILE": "/dev/null"},
    )
    lines = result.stdout.splitlines()[-2:]
    assert len(lines) == 2, result.stderr
    return lines[0], lines[1], result.stderr
