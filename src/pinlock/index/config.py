"""pip's index configuration, read exactly as pip reads it.

Sources, weakest first: configuration files (global, user, site, then ``PIP_CONFIG_FILE``),
``PIP_<KEY>`` environment variables, then command-line overrides. Within the files pip merges
every ``[global]`` section before every ``[<command>]`` section, whatever file they come from,
so a command section in a system file still beats ``[global]`` in a user file.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pinlock.errors import ConfigError
from pinlock.index.configfiles import pip_config_files
from pinlock.index.credentials import is_masked
from pinlock.index.options import DEFAULT_INDEX_URL, IndexOptions, IndexStrategy
from pinlock.urls import strip_userinfo

__all__ = ["IndexSettings", "load_pip_settings"]

_ENV_SECTION = ":env:"
# Environment names pip never treats as options.
_ENV_NAMES_IGNORED = frozenset({"version", "help"})

# Every spelling pip accepts for a long option, mapped to the setting it sets.
_KEY_TO_FIELD = {
    "index-url": "index_url",
    "pypi-url": "index_url",
    "extra-index-url": "extra_index_urls",
    "find-links": "find_links",
    "no-index": "no_index",
    "trusted-host": "trusted_hosts",
    "cert": "cert",
    "client-cert": "client_cert",
    "timeout": "timeout",
    "default-timeout": "timeout",
    "retries": "retries",
}
_LIST_FIELDS = frozenset({"extra_index_urls", "find_links", "trusted_hosts"})
_BOOL_FIELDS = frozenset({"no_index"})
_PATH_FIELDS = frozenset({"cert", "client_cert"})
_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "off", "0"})


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexSettings:
    """Where packages come from and how to reach them.

    ``index_strategy`` says how the indexes answer together for one project (see
    ``pinlock.index.options``); pip merges them all, and so do settings read from pip's
    configuration, while compile asks for ``first-index`` unless told otherwise.
    """

    index_url: str = DEFAULT_INDEX_URL
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    client_cert: str | None = None
    timeout: float = 15.0
    retries: int = 5
    index_strategy: IndexStrategy = "unsafe-best-match"

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Every index to ask, main one first; none under ``--no-index``."""
        if self.no_index:
            return ()
        return _dedup((self.index_url, *self.extra_index_urls))

    @property
    def search_order(self) -> tuple[str, ...]:
        """The indexes in the order ``first-index`` asks them: the extra ones as given, then
        the default one (uv's order: the default index is the fallback)."""
        if self.no_index:
            return ()
        return _dedup((*self.extra_index_urls, self.index_url))

    def with_options(self, options: IndexOptions) -> IndexSettings:
        """These settings with a requirement file's options on top, as pip applies them.

        A file's ``--index-url`` replaces every index known so far, extra ones included (pip
        resets its index list to that URL); the file's ``--extra-index-url`` values then add.
        A URL whose credentials a lock masked (``user:****@``) takes them back from the same
        URL in these settings (the command line, pip configuration), so they still apply.
        """
        unmask = _unmasker((self.index_url, *self.extra_index_urls, *self.find_links))
        if options.index_url is None:
            index_url, extra_index_urls = self.index_url, self.extra_index_urls
        else:
            index_url, extra_index_urls = unmask(options.index_url), ()
        return replace(
            self,
            index_url=index_url,
            extra_index_urls=_dedup((*extra_index_urls, *map(unmask, options.extra_index_urls))),
            find_links=_dedup((*self.find_links, *map(unmask, options.find_links))),
            no_index=self.no_index or options.no_index,
            trusted_hosts=_dedup((*self.trusted_hosts, *options.trusted_hosts)),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class _Value:
    text: str
    origin: str


def load_pip_settings(
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, str | bool | Sequence[str]] | None = None,
    command: str = "install",
    site_prefix: Path | str | None = None,
) -> IndexSettings:
    """The index settings pip would use for ``pip <command>`` in this environment.

    ``site_prefix`` is ``sys.prefix`` of the environment pip works on (whose ``pip.conf`` is the
    site configuration): the target venv, not necessarily the interpreter running pinlock.

    ``overrides`` play the part of pip's command-line options (keys spelled like pip's long
    options, ``-`` or ``_``): single values replace the configured ones, while list options
    (``extra-index-url``, ``find-links``, ``trusted-host``) add to them, as pip's do.
    """
    env = os.environ if environ is None else environ
    fields: dict[str, object] = {}
    for key, value in _ordered_items(env, command, site_prefix):
        field = _KEY_TO_FIELD.get(key)
        if field is not None:
            fields[field] = _convert(field, key, value)
    for key, given in (overrides or {}).items():
        name = _normalize_key(key)
        field = _KEY_TO_FIELD.get(name)
        if field is None:
            raise ConfigError("command line", key, "not an index option")
        fields[field] = _convert_override(field, name, given, fields.get(field))
    return IndexSettings(**fields)  # type: ignore[arg-type]


def _ordered_items(
    env: Mapping[str, str], command: str, site_prefix: Path | str | None
) -> Iterable[tuple[str, _Value]]:
    """Configuration items in the order pip applies them: later ones win."""
    per_source: dict[str, dict[str, _Value]] = {}
    if env.get("PIP_CONFIG_FILE") != os.devnull:
        for _kind, path in pip_config_files(env, site_prefix=site_prefix):
            per_source.setdefault(path, {}).update(_read_config_file(path))
    per_source[_ENV_SECTION] = {
        f"{_ENV_SECTION}.{_normalize_key(name[4:])}": _Value(text=value, origin=name)
        for name, value in env.items()
        if name.startswith("PIP_") and name[4:].lower() not in _ENV_NAMES_IGNORED
    }
    order = ("global", command, _ENV_SECTION)
    sections: dict[str, dict[str, _Value]] = {section: {} for section in order}
    for items in per_source.values():
        for section_key, value in items.items():
            section, key = section_key.split(".", 1)
            if section in sections:
                sections[section][key] = value
    for section in order:
        for key, value in sections[section].items():
            # pip drops empty values, so `PIP_INDEX_URL=` leaves the file's value in place.
            if value.text:
                yield key, value


def _read_config_file(path: str) -> dict[str, _Value]:
    if not Path(path).exists():
        return {}
    parser = _KeyNormalizingParser()
    try:
        parser.read(path, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(path, "(file)", f"not valid UTF-8: {error}") from error
    except configparser.Error as error:
        raise ConfigError(path, "(file)", str(error).strip()) from error
    return {
        f"{section}.{key}": _Value(text=value, origin=f"{path} [{section}]")
        for section in parser.sections()
        for key, value in parser.items(section)
    }


class _KeyNormalizingParser(configparser.RawConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return _normalize_key(optionstr)


def _normalize_key(name: str) -> str:
    return name.lower().replace("_", "-").removeprefix("--")


def _convert(field: str, key: str, value: _Value) -> object:
    text = value.text
    if field in _LIST_FIELDS:
        return tuple(text.split())
    if field in _BOOL_FIELDS:
        return _to_bool(text, value.origin, key)
    if field == "timeout":
        return _to_number(float, text, value.origin, key)
    if field == "retries":
        return _to_number(int, text, value.origin, key)
    if field in _PATH_FIELDS:
        return str(Path(text).expanduser())
    return text


def _convert_override(
    field: str, key: str, given: str | bool | Sequence[str], current: object
) -> object:
    if field in _LIST_FIELDS:
        if isinstance(given, bool):
            raise ConfigError("command line", key, "needs values, not a flag")
        added = (given,) if isinstance(given, str) else tuple(given)
        before = current if isinstance(current, tuple) else ()
        return (*before, *added)
    if isinstance(given, bool):
        if field not in _BOOL_FIELDS:
            raise ConfigError("command line", key, "needs a value, not a flag")
        return given
    if not isinstance(given, str):
        raise ConfigError("command line", key, "takes a single value")
    return _convert(field, key, _Value(text=given, origin="command line"))


def _to_bool(text: str, origin: str, key: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(origin, key, f"{text!r} is not a boolean (use yes/no, true/false or 1/0)")


def _to_number(kind: type[float] | type[int], text: str, origin: str, key: str) -> float | int:
    try:
        return kind(text.strip())
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ConfigError(origin, key, f"{text!r} is not {noun}") from None


def _unmasker(known: Iterable[str]) -> Callable[[str], str]:
    """A function giving a masked URL the credentials of the same URL among ``known``."""
    with_credentials: dict[str, str] = {}
    for url in known:
        plain, user, password = strip_userinfo(url)
        if user is not None and not is_masked(user, password):
            with_credentials.setdefault(plain, url)

    def unmask(url: str) -> str:
        plain, user, password = strip_userinfo(url)
        if is_masked(user, password):
            return with_credentials.get(plain, url)
        return url

    return unmask


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
