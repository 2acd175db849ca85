"""Requirement files in pip's syntax: what compile reads from ``.in`` files and sync from locks.

Parsing follows ``-r`` and ``-c`` includes and reports every bad line as ``path:line`` with the
text and the reason (``ReqFileError``).

The line rules are pip's (``_syntax``: continuations, comments, options), ``${NAME}`` is
replaced from the environment when set, and what a requirement part names (a project, a URL, a
local path or archive) is decided as pip decides it (``_references``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pinlock.errors import ReqFileError
from pinlock.index.options import IndexOptions
from pinlock.origin import Origin
from pinlock.reqfile._references import (
    VCS_SCHEMES,
    absolute,
    direct,
    egg_name,
    is_installable_dir,
    is_url,
    local_file_location,
    parse_requirement,
    strip_extras,
)
from pinlock.reqfile._syntax import (
    ENV_VAR,
    LineProblem,
    checked_hash,
    format_control,
    logical_lines,
    parse_options,
    split_args_options,
    split_words,
)
from pinlock.urls import file_url_to_path, is_file_url

__all__ = ["PROJECT_FILES", "ParsedRequirements", "ProjectReader", "ReqLine", "parse_file"]

# Files that hold a project's metadata rather than requirement lines (``-r pyproject.toml``).
PROJECT_FILES = frozenset({"pyproject.toml", "setup.cfg", "setup.py"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ReqLine:
    """One requirement line.

    ``requirement`` is None only for a bare path or URL whose project name is not known until its
    metadata is read (``-e ./src/pkg``, ``./dist/pkg.tar.gz``). ``link`` is the URL or path of a
    direct reference (``name @ URL``, ``-e PATH``, bare path/URL), made absolute for local paths.
    ``via`` is how a lock annotates the line's file: ``-r requirements/main.in`` or
    ``-c constraints.txt`` (the file the line is written in, as the user named it).
    ``text`` is the line as written: continuations joined, comment removed, ``${VAR}`` not
    expanded (so secrets stay out of messages). ``extras`` and ``marker`` are the line's own,
    also when ``requirement`` is None.
    """

    requirement: Requirement | None
    text: str
    origin: Origin
    via: str
    constraint: bool = False
    editable: bool = False
    link: str | None = None
    hashes: tuple[str, ...] = ()
    extras: frozenset[str] = frozenset()
    marker: Marker | None = None

    @property
    def name(self) -> NormalizedName | None:
        return canonicalize_name(self.requirement.name) if self.requirement else None


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedRequirements:
    """Everything read from one top-level file and the files it includes."""

    requirements: tuple[ReqLine, ...]
    constraints: tuple[ReqLine, ...]
    options: IndexOptions
    files: tuple[str, ...]


class ProjectReader(Protocol):
    """Turns a project's metadata file (``-r ../pyproject.toml``) into requirement lines.

    ``label`` is how the lines name the file; ``constraint`` makes every line a constraint.
    compile gives one (``pinlock.compile.inputs``); without one such an include is an error.
    """

    def __call__(self, path: Path, label: str, *, constraint: bool) -> Sequence[ReqLine]: ...


def parse_file(
    path: Path | str,
    *,
    environ: Mapping[str, str] | None = None,
    allow_constraints: bool = True,
    contents: Mapping[Path, str] | None = None,
    as_constraints: bool = False,
    projects: ProjectReader | None = None,
) -> ParsedRequirements:
    """Read a requirement file and everything it includes.

    ``environ`` (default ``os.environ``) supplies ``${VAR}`` values. With ``allow_constraints``
    false a ``-c`` line is an error (locks have no constraint files). ``contents`` gives the text
    of files by resolved path instead of the disk: a compile run hands over the locks it is
    producing, so a layered input reads its base lock as it is now, not as it was (or wasn't).
    ``as_constraints`` reads the file as ``-c FILE`` would (every line a constraint);
    ``projects`` reads ``-r``/``-c`` includes of ``pyproject.toml``, ``setup.cfg``, ``setup.py``.
    """
    parser = _Parser(
        os.environ if environ is None else environ,
        allow_constraints,
        dict(contents or {}),
        projects,
    )
    parser.read(os.fspath(path), constraint=as_constraints, stack=(), included_at=None)
    return ParsedRequirements(
        requirements=tuple(parser.requirements),
        constraints=tuple(parser.constraints),
        options=parser.options.freeze(),
        files=tuple(dict.fromkeys(parser.files)),
    )


@dataclass(kw_only=True, slots=True)
class _OptionsBuilder:
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    trusted_hosts: list[str] = field(default_factory=list)
    pre: bool = False
    only_binary: set[str] = field(default_factory=set)
    no_binary: set[str] = field(default_factory=set)

    def freeze(self) -> IndexOptions:
        return IndexOptions(
            index_url=self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links)),
            no_index=self.no_index,
            trusted_hosts=tuple(dict.fromkeys(self.trusted_hosts)),
            pre=self.pre,
            only_binary=frozenset(self.only_binary),
            no_binary=frozenset(self.no_binary),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class _Line:
    """One logical line of a file being read."""

    label: str
    number: int
    text: str
    expanded: str
    constraint: bool

    @property
    def origin(self) -> Origin:
        return Origin(path=self.label, line=self.number)

    @property
    def via(self) -> str:
        return f"{'-c' if self.constraint else '-r'} {self.label}"

    @property
    def folder(self) -> str:
        return absolute(str(Path(self.label).parent))

    def error(self, reason: str) -> ReqFileError:
        return ReqFileError(self.label, self.number, self.text, reason)


class _Parser:
    def __init__(
        self,
        environ: Mapping[str, str],
        allow_constraints: bool,
        contents: dict[Path, str],
        projects: ProjectReader | None,
    ) -> None:
        self.environ = environ
        self.allow_constraints = allow_constraints
        self.contents = contents
        self.projects = projects
        self.requirements: list[ReqLine] = []
        self.constraints: list[ReqLine] = []
        self.options = _OptionsBuilder()
        self.files: list[str] = []

    def read(
        self,
        label: str,
        *,
        constraint: bool,
        stack: tuple[tuple[str, Path], ...],
        included_at: _Line | None,
    ) -> None:
        def fail(reason: str) -> ReqFileError:
            if included_at is not None:
                return included_at.error(reason)
            return ReqFileError(label, 0, "", reason)

        kind = "constraint file" if constraint else "requirement file"
        file_path = Path(label)
        try:
            given = self.contents.get(file_path.resolve())
            content = given if given is not None else file_path.read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            raise fail(f"{kind} not found: {label}") from None
        except IsADirectoryError:
            raise fail(f"{kind} is a directory: {label}") from None
        except UnicodeDecodeError as error:
            raise fail(f"{kind} {label} is not UTF-8 text ({error.reason})") from None
        except OSError as error:
            raise fail(f"cannot read {kind} {label}: {error.strerror or error}") from None

        resolved = file_path.resolve()
        for earlier_label, earlier in stack:
            if earlier == resolved:
                chain = " -> ".join([*(name for name, _ in stack), label])
                raise fail(f"include cycle: {chain} (already reading {earlier_label})")
        stack = (*stack, (label, resolved))
        self.files.append(label)

        for number, text in logical_lines(content):
            line = _Line(
                label=label,
                number=number,
                text=text,
                expanded=self._expand(text),
                constraint=constraint,
            )
            try:
                self._handle(line, stack)
            except LineProblem as problem:
                raise line.error(problem.reason + _unset_variables(line)) from None

    def _expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            return self.environ.get(match.group(1), match.group(0))

        return ENV_VAR.sub(value, text)

    def _handle(self, line: _Line, stack: tuple[tuple[str, Path], ...]) -> None:
        args_text, options_text = split_args_options(line.expanded)
        try:
            tokens = split_words(options_text)
        except ValueError as error:
            raise LineProblem(f"cannot split the line into words: {error}") from None
        options, positional = parse_options(tokens)
        if args_text:
            self._requirement_line(line, args_text, options, positional)
            return
        if positional:
            raise LineProblem(f"unexpected argument {positional[0]!r}")
        editables = [value for name, value in options if name == "--editable"]
        for name, _value in options:
            if name == "--hash":
                raise LineProblem("--hash must follow a requirement on the same line")
            if name == "--editable" and len(editables) > 1:
                raise LineProblem("only one -e requirement is allowed per line")
        for name, value in options:
            self._option(line, name, value, stack)

    def _option(
        self, line: _Line, name: str, value: str | None, stack: tuple[tuple[str, Path], ...]
    ) -> None:
        text = value or ""
        if name in ("--requirement", "--constraint"):
            self._include(line, text, constraint=name == "--constraint", stack=stack)
        elif name == "--editable":
            self._add(_editable_line(line, text))
        elif name == "--index-url":
            self.options.index_url = text
        elif name == "--extra-index-url":
            self.options.extra_index_urls.append(text)
        elif name == "--find-links":
            self.options.find_links.append(_find_links_location(line, text))
        elif name == "--no-index":
            self.options.no_index = True
        elif name == "--trusted-host":
            self.options.trusted_hosts.append(text)
        elif name == "--require-hashes":
            pass  # what pinlock writes is always hashed, and sync always checks hashes
        elif name == "--pre":
            self.options.pre = True
        elif name == "--only-binary":
            format_control(text, self.options.only_binary, self.options.no_binary, name)
        elif name == "--no-binary":
            format_control(text, self.options.no_binary, self.options.only_binary, name)

    def _include(
        self, line: _Line, target: str, *, constraint: bool, stack: tuple[tuple[str, Path], ...]
    ) -> None:
        if constraint and not self.allow_constraints:
            raise LineProblem("constraint files (-c) are not allowed in this file")
        if is_url(target):
            if not is_file_url(target):
                raise LineProblem(f"remote requirement files are not supported: {target}")
            target = str(file_url_to_path(target))
        label = str(Path(line.label).parent / target)
        if Path(target).name in PROJECT_FILES:
            self._include_project(os.path.normpath(label), constraint or line.constraint)
            return
        # Inside a constraint file everything included is a constraint as well.
        self.read(label, constraint=constraint or line.constraint, stack=stack, included_at=line)

    def _include_project(self, label: str, constraint: bool) -> None:
        if self.projects is None:
            raise LineProblem(f"{label} holds project metadata, which only compile reads")
        if not Path(label).is_file():
            raise LineProblem(f"project file not found: {label}")
        self.files.append(label)
        for req in self.projects(Path(label), label, constraint=constraint):
            self._add(req)

    def _requirement_line(
        self,
        line: _Line,
        spec: str,
        options: list[tuple[str, str | None]],
        positional: list[str],
    ) -> None:
        if positional:
            raise LineProblem(f"unexpected argument {positional[0]!r} after the options")
        hashes: list[str] = []
        for name, value in options:
            if name != "--hash":
                raise LineProblem(f"option {name} cannot follow a requirement")
            hashes.append(checked_hash(value or ""))
        parsed = parse_requirement(spec, line.folder)
        self._add(
            ReqLine(
                requirement=parsed.requirement,
                text=line.text,
                origin=line.origin,
                via=line.via,
                constraint=line.constraint,
                link=parsed.link,
                hashes=tuple(dict.fromkeys(hashes)),
                extras=parsed.extras,
                marker=parsed.marker,
            )
        )

    def _add(self, req: ReqLine) -> None:
        if not req.constraint:
            self.requirements.append(req)
            return
        if req.editable:
            raise LineProblem("editable requirements are not allowed as constraints")
        if req.requirement is None:
            raise LineProblem("a constraint must name its project (add #egg=NAME to a URL)")
        if req.extras:
            raise LineProblem("constraints cannot have extras")
        self.constraints.append(req)


def _find_links_location(line: _Line, value: str) -> str:
    # pip resolves a relative find-links path against the file's folder only when it exists there.
    if is_url(value) or Path(value).is_absolute():
        return value
    candidate = absolute(line.folder, value)
    return candidate if Path(candidate).exists() else value


def _editable_line(line: _Line, value: str) -> ReqLine:
    """An ``-e`` requirement: a local project folder (made absolute) or a file/VCS URL."""
    location, extras = strip_extras(value)
    name: str | None = None
    if not is_url(location):
        location = absolute(line.folder, location)
        if not Path(location).is_dir():
            raise LineProblem(f"editable project folder not found: {location}")
        if not is_installable_dir(location):
            raise LineProblem(
                f"editable folder {location} is not installable: "
                "it has neither pyproject.toml nor setup.py"
            )
    else:
        name, egg_extras = egg_name(location)
        extras = extras | egg_extras
        scheme = location.split(":", 1)[0].lower()
        local = local_file_location(location, line.folder, absolute_urls=True)
        if local is not None:
            # pip-compile's and uv's spellings of a local project: -e file:. / file:///abs
            if not is_installable_dir(local):
                raise LineProblem(
                    f"editable {value} is not an installable project folder ({local} has "
                    "neither pyproject.toml nor setup.py)"
                )
            location = local
        elif scheme != "file":
            if scheme not in VCS_SCHEMES:
                raise LineProblem(
                    f"{value} is not a valid editable requirement: it must be a local project "
                    "folder or a VCS URL (git+, hg+, svn+, bzr+)"
                )
            if name is None:
                raise LineProblem(
                    f"cannot tell the project name of {value}: add #egg=NAME to the URL"
                )
    parsed = direct(name, extras, location, None)
    return ReqLine(
        requirement=parsed.requirement,
        text=line.text,
        origin=line.origin,
        via=line.via,
        constraint=line.constraint,
        editable=True,
        link=parsed.link,
        extras=parsed.extras,
    )


def _unset_variables(line: _Line) -> str:
    """A note naming the ``${VAR}`` references of a bad line that the environment left as
    they were: pip keeps them verbatim, so the line fails for a reason the user cannot see."""
    unset = sorted({match.group(0) for match in ENV_VAR.finditer(line.expanded)})
    if not unset:
        return ""
    verb = "is" if len(unset) == 1 else "are"
    return f" ({', '.join(unset)} {verb} not set in the environment)"
