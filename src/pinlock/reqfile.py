"""Requirement files in pip's syntax: what compile reads from ``.in`` files and sync from locks.

Parsing follows ``-r`` and ``-c`` includes and reports every bad line as ``path:line`` with the
text and the reason (``ReqFileError``).

The line rules are pip's: a ``\\`` at the end of a line joins it with the next, ``#`` starts a
comment at the start of a line or after whitespace (so ``#egg=`` and ``#sha256=`` URL fragments
survive), ``${NAME}`` is replaced from the environment when set, and a requirement line ends at the
first word that starts with ``-`` (its per-requirement options, such as ``--hash``).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pinlock.errors import ReqFileError
from pinlock.index.models import parse_dist_filename
from pinlock.index.options import IndexOptions
from pinlock.origin import Origin
from pinlock.urls import file_url_to_path, is_file_url, url_filename

__all__ = ["ParsedRequirements", "ReqLine", "parse_file"]


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


def parse_file(
    path: Path | str,
    *,
    environ: Mapping[str, str] | None = None,
    allow_constraints: bool = True,
    contents: Mapping[Path, str] | None = None,
) -> ParsedRequirements:
    """Read a requirement file and everything it includes.

    ``environ`` (default ``os.environ``) supplies ``${VAR}`` values. With ``allow_constraints``
    false a ``-c`` line is an error (locks have no constraint files). ``contents`` gives the text
    of files by resolved path instead of the disk: a compile run hands over the locks it is
    producing, so a layered input reads its base lock as it is now, not as it was (or wasn't).
    """
    parser = _Parser(
        os.environ if environ is None else environ, allow_constraints, dict(contents or {})
    )
    parser.read(os.fspath(path), constraint=False, stack=(), included_at=None)
    return ParsedRequirements(
        requirements=tuple(parser.requirements),
        constraints=tuple(parser.constraints),
        options=parser.options.freeze(),
        files=tuple(dict.fromkeys(parser.files)),
    )


_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_EXTRAS_SUFFIX = re.compile(r"^(.+)(\[[^\]]+\])$")
_EGG = re.compile(r"[#&]egg=([^&]*)")
_HASH = re.compile(r"^(sha256|sha384|sha512):([0-9a-fA-F]+)$")
_HASH_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}

_VCS_SCHEMES = frozenset(
    {
        "git",
        "git+file",
        "git+git",
        "git+http",
        "git+https",
        "git+ssh",
        "hg+file",
        "hg+http",
        "hg+https",
        "hg+ssh",
        "hg+static-http",
        "svn",
        "svn+file",
        "svn+http",
        "svn+https",
        "svn+ssh",
        "svn+svn",
        "bzr+ftp",
        "bzr+http",
        "bzr+https",
        "bzr+lp",
        "bzr+sftp",
        "bzr+ssh",
        "bzr+file",
    }
)
_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"}) | _VCS_SCHEMES
_ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)

# Spelling -> (canonical long name, takes a value).
_OPTIONS: dict[str, tuple[str, bool]] = {
    "-i": ("--index-url", True),
    "--index-url": ("--index-url", True),
    "--extra-index-url": ("--extra-index-url", True),
    "-f": ("--find-links", True),
    "--find-links": ("--find-links", True),
    "--no-index": ("--no-index", False),
    "--trusted-host": ("--trusted-host", True),
    "--pre": ("--pre", False),
    "--only-binary": ("--only-binary", True),
    "--no-binary": ("--no-binary", True),
    "-r": ("--requirement", True),
    "--requirement": ("--requirement", True),
    "-c": ("--constraint", True),
    "--constraint": ("--constraint", True),
    "-e": ("--editable", True),
    "--editable": ("--editable", True),
    "--hash": ("--hash", True),
    "--require-hashes": ("--require-hashes", False),
}
# Options pip accepts in requirement files that pinlock cannot honour; silently dropping them
# would produce locks that install differently from what the file asks for.
_UNSUPPORTED_OPTIONS: dict[str, tuple[str, bool]] = {
    "-C": ("--config-settings", True),
    "--config-settings": ("--config-settings", True),
    "--global-option": ("--global-option", True),
    "--prefer-binary": ("--prefer-binary", False),
    "--use-feature": ("--use-feature", True),
}


class _LineProblem(Exception):
    """A reason a line is bad; the parser adds the file, line number and text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        return _absolute(str(Path(self.label).parent))

    def error(self, reason: str) -> ReqFileError:
        return ReqFileError(self.label, self.number, self.text, reason)


class _Parser:
    def __init__(
        self, environ: Mapping[str, str], allow_constraints: bool, contents: dict[Path, str]
    ) -> None:
        self.environ = environ
        self.allow_constraints = allow_constraints
        self.contents = contents
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

        for number, text in _logical_lines(content):
            line = _Line(
                label=label,
                number=number,
                text=text,
                expanded=self._expand(text),
                constraint=constraint,
            )
            try:
                self._handle(line, stack)
            except _LineProblem as problem:
                raise line.error(problem.reason) from None

    def _expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            return self.environ.get(match.group(1), match.group(0))

        return _ENV_VAR.sub(value, text)

    def _handle(self, line: _Line, stack: tuple[tuple[str, Path], ...]) -> None:
        args_text, options_text = _split_args_options(line.expanded)
        try:
            tokens = _split_words(options_text)
        except ValueError as error:
            raise _LineProblem(f"cannot split the line into words: {error}") from None
        options, positional = _parse_options(tokens)
        if args_text:
            self._requirement_line(line, args_text, options, positional)
            return
        if positional:
            raise _LineProblem(f"unexpected argument {positional[0]!r}")
        editables = [value for name, value in options if name == "--editable"]
        for name, _value in options:
            if name == "--hash":
                raise _LineProblem("--hash must follow a requirement on the same line")
            if name == "--editable" and len(editables) > 1:
                raise _LineProblem("only one -e requirement is allowed per line")
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
            _format_control(text, self.options.only_binary, self.options.no_binary, name)
        elif name == "--no-binary":
            _format_control(text, self.options.no_binary, self.options.only_binary, name)

    def _include(
        self, line: _Line, target: str, *, constraint: bool, stack: tuple[tuple[str, Path], ...]
    ) -> None:
        if constraint and not self.allow_constraints:
            raise _LineProblem("constraint files (-c) are not allowed in this file")
        if _is_url(target):
            if not is_file_url(target):
                raise _LineProblem(f"remote requirement files are not supported: {target}")
            target = str(file_url_to_path(target))
        label = str(Path(line.label).parent / target)
        # Inside a constraint file everything included is a constraint as well.
        self.read(label, constraint=constraint or line.constraint, stack=stack, included_at=line)

    def _requirement_line(
        self,
        line: _Line,
        spec: str,
        options: list[tuple[str, str | None]],
        positional: list[str],
    ) -> None:
        if positional:
            raise _LineProblem(f"unexpected argument {positional[0]!r} after the options")
        hashes: list[str] = []
        for name, value in options:
            if name != "--hash":
                raise _LineProblem(f"option {name} cannot follow a requirement")
            hashes.append(_checked_hash(value or ""))
        parsed = _parse_requirement(spec, line.folder)
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
            raise _LineProblem("editable requirements are not allowed as constraints")
        if req.requirement is None:
            raise _LineProblem("a constraint must name its project (add #egg=NAME to a URL)")
        if req.extras:
            raise _LineProblem("constraints cannot have extras")
        self.constraints.append(req)


def _logical_lines(content: str) -> Iterator[tuple[int, str]]:
    """Numbered logical lines: continuations joined, comments removed, blank lines skipped."""
    for number, joined in _join_continuations(content.splitlines()):
        text = _COMMENT.sub("", joined).strip()
        if text:
            yield number, text


def _join_continuations(lines: list[str]) -> Iterator[tuple[int, str]]:
    # A comment line ends a continuation (pip's rule); it is prefixed with a space so the
    # comment pattern still matches it once joined.
    pending: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        is_comment = _COMMENT.match(line) is not None
        if line.endswith("\\") and not is_comment:
            if not pending:
                first = number
            pending.append(line.rstrip("\\"))
            continue
        if is_comment:
            line = " " + line
        if pending:
            yield first, "".join([*pending, line])
            pending = []
        else:
            yield number, line
    if pending:
        yield first, "".join(pending)


def _split_args_options(text: str) -> tuple[str, str]:
    """The requirement part (words before the first ``-word``) and the options part."""
    words = text.split(" ")
    for index, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:index]).strip(), " ".join(words[index:])
    return text.strip(), ""


def _parse_options(tokens: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Options (canonical name, value) in order, and the words that are not options."""
    options: list[tuple[str, str | None]] = []
    positional: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        if token.startswith("--"):
            spelling, has_value, inline = token.partition("=")
        else:
            spelling, inline = token[:2], token[2:]
            has_value = "=" if inline else ""
        spec = _OPTIONS.get(spelling) or _UNSUPPORTED_OPTIONS.get(spelling)
        if spec is None:
            raise _LineProblem(f"unknown option {spelling}")
        name, takes_value = spec
        value: str | None = None
        if takes_value:
            if has_value:
                value = inline
            elif index < len(tokens):
                value = tokens[index]
                index += 1
            else:
                raise _LineProblem(f"option {name} requires an argument")
        elif has_value:
            raise _LineProblem(f"option {name} takes no argument")
        if spelling in _UNSUPPORTED_OPTIONS:
            raise _LineProblem(f"option {name} is not supported by pinlock")
        options.append((name, value))
    return options, positional


def _checked_hash(value: str) -> str:
    match = _HASH.match(value)
    if match is None:
        raise _LineProblem(
            f"invalid --hash value {value!r}: expected sha256:, sha384: or sha512: and hex digits"
        )
    algorithm, digest = match.groups()
    if len(digest) != _HASH_HEX_LENGTH[algorithm]:
        raise _LineProblem(
            f"invalid --hash value {value!r}: a {algorithm} digest has "
            f"{_HASH_HEX_LENGTH[algorithm]} hex digits"
        )
    return f"{algorithm}:{digest.lower()}"


def _format_control(value: str, target: set[str], other: set[str], option: str) -> None:
    """pip's ``--no-binary``/``--only-binary`` rules: names exclude each other, ``:all:``
    covers every project, ``:none:`` clears the option."""
    if not value or value.startswith("-"):
        raise _LineProblem(f"option {option} requires an argument")
    names = value.split(",")
    while ":all:" in names:
        other.clear()
        target.clear()
        target.add(":all:")
        del names[: names.index(":all:") + 1]
        if ":none:" not in names:
            return
    for name in names:
        if name == ":none:":
            target.clear()
            continue
        if not name:
            continue
        canonical = canonicalize_name(name)
        other.discard(canonical)
        target.add(canonical)


def _find_links_location(line: _Line, value: str) -> str:
    # pip resolves a relative find-links path against the file's folder only when it exists there.
    if _is_url(value) or Path(value).is_absolute():
        return value
    candidate = _absolute(line.folder, value)
    return candidate if Path(candidate).exists() else value


def _is_url(text: str) -> bool:
    if ":" not in text:
        return False
    return text.split(":", 1)[0].lower() in _URL_SCHEMES


def _looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def _is_archive(text: str) -> bool:
    return text.lower().endswith(_ARCHIVE_SUFFIXES)


def _is_installable_dir(path: str) -> bool:
    return (Path(path) / "pyproject.toml").is_file() or (Path(path) / "setup.py").is_file()


def _absolute(*parts: str) -> str:
    """An absolute, normalised path; symlinks are kept as the user wrote them."""
    return os.path.normpath(Path(*parts).absolute())


def _first_line(message: object) -> str:
    return str(message).strip().splitlines()[0] if str(message).strip() else "invalid"


def _strip_extras(text: str) -> tuple[str, frozenset[str]]:
    match = _EXTRAS_SUFFIX.match(text)
    if match is None:
        return text, frozenset()
    try:
        extras = Requirement("placeholder" + match.group(2)).extras
    except InvalidRequirement as error:
        raise _LineProblem(f"invalid extras {match.group(2)}: {_first_line(error)}") from None
    return match.group(1), frozenset(canonicalize_name(extra) for extra in extras)


def _parse_marker(text: str) -> Marker | None:
    if not text.strip():
        return None
    try:
        return Marker(text.strip())
    except InvalidMarker as error:
        raise _LineProblem(f"invalid marker: {_first_line(error)}") from None


def _egg_name(url: str) -> tuple[str | None, frozenset[str]]:
    match = _EGG.search(url)
    if match is None or not match.group(1):
        return None, frozenset()
    egg = unquote(match.group(1))
    try:
        parsed = Requirement(egg)
    except InvalidRequirement:
        raise _LineProblem(f"invalid #egg= fragment {egg!r}: expected a project name") from None
    if parsed.specifier or parsed.url or parsed.marker:
        raise _LineProblem(f"invalid #egg= fragment {egg!r}: expected a project name")
    return parsed.name, frozenset(canonicalize_name(extra) for extra in parsed.extras)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Parsed:
    requirement: Requirement | None
    link: str | None
    extras: frozenset[str]
    marker: Marker | None


def _direct(
    name: str | None, extras: frozenset[str], location: str, marker: Marker | None
) -> _Parsed:
    """A direct reference; ``location`` is a URL or an absolute filesystem path."""
    if name is None:
        return _Parsed(requirement=None, link=location, extras=extras, marker=marker)
    url = location if _is_url(location) else Path(location).as_uri()
    extras_text = f"[{','.join(sorted(extras))}]" if extras else ""
    marker_text = f" ; {marker}" if marker is not None else ""
    requirement = Requirement(f"{name}{extras_text} @ {url}{marker_text}")
    return _Parsed(requirement=requirement, link=location, extras=extras, marker=marker)


def _parse_requirement(spec: str, folder: str) -> _Parsed:
    """A requirement line's requirement part, following pip's order of interpretation."""
    if _is_url(spec):
        # After a URL only "; " starts a marker: a bare ";" may be part of the URL.
        url, _, marker_text = spec.partition("; ")
        url = url.strip()
        name, extras = _egg_name(url)
        if name is None:
            filename = url_filename(url)
            dist = parse_dist_filename(filename)
            name = dist[0] if dist else None
        return _direct(name, extras, url, _parse_marker(marker_text))

    before_at = spec.split("@", 1)[0]
    if "@" not in spec or _looks_like_path(before_at):
        path_part, _, marker_text = spec.partition(";")
        path_text, extras = _strip_extras(path_part.strip())
        location = _absolute(folder, path_text)
        if _looks_like_path(path_text) and Path(location).is_dir():
            if not _is_installable_dir(location):
                raise _LineProblem(
                    f"directory {path_text!r} is not installable: "
                    "it has neither pyproject.toml nor setup.py"
                )
            return _direct(None, extras, location, _parse_marker(marker_text))
        if _is_archive(path_text):
            if not Path(location).is_file():
                raise _LineProblem(f"file not found: {location}")
            dist = parse_dist_filename(Path(path_text).name)
            name = dist[0] if dist else None
            return _direct(name, extras, location, _parse_marker(marker_text))

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as error:
        reason = f"invalid requirement: {_first_line(error)}"
        if _looks_like_path(before_at):
            location = _absolute(folder, before_at.split(";")[0].strip())
            reason += f" (it looks like a path, but {location} does not exist)"
        raise _LineProblem(reason) from None
    if requirement.url is not None and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", requirement.url):
        raise _LineProblem(
            f"direct reference {requirement.url!r} is not a URL: "
            "use a file:// URL or write the path alone"
        )
    return _Parsed(
        requirement=requirement,
        link=requirement.url,
        extras=frozenset(canonicalize_name(extra) for extra in requirement.extras),
        marker=requirement.marker,
    )


def _editable_line(line: _Line, value: str) -> ReqLine:
    """An ``-e`` requirement: a local project folder (made absolute) or a file/VCS URL."""
    location, extras = _strip_extras(value)
    name: str | None = None
    if not _is_url(location):
        location = _absolute(line.folder, location)
        if not Path(location).is_dir():
            raise _LineProblem(f"editable project folder not found: {location}")
        if not _is_installable_dir(location):
            raise _LineProblem(
                f"editable folder {location} is not installable: "
                "it has neither pyproject.toml nor setup.py"
            )
    else:
        name, egg_extras = _egg_name(location)
        extras = extras | egg_extras
        scheme = location.split(":", 1)[0].lower()
        if scheme != "file":
            if scheme not in _VCS_SCHEMES:
                raise _LineProblem(
                    f"{value} is not a valid editable requirement: it must be a local project "
                    "folder or a VCS URL (git+, hg+, svn+, bzr+)"
                )
            if name is None:
                raise _LineProblem(
                    f"cannot tell the project name of {value}: add #egg=NAME to the URL"
                )
    parsed = _direct(name, extras, location, None)
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


_PLAIN_WORDS = re.compile(r"[^ \t\r\n]+")


def _split_words(text: str) -> list[str]:
    """``shlex.split``, with a fast path for the usual text without quotes or backslashes."""
    # shlex tokenizes one character at a time: a lock's thousands of hash options made it
    # the largest cost of reading a lock.
    if "'" in text or '"' in text or "\\" in text:
        return shlex.split(text)
    return _PLAIN_WORDS.findall(text)
