"""PEP 751 ``pylock.toml``: written through ``packaging.pylock``, read back, compiled to and
installed from (pip >= 26.1 and ``pinlock sync``), with the same result as the .txt lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.pylock import Pylock
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pinlock.compile import CompileRequest, CompileResult, compile_locks
from pinlock.errors import ConfigError, EnvironmentProblem
from pinlock.lock._toml import dumps
from pinlock.lock.model import Lock, LockedFile, LockedPackage
from pinlock.lock.pylock import is_pylock_path, read_pylock, render_pylock
from pinlock.pyproject import read_toml
from pinlock.sync import SyncRequest, sync
from pinlock.sync.piprun import run_pip
from pinlock.target import Target
from tests.support.artifacts import make_sdist, make_wheel
from tests.support.compiling import sha256_of
from tests.support.index_server import IndexServer
from tests.sync_helpers import editable_project, freeze, make_venv

Factory = Callable[..., Path]
H1 = "sha256:" + "1" * 64
H2 = "sha256:" + "2" * 64
UPLOADED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def loads(text: str) -> Any:
    path = Path("loaded.toml")
    path.write_text(text, encoding="utf-8")
    return read_toml(path)


def pin(name: str, version: str | None = None, **fields: object) -> LockedPackage:
    return LockedPackage(
        name=canonicalize_name(name),
        display_name=name,
        version=Version(version) if version else None,
        **fields,  # type: ignore[arg-type]
    )


SAMPLE = Lock(
    packages=(
        pin(
            "alpha",
            "1.0",
            hashes=(H1, H2),
            files=(
                LockedFile(
                    filename="alpha-1.0-py3-none-any.whl",
                    url="https://files.example/alpha-1.0-py3-none-any.whl",
                    hashes=(H1,),
                    size=1234,
                    upload_time=UPLOADED,
                ),
                LockedFile(
                    filename="alpha-1.0.tar.gz",
                    url="https://files.example/alpha-1.0.tar.gz",
                    hashes=(H2,),
                ),
            ),
            index="https://pypi.org/simple",
            requires_python=SpecifierSet(">=3.9"),
            via=("-r main.in", "beta"),
        ),
        pin("app", url=".", editable=True, via=("-r main.in",)),
        pin(
            "tool",
            "2.0",
            url="./vendor/tool-2.0-py3-none-any.whl",
            hashes=(H1,),
            files=(
                LockedFile(
                    filename="tool-2.0-py3-none-any.whl",
                    url="./vendor/tool-2.0-py3-none-any.whl",
                    hashes=(H1,),
                    size=10,
                ),
            ),
        ),
        pin("vcs-thing", url="git+https://git.example/r.git@" + "a" * 40),
    )
)


def test_a_lock_is_written_as_valid_pep751_and_read_back(tmp_path: Path) -> None:
    text = render_pylock(
        SAMPLE, environments=['python_version == "3.12"'], tool={"command": "pinlock compile"}
    )
    document = loads(text)
    Pylock.from_dict(document).validate()
    assert document["lock-version"] == "1.0"
    assert document["created-by"] == "pinlock"
    assert document["environments"] == ['python_version == "3.12"']
    alpha, app, tool, vcs = document["packages"]
    assert alpha["index"] == "https://pypi.org/simple"
    assert alpha["requires-python"] == ">=3.9"
    assert alpha["wheels"] == [
        {
            "name": "alpha-1.0-py3-none-any.whl",
            "upload-time": UPLOADED,
            "url": "https://files.example/alpha-1.0-py3-none-any.whl",
            "size": 1234,
            "hashes": {"sha256": "1" * 64},
        }
    ]
    assert alpha["sdist"]["hashes"] == {"sha256": "2" * 64}
    assert alpha["tool"] == {"pinlock": {"via": ["-r main.in", "beta"]}}
    assert app["directory"] == {"path": ".", "editable": True}
    assert "version" not in app
    assert tool["archive"] == {
        "path": "./vendor/tool-2.0-py3-none-any.whl",
        "size": 10,
        "hashes": {"sha256": "1" * 64},
    }
    assert vcs["vcs"] == {"type": "git", "url": "https://git.example/r.git", "commit-id": "a" * 40}

    (tmp_path / "pylock.toml").write_text(text)
    back = {str(p.name): p for p in read_pylock(tmp_path / "pylock.toml").packages}
    assert back["alpha"].files == SAMPLE.packages[0].files
    assert back["alpha"].hashes == (H1, H2)
    assert back["alpha"].via == ("-r main.in", "beta")
    assert back["alpha"].index == "https://pypi.org/simple"
    assert (back["app"].url, back["app"].editable) == (str(tmp_path), True)
    vendored = (tmp_path / "vendor" / "tool-2.0-py3-none-any.whl").as_uri()
    assert (back["tool"].url, back["tool"].hashes) == (vendored, (H1,))
    assert back["vcs-thing"].url == "git+https://git.example/r.git@" + "a" * 40


def test_reading_for_an_environment_selects_as_pep751_says(tmp_path: Path) -> None:
    lock = Lock(
        packages=(
            pin("alpha", "1.0", hashes=(H1,), files=SAMPLE.packages[0].files[:1]),
            pin(
                "winonly",
                "1.0",
                marker=Marker('sys_platform == "win32"'),
                files=(
                    LockedFile(
                        filename="winonly-1.0-py3-none-any.whl", url="https://x/w", hashes=(H1,)
                    ),
                ),
            ),
        )
    )
    path = tmp_path / "pylock.toml"
    path.write_text(render_pylock(lock, environments=['python_version >= "3"']))
    host = Target.host()
    linux = {**host.markers, "sys_platform": "linux"}
    chosen = read_pylock(path, environment=linux, tags=host.tags)
    assert [(p.name, p.marker) for p in chosen.packages] == [("alpha", None)]
    assert [p.name for p in read_pylock(path).packages] == ["alpha", "winonly"]
    path.write_text(render_pylock(lock, environments=['python_version < "3"']))
    with pytest.raises(EnvironmentProblem, match="does not install here"):
        read_pylock(path, environment=linux, tags=host.tags)


def test_the_toml_writer_round_trips_through_tomllib() -> None:
    document = {
        "a-key": 'quote " backslash \\ tab \t del \x7f é',
        "n": 3,
        "flag": True,
        "when": UPLOADED,
        "list": ["x", 'marker == "quoted"'],
        "table": {"inner key": 1},
        "packages": [{"name": "p", "wheels": [{"name": "w", "hashes": {"sha256": "0"}}]}],
    }
    assert loads(dumps(document)) == document


def test_pylock_names() -> None:
    assert is_pylock_path("pylock.toml") and is_pylock_path("a/pylock.dev-py312.toml")
    assert not is_pylock_path("pylock.a.b.toml") and not is_pylock_path("lock.toml")


# -- compile --------------------------------------------------------------------------------


@pytest.fixture
def index(
    wheel_factory: Factory, index_factory: Callable[..., IndexServer], files_dir: Path
) -> IndexServer:
    wheel_factory("alpha", "1.0", requires_dist=["beta"], requires_python=">=3.8")
    wheel_factory("beta", "1.0")
    wheel_factory("beta", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    wheel_factory("beta", "1.0", tag="cp312-cp312-win_amd64")
    wheel_factory("gamma", "0.5")
    make_sdist(files_dir, "srconly", "1.0")
    uploaded = {"alpha-1.0-py3-none-any.whl": "2024-05-06T07:08:09Z"}
    return index_factory(json=True, upload_times=uploaded)


def compile_to(
    tmp_path: Path, index: IndexServer, content: str, **options: object
) -> list[CompileResult]:
    (tmp_path / "main.in").write_text(content)
    request = CompileRequest(
        inputs=(Path("main.in"),),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        **options,  # type: ignore[arg-type]
    )
    return compile_locks(request)


def test_compile_writes_a_pylock_named_so(tmp_path: Path, index: IndexServer) -> None:
    [result] = compile_to(tmp_path, index, "alpha\n", output="pylock.toml")
    document: Any = read_toml(Path("pylock.toml"))
    Pylock.from_dict(document).validate()
    packages = {p["name"]: p for p in document["packages"]}
    assert sorted(packages) == ["alpha", "beta"]
    alpha = packages["alpha"]
    assert alpha["version"] == "1.0"
    assert alpha["index"] == index.url
    assert alpha["requires-python"] == ">=3.8"
    [wheel] = alpha["wheels"]
    built = Path("files") / "alpha-1.0-py3-none-any.whl"
    assert wheel["url"] == index.file_url(built.name)
    assert wheel["size"] == built.stat().st_size
    assert wheel["upload-time"] == datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert wheel["hashes"] == {"sha256": sha256_of(built)[7:]}
    assert len(packages["beta"]["wheels"]) == 3  # a lock for any platform lists every wheel
    assert alpha["tool"] == {"pinlock": {"via": ["-r main.in"]}}
    host = Target.host()
    assert document["environments"] == [
        f'implementation_name == "{host.markers["implementation_name"]}" and '
        f'python_version == "{host.python_version}"'
    ]
    assert result.package_count == 2


def test_per_target_pylocks_hold_that_targets_files_only(
    tmp_path: Path, index: IndexServer
) -> None:
    targets = (Target.from_spec("3.12", "linux"), Target.from_spec("3.12", "windows"))
    results = compile_to(
        tmp_path, index, "beta\nsrconly\n", targets=targets, output_format="pylock"
    )
    assert [r.output for r in results] == [
        Path(f"pylock.main-{targets[0].name}.toml"),
        Path(f"pylock.main-{targets[1].name}.toml"),
    ]
    linux, windows = (loads(r.text) for r in results)
    linux_beta = {p["name"]: p for p in linux["packages"]}["beta"]
    assert [w["name"] for w in linux_beta["wheels"]] == [
        "beta-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "beta-1.0-py3-none-any.whl",
    ]
    assert 'sys_platform == "linux"' in linux["environments"][0]
    assert 'sys_platform == "win32"' in windows["environments"][0]
    srconly = {p["name"]: p for p in linux["packages"]}["srconly"]
    assert srconly["sdist"]["name"] == "srconly-1.0.tar.gz" and "wheels" not in srconly


def test_an_existing_pylock_keeps_its_pins(
    tmp_path: Path, index: IndexServer, files_dir: Path
) -> None:
    compile_to(tmp_path, index, "gamma\n", output="pylock.toml")
    make_wheel(files_dir, "gamma", "0.9")
    [kept] = compile_to(tmp_path, index, "gamma\n", output="pylock.toml")
    assert not kept.changed
    assert '\nversion = "0.5"\n' in kept.text
    [upgraded] = compile_to(tmp_path, index, "gamma\n", output="pylock.toml", upgrade=True)
    assert '\nversion = "0.9"\n' in upgraded.text


def test_a_pylock_must_be_named_as_pep751_says(tmp_path: Path, index: IndexServer) -> None:
    with pytest.raises(ConfigError, match=r"must be named pylock\.toml or pylock\.<name>\.toml"):
        compile_to(tmp_path, index, "gamma\n", output="locks.toml", output_format="pylock")
    [result] = compile_to(tmp_path, index, "gamma\n", output_format="pylock")
    assert result.output == Path("pylock.main.toml")


# -- install: pip and pinlock sync agree with the .txt lock -------------------------------------


@pytest.mark.slow
def test_pip_and_sync_install_the_pylock_as_the_txt_lock(
    tmp_path: Path, index: IndexServer
) -> None:
    content = "alpha\nsrconly\ngamma\n"
    [txt] = compile_to(tmp_path, index, content, output="main.txt")
    [pylock] = compile_to(tmp_path, index, content, output="pylock.toml")
    assert txt.output is not None and pylock.output is not None

    from_txt = make_venv(tmp_path / "venv-txt")
    run_pip(["install", "--require-hashes", "-r", str(txt.output)], python=from_txt)
    from_pip = make_venv(tmp_path / "venv-pip")
    run_pip(["install", "-r", str(pylock.output)], python=from_pip)
    from_sync = make_venv(tmp_path / "venv-sync")
    report = sync(
        SyncRequest(locks=(pylock.output,), python=from_sync, cache_dir=tmp_path / "cache")
    )

    expected = ["alpha==1.0", "beta==1.0", "gamma==0.5", "srconly==1.0"]
    assert freeze(from_txt) == expected
    assert freeze(from_pip) == expected
    assert freeze(from_sync) == expected
    assert report.applied is not None
    again = sync(SyncRequest(locks=(pylock.output,), python=from_sync, dry_run=True))
    assert not again.differs


@pytest.mark.slow
def test_sync_installs_an_editable_from_a_pylock_and_keeps_it(tmp_path: Path) -> None:
    project = editable_project(tmp_path / "proj", "proj-app", "1.0")
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text()
        + '\n[project]\nname = "proj-app"\nversion = "1.0"\n'
    )
    lock = Lock(packages=(pin("proj-app", url="./proj", editable=True),))
    path = tmp_path / "pylock.toml"
    path.write_text(render_pylock(lock))
    python = make_venv(tmp_path / "venv")
    sync(SyncRequest(locks=(path,), python=python, cache_dir=tmp_path / "cache"))
    assert freeze(python) == ["proj-app==1.0 (editable)"]
    again = sync(SyncRequest(locks=(path,), python=python, dry_run=True))
    assert not again.differs


def test_a_pylock_holding_an_editable_is_warned_about(tmp_path: Path, index: IndexServer) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n')
    [result] = compile_to(tmp_path, index, "-e .\ngamma\n", output="pylock.toml")
    [warning] = result.warnings
    assert warning.startswith("this hashed lock holds -e ., which pip cannot hash-check")
    assert "--no-hashes" not in warning
    document: Any = read_toml(Path("pylock.toml"))
    [app] = [p for p in document["packages"] if p["name"] == "app"]
    assert app["directory"] == {"path": ".", "editable": True}
