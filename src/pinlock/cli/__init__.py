"""The ``pinlock`` command line: ``pinlock compile`` and ``pinlock sync``.

The typer app lives in ``pinlock.cli.commands`` and is loaded on first use: ``pinlock sync``
and ``pinlock compile`` with an ordinary command line run without it (see ``pinlock.cli.sync``
and ``pinlock.cli.compile``), since importing typer costs more than checking an environment
that is already in sync or a lock that is up to date.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

from pinlock.cli.heap import few_collections_while_importing

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main", "script_main"]


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        from pinlock.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Run ``pinlock`` with ``argv`` (default: the process arguments); it ends with SystemExit,
    for a caller in this process to catch."""
    _run(argv, own_process=False)


def script_main() -> None:
    """The ``pinlock`` script and ``python -m pinlock``: ``main``, then the process ends
    without the interpreter's teardown (``running.finish_process``)."""
    _run(None, own_process=True)


def _run(argv: list[str] | None, *, own_process: bool) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sync"]:
        with few_collections_while_importing():
            from pinlock.cli.sync import fast_main

        code = fast_main(args[1:])
        if code is not None:
            _finish(code, own_process=own_process)
    if args[:1] == ["compile"]:
        if not {"--offline", "--help", "-h", "--version"} & set(args):
            # The page worker starts now, loading its modules beside this process's own, rather
            # than once the options are read: a guess, and one that is not taken up (the
            # options say offline after all, or the locks are up to date) ends with this
            # process.
            from pinlock.index.pageworker import prestart

            prestart()
        with few_collections_while_importing():
            from pinlock.cli.compile import fast_main as fast_compile

        code = fast_compile(args[1:])
        if code is not None:
            _finish(code, own_process=own_process)
    from pinlock.cli.commands import run

    run(args)


def _finish(code: int, *, own_process: bool) -> NoReturn:
    from pinlock.cli.running import end_command

    end_command(code, own_process=own_process)
