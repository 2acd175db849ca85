"""Every kind of compile input, read into the one value a run works from (``ParsedRequirements``).

- a requirement file (``.in``, or a ``requirements.txt`` lock: its pins are requirements too);
- a project: ``pyproject.toml``, ``setup.cfg`` or ``setup.py`` (``pinlock.compile.project``),
  also when a requirement file includes one (``-r ../pyproject.toml``);
- ``-``: a requirement file read from standard input (its lines say ``-r -``).

Several inputs compiled into one lock are merged (``merge``), and constraint files given on the
command line (``-c FILE``) are read as every line a constraint (``constraints``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from pinlock.compile.project import ProjectInputs
from pinlock.errors import ReqFileError
from pinlock.index.options import IndexOptions
from pinlock.reqfile import PROJECT_FILES, ParsedRequirements, parse_file

__all__ = ["STDIN", "is_project_file", "merge", "read_constraints", "read_input"]

STDIN = Path("-")


def is_project_file(path: Path) -> bool:
    """Whether ``path`` is a project's metadata file rather than a requirement file."""
    return path.name in PROJECT_FILES


def read_input(
    path: Path,
    *,
    projects: ProjectInputs,
    environ: Mapping[str, str] | None = None,
    contents: Mapping[Path, str] | None = None,
    stdin: str | None = None,
) -> ParsedRequirements:
    """One input, whatever its kind. ``stdin`` is the text ``-`` stands for."""
    if path == STDIN:
        given = {**(contents or {}), STDIN.resolve(): stdin or ""}
        return parse_file(STDIN, environ=environ, contents=given, projects=projects)
    if is_project_file(path):
        return _project(path, projects, constraint=False)
    return parse_file(path, environ=environ, contents=contents, projects=projects)


def _project(path: Path, projects: ProjectInputs, *, constraint: bool) -> ParsedRequirements:
    label = os.path.normpath(path)
    if not path.is_file():
        raise ReqFileError(label, 0, "", f"project file not found: {label}")
    lines = tuple(projects(path, label, constraint=constraint))
    return ParsedRequirements(
        requirements=() if constraint else lines,
        constraints=lines if constraint else (),
        options=IndexOptions(),
        files=(label,),
    )


def read_constraints(
    paths: Sequence[Path], *, projects: ProjectInputs, environ: Mapping[str, str] | None = None
) -> ParsedRequirements:
    """Constraint files from the command line (``-c FILE``), as ``-c`` lines would read them;
    a project file's requirements become constraints."""
    return merge(
        [
            _project(path, projects, constraint=True)
            if is_project_file(path)
            else parse_file(path, environ=environ, as_constraints=True, projects=projects)
            for path in paths
        ]
    )


def merge(parts: Sequence[ParsedRequirements]) -> ParsedRequirements:
    """Several inputs as one: requirements and constraints in order, index options united.

    The first ``--index-url`` wins, as pip reading the files in one command; another one a
    later file names becomes an extra index, so no pin loses the index it came from.
    """
    index_url: str | None = None
    extra: list[str] = []
    for part in parts:
        options = part.options
        if options.index_url is not None and index_url is None:
            index_url = options.index_url
        elif options.index_url is not None and options.index_url != index_url:
            extra.append(options.index_url)
        extra.extend(options.extra_index_urls)
    every = [part.options for part in parts]
    return ParsedRequirements(
        requirements=tuple(line for part in parts for line in part.requirements),
        constraints=tuple(line for part in parts for line in part.constraints),
        options=IndexOptions(
            index_url=index_url,
            extra_index_urls=tuple(dict.fromkeys(extra)),
            find_links=tuple(dict.fromkeys(link for o in every for link in o.find_links)),
            no_index=any(o.no_index for o in every),
            trusted_hosts=tuple(dict.fromkeys(host for o in every for host in o.trusted_hosts)),
            pre=any(o.pre for o in every),
            only_binary=frozenset(name for o in every for name in o.only_binary),
            no_binary=frozenset(name for o in every for name in o.no_binary),
        ),
        files=tuple(dict.fromkeys(file for part in parts for file in part.files)),
    )
