"""pip's configuration values, in the order pip applies them, each with where it was set.

Sources, weakest first: configuration files (global, user, site, then ``PIP_CONFIG_FILE``; see
``configfiles``), then ``PIP_<KEY>`` environment variables. Within the files pip merges every
``[global]`` section before every ``[<command>]`` section, whatever file they come from, so a
command section in a system file still beats ``[global]`` in a user file. ``PIP_CONFIG_FILE``
set to ``os.devnull`` turns every file off. Empty values are dropped, as pip drops them.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pinlock.errors import ConfigError
from pinlock.index.configfiles import pip_config_files

__all__ = ["ConfigFile", "ConfigItem", "PipConfigSources", "normalize_key", "read_pip_config"]

_ENV_SECTION = ":env:"
# Environment names pip never treats as options.
_ENV_NAMES_IGNORED = frozenset({"version", "help"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigItem:
    """One value: its key as pip normalizes it, its text, and where it was set
    (``FILE [section]`` or the ``PIP_*`` variable)."""

    key: str
    text: str
    origin: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ConfigFile:
    """One file pip considers: its kind (``global``, ``user``, ``site``, ``env``) and path."""

    kind: str
    path: str
    exists: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class PipConfigSources:
    """Every value in the order pip applies them (later ones win), and the files considered;
    ``files_disabled`` when ``PIP_CONFIG_FILE`` is ``os.devnull``."""

    items: tuple[ConfigItem, ...]
    files: tuple[ConfigFile, ...]
    files_disabled: bool = False


def read_pip_config(
    env: Mapping[str, str], *, command: str = "install", site_prefix: Path | str | None = None
) -> PipConfigSources:
    """The configuration ``pip <command>`` reads in the environment ``env``."""
    per_source: dict[str, dict[str, ConfigItem]] = {}
    files: list[ConfigFile] = []
    disabled = env.get("PIP_CONFIG_FILE") == os.devnull
    if not disabled:
        for kind, path in pip_config_files(env, site_prefix=site_prefix):
            exists = Path(path).exists()
            files.append(ConfigFile(kind=kind, path=path, exists=exists))
            if exists:
                per_source.setdefault(path, {}).update(_read_config_file(path))
    per_source[_ENV_SECTION] = {
        f"{_ENV_SECTION}.{normalize_key(name[4:])}": ConfigItem(
            key=normalize_key(name[4:]), text=value, origin=name
        )
        for name, value in env.items()
        if name.startswith("PIP_") and name[4:].lower() not in _ENV_NAMES_IGNORED
    }
    order = ("global", command, _ENV_SECTION)
    sections: dict[str, dict[str, ConfigItem]] = {section: {} for section in order}
    for values in per_source.values():
        for section_key, item in values.items():
            section = section_key.split(".", 1)[0]
            if section in sections:
                sections[section][item.key] = item
    items = [
        item
        for section in order
        for item in sections[section].values()
        # pip drops empty values, so `PIP_INDEX_URL=` leaves the file's value in place.
        if item.text
    ]
    return PipConfigSources(items=tuple(items), files=tuple(files), files_disabled=disabled)


def _read_config_file(path: str) -> dict[str, ConfigItem]:
    parser = _KeyNormalizingParser()
    try:
        parser.read(path, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(path, "(file)", f"not valid UTF-8: {error}") from error
    except configparser.Error as error:
        raise ConfigError(path, "(file)", str(error).strip()) from error
    return {
        f"{section}.{key}": ConfigItem(key=key, text=value, origin=f"{path} [{section}]")
        for section in parser.sections()
        for key, value in parser.items(section)
    }


class _KeyNormalizingParser(configparser.RawConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return normalize_key(optionstr)


def normalize_key(name: str) -> str:
    """A key as pip compares them: lower case, ``-`` for ``_``, no leading ``--``."""
    return name.lower().replace("_", "-").removeprefix("--")
