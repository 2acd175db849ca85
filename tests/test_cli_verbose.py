"""-q and -v on both commands: what each level prints, the same way on compile and sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.cli.options import COMMAND_OPTIONS
from tests.support.artifacts import make_sdist
from tests.support.compiling import compile_cli
from tests.support.index_server import IndexServer
from tests.sync_helpers import freeze, make_venv, sha256_hex

Factory = Callable[..., Path]

_FAILING_BACKEND = (
    b"import sys\n"
    b"def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
    b"    print('the backend speaks', file=sys.stderr)\n"
    b"    raise RuntimeError('install_requires must be a list of valid requirements')\n"
)


@pytest.fixture
def index(
    files_dir: Path, wheel_factory: Factory, index_factory: Callable[..., IndexServer]
) -> IndexServer:
    wheel_factory("app", "1.0", requires_dist=["curlify", "helper"])
    wheel_factory("curlify", "2.2")
    make_sdist(
        files_dir,
        "curlify",
        "3.0",
        pkg_info=False,
        extra_members={"curlify-3.0/tinybackend.py": _FAILING_BACKEND},
    )
    make_sdist(files_dir, "helper", "1.0", pkg_info=False)
    return index_factory()


@pytest.mark.parametrize("name", ["quiet", "verbose"])
def test_quiet_and_verbose_are_declared_alike_on_both_commands(name: str) -> None:
    compile_option, sync_option = (
        next(o for o in COMMAND_OPTIONS[command] if o.name == name)
        for command in ("compile", "sync")
    )
    assert compile_option == sync_option
    assert compile_option.kind == "count"


def test_compile_verbose_says_what_was_fetched_built_and_set_aside(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "main.in").write_text("app\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-v", "main.in")
    assert code == 0, err
    lines = err.splitlines()
    assert "downloaded helper-1.0.tar.gz (" in err
    assert "built the metadata of helper-1.0.tar.gz" in lines
    assert any(line.startswith("warning: set aside curlify 3.0: could not build") for line in lines)
    assert lines[-4:] == [
        "wrote main.txt (3 packages)",
        "  + app 1.0",
        "  + curlify 2.2",
        "  + helper 1.0",
    ]
    assert "the backend speaks" not in err  # build output is for -vv
    assert "metadata of app-1.0-py3-none-any.whl" not in err  # so is where each came from


def test_compile_very_verbose_adds_where_metadata_came_from_and_build_output(
    tmp_path: Path, index: IndexServer
) -> None:
    (tmp_path / "main.in").write_text("app\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-vv", "main.in")
    assert code == 0, err
    assert "metadata of app-1.0-py3-none-any.whl: from range reads of the wheel" in err
    assert "--- what the build backend printed for curlify-3.0.tar.gz" in err
    assert "the backend speaks" in err


def test_compile_quiet_says_only_warnings(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "main.in").write_text("app\n")
    code, out, err = compile_cli(tmp_path, "-i", index.url, "-q", "main.in")
    assert code == 0, err
    assert out == ""
    assert [line.split(":")[0] for line in err.splitlines()] == ["warning"]
    code, out, err = compile_cli(tmp_path, "-i", index.url, "-qq", "--check", "main.in")
    assert (code, out, err) == (0, "", "")


def test_compile_verbose_shows_pins_that_change(
    tmp_path: Path, index: IndexServer, wheel_factory: Factory
) -> None:
    (tmp_path / "main.in").write_text("app\n")
    assert compile_cli(tmp_path, "-i", index.url, "main.in")[0] == 0
    wheel_factory("curlify", "2.3")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-v", "-P", "curlify", "main.in")
    assert code == 0, err
    assert err.splitlines()[-2:] == ["wrote main.txt (3 packages)", "  ~ curlify 2.2 -> 2.3"]
    (tmp_path / "main.in").write_text("helper\n")
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-v", "main.in")
    assert code == 0, err
    assert err.splitlines()[-3:] == [
        "wrote main.txt (1 package)",
        "  - app 1.0",
        "  - curlify 2.3",
    ]


def test_sync_verbose_says_what_was_downloaded_and_built(
    tmp_path: Path, index: IndexServer, files_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinlock.cli.sync import main

    helper = files_dir / "helper-1.0.tar.gz"
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"--index-url {index.url}\nhelper==1.0 --hash=sha256:{sha256_hex(helper)}\n")
    python = make_venv(tmp_path / "venv")
    cache = str(tmp_path / "cache")
    with pytest.raises(SystemExit) as exited:
        main([str(lock), "--python", str(python), "--cache-dir", cache, "-v"])
    err = capsys.readouterr().err
    assert exited.value.code == 0, err
    assert f"downloaded {index.file_url('helper-1.0.tar.gz')} (" in err
    assert "built helper-1.0-py3-none-any.whl from helper-1.0.tar.gz" in err
    assert freeze(python) == ["helper==1.0"]

    # Quiet: not a word when all goes well.
    python = make_venv(tmp_path / "venv2")
    with pytest.raises(SystemExit) as exited:
        main([str(lock), "--python", str(python), "--cache-dir", cache, "-q"])
    captured = capsys.readouterr()
    assert (exited.value.code, captured.out, captured.err) == (0, "", "")
    assert freeze(python) == ["helper==1.0"]
