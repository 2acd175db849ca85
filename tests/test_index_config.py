from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pinlock.errors import ConfigError
from pinlock.index import configfiles
from pinlock.index.config import IndexSettings, load_pip_configuration, load_pip_settings
from pinlock.index.options import DEFAULT_INDEX_URL, IndexOptions


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A fake machine: system, user and site folders all under tmp_path."""
    home = tmp_path / "home"
    xdg_system = tmp_path / "xdg"
    etc = tmp_path / "etc"
    prefix = tmp_path / "prefix"
    for folder in (home, xdg_system, etc, prefix):
        folder.mkdir()
    monkeypatch.setattr(configfiles, "_UNIX_SYSTEM_CONFIG_DIR", str(etc))
    monkeypatch.setattr(sys, "prefix", str(prefix))
    return {
        "xdg_global": xdg_system / "pip" / "pip.conf",
        "etc": etc / "pip.conf",
        "legacy_user": home / ".pip" / "pip.conf",
        "user": home / ".config" / "pip" / "pip.conf",
        "site": prefix / "pip.conf",
        "home": home,
        "xdg": xdg_system,
    }


def _env(layout: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"HOME": str(layout["home"]), "XDG_CONFIG_DIRS": str(layout["xdg"]), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_configuration(layout: dict[str, Path]) -> None:
    settings = load_pip_settings(_env(layout))
    assert settings == IndexSettings()
    assert settings.index_urls == (DEFAULT_INDEX_URL,)


def test_devnull_config_file_disables_every_file(layout: dict[str, Path]) -> None:
    _write(layout["etc"], "[global]\nindex-url = http://etc/simple\n")
    _write(layout["user"], "[global]\nindex-url = http://user/simple\n")
    settings = load_pip_settings(_env(layout, PIP_CONFIG_FILE=os.devnull))
    assert settings.index_url == DEFAULT_INDEX_URL
    # ...but environment variables still apply.
    settings = load_pip_settings(
        _env(layout, PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://env/simple")
    )
    assert settings.index_url == "http://env/simple"


def test_later_files_override_earlier_ones(layout: dict[str, Path]) -> None:
    _write(layout["xdg_global"], "[global]\nindex-url = http://xdg/simple\ntimeout = 1\n")
    _write(layout["etc"], "[global]\nindex-url = http://etc/simple\nretries = 2\n")
    env = _env(layout)
    assert load_pip_settings(env).index_url == "http://etc/simple"
    _write(layout["legacy_user"], "[global]\nindex-url = http://legacy/simple\n")
    assert load_pip_settings(env).index_url == "http://legacy/simple"
    _write(layout["user"], "[global]\nindex-url = http://user/simple\n")
    assert load_pip_settings(env).index_url == "http://user/simple"
    _write(layout["site"], "[global]\nindex-url = http://site/simple\n")
    settings = load_pip_settings(env)
    assert settings.index_url == "http://site/simple"
    assert settings.timeout == 1.0
    assert settings.retries == 2


def test_xdg_config_home_replaces_dot_config(layout: dict[str, Path], tmp_path: Path) -> None:
    _write(layout["user"], "[global]\nindex-url = http://dotconfig/simple\n")
    _write(tmp_path / "cfg" / "pip" / "pip.conf", "[global]\nindex-url = http://xdghome/simple\n")
    settings = load_pip_settings(_env(layout, XDG_CONFIG_HOME=str(tmp_path / "cfg")))
    assert settings.index_url == "http://xdghome/simple"


def test_relative_xdg_folders_are_ignored_and_entries_stripped(
    layout: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # XDG paths must be absolute (whitespace around them aside); pip skips the others.
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "relative" / "pip" / "pip.conf", "[global]\nindex-url = https://rel/\n")
    _write(layout["user"], "[global]\ntimeout = 7\n")
    _write(layout["xdg_global"], "[global]\nretries = 2\n")
    env = _env(layout, XDG_CONFIG_HOME="relative")
    env["XDG_CONFIG_DIRS"] = f" {layout['xdg']} {os.pathsep}relative"
    settings = load_pip_settings(env)
    assert (settings.index_url, settings.timeout, settings.retries) == (DEFAULT_INDEX_URL, 7, 2)


def test_pip_config_file_wins_and_hides_user_files(layout: dict[str, Path], tmp_path: Path) -> None:
    _write(layout["user"], "[global]\nextra-index-url = http://user/simple\n")
    _write(layout["site"], "[global]\ntrusted-host = site.example\n")
    named = _write(tmp_path / "named.conf", "[global]\nindex-url = http://named/simple\n")
    settings = load_pip_settings(_env(layout, PIP_CONFIG_FILE=str(named)))
    assert settings.index_url == "http://named/simple"
    assert settings.extra_index_urls == ()  # the user file is not read
    assert settings.trusted_hosts == ("site.example",)  # the site file is
    missing = _env(layout, PIP_CONFIG_FILE=str(tmp_path / "absent.conf"))
    assert load_pip_settings(missing).extra_index_urls == ("http://user/simple",)


def test_command_section_beats_global_of_every_file(layout: dict[str, Path]) -> None:
    _write(layout["etc"], "[install]\nindex-url = http://etc-install/simple\n")
    _write(layout["user"], "[global]\nindex-url = http://user-global/simple\n")
    env = _env(layout)
    assert load_pip_settings(env).index_url == "http://etc-install/simple"
    assert load_pip_settings(env, command="download").index_url == "http://user-global/simple"


def test_environment_beats_files_and_overrides_beat_environment(layout: dict[str, Path]) -> None:
    _write(layout["user"], "[install]\nindex-url = http://file/simple\nno-index = yes\n")
    env = _env(layout, PIP_INDEX_URL="http://env/simple", PIP_NO_INDEX="0")
    settings = load_pip_settings(env)
    assert settings.index_url == "http://env/simple"
    assert settings.no_index is False
    settings = load_pip_settings(
        env, overrides={"index-url": "http://cli/simple", "no_index": True}
    )
    assert settings.index_url == "http://cli/simple"
    assert settings.no_index is True
    assert settings.index_urls == ()


def test_empty_environment_value_is_ignored(layout: dict[str, Path]) -> None:
    _write(layout["user"], "[global]\nindex-url = http://file/simple\n")
    assert load_pip_settings(_env(layout, PIP_INDEX_URL="")).index_url == "http://file/simple"


def test_multi_valued_keys_split_on_whitespace(layout: dict[str, Path]) -> None:
    _write(
        layout["user"],
        "[global]\nextra-index-url =\n    http://a/simple\n    http://b/simple\n"
        "find-links = /w1 /w2\ntrusted-host = a b:8080\n",
    )
    settings = load_pip_settings(_env(layout, PIP_FIND_LINKS="/env1\t/env2"))
    assert settings.extra_index_urls == ("http://a/simple", "http://b/simple")
    assert settings.find_links == ("/env1", "/env2")
    assert settings.trusted_hosts == ("a", "b:8080")
    assert settings.index_urls == (DEFAULT_INDEX_URL, "http://a/simple", "http://b/simple")


def test_command_line_lists_add_to_configured_ones(layout: dict[str, Path]) -> None:
    env = _env(layout, PIP_EXTRA_INDEX_URL="http://env/simple")
    settings = load_pip_settings(
        env, overrides={"extra-index-url": ["http://cli/simple"], "find-links": "/a dir"}
    )
    assert settings.extra_index_urls == ("http://env/simple", "http://cli/simple")
    assert settings.find_links == ("/a dir",)


def test_default_timeout_alias_and_numbers(layout: dict[str, Path]) -> None:
    _write(layout["user"], "[global]\ndefault-timeout = 60\n")
    assert load_pip_settings(_env(layout)).timeout == 60.0
    settings = load_pip_settings(_env(layout, PIP_DEFAULT_TIMEOUT="7.5", PIP_RETRIES="0"))
    assert settings.timeout == 7.5
    assert settings.retries == 0
    assert load_pip_settings(_env(layout), overrides={"timeout": "3"}).timeout == 3.0


def test_underscores_and_case_in_file_keys(layout: dict[str, Path]) -> None:
    _write(layout["user"], "[global]\nIndex_URL = http://x/simple\nclient_cert = ~/c.pem\n")
    settings = load_pip_settings(_env(layout))
    assert settings.index_url == "http://x/simple"
    assert settings.client_cert is not None
    assert not settings.client_cert.startswith("~")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes", True), ("On", True), ("1", True), ("t", True), ("off", False), ("No", False)],
)
def test_booleans_like_pip(layout: dict[str, Path], text: str, expected: bool) -> None:
    assert load_pip_settings(_env(layout, PIP_NO_INDEX=text)).no_index is expected


def test_bad_boolean_names_the_variable(layout: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="PIP_NO_INDEX") as caught:
        load_pip_settings(_env(layout, PIP_NO_INDEX="maybe"))
    assert caught.value.exit_code == 2


def test_bad_values_name_the_file(layout: dict[str, Path]) -> None:
    path = _write(layout["user"], "[install]\nretries = many\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_pip_settings(_env(layout))
    _write(layout["user"], "[global]\nno-index = perhaps\n")
    with pytest.raises(ConfigError, match=r"\[global\]"):
        load_pip_settings(_env(layout))


def test_unreadable_config_file_is_a_config_error(layout: dict[str, Path]) -> None:
    path = _write(layout["user"], "index-url = before any section\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_pip_settings(_env(layout))


def test_unknown_keys_are_ignored_but_unknown_overrides_are_not(layout: dict[str, Path]) -> None:
    _write(layout["user"], "[global]\nformat = columns\n")
    assert load_pip_settings(_env(layout, PIP_REQUIRE_VIRTUALENV="1")) == IndexSettings()
    with pytest.raises(ConfigError):
        load_pip_settings(_env(layout), overrides={"colour": "red"})


def test_with_options_layers_requirement_file_options() -> None:
    base = IndexSettings(
        extra_index_urls=("http://a/simple",), find_links=("/w",), trusted_hosts=("a",)
    )
    options = IndexOptions(
        index_url="http://main/simple",
        extra_index_urls=("http://a/simple", "http://b/simple"),
        find_links=("/w2",),
        trusted_hosts=("b",),
        no_index=True,
    )
    layered = base.with_options(options)
    assert layered.index_url == "http://main/simple"
    assert layered.extra_index_urls == ("http://a/simple", "http://b/simple")
    assert layered.find_links == ("/w", "/w2")
    assert layered.trusted_hosts == ("a", "b")
    assert layered.no_index is True
    assert base.with_options(IndexOptions()) == base


def test_requirement_file_index_url_replaces_every_configured_index() -> None:
    # pip: a file's --index-url resets the index list, configured extra indexes included;
    # the file's own --extra-index-url lines are then added to it.
    base = IndexSettings(index_url="http://conf/simple", extra_index_urls=("http://a/simple",))
    options = IndexOptions(index_url="http://main/simple", extra_index_urls=("http://b/simple",))
    assert base.with_options(options).index_urls == ("http://main/simple", "http://b/simple")
    only_extra = IndexOptions(extra_index_urls=("http://b/simple",))
    assert base.with_options(only_extra).index_urls == (
        "http://conf/simple",
        "http://a/simple",
        "http://b/simple",
    )


def test_masked_credentials_of_a_lock_are_taken_from_the_same_url_given_before() -> None:
    given = IndexSettings(
        index_url="https://alice:pw@index.example/simple",
        extra_index_urls=("https://TOKEN@extra.example/simple",),
    )
    merged = given.with_options(
        IndexOptions(
            index_url="https://alice:****@index.example/simple",
            extra_index_urls=("https://****@extra.example/simple", "https://****@new.example/"),
        )
    )
    assert merged.index_url == "https://alice:pw@index.example/simple"
    assert merged.extra_index_urls == (
        "https://TOKEN@extra.example/simple",
        "https://****@new.example/",
    )


def test_policy_keys_are_read_with_their_origins(layout: dict[str, Path]) -> None:
    _write(
        layout["xdg_global"],
        "[global]\nconstraint = /c1.txt\npre = yes\n[install]\nprefer-binary = on\n",
    )
    _write(layout["user"], "[global]\nrequire-hashes = true\n")
    pip = load_pip_configuration(_env(layout, PIP_CONSTRAINT="/c2.txt  /c3.txt", PIP_PRE="no"))
    assert pip.constraints == ("/c2.txt", "/c3.txt")
    assert pip.origin("constraint") == "PIP_CONSTRAINT"
    assert pip.pre is False
    assert pip.prefer_binary is True
    assert pip.origin("prefer-binary") == f"{layout['xdg_global']} [install]"
    assert pip.require_hashes is True
    assert pip.origin("require-hashes") == f"{layout['user']} [global]"
    replaced = [s for s in pip.settings if not s.in_force]
    assert [(s.key, s.origin) for s in replaced] == [
        ("constraint", f"{layout['xdg_global']} [global]"),
        ("pre", f"{layout['xdg_global']} [global]"),
    ]


def test_format_controls_accumulate_in_pips_order(layout: dict[str, Path]) -> None:
    # [global] of every file, then [install], then the variables: each value updates the state.
    _write(layout["xdg_global"], "[install]\nno-binary = Foo_Bar\n")
    _write(layout["user"], "[global]\nonly-binary = :all:\n")
    pip = load_pip_configuration(_env(layout))
    assert (pip.only_binary, pip.no_binary) == (frozenset({":all:"}), frozenset({"foo-bar"}))
    pip = load_pip_configuration(_env(layout, PIP_ONLY_BINARY=":none:,baz"))
    assert (pip.only_binary, pip.no_binary) == (frozenset({"baz"}), frozenset({"foo-bar"}))
    with pytest.raises(ConfigError, match="PIP_NO_BINARY: no-binary"):
        load_pip_configuration(_env(layout, PIP_NO_BINARY="-x"))


def test_refused_keys_name_key_and_origin_and_harmless_values_pass(
    layout: dict[str, Path],
) -> None:
    path = _write(layout["etc"], "[install]\nrequirement = extra.txt\nonly-deps = no\n")
    pip = load_pip_configuration(_env(layout))  # describing never raises for a refusal
    assert any("refused: adds requirements" in line for line in pip.describe())
    with pytest.raises(ConfigError) as caught:
        pip.check()
    assert (caught.value.source, caught.value.key) == (f"{path} [install]", "requirement")
    assert caught.value.exit_code == 2
    # An empty variable does not unset the file's value (pip drops empty values).
    with pytest.raises(ConfigError, match="requirement"):
        load_pip_settings(_env(layout, PIP_REQUIREMENT=""))
    path.write_text("[install]\nonly-deps = no\n")
    with pytest.raises(ConfigError, match="PIP_KEYRING_PROVIDER: keyring-provider"):
        load_pip_settings(_env(layout, PIP_KEYRING_PROVIDER="import"))
    # A refused key overridden by a harmless value is no refusal.
    _write(layout["etc"], "[global]\nonly-deps = yes\nkeyring-provider = subprocess\n")
    env = _env(layout, PIP_ONLY_DEPS="0", PIP_KEYRING_PROVIDER="disabled")
    load_pip_configuration(env).check()


def test_every_option_value_is_checked_as_pip_checks_it(layout: dict[str, Path]) -> None:
    # pip stops on a bad boolean or count of any option, even one pinlock ignores.
    with pytest.raises(ConfigError, match="PIP_NO_COLOR"):
        load_pip_configuration(_env(layout, PIP_NO_COLOR="sometimes"))
    with pytest.raises(ConfigError, match="PIP_VERBOSE"):
        load_pip_configuration(_env(layout, PIP_VERBOSE="-1"))
    assert load_pip_configuration(_env(layout, PIP_VERBOSE="3", PIP_QUIET="yes")).settings
    # Unknown keys are skipped, as pip skips them, and described as such.
    pip = load_pip_configuration(_env(layout, PIP_COLOUR="red", PIP_IS_CI="1"))
    described = "\n".join(pip.describe())
    assert "colour = red  (PIP_COLOUR): ignored: not an option of pip install" in described
    assert "is-ci = 1  (PIP_IS_CI): ignored: not an option: tells pip it runs in CI" in described


def test_describe_names_files_origins_and_masks_credentials(layout: dict[str, Path]) -> None:
    _write(layout["user"], "[global]\nindex-url = https://alice:s3cret@private/simple\n")
    env = _env(layout, PIP_PROXY="bob:hunter2@proxy:3128", PIP_DEFAULT_TIMEOUT="60")
    pip = load_pip_configuration(env, overrides={"extra-index-url": ["https://t0ken@x/simple"]})
    text = "\n".join(pip.describe())
    for secret in ("s3cret", "hunter2", "t0ken"):
        assert secret not in text
    assert f"file (user): {layout['user']}" in text
    assert str(layout["legacy_user"]) in text  # considered, absent
    assert (
        f"index-url = https://alice:****@private/simple  ({layout['user']} [global]): applied"
        in text
    )
    assert "proxy = bob:****@proxy:3128  (PIP_PROXY): applied" in text
    assert "default-timeout = 60  (PIP_DEFAULT_TIMEOUT): applied" in text
    assert "extra-index-url = https://****@x/simple  (command line): applied" in text
    assert pip.index.proxy == "bob:hunter2@proxy:3128"
    assert pip.index.timeout == 60.0
    quiet = load_pip_configuration(_env(layout, PIP_CONFIG_FILE=os.devnull))
    assert quiet.describe()[1] == f"  no files: PIP_CONFIG_FILE is {os.devnull}"
    empty = load_pip_configuration(_env(layout, HOME=str(layout["home"] / "elsewhere")))
    assert empty.describe()[-1] == "  no settings"
