"""The line syntax of pip requirement files: logical lines, options and their values.

pip's rules: a ``\\`` at the end of a line joins it with the next, ``#`` starts a comment at the
start of a line or after whitespace (so ``#egg=`` and ``#sha256=`` URL fragments survive), and a
requirement line ends at the first word that starts with ``-`` (its per-requirement options).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from pinlock.index.options import update_format_control

_COMMENT = re.compile(r"(^|\s+)#.*$")

ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")

_HASH = re.compile(r"^(sha256|sha384|sha512):([0-9a-fA-F]+)$")

_HASH_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}

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


class LineProblem(Exception):
    """A reason a line is bad; the parser adds the file, line number and text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def logical_lines(content: str) -> Iterator[tuple[int, str]]:
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


def split_args_options(text: str) -> tuple[str, str]:
    """The requirement part (words before the first ``-word``) and the options part."""
    words = text.split(" ")
    for index, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:index]).strip(), " ".join(words[index:])
    return text.strip(), ""


def parse_options(tokens: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
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
            raise LineProblem(f"unknown option {spelling}")
        name, takes_value = spec
        value: str | None = None
        if takes_value:
            if has_value:
                value = inline
            elif index < len(tokens):
                value = tokens[index]
                index += 1
            else:
                raise LineProblem(f"option {name} requires an argument")
        elif has_value:
            raise LineProblem(f"option {name} takes no argument")
        if spelling in _UNSUPPORTED_OPTIONS:
            raise LineProblem(f"option {name} is not supported by pinlock")
        options.append((name, value))
    return options, positional


def checked_hash(value: str) -> str:
    match = _HASH.match(value)
    if match is None:
        raise LineProblem(
            f"invalid --hash value {value!r}: expected sha256:, sha384: or sha512: and hex digits"
        )
    algorithm, digest = match.groups()
    if len(digest) != _HASH_HEX_LENGTH[algorithm]:
        raise LineProblem(
            f"invalid --hash value {value!r}: a {algorithm} digest has "
            f"{_HASH_HEX_LENGTH[algorithm]} hex digits"
        )
    return f"{algorithm}:{digest.lower()}"


def format_control(value: str, target: set[str], other: set[str], option: str) -> None:
    """pip's ``--no-binary``/``--only-binary`` rules: names exclude each other, ``:all:``
    covers every project, ``:none:`` clears the option."""
    if not value or value.startswith("-"):
        raise LineProblem(f"option {option} requires an argument")
    update_format_control(value, target, other)


_PLAIN_WORDS = re.compile(r"[^ \t\r\n]+")


def split_words(text: str) -> list[str]:
    """``shlex.split``, with a fast path for the usual text without quotes or backslashes."""
    # shlex tokenizes one character at a time: a lock's thousands of hash options made it
    # the largest cost of reading a lock.
    if "'" in text or '"' in text or "\\" in text:
        return shlex.split(text)
    return _PLAIN_WORDS.findall(text)
