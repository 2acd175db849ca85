"""Compare pinlock with pip-compile / pip-sync and uv pip on the same inputs, same machine.

Every tool gets its own fresh cache for the cold run and keeps it for the warm runs; each compile
starts without an existing lock, so warm runs measure caches, not kept pins. All tools read the
same index: pip configuration is isolated (PIP_CONFIG_FILE=/dev/null) so the machine's extra
indexes do not favour one tool. Results go to stdout and bench/results/<date>.md.

    python bench/run.py                      # all sets, compile and sync
    python bench/run.py --sets jupyter --runs 3 --skip-sync
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SETS = {
    "black": ["black"],
    "sphinx": ["sphinx", "sphinx-rtd-theme", "myst-parser", "sphinx-autodoc-typehints"],
    "jupyter": ["jupyter"],
}
PEERS = {"pip-tools": "pip-tools==7.6.2", "uv": "uv==0.13.8"}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PINLOCK_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def _timed(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def _tool_venv(name: str, spec: str) -> Path:
    venv = WORK / f"venv-{name}"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", spec],
            check=True,
            env=_clean_env(),
        )
    return venv / "bin"


def _pinlock_bin() -> Path:
    """The pinlock installed beside the interpreter running this script (``make bench``: .venv)."""
    here = Path(sys.executable).parent
    if not (here / "pinlock").exists():
        raise SystemExit(f"no pinlock beside {sys.executable}: run `make bench`")
    return here


def _compile_commands(tool: str, bins: dict[str, Path], src: Path, out: Path, cache: Path):
    if tool == "pinlock":
        return [
            str(bins["pinlock"] / "pinlock"),
            "compile",
            "-q",
            "--cache-dir",
            str(cache),
            "-o",
            str(out),
            str(src),
        ], {}
    if tool == "pip-compile":
        return [
            str(bins["pip-tools"] / "pip-compile"),
            "-q",
            "--generate-hashes",
            "--cache-dir",
            str(cache / "piptools"),
            "-o",
            str(out),
            str(src),
        ], {"PIP_CACHE_DIR": str(cache / "pip")}
    return [
        str(bins["uv"] / "uv"),
        "pip",
        "compile",
        "-q",
        "--generate-hashes",
        "-o",
        str(out),
        str(src),
    ], {"UV_CACHE_DIR": str(cache)}


def bench_compile(sets: list[str], runs: int, bins: dict[str, Path]) -> list[str]:
    rows = ["| set | tool | packages | cold (s) | warm median (s) |", "|---|---|---|---|---|"]
    for set_name in sets:
        folder = WORK / "compile" / set_name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        src = folder / f"{set_name}.in"
        src.write_text("\n".join(SETS[set_name]) + "\n")
        for tool in ("pinlock", "pip-compile", "uv"):
            cache = folder / f"cache-{tool}"
            out = folder / f"{set_name}-{tool}.txt"
            cmd, extra = _compile_commands(tool, bins, src, out, cache)
            env = _clean_env(**extra)
            cold = _timed(cmd, env, folder)
            warm = []
            for _ in range(runs):
                out.unlink()
                warm.append(_timed(cmd, env, folder))
            count = sum(1 for line in out.read_text().splitlines() if "==" in line)
            rows.append(
                f"| {set_name} | {tool} | {count} | {cold:.2f} | {statistics.median(warm):.2f} |"
            )
            print(rows[-1], flush=True)
    return rows


def bench_sync(lock: Path, runs: int, bins: dict[str, Path]) -> list[str]:
    rows = [
        "| tool | fresh cold (s) | fresh warm (s) | no-op median (s) |",
        "|---|---|---|---|",
    ]
    count = sum(1 for line in lock.read_text().splitlines() if "==" in line)
    for tool in ("pinlock", "pip-sync", "uv"):
        folder = WORK / "sync" / tool
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        cache = folder / "cache"
        venv = folder / "venv"

        def command(venv: Path = venv, cache: Path = cache, tool: str = tool):
            py = str(venv / "bin" / "python")
            if tool == "pinlock":
                return [
                    str(bins["pinlock"] / "pinlock"),
                    "sync",
                    "-q",
                    "--cache-dir",
                    str(cache),
                    "--python",
                    py,
                    str(lock),
                ], {}
            if tool == "pip-sync":
                return [
                    str(bins["pip-tools"] / "pip-sync"),
                    "-q",
                    "--python-executable",
                    py,
                    str(lock),
                ], {"PIP_CACHE_DIR": str(cache)}
            return [str(bins["uv"] / "uv"), "pip", "sync", "-q", "--python", py, str(lock)], {
                "UV_CACHE_DIR": str(cache)
            }

        fresh = []
        for _ in range(2):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            cmd, extra = command()
            fresh.append(_timed(cmd, _clean_env(**extra), folder))
        cmd, extra = command()
        noop = [_timed(cmd, _clean_env(**extra), folder) for _ in range(runs)]
        rows.append(f"| {tool} | {fresh[0]:.2f} | {fresh[1]:.2f} | {statistics.median(noop):.3f} |")
        print(rows[-1], flush=True)
    rows.append(f"\nlock: {lock.name}, {count} packages")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--skip-compile", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    bins = {name: _tool_venv(name, spec) for name, spec in PEERS.items()}
    bins["pinlock"] = _pinlock_bin()
    report = [f"# pinlock bench {datetime.date.today()} ({os.cpu_count()} cores)", ""]
    if not args.skip_compile:
        report += ["## compile", "", *bench_compile(args.sets, args.runs, bins), ""]
    if not args.skip_sync:
        lock = WORK / "compile" / "jupyter" / "jupyter-pinlock.txt"
        if not lock.exists():
            bench_compile(["jupyter"], 0, bins)
        report += ["## sync (jupyter lock)", "", *bench_sync(lock, args.runs, bins), ""]
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"{datetime.date.today()}.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
