"""Compare pinlock with pip-compile / pip-sync (pip-tools 7) and uv pip, same inputs, one run.

Every tool has its own cache folder (and XDG_CACHE_HOME). Compile is measured cold (empty cache, no
lock), warm (cache kept, no lock) and no-op (the lock from the previous run kept, nothing changed);
sync of the set's pinlock lock cold (empty cache, empty venv), warm (cache kept, empty venv) and
no-op (venv already synced). Runs of one mode are interleaved across tools, so drift of the network
or of the machine's load falls on every tool alike. Each number is the median of the runs; peak
memory is the largest ru_maxrss of the process tree (os.wait4 on the tool's process: the tool and
every child it waited for), over those runs.

All tools read PyPI only: PIP_*/UV_*/PINLOCK_* variables are cleared, PIP_CONFIG_FILE=/dev/null and
each tool runs with --no-config, so neither the machine's pip.conf (extra file:// indexes) nor this
repository's [tool.pinlock] favours one tool. pip-tools and uv are installed in bench/.work (a
throwaway venv, gitignored); pinlock is the one beside the interpreter running this script.

Results: a markdown table on stdout and in bench/RESULTS.md (earlier reports: bench/results/).

    make bench BENCH_ARGS="--runs 3"
    .venv/bin/python bench/run.py --sets jupyter --tools pinlock uv --skip-sync
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
RESULTS = HERE / "RESULTS.md"
PEER_SPECS = ("pip-tools==7.*", "uv==0.13.*")
TOOLS = ("pinlock", "pip-tools", "uv")
PEERS = ("pip-tools", "uv")
COMPILE_MODES = ("cold", "warm", "no-op")
SYNC_MODES = ("cold", "warm", "no-op")
# A run this many times the median of its kind counts as a stall (the 5 s DNS retry of issue #13).
STALL_FACTOR = 3.0


class BenchError(Exception):
    """A tool failed, or the bench cannot run."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchSet:
    name: str
    requirements: tuple[str, ...]
    sync: bool
    # Runs of one tool in this set, at most (its runs take minutes: the whole bench stays ~20 min).
    max_runs: Mapping[str, int] = field(default_factory=dict)
    # Tools left out of this set unless --all-tools, and why.
    skipped: Mapping[str, str] = field(default_factory=dict)

    def runs_for(self, tool: str, runs: int) -> int:
        return min(runs, self.max_runs.get(tool, runs))


_PIP_TOOLS_SLOW = "pip-compile takes minutes a run here (--all-tools includes it)"
SETS = {
    bench_set.name: bench_set
    for bench_set in (
        BenchSet(name="black", requirements=("black",), sync=True),
        # trio's docs-requirements.in
        BenchSet(
            name="trio-docs",
            requirements=(
                "sphinx>=6.0",
                "jinja2",
                "sphinx_rtd_theme>=3",
                "sphinxcontrib-jquery",
                "sphinxcontrib-trio",
                "towncrier",
                "sphinx-hoverxref",
                "sphinx-codeautolink",
                "cffi; os_name == 'nt'",
                "attrs>=23.2.0",
                "sortedcontainers",
                "idna",
                "outcome",
                "sniffio",
                "exceptiongroup>=1.2.1",
                "immutables>=0.6",
                "pyOpenSSL",
            ),
            sync=True,
        ),
        BenchSet(name="jupyter", requirements=("jupyter",), sync=True, max_runs={"pip-tools": 1}),
        # compile only: torch's wheels and its nvidia-* dependencies are gigabytes
        BenchSet(
            name="torch",
            requirements=(
                "torch",
                "torchvision",
                "numpy",
                "pandas",
                "scipy",
                "scikit-learn",
                "matplotlib",
                "seaborn",
                "statsmodels",
            ),
            sync=False,
            max_runs={"pip-tools": 1},
            skipped={"pip-tools": _PIP_TOOLS_SLOW},
        ),
        # ~300 pins; resolving takes tens of seconds a run, so one run of each mode
        BenchSet(
            name="large",
            requirements=("apache-airflow[celery,postgres,cncf-kubernetes,amazon,google]",),
            sync=False,
            max_runs={"pinlock": 1, "pip-tools": 1, "uv": 1},
            skipped={"pip-tools": _PIP_TOOLS_SLOW},
        ),
    )
}
# The warm compile repeated this often per tool to count DNS stalls.
STALL_SET = "trio-docs"


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    seconds: float
    max_rss_kib: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Measurement:
    samples: tuple[Sample, ...]

    @property
    def median(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def peak_rss_mib(self) -> float:
        return max(sample.max_rss_kib for sample in self.samples) / 1024

    @property
    def stalls(self) -> int:
        """Runs that took more than STALL_FACTOR times the median."""
        limit = STALL_FACTOR * self.median
        return sum(1 for sample in self.samples if sample.seconds > limit)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without pip, uv or pinlock settings, and without pip's config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PINLOCK_"))}
    # Python tools run from their byte code, as an installed tool does; a machine that
    # forbids writing it would have pinlock and pip-tools recompile every module on each run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def run_measured(cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> Sample:
    """Run cmd to its end: wall time, and the peak RSS of its process tree (from os.wait4)."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=dict(env), cwd=cwd, stdout=output, stderr=output)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        # Reaped here: Popen must not wait for the pid again.
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    # Linux reports ru_maxrss in KiB.
    return Sample(seconds=elapsed, max_rss_kib=usage.ru_maxrss)


def pins(lock: Path) -> set[str]:
    """The name==version pins of a requirements lock (markers, hashes and comments left out)."""
    found = set()
    for line in lock.read_text().splitlines():
        requirement = line.split(";")[0].split(" ")[0]
        if line[:1].isalnum() and "==" in requirement:
            name, _, version = requirement.partition("==")
            found.add(f"{name.lower().replace('_', '-').replace('.', '-')}=={version}")
    return found


def pins_cell(locks: Mapping[str, set[str]]) -> str:
    """pinlock's pin count, and each peer's when its lock differs: count, and pins not in both."""
    main_tool = "pinlock" if "pinlock" in locks else next(iter(locks))
    main = locks[main_tool]
    others = [
        f"{tool} {len(theirs)}, {len(main ^ theirs)} differ"
        for tool, theirs in locks.items()
        if tool != main_tool and theirs != main
    ]
    return f"{len(main)} ({'; '.join(others)})" if others else str(len(main))


def ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None or denominator <= 0:
        return "–"
    return f"{numerator / denominator:.2f}×"


def seconds(measurement: Measurement | None) -> str:
    if measurement is None:
        return "–"
    value = measurement.median
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


Results = dict[tuple[str, str, str], Measurement]  # (set, mode, tool) -> runs


def results_table(
    results: Results,
    *,
    sets: Sequence[str],
    modes: Sequence[str],
    tools: Sequence[str],
    pins: Mapping[str, str],
) -> list[str]:
    """One row per set and mode: medians, pinlock's ratio to each peer, peak RSS, stalls."""
    peers = [tool for tool in tools if tool != "pinlock"]
    header = ["set", "pins", "mode"]
    header += [f"{tool} s" for tool in tools]
    if "pinlock" in tools:
        header += [f"pinlock÷{peer}" for peer in peers]
    header += [f"{tool} MiB" for tool in tools]
    if "pinlock" in tools and "uv" in peers:
        header.append("MiB pinlock÷uv")
    header.append(f"runs >{STALL_FACTOR:g}× median")
    rows = []
    for set_name in sets:
        for mode in modes:
            found = {tool: results.get((set_name, mode, tool)) for tool in tools}
            if not any(found.values()):
                continue
            mine = found.get("pinlock")
            row = [set_name, pins.get(set_name, "?"), mode]
            row += [seconds(found[tool]) for tool in tools]
            if "pinlock" in tools:
                for peer in peers:
                    theirs = found[peer]
                    row.append(ratio(_median(mine), _median(theirs)))
            row += [_mib(found[tool]) for tool in tools]
            if "pinlock" in tools and "uv" in peers:
                uv = found["uv"]
                row.append(ratio(_peak(mine), _peak(uv)))
            row.append(" ".join(_stalls(found[tool]) for tool in tools))
            rows.append(row)
    return markdown_table(header, rows)


def _median(measurement: Measurement | None) -> float | None:
    return None if measurement is None else measurement.median


def _peak(measurement: Measurement | None) -> float | None:
    return None if measurement is None else measurement.peak_rss_mib


def _mib(measurement: Measurement | None) -> str:
    return "–" if measurement is None else f"{measurement.peak_rss_mib:.0f}"


def _stalls(measurement: Measurement | None) -> str:
    return "–" if measurement is None else f"{measurement.stalls}/{len(measurement.samples)}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Tools:
    pinlock: Path
    peers: Path  # bin folder of the peers' venv
    python: Path  # the interpreter every lock is made for, and every synced venv is made from

    def compile_command(
        self, tool: str, src: Path, out: Path, cache: Path
    ) -> tuple[list[str], dict[str, str]]:
        env = {"XDG_CACHE_HOME": str(cache / "xdg")}
        if tool == "pinlock":
            return [
                str(self.pinlock),
                "compile",
                "-q",
                "--no-config",
                "--cache-dir",
                str(cache),
                "-o",
                str(out),
                str(src),
            ], env
        if tool == "pip-tools":
            # --allow-unsafe: pip and setuptools are pinned, as pinlock and uv do.
            cmd = [str(self.peers / "pip-compile"), "-q", "--no-config", "--generate-hashes"]
            cmd += ["--allow-unsafe", "--strip-extras", "--cache-dir", str(cache / "pip-tools")]
            return [*cmd, "-o", str(out), str(src)], {**env, "PIP_CACHE_DIR": str(cache / "pip")}
        return [
            str(self.peers / "uv"),
            "pip",
            "compile",
            "-q",
            "--no-config",
            "--generate-hashes",
            "--python",
            str(self.python),
            "-o",
            str(out),
            str(src),
        ], {**env, "UV_CACHE_DIR": str(cache)}

    def sync_command(
        self, tool: str, lock: Path, venv: Path, cache: Path
    ) -> tuple[list[str], dict[str, str]]:
        env = {"XDG_CACHE_HOME": str(cache / "xdg")}
        python = str(venv / "bin" / "python")
        if tool == "pinlock":
            cmd = [str(self.pinlock), "sync", "-q", "--no-config", "--cache-dir", str(cache)]
            return [*cmd, "--python", python, str(lock)], env
        if tool == "pip-tools":
            cmd = [str(self.peers / "pip-sync"), "-q", "--no-config"]
            cmd += ["--python-executable", python, str(lock)]
            return cmd, {**env, "PIP_CACHE_DIR": str(cache / "pip")}
        cmd = [str(self.peers / "uv"), "pip", "sync", "-q", "--no-config", "--python", python]
        return [*cmd, str(lock)], {**env, "UV_CACHE_DIR": str(cache)}

    def versions(self) -> dict[str, str]:
        def first_line(cmd: Sequence[str]) -> str:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=clean_env())
            return (proc.stdout or proc.stderr).strip().splitlines()[0]

        return {
            "pinlock": first_line([str(self.pinlock), "--version"]),
            "pip-tools": first_line([str(self.peers / "pip-compile"), "--version"]),
            "uv": first_line([str(self.peers / "uv"), "--version"]),
            "pip (pip-tools')": " ".join(
                first_line([str(self.peers / "python"), "-m", "pip", "--version"]).split()[:2]
            ),
        }


def prepare_tools() -> Tools:
    pinlock = Path(sys.executable).parent / "pinlock"
    if not pinlock.exists():
        raise BenchError(f"no pinlock beside {sys.executable}: run `make bench`")
    venv = WORK / "venv-peers"
    if not (venv / "bin" / "uv").exists() or not (venv / "bin" / "pip-compile").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *PEER_SPECS]
        subprocess.run(install, check=True, env=clean_env())
    # pinlock is installed editable by `make`: compile its modules once, as pip does on install.
    source = Path(__file__).resolve().parents[1] / "src" / "pinlock"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(source)], check=True)
    return Tools(pinlock=pinlock, peers=venv / "bin", python=Path(sys.executable))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _reset(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def bench_compile(
    bench_set: BenchSet, tools: Tools, names: Sequence[str], runs: int, results: Results
) -> str:
    """Cold, warm and no-op compiles of one set; returns the pins cell of its rows."""
    folder = WORK / "compile" / bench_set.name
    _reset(folder)
    src = folder / f"{bench_set.name}.in"
    src.write_text("\n".join(bench_set.requirements) + "\n")
    out = {tool: folder / f"{bench_set.name}-{tool}.txt" for tool in names}
    cache = {tool: folder / f"cache-{tool}" for tool in names}
    for mode in COMPILE_MODES:
        samples: dict[str, list[Sample]] = {tool: [] for tool in names}
        for run in range(runs):
            for tool in names:
                if run >= bench_set.runs_for(tool, runs):
                    continue
                if mode == "cold":
                    _reset(cache[tool])
                if mode != "no-op":
                    out[tool].unlink(missing_ok=True)
                cmd, extra = tools.compile_command(tool, src, out[tool], cache[tool])
                sample = run_measured(cmd, env=clean_env(**extra), cwd=folder)
                samples[tool].append(sample)
                _say(f"compile {bench_set.name} {mode} {tool}: {sample.seconds:.2f} s")
        for tool in names:
            results[(bench_set.name, mode, tool)] = Measurement(samples=tuple(samples[tool]))
    return pins_cell({tool: pins(out[tool]) for tool in names})


def pinlock_lock(bench_set: BenchSet, tools: Tools) -> Path:
    """The set's lock as pinlock made it in this run's compile, or made now (not timed)."""
    lock = WORK / "compile" / bench_set.name / f"{bench_set.name}-pinlock.txt"
    if not lock.exists():
        folder = lock.parent
        _reset(folder)
        src = folder / f"{bench_set.name}.in"
        src.write_text("\n".join(bench_set.requirements) + "\n")
        cmd, extra = tools.compile_command("pinlock", src, lock, folder / "cache-pinlock")
        run_measured(cmd, env=clean_env(**extra), cwd=folder)
    return lock


def empty_venv(tools: Tools) -> Path:
    """The venv every sync starts from, copied: pip-sync wants the target's pip at least as new as
    its own, so it holds the peers' pip version (made once per bench run, not timed)."""
    template = WORK / "venv-empty"
    if not template.exists():
        subprocess.run([str(tools.python), "-m", "venv", str(template)], check=True)
        pip = subprocess.run(
            [str(tools.peers / "python"), "-m", "pip", "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[1]
        install = [str(template / "bin" / "python"), "-m", "pip", "install", "-q", f"pip=={pip}"]
        subprocess.run(install, check=True, env=clean_env())
    return template


def bench_sync(
    bench_set: BenchSet, tools: Tools, names: Sequence[str], runs: int, results: Results
) -> str:
    """Cold, warm and no-op syncs of the set's pinlock lock into fresh venvs; returns the pins."""
    folder = WORK / "sync" / bench_set.name
    _reset(folder)
    lock = folder / "requirements.txt"
    shutil.copyfile(pinlock_lock(bench_set, tools), lock)
    template = empty_venv(tools)
    venv = {tool: folder / f"venv-{tool}" for tool in names}
    cache = {tool: folder / f"cache-{tool}" for tool in names}
    for mode in SYNC_MODES:
        samples: dict[str, list[Sample]] = {tool: [] for tool in names}
        for run in range(runs):
            for tool in names:
                if run >= bench_set.runs_for(tool, runs):
                    continue
                if mode == "cold":
                    _reset(cache[tool])
                if mode != "no-op":
                    shutil.rmtree(venv[tool], ignore_errors=True)
                    shutil.copytree(template, venv[tool], symlinks=True)
                cmd, extra = tools.sync_command(tool, lock, venv[tool], cache[tool])
                sample = run_measured(cmd, env=clean_env(**extra), cwd=folder)
                samples[tool].append(sample)
                _say(f"sync {bench_set.name} {mode} {tool}: {sample.seconds:.2f} s")
        for tool in names:
            results[(bench_set.name, mode, tool)] = Measurement(samples=tuple(samples[tool]))
    return str(len(pins(lock)))


def stall_check(tools: Tools, names: Sequence[str], runs: int) -> list[str]:
    """Warm compiles of STALL_SET repeated: how many took more than STALL_FACTOR × the median."""
    bench_set = SETS[STALL_SET]
    folder = WORK / "stalls"
    _reset(folder)
    src = folder / f"{bench_set.name}.in"
    src.write_text("\n".join(bench_set.requirements) + "\n")
    rows = []
    for tool in names:
        out, cache = folder / f"{tool}.txt", folder / f"cache-{tool}"
        cmd, extra = tools.compile_command(tool, src, out, cache)
        run_measured(cmd, env=clean_env(**extra), cwd=folder)  # fills the cache
        samples = []
        for _ in range(runs):
            out.unlink()
            samples.append(run_measured(cmd, env=clean_env(**extra), cwd=folder))
        measured = Measurement(samples=tuple(samples))
        slowest = max(sample.seconds for sample in samples)
        rows.append([tool, str(runs), seconds(measured), f"{slowest:.2f}", str(measured.stalls)])
        _say(f"stalls {tool}: {measured.stalls}/{runs}, slowest {slowest:.2f} s")
    header = ["tool", "runs", "median s", "slowest s", f"runs >{STALL_FACTOR:g}× median"]
    return markdown_table(header, rows)


def machine(tools: Tools) -> list[str]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- command: `{' '.join([Path(sys.executable).name, 'bench/run.py', *sys.argv[1:]])}`",
        f"- machine: {os.cpu_count()} CPUs, {memory:.1f} GiB RAM, {platform.platform()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
    ]
    lines += [f"- {name}: {version}" for name, version in tools.versions().items()]
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode (median)")
    parser.add_argument("--stall-runs", type=int, default=20, help="0: no stall check")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--skip-sync", action="store_true")
    parser.add_argument("--all-tools", action="store_true", help="ignore per-set skips")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(exist_ok=True)
    shutil.rmtree(WORK / "venv-empty", ignore_errors=True)
    tools = prepare_tools()
    results: Results = {}
    compile_pins: dict[str, str] = {}
    sync_pins: dict[str, str] = {}
    notes: list[str] = []
    started = time.perf_counter()

    def names_for(bench_set: BenchSet) -> list[str]:
        skipped = {} if args.all_tools else bench_set.skipped
        for tool, why in skipped.items():
            note = f"- {bench_set.name}: {tool} left out: {why}"
            if tool in args.tools and note not in notes:
                notes.append(note)
        return [tool for tool in args.tools if tool not in skipped]

    chosen = [SETS[name] for name in args.sets]
    if not args.skip_compile:
        for bench_set in chosen:
            names = names_for(bench_set)
            compile_pins[bench_set.name] = bench_compile(
                bench_set, tools, names, args.runs, results
            )
    compile_results = dict(results)
    results.clear()
    if not args.skip_sync:
        for bench_set in (s for s in chosen if s.sync):
            sync_pins[bench_set.name] = bench_sync(bench_set, tools, args.tools, args.runs, results)
    stall_tools = [tool for tool in args.tools if tool != "pip-tools"]
    stalls = stall_check(tools, stall_tools, args.stall_runs) if args.stall_runs else []
    measured = [s for s in chosen if not args.skip_compile or (s.sync and not args.skip_sync)]
    for bench_set in measured:
        ran = names_for(bench_set) if not args.skip_compile else args.tools
        capped = {t: n for t, n in bench_set.max_runs.items() if n < args.runs and t in ran}
        if capped:
            runs = ", ".join(f"{tool} {n}" for tool, n in capped.items())
            notes.append(f"- {bench_set.name}: runs of each mode capped: {runs}")
    report = ["# pinlock bench", "", *machine(tools), f"- bench took {_minutes(started)}", ""]
    report += [
        f"Medians of --runs {args.runs} per mode (fewer where capped), seconds; ratios are"
        " pinlock's median over the peer's (below 1: pinlock faster); MiB: peak RSS of the"
        " process tree over the runs; last column: runs over"
        f" {STALL_FACTOR:g}× their median, per tool in column order. Earlier reports, made by"
        " the bench before this one: bench/results/.",
        "",
        *notes,
        "",
    ]
    if compile_results:
        report += ["## compile", ""]
        report += results_table(
            compile_results,
            sets=args.sets,
            modes=COMPILE_MODES,
            tools=args.tools,
            pins=compile_pins,
        )
        report += [""]
    if results:
        report += ["## sync (each set's pinlock lock, into a new venv)", ""]
        report += results_table(
            results, sets=args.sets, modes=SYNC_MODES, tools=args.tools, pins=sync_pins
        )
        report += [""]
    if stalls:
        report += [f"## DNS stall check (warm compile of {STALL_SET}, repeated)", "", *stalls, ""]
    text = "\n".join(report)
    args.output.write_text(text)
    print(text)
    return 0


def _minutes(started: float) -> str:
    elapsed = time.perf_counter() - started
    return f"{elapsed / 60:.1f} min"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        sys.exit(f"bench: {error}")
