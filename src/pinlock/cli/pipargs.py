"""``--pip-args``: pip options as pip-compile and pip-sync pass them to pip, read as pip's own.

pinlock runs no ``pip install`` that such options could go to, so each one is looked up in
``pinlock.index.pipkeys``, the table of what pinlock does with every option of ``pip install``:
one that pinlock applies becomes a command-line override of pip's configuration (indexes, TLS,
``--pre``, ``--only-binary``, ``-c``, ``--uploaded-prior-to``...), one that only changes how pip
installs or talks is ignored, and any other is refused with the table's reason.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from pinlock.errors import ConfigError
from pinlock.index.pipkeys import Handling, find_pip_key

__all__ = ["PipOverrides", "index_overrides", "pip_args_overrides"]

PipOverrides = dict[str, str | bool | tuple[str, ...]]

_FLAG = "--pip-args"
# pip's short options, by the long option they stand for.
_SHORT = {
    "-i": "index-url",
    "-f": "find-links",
    "-c": "constraint",
    "-r": "requirement",
    "-e": "editable",
    "-U": "upgrade",
    "-I": "ignore-installed",
    "-t": "target",
    "-v": "verbose",
    "-q": "quiet",
}
_COUNTS = re.compile(r"-(v+|q+)")
# Read from configuration with a value, yet a flag on pip's command line.
_FLAGS_ON_THE_COMMAND_LINE = frozenset({"no-cache-dir"})


def pip_args_overrides(text: str) -> PipOverrides:
    """The options in ``text`` that pinlock applies, by pip's key (lists as tuples), ready to
    be layered over pip's configuration (``load_pip_configuration(overrides=...)``)."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ConfigError(_FLAG, text, f"cannot split into words: {error}") from None
    found: PipOverrides = {}
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        if _COUNTS.fullmatch(word):
            continue  # -v, -qq: how much pip prints
        if not word.startswith("-") or word in ("-", "--"):
            raise ConfigError(
                _FLAG, word, "takes pip options only; requirements belong in the inputs"
            )
        spelled, has_value, value = word.partition("=")
        name = _SHORT.get(spelled) if not spelled.startswith("--") else spelled[2:]
        option = find_pip_key(name.lower()) if name else None
        if option is None:
            raise ConfigError(_FLAG, spelled, "not an option of pip install")
        takes_value = option.takes_value and option.name not in _FLAGS_ON_THE_COMMAND_LINE
        if takes_value and not has_value:
            if position == len(words):
                raise ConfigError(_FLAG, spelled, "needs a value")
            value = words[position]
            position += 1
        elif not takes_value and has_value:
            raise ConfigError(_FLAG, word, "takes no value")
        if option.handling is Handling.IGNORED:
            continue
        shown = f"{spelled} {value}".strip()
        if option.handling is Handling.REFUSED and option.refuses(value or "true"):
            raise ConfigError(_FLAG, shown, f"refused: {option.why}")
        if option.handling is not Handling.APPLIED:
            continue  # a refused option set to a value that changes nothing
        if option.kind in ("list", "format"):
            earlier = found.get(option.name, ())
            assert isinstance(earlier, tuple)
            found[option.name] = (*earlier, value)
        elif option.takes_value:
            found[option.name] = value
        else:
            found[option.name] = True
    return found


def index_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """The index and TLS options given, and what ``--pip-args`` holds, by pip's names: the top
    layer over pip's configuration. A single value given both ways is the option's."""
    overrides: dict[str, Any] = {
        "extra-index-url": values["extra_index_url"],
        "find-links": values["find_links"],
        "trusted-host": values["trusted_host"],
    }
    for name in ("index_url", "cert", "client_cert"):
        if values[name] is not None:
            overrides[name.replace("_", "-")] = str(values[name])
    if values["no_index"]:
        overrides["no-index"] = True
    if values["pip_args"]:
        for key, value in pip_args_overrides(values["pip_args"]).items():
            given = overrides.get(key)
            if isinstance(value, tuple):
                overrides[key] = (*(given or ()), *value)
            elif given is None:
                overrides[key] = value
    return overrides
