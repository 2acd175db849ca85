"""pip-tools' configuration (``[tool.pip-tools]``, ``.pip-tools.toml``) and its flags, as pinlock
reads them: every key that maps is applied, every other one is an error that says why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pinlock.cli import app
from pinlock.cli.options import COMMAND_OPTIONS, resolve_options
from pinlock.cli.piptools import PIPTOOLS_OPTIONS, Treatment, piptools_config
from pinlock.errors import ConfigError
from tests.support.compiling import compile_cli, pinned_versions
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


def mapped(
    command: str, table: Mapping[str, object], **sections: Mapping[str, object]
) -> dict[str, object]:
    return piptools_config(command, {"": table, **sections}, "pyproject.toml", COMMAND_OPTIONS)


def test_keys_map_to_pinlock_options_in_their_shapes() -> None:
    table: dict[str, object] = {
        "generate-hashes": False,
        "no_header": True,
        "--annotate": False,
        "index-url": "https://example.org/simple",
        "extra-index-url": "https://extra.example/simple",
        "newline": "LF",
        "allow-unsafe": True,
        "unsafe-package": ["setuptools"],
        "src-files": ["requirements/main.in"],
        "python-executable": ".venv/bin/python",
        "verbose": 2,
        "resolver": "backtracking",
        "strip-extras": True,
        "reuse-hashes": False,
        "upgrade": False,
        "all-build-deps": False,
        "build-deps-for": [],
        "user": False,
    }
    assert mapped("compile", table) == {
        "generate-hashes": False,
        "header": False,
        "annotate": False,
        "index-url": "https://example.org/simple",
        "extra-index-url": ["https://extra.example/simple"],
        "newline": "LF",
        "allow-unsafe": True,
        "unsafe-package": ["setuptools"],
        "inputs": ["requirements/main.in"],
    }
    assert mapped("sync", table) == {
        "index-url": "https://example.org/simple",
        "extra-index-url": ["https://extra.example/simple"],
        "locks": ["requirements/main.in"],
        "python": ".venv/bin/python",
    }


def test_a_command_table_wins_over_the_shared_one_and_only_for_its_command() -> None:
    shared = {"index-url": "https://shared.example/simple", "no-index": False}
    own = {"compile": {"index-url": "https://compile.example/simple"}}
    assert mapped("compile", shared, **own)["index-url"] == "https://compile.example/simple"
    assert mapped("sync", shared, **own)["index-url"] == "https://shared.example/simple"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"resolver": "legacy"}, "resolver: pip-tools' option, refused in \\[tool.pip-tools\\]"),
        ({"no-strip-extras": True}, "never carry extras"),
        ({"emit-options": False}, "so they always stay"),
        ({"build-deps-for": ["wheel"]}, "does not lock build requirements"),
        ({"dry-run": True}, "dry-run: .* on the command line only"),
        ({"upgrade": True}, "on the command line only"),
        ({"no-upgrade": False}, "on the command line only"),
        ({"ask": True}, "never prompts"),
        ({"frobnicate": 1}, "frobnicate: not an option of pip-compile or pip-sync"),
        ({"generate-hashes": "yes"}, "expected true or false"),
        ({"extra-index-url": 3}, "expected a string or a list of strings"),
        ({"index-url": ["a", "b"]}, "expected a string"),
    ],
)
def test_what_cannot_map_is_an_error_saying_so(table: dict[str, object], problem: str) -> None:
    for command in ("compile", "sync"):
        with pytest.raises(ConfigError, match=problem):
            mapped(command, table)


def test_a_command_table_holds_only_that_commands_options() -> None:
    with pytest.raises(ConfigError, match=r"python-executable: not an option .*pip-tools\.compile"):
        mapped("compile", {}, compile={"python-executable": "python"})
    assert mapped("compile", {}, sync={"python-executable": "python"}) == {}


def test_pyproject_pip_tools_table_applies_under_pinlock_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[tool.pip-tools]\n"
        "no-header = true\n"
        'index-url = "https://piptools.example/simple"\n'
        'extra-index-url = ["https://extra.example/simple"]\n'
        "uploaded-prior-to = 2024-01-01T00:00:00Z\n"
        "[tool.pinlock]\n"
        'index-url = "https://pinlock.example/simple"\n'
    )
    values = resolve_options("compile", {})
    assert values["header"] is False
    assert values["index_url"] == "https://pinlock.example/simple"
    assert values["extra_index_url"] == ("https://extra.example/simple",)
    assert values["uploaded_prior_to"] == "2024-01-01T00:00:00+00:00"
    assert resolve_options("compile", {"header": True})["header"] is True
    assert resolve_options("compile", {"no_config": True})["index_url"] is None

    # pip-tools reads the first file it finds: .pip-tools.toml before pyproject.toml.
    (tmp_path / ".pip-tools.toml").write_text("[tool.pip-tools]\nannotate = false\n")
    values = resolve_options("compile", {})
    assert (values["header"], values["annotate"]) == (True, False)
    # --config names the file, whose [tool.pip-tools] is read too.
    other = tmp_path / "other.toml"
    other.write_text("[tool.pip-tools]\nnewline = 'crlf'\n")
    values = resolve_options("compile", {"config": other})
    assert (values["newline"], values["annotate"], values["index_url"]) == ("crlf", True, None)


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    wheel_factory("alpha", "1.0")
    return index_factory()


def test_compile_and_sync_stop_on_a_refused_key(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.in").write_text("alpha\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pip-tools]\ngenerate-hashes = false\n[tool.pip-tools.sync]\nuser = true\n"
    )
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "main.in")
    assert code == 2
    assert "pyproject.toml: user: pip-tools' option, refused in [tool.pip-tools.sync]" in err
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "--no-config", "main.in")
    assert code == 0, err
    assert "--hash=sha256:" in (tmp_path / "main.txt").read_text()

    (tmp_path / "pyproject.toml").write_text("[tool.pip-tools]\ngenerate-hashes = false\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "main.in")
    assert code == 0, err
    text = (tmp_path / "main.txt").read_text()
    assert pinned_versions(text) == {"alpha": "1.0"} and "--hash" not in text


def test_pip_tools_flags_pinlock_ignores_or_refuses(
    tmp_path: Path, index: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "main.in").write_text("alpha\n")
    src = str(tmp_path / "main.in")
    code, _out, err = compile_cli(
        tmp_path, "-i", index.url, "--reuse-hashes", "--max-rounds", "20", "--strip-extras", src
    )
    assert code == 0, err
    assert "note: --reuse-hashes (pip-tools) is ignored: pinlock takes hashes" in err
    assert "note: --max-rounds 20 (pip-tools) is ignored" in err
    assert "strip-extras" not in err  # what pinlock always does, without a word
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "--resolver", "backtracking", src)
    assert code == 0 and "resolver" not in err
    for args, problem in [
        (["--resolver", "legacy"], "error: command line: --resolver legacy: refused: pinlock has"),
        (["--no-strip-extras"], "error: command line: --no-strip-extras: refused"),
        (["--all-build-deps"], "error: command line: --all-build-deps: refused"),
    ]:
        code, _out, err = compile_cli(tmp_path, "-i", index.url, *args, src)
        assert code == 2 and problem in err

    from pinlock.cli.sync import main

    with pytest.raises(SystemExit) as exited:
        main(["--ask", "--python", str(tmp_path / "venv")])
    assert exited.value.code == 2
    assert "error: command line: --ask: refused: pinlock never prompts" in capsys.readouterr().err


def test_help_leaves_the_pip_tools_flags_out() -> None:
    shown = CliRunner().invoke(app, ["compile", "--help"], terminal_width=200).stdout
    assert "--no-annotate" in shown and "--rebuild" not in shown and "--max-rounds" not in shown


def test_every_pip_tools_option_is_classified_once_per_command() -> None:
    for command in ("compile", "sync"):
        seen: set[str] = set()
        for entry in PIPTOOLS_OPTIONS:
            if command not in entry.commands:
                continue
            assert not seen & set(entry.keys), entry
            seen |= set(entry.keys)
            declared = {o.name for o in COMMAND_OPTIONS[command]}
            if entry.treatment in (Treatment.SUPPORTED, Treatment.MAPPED) and entry.pinlock:
                assert entry.pinlock in declared, entry
            if entry.treatment in (Treatment.IGNORED, Treatment.REFUSED):
                assert entry.why, entry
