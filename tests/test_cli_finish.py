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


def test_a_daemon_thread_does_not_hold_the_process(tmp_path: Path) -> None:
    # A daemon thread (the page worker's answer reader, a reaper) is stopped by an ordinary
    # exit too: the process still ends at once, without the interpreter's teardown.
    result = run_script(
        """
        import atexit, os, sys, threading, time
        from pinlock.cli.running import finish_process

        class TornDown:
            def __del__(self):  # run by the interpreter's teardown, which is skipped
                os.write(1, b"torn down\\n")

        kept = TornDown()
        atexit.register(lambda: print("exit functions ran"))
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        finish_process(4)
        """,
        tmp_path,
    )
    assert (result.returncode, result.stdout) == (4, "exit functions ran\n")


def test_only_the_scripts_end_the_process_this_way(tmp_path: Path) -> None:
    # main(), with or without arguments, raises SystemExit to a caller in the process (tests,
    # embedders); the console scripts and `python -m pinlock` end the process, same code.
    result = run_script(
        """
        import sys
        from pinlock.cli import main, script_main
        from pinlock.cli import compile as compile_cli

        sys.argv = ["pinlock", "compile", "--no-config", "missing.in"]
        for call in (lambda: main(sys.argv[1:]), main, lambda: compile_cli.main(sys.argv[2:])):
            try:
                call()
            except SystemExit as stop:
                print("raised", stop.code)
        script_main()
        print("never reached")
        """,
        tmp_path,
    )
    assert result.returncode == 2
    assert result.stdout.splitlines() == ["raised 2", "raised 2", "raised 2"]
    assert result.stderr.count("requirement file not found: missing.in") == 4


def test_a_closed_standard_output_is_no_error(tmp_path: Path) -> None:
    # Started with its standard output closed (`>&-`), Python has no sys.stdout to flush.
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "from pinlock.cli.running import finish_process\n"
        "assert sys.stdout is None\n"
        "finish_process(0)\n"
    )
    result = subprocess.run(
        ["sh", "-c", f"exec {sys.executable} {script} >&-"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
