"""Byte-compile the files named in a list, by the target interpreter, on all its cores.

pinlock reads this file as text and runs it with ``python -I -c SCRIPT LISTFILE`` in the
target interpreter: byte code belongs to the interpreter that will import it. The list holds one
source path a line; the answer on stdout is a JSON list with, for each source in order, the
byte-code file written, or null where compiling failed (pip goes on past such files too).
Standard library only, and annotations as strings: it runs on any Python 3.6+.
"""

import compileall
import functools
import importlib.util
import json
import os
import sys


def compile_all(files: "list[str]") -> "list[bool]":
    # As pip compiles: forced, optimisation level 0, quiet (errors counted, not printed).
    one = functools.partial(compileall.compile_file, force=True, quiet=2)
    workers = min(os.cpu_count() or 1, 1 + len(files) // 64)
    if workers > 1:
        try:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(workers) as pool:
                chunk = 1 + len(files) // (workers * 8)
                return list(pool.map(one, files, chunksize=chunk))
        except (ImportError, NotImplementedError, OSError):
            pass  # no working multiprocessing here (a sandbox without semaphores)
    return [one(path) for path in files]


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        files = [line for line in handle.read().split("\n") if line]
    done = compile_all(files)
    written = [
        importlib.util.cache_from_source(path) if ok else None for path, ok in zip(files, done)
    ]
    sys.stdout.write(json.dumps(written))


if __name__ == "__main__":
    main()
