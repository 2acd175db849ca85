"""A command run from its script ends without tearing the interpreter down, losing nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_script(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=60
    )


def test_output_is_flushed_exit_functions_run_and_the_code_kept(tmp_path: Path) -> None:
    marker = tmp_path / "exit-function-ran"
    result = run_script(
        f"""
        import atexit, pathlib, sys
        from pinlock.cli.running import finish_process

        atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text("yes"))
        sys.stdout.write("on stdout, not yet flushed")
        sys.stderr.write("on stderr")
        finish_process(3)
        print("never reached")
        """,
        tmp_path,
    )
    assert result.returncode == 3
    assert result.stdout == "on stdout, not yet flushed"
    assert result.stderr == "on stderr"
    assert marker.read_text() == "yes"


def test_a_thread_still_at_work_is_waited_for(tmp_path: Path) -> None:
    done = tmp_path / "thread-finished"
    result = run_script(
        f"""
        import pathlib, threading, time
        from pinlock.cli.running import finish_process

        def work():
            time.sleep(0.5)
            pathlib.Path({str(done)!r}).write_text("yes")

        threading.Thread(target=work).start()
        finish_process(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert done.read_text() == "yes"


def test_the_commands_end_this_way_only_when_they_are_the_process(tmp_path: Path) -> None:
    # Called with arguments (as tests and embedders do), a command raises SystemExit to its
    # caller; run as the process, it ends it, with the same code.
    result = run_script(
        """
        import sys
        from pinlock.cli import main

        try:
            main(["compile", "--no-config", "missing.in"])
        except SystemExit as stop:
            print("raised", stop.code)
        sys.argv = ["pinlock", "compile", "--no-config", "missing.in"]
        main()
        print("never reached")
        """,
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout.splitlines() == ["raised 2"]
    assert result.stderr.count("requirement file not found: missing.in") == 2
