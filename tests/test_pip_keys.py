"""Every option pip install reads from configuration is classified, checked against pip itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pinlock.index.config import FORMAT_KEYS, INDEX_FIELDS, POLICY_FIELDS
from pinlock.index.pipkeys import PIP_INSTALL_KEYS, Handling, find_pip_key

README = Path(__file__).resolve().parents[1] / "README.md"


def _pip_install_options() -> dict[str, bool]:
    """``--name`` -> takes a value, for every long option of the installed pip's ``install``.

    Asked through pip's shell-completion protocol (what ``pip completion`` scripts run): the
    installed pip lists its own parser's options, aliases included, with ``=`` after those
    taking a value. Options pip hides from its help are not listed.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_AUTO_COMPLETE="1")
    env.update(COMP_WORDS="pip install --", COMP_CWORD="2")
    completed = subprocess.run(
        [sys.executable, "-m", "pip"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    words = completed.stdout.split()
    options = {w.removesuffix("="): w.endswith("=") for w in words if w.startswith("--")}
    assert "--index-url" in options, completed.stdout + completed.stderr
    return options


def test_every_option_of_the_installed_pip_is_classified() -> None:
    options = _pip_install_options()
    unclassified = sorted(name for name in options if find_pip_key(name[2:]) is None)
    assert unclassified == [], "classify these in pinlock.index.pipkeys and the README"
    wrong_arity = sorted(
        name
        for name, takes_value in options.items()
        if (key := find_pip_key(name[2:])) is not None and key.takes_value != takes_value
    )
    assert wrong_arity == []
    hidden_but_listed = sorted(
        name for name in options if (key := find_pip_key(name[2:])) and key.hidden
    )
    assert hidden_but_listed == []


def test_each_spelling_names_one_key_and_applied_keys_reach_a_setting() -> None:
    names = [name for key in PIP_INSTALL_KEYS for name in key.names]
    assert len(names) == len(set(names))
    applied = {key.name for key in PIP_INSTALL_KEYS if key.handling is Handling.APPLIED}
    assert applied == set(INDEX_FIELDS) | set(POLICY_FIELDS) | FORMAT_KEYS


def _readme_rows() -> dict[str, tuple[str, str]]:
    """``key -> (handling, why)`` of the README's table of pip configuration keys."""
    rows: dict[str, tuple[str, str]] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| (`[^|]+`) \| (applied|ignored|refused) \| (.+) \|", line)
        if match:
            for name in re.findall(r"`([a-z0-9-]+)`", match[1]):
                rows[name] = (match[2], match[3])
    return rows


def test_readme_lists_every_key_with_its_handling() -> None:
    rows = _readme_rows()
    expected = {name: key.handling.value for key in PIP_INSTALL_KEYS for name in key.names}
    assert {name: handling for name, (handling, _why) in rows.items()} == expected


@pytest.mark.parametrize(
    ("key", "value", "refused"),
    [
        ("only-deps", "yes", True),
        ("only-deps", "off", False),
        ("keyring-provider", "import", True),
        ("keyring-provider", "disabled", False),
        ("all-releases", ":none:", False),
        ("requirement", "extra.txt", True),
        ("no-color", "yes", False),
        ("index-url", "http://x/simple", False),
    ],
)
def test_refused_keys_and_their_harmless_values(key: str, value: str, refused: bool) -> None:
    option = find_pip_key(key)
    assert option is not None
    assert option.refuses(value) is refused
