"""pip's configuration, read exactly as pip reads it, and what pinlock makes of every key.

The values come from ``configread`` (files and ``PIP_*`` variables, in pip's order, each with
its origin); ``pipkeys`` says how each option is handled. ``load_pip_configuration`` gives the
whole picture (``PipConfiguration``: index settings, the resolution policy pip would apply, every
value with its origin and handling, ``describe()`` for ``-v``); ``load_pip_settings`` the index
settings alone. Command-line overrides are the top layer, as pip's own command line is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pinlock.errors import ConfigError
from pinlock.index.configread import ConfigFile, ConfigItem, normalize_key, read_pip_config
from pinlock.index.credentials import is_masked
from pinlock.index.options import (
    DEFAULT_INDEX_URL,
    IndexOptions,
    IndexStrategy,
    update_format_control,
)
from pinlock.index.pipkeys import ENVIRONMENT_ONLY, Handling, PipKey, find_pip_key
from pinlock.index.uploaded import parse_cutoff
from pinlock.urls import redact_text, strip_userinfo

__all__ = [
    "IndexSettings",
    "PipConfiguration",
    "PipSetting",
    "load_pip_configuration",
    "load_pip_settings",
]

# pip option -> the IndexSettings field it sets.
INDEX_FIELDS = {
    "index-url": "index_url",
    "extra-index-url": "extra_index_urls",
    "find-links": "find_links",
    "no-index": "no_index",
    "trusted-host": "trusted_hosts",
    "cert": "cert",
    "client-cert": "client_cert",
    "timeout": "timeout",
    "retries": "retries",
    "proxy": "proxy",
    "no-proxy-env": "no_proxy_env",
}
# pip option -> the PipConfiguration field it sets (only-binary/no-binary: a running state).
POLICY_FIELDS = {
    "constraint": "constraints",
    "pre": "pre",
    "prefer-binary": "prefer_binary",
    "require-hashes": "require_hashes",
    "uploaded-prior-to": "uploaded_prior_to",
}
FORMAT_KEYS = frozenset({"only-binary", "no-binary"})
_LIST_FIELDS = frozenset({"extra_index_urls", "find_links", "trusted_hosts", "constraints"})
_BOOL_FIELDS = frozenset({"no_index", "no_proxy_env", "pre", "prefer_binary", "require_hashes"})
_PATH_FIELDS = frozenset({"cert", "client_cert"})
_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "off", "0"})
_COMMAND_LINE = "command line"
# ``user:secret@host`` without a scheme (how proxies are often written).
_BARE_USERINFO = re.compile(r"(?<![^\s])([^\s/@:]+):[^\s/@]+@")


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
    proxy: str | None = None
    no_proxy_env: bool = False
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
class PipSetting:
    """One configuration value as ``pip install`` reads it: the key as written (normalized),
    its text, where it was set, and what pinlock does with it.

    ``option`` is None for a key that is no option of ``pip install`` (pip skips it too);
    ``in_force`` is False when a later value of the same option replaced this one.
    """

    key: str
    value: str
    origin: str
    option: PipKey | None
    in_force: bool = True

    @property
    def handling(self) -> Handling:
        """What pinlock does with this value (a refused key's harmless value is ignored)."""
        if self.option is None:
            return Handling.IGNORED
        if self.option.handling is Handling.REFUSED and not self.option.refuses(self.value):
            return Handling.IGNORED
        return self.option.handling

    @property
    def refused(self) -> bool:
        return self.in_force and self.handling is Handling.REFUSED

    @property
    def why(self) -> str:
        if self.option is not None:
            if self.option.handling is Handling.REFUSED and not self.refused:
                return f"{self.value.strip()} changes nothing"
            return self.option.why
        if self.origin.startswith("PIP_") and self.key in ENVIRONMENT_ONLY:
            return f"not an option: {ENVIRONMENT_ONLY[self.key]}"
        return "not an option of pip install, so pip ignores it too"

    def describe(self) -> str:
        """``key = value (origin): handling``, credentials masked."""
        if not self.in_force:
            state = "overridden below"
        elif self.handling is Handling.APPLIED:
            state = f"applied ({self.why})"
        else:
            state = f"{self.handling.value}: {self.why}"
        return f"{self.key} = {_shown(self.value)}  ({self.origin}): {state}"


@dataclass(frozen=True, kw_only=True, slots=True)
class PipConfiguration:
    """Everything pip's configuration means for pinlock (see ``pinlock.index.pipkeys``).

    ``index``: where packages come from and how they are reached. ``constraints``: constraint
    files (as written; relative ones are pip's, against the working folder). ``pre``,
    ``only_binary``/``no_binary`` (pip's running state: names or ``:all:``), ``prefer_binary``
    ``require_hashes`` and ``uploaded_prior_to`` (as written: ``pinlock.index.uploaded`` reads
    it): the policy pip would apply. ``settings``: every value read, in pip's
    order, with its origin and handling; ``files``: the files pip considers.
    """

    index: IndexSettings = field(default_factory=IndexSettings)
    constraints: tuple[str, ...] = ()
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    prefer_binary: bool = False
    require_hashes: bool = False
    uploaded_prior_to: str | None = None
    settings: tuple[PipSetting, ...] = ()
    files: tuple[ConfigFile, ...] = ()
    files_disabled: bool = False

    def origin(self, option: str) -> str | None:
        """Where the value in force of ``option`` (pip's main spelling) was set."""
        found = [s for s in self.settings if s.in_force and s.option and s.option.name == option]
        return found[-1].origin if found else None

    def check(self) -> None:
        """Raise ``ConfigError`` (naming key and origin) for the first refused value."""
        for setting in self.settings:
            if setting.refused:
                raise ConfigError(
                    setting.origin,
                    setting.key,
                    f"pinlock cannot honour this pip setting: {setting.why}; remove it, or "
                    "unset it where pinlock runs",
                )

    def describe(self) -> tuple[str, ...]:
        """Which settings are in force and where each came from, like ``pip config debug``."""
        lines = ["pip configuration (as `pip install` reads it here):"]
        if self.files_disabled:
            lines.append(f"  no files: PIP_CONFIG_FILE is {os.devnull}")
        lines += [f"  file ({f.kind}): {f.path}" for f in self.files if f.exists]
        absent = [f.path for f in self.files if not f.exists]
        if absent:
            lines.append(f"  no file at: {', '.join(absent)}")
        lines += [f"  {setting.describe()}" for setting in self.settings]
        if not self.settings:
            lines.append("  no settings")
        return tuple(lines)


def load_pip_configuration(
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, str | bool | Sequence[str]] | None = None,
    command: str = "install",
    site_prefix: Path | str | None = None,
) -> PipConfiguration:
    """What pip's configuration means for ``pip <command>`` in this environment.

    ``site_prefix`` is ``sys.prefix`` of the environment pip works on (whose ``pip.conf`` is the
    site configuration): the target venv, not necessarily the interpreter running pinlock.

    ``overrides`` play the part of pip's command line (keys spelled like pip's long options,
    ``-`` or ``_``; any option pinlock applies: the index ones, ``pre``, ``only-binary``...):
    single values replace the configured ones, while list options (``extra-index-url``,
    ``find-links``, ``trusted-host``, ``constraint``) add to them, as pip's do.

    Bad values raise ``ConfigError`` naming key and origin, as pip stops on them; refused keys
    do not raise here (``check()`` does), so ``describe()`` can still show them.
    """
    env = os.environ if environ is None else environ
    sources = read_pip_config(env, command=command, site_prefix=site_prefix)
    fields: dict[str, object] = {}
    only: set[str] = set()
    no: set[str] = set()
    read: list[tuple[ConfigItem, PipKey | None]] = []
    for item in sources.items:
        option = find_pip_key(item.key)
        read.append((item, option))
        if option is None:
            continue
        _check_value(option, item)
        if option.handling is not Handling.APPLIED:
            continue
        if option.name in FORMAT_KEYS:
            target, other = (only, no) if option.name == "only-binary" else (no, only)
            update_format_control(item.text, target, other)
        else:
            name = INDEX_FIELDS.get(option.name) or POLICY_FIELDS[option.name]
            fields[name] = _convert(name, item)
    for key, given in (overrides or {}).items():
        if given is None or (not isinstance(given, str | bool) and not given):
            continue  # an option not given (no value, or an empty list)
        name = normalize_key(key)
        option = find_pip_key(name)
        if option is None or option.handling is not Handling.APPLIED:
            raise ConfigError(_COMMAND_LINE, key, "not a pip option pinlock applies")
        if option.name in FORMAT_KEYS:
            target, other = (only, no) if option.name == "only-binary" else (no, only)
            for value in _as_words(given):
                update_format_control(value, target, other)
        else:
            field = INDEX_FIELDS.get(option.name) or POLICY_FIELDS[option.name]
            fields[field] = _convert_override(field, name, given, fields.get(field))
        if option.name == "uploaded-prior-to" and isinstance(given, str):
            parse_cutoff(given, source=_COMMAND_LINE, key=key)
        shown = given if isinstance(given, str) else " ".join(map(str, _as_words(given)))
        read.append((ConfigItem(key=name, text=shown, origin=_COMMAND_LINE), option))
    index_fields = {k: v for k, v in fields.items() if k not in _POLICY_NAMES}
    index = IndexSettings(**index_fields)  # type: ignore[arg-type]
    policy = {k: v for k, v in fields.items() if k in _POLICY_NAMES}
    return PipConfiguration(
        index=index,
        only_binary=frozenset(only),
        no_binary=frozenset(no),
        settings=_settings(read),
        files=sources.files,
        files_disabled=sources.files_disabled,
        **policy,  # type: ignore[arg-type]
    )


def load_pip_settings(
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, str | bool | Sequence[str]] | None = None,
    command: str = "install",
    site_prefix: Path | str | None = None,
) -> IndexSettings:
    """The index settings pip would use for ``pip <command>`` in this environment (see
    ``load_pip_configuration``); a refused pip setting raises ``ConfigError``."""
    configuration = load_pip_configuration(
        environ, overrides=overrides, command=command, site_prefix=site_prefix
    )
    configuration.check()
    return configuration.index


_POLICY_NAMES = frozenset(POLICY_FIELDS.values())


def _settings(read: Sequence[tuple[ConfigItem, PipKey | None]]) -> tuple[PipSetting, ...]:
    """Every value read, marking those a later value of the same option replaced."""

    def slot(item: ConfigItem, option: PipKey | None) -> str:
        if option is None:
            return item.key
        # A list given on the command line adds to the configured one, as pip's does.
        adds = option.kind == "list" and item.origin == _COMMAND_LINE
        return f"{option.name} (added)" if adds else option.name

    last = {slot(item, option): position for position, (item, option) in enumerate(read)}
    return tuple(
        PipSetting(
            key=item.key,
            value=item.text,
            origin=item.origin,
            option=option,
            # Each --only-binary/--no-binary value updates pip's running state: all count.
            in_force=(option is not None and option.name in FORMAT_KEYS)
            or last[slot(item, option)] == position,
        )
        for position, (item, option) in enumerate(read)
    )


def _check_value(option: PipKey, item: ConfigItem) -> None:
    """The checks pip makes of every option's configured value, whatever pinlock does with it."""
    text = item.text.strip().lower()
    if option.kind == "flag":
        _to_bool(item.text, item.origin, item.key)
    elif option.kind == "count":
        count = 1 if text in _TRUE else 0 if text in _FALSE else None
        if count is None and not text.isdigit():
            raise ConfigError(
                item.origin,
                item.key,
                f"{item.text!r} is not a count (use a non-negative integer or yes/no)",
            )
    elif option.kind == "format" and item.text.startswith("-"):
        raise ConfigError(item.origin, item.key, "needs a value (names, :all: or :none:)")
    elif option.name == "uploaded-prior-to":
        parse_cutoff(item.text, source=item.origin, key=item.key)


def _convert(name: str, item: ConfigItem) -> object:
    text = item.text
    if name in _LIST_FIELDS:
        return tuple(text.split())
    if name in _BOOL_FIELDS:
        return _to_bool(text, item.origin, item.key)
    if name == "timeout":
        return _to_number(float, text, item.origin, item.key)
    if name == "retries":
        return _to_number(int, text, item.origin, item.key)
    if name in _PATH_FIELDS:
        return str(Path(text).expanduser())
    return text


def _convert_override(
    name: str, key: str, given: str | bool | Sequence[str], current: object
) -> object:
    if name in _LIST_FIELDS:
        if isinstance(given, bool):
            raise ConfigError(_COMMAND_LINE, key, "needs values, not a flag")
        before = current if isinstance(current, tuple) else ()
        return (*before, *_as_words(given))
    if isinstance(given, bool):
        if name not in _BOOL_FIELDS:
            raise ConfigError(_COMMAND_LINE, key, "needs a value, not a flag")
        return given
    if not isinstance(given, str):
        raise ConfigError(_COMMAND_LINE, key, "takes a single value")
    return _convert(name, ConfigItem(key=key, text=given, origin=_COMMAND_LINE))


def _as_words(given: str | bool | Sequence[str]) -> tuple[str, ...]:
    if isinstance(given, bool):
        return ("yes" if given else "no",)
    return (given,) if isinstance(given, str) else tuple(given)


def _to_bool(text: str, origin: str, key: str) -> bool:
    lowered = text.strip().lower()
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


def _shown(value: str) -> str:
    """A value as it may be printed: credentials of URLs and of bare ``user:pw@host`` masked."""
    return _BARE_USERINFO.sub(r"\1:****@", redact_text(value))


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
