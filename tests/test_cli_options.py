"""Option declarations: the typer commands, the quick reader and the configuration tables all
come from ``pinlock.cli.options``; command line > command table > shared table > default."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from pinlock.cli.declare import Option, config_schema, merge, parse_quickly, quick_reader
from pinlock.cli.options import COMMAND_OPTIONS, COMPILE_OPTIONS, SYNC_OPTIONS, resolve_options
from pinlock.cli.running import exit_code_of
from pinlock.cli.typed import single_command_app
from pinlock.errors import ConfigError, HashMismatch


def _typer_flags(options: tuple[Option, ...]) -> dict[str, set[str]]:
    command = typer.main.get_command(single_command_app(options, lambda _: 0, help=""))
    return {
        param.name: set(param.opts) | set(param.secondary_opts)
        for param in command.params
        if param.name and param.name != "help"
    }


def _argparse_flags(options: tuple[Option, ...]) -> dict[str, set[str]]:
    flags: dict[str, set[str]] = {}
    for action in quick_reader(options)._actions:
        flags.setdefault(action.dest, set()).update(action.option_strings or {action.dest})
    return flags


@pytest.mark.parametrize("command", sorted(COMMAND_OPTIONS))
def test_typer_and_the_quick_reader_take_the_same_options(command: str) -> None:
    options = COMMAND_OPTIONS[command]
    from_typer = _typer_flags(options)
    assert from_typer == _argparse_flags(options)
    on_command_line = {o.name for o in options if o.flags or o.argument}
    assert set(from_typer) == on_command_line
    assert from_typer["config"] == {"--config"}


def test_compile_options_as_typer_reads_them() -> None:
    flags = _typer_flags(COMPILE_OPTIONS)
    assert flags["generate_hashes"] == {"--generate-hashes", "--no-hashes"}
    assert flags["index_url"] == {"-i", "--index-url"}
    assert "flavour_packages" not in flags  # configuration files only
    values = parse_quickly(COMPILE_OPTIONS, ["a.in", "--no-hashes", "-P", "x", "-P", "y"])
    assert values is not None
    merged = merge(COMPILE_OPTIONS, values, {})
    assert merged["inputs"] == (Path("a.in"),)
    assert merged["generate_hashes"] is False
    assert merged["upgrade_package"] == ("x", "y")
    assert merged["annotation_style"] == "split"  # the declared default
    assert merged["flavour_packages"] is None  # unset, which is not empty


def test_config_schema_comes_from_the_declarations() -> None:
    compile_schema = config_schema(COMPILE_OPTIONS)
    sync_schema = config_schema(SYNC_OPTIONS)
    assert compile_schema.options["flavour-index"].kind == "table"
    assert compile_schema.options["python"].kind == "list"
    assert sync_schema.options["python"].kind == "str"
    assert "dry-run" not in compile_schema.options and "json-output" not in sync_schema.options
    assert "upgrade-package" not in compile_schema.options
    # Every compile option may stay in [tool.pinlock]; of sync's, those meaning the same.
    assert compile_schema.shared == frozenset(compile_schema.options)
    assert sync_schema.shared == {
        "index-url",
        "extra-index-url",
        "find-links",
        "no-index",
        "trusted-host",
        "cert",
        "client-cert",
        "pip-args",
        "cache-dir",
    }
    for key in sync_schema.shared:
        assert compile_schema.options[key] == sync_schema.options[key]


def test_command_line_over_command_table_over_shared_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pinlock]\n"
        'index-url = "shared"\n'
        'cache-dir = "shared-cache"\n'
        'find-links = ["shared-links"]\n'
        'python = ["/usr/bin/python3.12"]\n'
        "\n[tool.pinlock.sync]\n"
        'index-url = "for-sync"\n'
        'venv = "env"\n'
        "system = true\n"
        "\n[tool.pinlock.compile]\n"
        'flavour-index = { cpu = "cpu-links" }\n'
        "pre = true\n"
    )
    monkeypatch.chdir(tmp_path)
    values = resolve_options("sync", {})
    assert values["index_url"] == "for-sync"
    assert values["cache_dir"] == Path("shared-cache")
    assert values["find_links"] == ("shared-links",)
    assert values["venv"] == Path("env")
    assert values["python"] is None  # compile's `python` is not sync's
    assert values["system"] is True
    given = parse_quickly(SYNC_OPTIONS, ["--index-url", "cli", "--venv", "v2", "-f", "x"])
    assert given is not None
    values = resolve_options("sync", given)
    assert (values["index_url"], values["venv"], values["find_links"]) == (
        "cli",
        Path("v2"),
        ("x",),
    )

    values = resolve_options("compile", {})
    assert values["index_url"] == "shared"
    assert values["python"] == (Path("/usr/bin/python3.12"),)
    assert values["flavour_index"] == {"cpu": "cpu-links"}
    assert values["pre"] is True
    values = resolve_options("compile", {"flavour_index": ["cu121=x"], "no_index": True})
    assert values["flavour_index"] == {"cu121": "x"}
    assert values["no_index"] is True


def test_a_bad_pair_names_its_option() -> None:
    with pytest.raises(ConfigError) as info:
        merge(COMPILE_OPTIONS, {"flavour_index": ["cu121"]}, {})
    assert info.value.key == "cu121"
    assert str(info.value) == "--flavour-index: cu121: expected NAME=URL_OR_FOLDER"


def test_errors_and_interrupts_become_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    def mismatch() -> int:
        raise HashMismatch("x.whl", ["sha256:aa"], "sha256:bb")

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert exit_code_of(lambda: 7, interrupted="-") == 7
    assert exit_code_of(mismatch, interrupted="-") == HashMismatch.exit_code
    assert (
        capsys.readouterr().err == f"error: {HashMismatch('x.whl', ['sha256:aa'], 'sha256:bb')}\n"
    )
    assert exit_code_of(interrupted, interrupted="nothing changed") == 130
    assert capsys.readouterr().err == "error: nothing changed\n"

    def bug() -> int:
        raise RuntimeError("a bug shows its traceback")

    with pytest.raises(RuntimeError):
        exit_code_of(bug, interrupted="-")
