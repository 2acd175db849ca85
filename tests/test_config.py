from __future__ import annotations

from pathlib import Path

import pytest

from pinlock.config import CommandSchema, OptionSpec, load_command_config, load_config
from pinlock.errors import ConfigError

SCHEMA = {
    "index-url": OptionSpec("str"),
    "generate-hashes": OptionSpec("bool"),
    "max-rounds": OptionSpec("int"),
    "timeout": OptionSpec("float"),
    "extra-index-url": OptionSpec("list"),
    "flavour-index": OptionSpec("table"),
}


def pyproject(folder: Path, text: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_tool_pinlock_of_pyproject(tmp_path: Path) -> None:
    pyproject(
        tmp_path,
        """
[project]
name = "demo"

[tool.pinlock]
index_url = "https://example.org/simple"
generate-hashes = true
max_rounds = 50
timeout = 5
extra-index-url = ["https://a.example/simple", "https://b.example/simple"]

[tool.pinlock.flavour-index]
cu121 = "https://download.pytorch.org/whl/cu121"

[tool.other]
ignored = 1
""",
    )
    options = load_config(schema=SCHEMA, project_dir=tmp_path)
    assert options == {
        "index-url": "https://example.org/simple",
        "generate-hashes": True,
        "max-rounds": 50,
        "timeout": 5.0,
        "extra-index-url": ["https://a.example/simple", "https://b.example/simple"],
        "flavour-index": {"cu121": "https://download.pytorch.org/whl/cu121"},
    }
    assert isinstance(options["timeout"], float)


def test_project_dir_defaults_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pyproject(tmp_path, '[tool.pinlock]\nindex-url = "x"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(schema=SCHEMA) == {"index-url": "x"}


def test_missing_file_or_table_means_no_options(tmp_path: Path) -> None:
    assert load_config(schema=SCHEMA, project_dir=tmp_path) == {}
    pyproject(tmp_path, '[project]\nname = "demo"\n')
    assert load_config(schema=SCHEMA, project_dir=tmp_path) == {}
    pyproject(tmp_path, "[tool.black]\nline-length = 100\n")
    assert load_config(schema=SCHEMA, project_dir=tmp_path) == {}
    assert load_config(schema=SCHEMA, project_dir=tmp_path, section="sync") == {}


def test_sections(tmp_path: Path) -> None:
    pyproject(
        tmp_path,
        """
[tool.pinlock]
index-url = "main"

[tool.pinlock.sync]
index-url = "for-sync"
max_rounds = 3

[tool.pinlock.compile]
generate_hashes = false
""",
    )
    assert load_config(schema=SCHEMA, project_dir=tmp_path) == {"index-url": "main"}
    assert load_config(schema=SCHEMA, project_dir=tmp_path, section="sync") == {
        "index-url": "for-sync",
        "max-rounds": 3,
    }
    assert load_config(schema=SCHEMA, project_dir=tmp_path, section="compile") == {
        "generate-hashes": False
    }


def test_section_must_be_a_table(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.pinlock]\nsync = "yes"\n')
    with pytest.raises(ConfigError) as info:
        load_config(schema=SCHEMA, project_dir=tmp_path)
    assert info.value.source == str(path)
    assert info.value.key == "sync"
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(schema=SCHEMA, project_dir=tmp_path, section="sync")


def test_unknown_sub_table_is_an_unknown_option(tmp_path: Path) -> None:
    pyproject(tmp_path, "[tool.pinlock.deploy]\nx = 1\n")
    with pytest.raises(ConfigError, match="unknown option"):
        load_config(schema=SCHEMA, project_dir=tmp_path)
    assert load_config(schema=SCHEMA, project_dir=tmp_path, sections={"deploy"}) == {}


def test_unknown_key_names_file_key_and_known_options(tmp_path: Path) -> None:
    path = pyproject(tmp_path, '[tool.pinlock]\nindex_uri = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(schema=SCHEMA, project_dir=tmp_path)
    error = info.value
    assert error.source == str(path)
    assert error.key == "index_uri"
    assert "unknown option" in error.reason
    assert "known: extra-index-url, flavour-index, generate-hashes, index-url" in error.reason
    assert str(path) in str(error)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("index-url = 3", "index-url", "a string"),
        ('generate-hashes = "yes"', "generate-hashes", "true or false"),
        ("max-rounds = 2.5", "max-rounds", "an integer"),
        ("max-rounds = true", "max-rounds", "an integer"),
        ('timeout = "5"', "timeout", "a number"),
        ("timeout = false", "timeout", "a number"),
        ('extra-index-url = "https://a.example"', "extra-index-url", "a list of strings"),
        ("extra-index-url = [1, 2]", "extra-index-url", "a list of strings"),
        ("flavour-index = { cu121 = 1 }", "flavour-index", "a table of strings"),
        ('flavour-index = ["x"]', "flavour-index", "a table of strings"),
    ],
)
def test_wrong_types(tmp_path: Path, line: str, key: str, expected: str) -> None:
    path = pyproject(tmp_path, f"[tool.pinlock]\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_config(schema=SCHEMA, project_dir=tmp_path)
    assert info.value.source == str(path)
    assert info.value.key == key
    assert f"expected {expected}" in info.value.reason


def test_same_option_spelled_twice(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.pinlock]\nindex_url = "a"\nindex-url = "b"\n')
    with pytest.raises(ConfigError, match="given twice"):
        load_config(schema=SCHEMA, project_dir=tmp_path)


def test_schema_keys_may_use_underscores(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.pinlock]\nindex-url = "x"\n')
    assert load_config(schema={"index_url": OptionSpec("str")}, project_dir=tmp_path) == {
        "index-url": "x"
    }


def test_config_file_top_level(tmp_path: Path) -> None:
    config = tmp_path / "pinlock.toml"
    config.write_text('index-url = "from-file"\n\n[sync]\nmax-rounds = 7\n')
    pyproject(tmp_path, '[tool.pinlock]\nindex-url = "from-pyproject"\n')
    assert load_config(schema=SCHEMA, config_file=config, project_dir=tmp_path) == {
        "index-url": "from-file"
    }
    assert load_config(schema=SCHEMA, config_file=config, section="sync") == {"max-rounds": 7}


def test_config_file_with_tool_pinlock_table(tmp_path: Path) -> None:
    config = tmp_path / "shared.toml"
    config.write_text('[tool.pinlock]\nindex-url = "inner"\n\n[tool.ruff]\nline-length = 3\n')
    assert load_config(schema=SCHEMA, config_file=config) == {"index-url": "inner"}


def test_config_file_unknown_key_names_that_file(tmp_path: Path) -> None:
    config = tmp_path / "pinlock.toml"
    config.write_text("colour = true\n")
    with pytest.raises(ConfigError) as info:
        load_config(schema=SCHEMA, config_file=config)
    assert info.value.source == str(config)
    assert info.value.key == "colour"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(schema=SCHEMA, config_file=tmp_path / "nope.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    path = pyproject(tmp_path, "[tool.pinlock\nindex-url = \n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(schema=SCHEMA, project_dir=tmp_path)
    assert info.value.source == str(path)


def test_tool_must_be_a_table(tmp_path: Path) -> None:
    pyproject(tmp_path, 'tool = "x"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(schema=SCHEMA, project_dir=tmp_path)
    pyproject(tmp_path, '[tool]\npinlock = "x"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(schema=SCHEMA, project_dir=tmp_path)


# --- load_command_config: [tool.pinlock] shared keys, [tool.pinlock.<command>] over them ---

COMMANDS = {
    "compile": CommandSchema(
        {"index-url": OptionSpec("str"), "python": OptionSpec("list"), "pre": OptionSpec("bool")},
        shared=frozenset({"index-url", "python", "pre"}),
    ),
    "sync": CommandSchema(
        {"index-url": OptionSpec("str"), "python": OptionSpec("str"), "venv": OptionSpec("str")},
        shared=frozenset({"index_url"}),
    ),
}


def test_command_table_over_shared_table(tmp_path: Path) -> None:
    pyproject(
        tmp_path,
        """
[tool.pinlock]
index-url = "shared"
python = ["/usr/bin/python3.12"]

[tool.pinlock.sync]
venv = "env"
python = "/usr/bin/python3"

[tool.pinlock.compile]
index_url = "for-compile"
""",
    )
    assert load_command_config("sync", COMMANDS, project_dir=tmp_path) == {
        "index-url": "shared",
        "venv": "env",
        "python": "/usr/bin/python3",
    }
    assert load_command_config("compile", COMMANDS, project_dir=tmp_path) == {
        "index-url": "for-compile",
        "python": ["/usr/bin/python3.12"],
    }


def test_a_shared_key_reaches_only_the_commands_sharing_it(tmp_path: Path) -> None:
    # compile's `python` (a list of targets) is no setting of sync's `python` (the one to sync).
    pyproject(tmp_path, '[tool.pinlock]\npython = ["/usr/bin/python3.12"]\npre = true\n')
    assert load_command_config("sync", COMMANDS, project_dir=tmp_path) == {}
    assert load_command_config("compile", COMMANDS, project_dir=tmp_path) == {
        "python": ["/usr/bin/python3.12"],
        "pre": True,
    }


@pytest.mark.parametrize("command", ["compile", "sync"])
@pytest.mark.parametrize(
    ("text", "key", "table"),
    [
        ("[tool.pinlock.compile]\nbogus = 1\n", "bogus", "[tool.pinlock.compile]"),
        ('[tool.pinlock.sync]\nvenvs = "x"\n', "venvs", "[tool.pinlock.sync]"),
        ("[tool.pinlock]\nbogus = 1\n", "bogus", "[tool.pinlock]"),
        ("[tool.pinlock.deploy]\nx = 1\n", "deploy", "[tool.pinlock]"),
    ],
)
def test_an_unknown_key_in_any_table_fails_every_command(
    tmp_path: Path, command: str, text: str, key: str, table: str
) -> None:
    path = pyproject(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_command_config(command, COMMANDS, project_dir=tmp_path)
    assert info.value.source == str(path)
    assert info.value.key == key
    assert f"unknown option in {table}" in info.value.reason


def test_a_command_key_in_the_shared_table_says_where_it_goes(tmp_path: Path) -> None:
    pyproject(tmp_path, '[tool.pinlock]\nvenv = "env"\n')
    with pytest.raises(ConfigError, match=r"it goes in \[tool.pinlock.sync\]") as info:
        load_command_config("compile", COMMANDS, project_dir=tmp_path)
    assert info.value.key == "venv"


def test_command_tables_are_type_checked(tmp_path: Path) -> None:
    pyproject(tmp_path, "[tool.pinlock.sync]\nvenv = 3\n")
    with pytest.raises(ConfigError, match="expected a string") as info:
        load_command_config("compile", COMMANDS, project_dir=tmp_path)
    assert info.value.key == "venv"
    pyproject(tmp_path, '[tool.pinlock]\nsync = "yes"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        load_command_config("sync", COMMANDS, project_dir=tmp_path)


def test_command_config_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "pinlock.toml"
    config.write_text('index-url = "top"\n\n[sync]\nvenv = "env"\n\n[compile]\npre = true\n')
    pyproject(tmp_path, '[tool.pinlock.sync]\nvenv = "ignored"\n')
    assert load_command_config("sync", COMMANDS, config_file=config, project_dir=tmp_path) == {
        "index-url": "top",
        "venv": "env",
    }
    config.write_text("[sync]\nbogus = 1\n")
    with pytest.raises(ConfigError, match=r"unknown option in \[sync\]") as info:
        load_command_config("compile", COMMANDS, config_file=config)
    assert info.value.source == str(config)


def test_shared_keys_must_mean_the_same_for_every_command(tmp_path: Path) -> None:
    clash = {
        "compile": CommandSchema({"python": OptionSpec("list")}, shared=frozenset({"python"})),
        "sync": CommandSchema({"python": OptionSpec("str")}, shared=frozenset({"python"})),
    }
    with pytest.raises(ValueError, match="python"):
        load_command_config("sync", clash, project_dir=tmp_path)
