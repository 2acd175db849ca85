"""The bench's parts that need no index: medians, stalls, ratios, tables, peak RSS of a child."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import run as bench


def _measured(*seconds: float, rss_kib: int = 1024) -> bench.Measurement:
    return bench.Measurement(
        samples=tuple(bench.Sample(seconds=s, max_rss_kib=rss_kib) for s in seconds)
    )


def test_a_measurement_gives_the_median_the_peak_and_the_runs_over_three_times_the_median() -> None:
    measured = bench.Measurement(
        samples=(
            bench.Sample(seconds=0.8, max_rss_kib=100 * 1024),
            bench.Sample(seconds=5.4, max_rss_kib=300 * 1024),
            bench.Sample(seconds=0.9, max_rss_kib=200 * 1024),
            bench.Sample(seconds=2.6, max_rss_kib=100 * 1024),
        )
    )

    assert measured.median == pytest.approx(1.75)
    assert measured.peak_rss_mib == pytest.approx(300)
    # 3 × 1.75 = 5.25: only the 5.4 s run is a stall.
    assert measured.stalls == 1


def test_ratios_are_pinlock_over_the_peer_and_a_dash_when_either_is_missing() -> None:
    assert bench.ratio(1.8, 0.9) == "2.00×"
    assert bench.ratio(0.5, 2.0) == "0.25×"
    assert bench.ratio(None, 2.0) == "–"
    assert bench.ratio(1.0, None) == "–"
    assert bench.ratio(1.0, 0.0) == "–"


def test_the_results_table_has_a_row_per_set_and_mode_with_ratios_to_each_peer() -> None:
    results: bench.Results = {
        ("black", "cold", "pinlock"): _measured(1.0, 1.2, 1.1, rss_kib=60 * 1024),
        ("black", "cold", "pip-tools"): _measured(4.4, rss_kib=50 * 1024),
        ("black", "cold", "uv"): _measured(0.5, 0.55, 0.6, rss_kib=40 * 1024),
        ("black", "warm", "pinlock"): _measured(0.4, 0.4, 9.0),
        ("black", "warm", "uv"): _measured(0.8, 0.8, 0.8),
    }

    lines = bench.results_table(
        results,
        sets=["black", "jupyter"],
        modes=bench.COMPILE_MODES,
        tools=bench.TOOLS,
        pins={"black": "7"},
    )

    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == [
        "set",
        "pins",
        "mode",
        "pinlock s",
        "pip-tools s",
        "uv s",
        "pinlock÷pip-tools",
        "pinlock÷uv",
        "pinlock MiB",
        "pip-tools MiB",
        "uv MiB",
        "MiB pinlock÷uv",
        "runs >3× median",
    ]
    assert lines[1] == "|" + "---|" * len(header)
    # No no-op row and no jupyter row: nothing was measured there.
    assert lines[2:] == [
        "| black | 7 | cold | 1.10 | 4.40 | 0.550 | 0.25× | 2.00× | 60 | 50 | 40 | 1.50×"
        " | 0/3 0/1 0/3 |",
        "| black | 7 | warm | 0.400 | – | 0.800 | – | 0.50× | 1 | – | 1 | 1.00× | 1/3 – 0/3 |",
    ]


def test_a_table_without_pinlock_has_no_ratio_columns() -> None:
    results: bench.Results = {("black", "cold", "uv"): _measured(0.5)}

    lines = bench.results_table(
        results, sets=["black"], modes=["cold"], tools=["uv"], pins={"black": "7"}
    )

    assert lines[0] == "| set | pins | mode | uv s | uv MiB | runs >3× median |"
    assert lines[2] == "| black | 7 | cold | 0.500 | 1 | 0/1 |"


def test_pins_are_read_from_lock_lines_not_from_hashes_comments_or_options(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "# pip-compile --generate-hashes\n"
        "--index-url https://pypi.org/simple\n"
        "Black==24.1.0 \\\n"
        "    --hash=sha256:00\n"
        "    # via -r black.in\n"
        "tomli==2.0.1 ; python_version < '3.11' \\\n"
        "    --hash=sha256:11\n"
        "# The following packages are considered to be unsafe in a requirements file:\n"
        "zope.interface==7.0\n"
    )

    assert bench.pins(lock) == {"black==24.1.0", "tomli==2.0.1", "zope-interface==7.0"}


def test_the_pins_cell_names_peers_whose_locks_differ_from_pinlocks() -> None:
    mine = {"a==1", "b==1", "c==1"}

    assert bench.pins_cell({"pinlock": mine, "uv": set(mine)}) == "3"
    assert (
        bench.pins_cell({"pinlock": mine, "pip-tools": set(mine), "uv": {"a==1", "b==2"}})
        == "3 (uv 2, 3 differ)"
    )


def test_the_environment_loses_pip_uv_and_pinlock_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "file:///mirror")
    monkeypatch.setenv("UV_INDEX_URL", "file:///mirror")
    monkeypatch.setenv("PINLOCK_FLAVOUR", "cu121")
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")

    env = bench.clean_env(UV_CACHE_DIR="/cache")

    assert not {"PIP_INDEX_URL", "UV_INDEX_URL", "PINLOCK_FLAVOUR"} & set(env)
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["UV_CACHE_DIR"] == "/cache"
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"


def test_a_run_gives_the_peak_rss_of_the_process_tree(tmp_path: Path) -> None:
    # Measured from a small process, as the bench runs: a child started from a large one (a
    # pytest worker) may report its parent's peak, which it shared until its exec.
    grandchild = "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    measure = textwrap.dedent(
        f"""
        import json, os, sys
        from pathlib import Path
        from bench import run as bench

        here = Path({str(tmp_path)!r})
        trivial = bench.run_measured([sys.executable, "-c", "pass"], env=os.environ, cwd=here)
        tree = bench.run_measured([sys.executable, "-c", {child!r}], env=os.environ, cwd=here)
        print(json.dumps([trivial.max_rss_kib, tree.max_rss_kib, trivial.seconds]))
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", measure],
        cwd=Path(bench.__file__).parents[1],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    trivial_kib, tree_kib, trivial_seconds = json.loads(shown)

    assert 0 < trivial_kib < 100 * 1024
    assert tree_kib >= 200 * 1024
    assert trivial_seconds > 0


def test_a_failing_tool_stops_the_bench_with_its_output(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; sys.exit('no such package: nope')"]

    with pytest.raises(bench.BenchError, match=r"failed \(1\):\nno such package: nope"):
        bench.run_measured(cmd, env=os.environ, cwd=tmp_path)


def test_every_set_is_within_its_own_run_caps() -> None:
    jupyter = bench.SETS["jupyter"]

    assert jupyter.runs_for("pip-tools", 3) == 1
    assert jupyter.runs_for("pinlock", 3) == 3
    assert bench.SETS["black"].runs_for("uv", 5) == 5
    assert {name for name, s in bench.SETS.items() if s.sync} == {"black", "trio-docs", "jupyter"}
