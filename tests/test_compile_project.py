"""Compiling a project's own metadata: pyproject.toml (static or built), setup.cfg, setup.py,
extras, dependency groups, and ``-r ../pyproject.toml`` inside a requirement file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, CompileResult, compile_locks
from pinlock.compile.project import ProjectInputs, ProjectSelection
from pinlock.errors import BuildError, ConfigError, ReqFileError
from pinlock.reqfile import parse_file
from tests.support.compiling import compile_cli, pinned_versions
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]

# A build backend that cannot be imported: a test using it proves nothing was built.
NO_BACKEND = '[build-system]\nrequires = []\nbuild-backend = "no_such_backend"\n'


@pytest.fixture
def index(wheel_factory: Factory, index_factory: Callable[..., IndexServer]) -> IndexServer:
    for name, version in [
        ("alpha", "1.0"),
        ("alpha", "2.0"),
        ("beta", "1.0"),
        ("beta", "1.1"),
        ("gamma", "0.5"),
        ("delta", "3.0"),
        ("sphinx", "7.0"),
        ("pytest", "8.0"),
        ("mypy", "1.0"),
    ]:
        wheel_factory(name, version)
    return index_factory()


def write_project(folder: Path, body: str, *, build: str = NO_BACKEND) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(build + textwrap.dedent(body), encoding="utf-8")
    return pyproject


def compile_project(
    tmp_path: Path, index: IndexServer, *inputs: Path, **options: object
) -> list[CompileResult]:
    # Relative to the test's working folder, as users name them: labels show them so.
    request = CompileRequest(
        inputs=tuple(Path(os.path.relpath(path)) for path in inputs),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        **options,  # type: ignore[arg-type]
    )
    return compile_locks(request)


STATIC = """
[project]
name = "app"
version = "1.0"
dependencies = ["alpha<2", "beta; python_version >= '3'"]

[project.optional-dependencies]
test = ["gamma"]
docs = ["sphinx"]
all = ["app[test,docs]"]

[dependency-groups]
lint = ["mypy"]
dev = ["pytest", {include-group = "lint"}, "app[test]"]
"""


def test_static_dependencies_are_read_without_building(tmp_path: Path, index: IndexServer) -> None:
    pyproject = write_project(tmp_path, STATIC)
    [result] = compile_project(tmp_path, index, pyproject)
    assert result.output is not None
    assert result.output.resolve() == tmp_path / "requirements.txt"
    assert pinned_versions(result.text) == {"alpha": "1.0", "beta": "1.1"}
    assert "alpha==1.0 \\\n    --hash=sha256:" in result.text
    assert "    # via pyproject.toml\n" in result.text


def test_extras_including_self_references_and_their_labels(
    tmp_path: Path, index: IndexServer
) -> None:
    pyproject = write_project(tmp_path, STATIC)
    [result] = compile_project(tmp_path, index, pyproject, extras=("all",), output="-")
    assert pinned_versions(result.text) == {
        "alpha": "1.0",
        "beta": "1.1",
        "gamma": "0.5",
        "sphinx": "7.0",
    }
    assert "gamma==0.5 \\" in result.text
    assert "    # via pyproject.toml (extra: test)\n" in result.text
    assert "    # via pyproject.toml (extra: docs)\n" in result.text
    [every] = compile_project(tmp_path, index, pyproject, all_extras=True, output="-")
    assert pinned_versions(every.text) == pinned_versions(result.text)


def test_dependency_groups_follow_include_group_and_name_the_project_extras(
    tmp_path: Path, index: IndexServer
) -> None:
    pyproject = write_project(tmp_path, STATIC)
    [result] = compile_project(tmp_path, index, pyproject, groups=("Dev",), output="-")
    assert pinned_versions(result.text) == {
        "alpha": "1.0",
        "beta": "1.1",
        "gamma": "0.5",
        "mypy": "1.0",
        "pytest": "8.0",
    }
    assert "    # via pyproject.toml (group: dev)\n" in result.text
    assert "    # via pyproject.toml (group: lint)\n" in result.text
    assert "    # via pyproject.toml (extra: test)\n" in result.text


def test_an_include_group_cycle_is_an_error(tmp_path: Path, index: IndexServer) -> None:
    pyproject = write_project(
        tmp_path,
        """
        [project]
        name = "app"
        version = "1"
        [dependency-groups]
        a = [{include-group = "b"}]
        b = ["gamma", {include-group = "a"}]
        """,
    )
    with pytest.raises(ConfigError, match=r"include-group cycle: a -> b -> a"):
        compile_project(tmp_path, index, pyproject, groups=("a",), output="-")


def test_extras_and_groups_nobody_declares_are_errors(tmp_path: Path, index: IndexServer) -> None:
    pyproject = write_project(tmp_path, STATIC)
    with pytest.raises(ConfigError, match=r"^--extra: tset: no project input declares it"):
        compile_project(tmp_path, index, pyproject, extras=("tset",), output="-")
    with pytest.raises(ConfigError, match=r"^--group: nope: no project input declares it"):
        compile_project(tmp_path, index, pyproject, groups=("nope",), output="-")
    plain = tmp_path / "main.in"
    plain.write_text("gamma\n")
    with pytest.raises(ConfigError, match=r"applies to project inputs"):
        compile_project(tmp_path, index, plain, extras=("test",), output="-")


def test_a_requirement_file_may_include_the_projects_metadata(
    tmp_path: Path, index: IndexServer
) -> None:
    write_project(tmp_path, STATIC)
    requirements = tmp_path / "requirements"
    requirements.mkdir()
    main_in = requirements / "main.in"
    dev_in = requirements / "dev.in"
    main_in.write_text("-r ../pyproject.toml\n")
    dev_in.write_text("-c main.txt\n-r main.in\ndelta\n")
    main, dev = compile_project(tmp_path, index, dev_in, main_in)
    assert (main.input.resolve(), dev.input.resolve()) == (main_in, dev_in)
    assert pinned_versions(main.text) == {"alpha": "1.0", "beta": "1.1"}
    assert "    # via pyproject.toml\n" in main.text
    assert pinned_versions(dev.text) == {"alpha": "1.0", "beta": "1.1", "delta": "3.0"}
    # Without a project reader (sync reading a lock), the include is refused.
    with pytest.raises(ReqFileError, match=r"pyproject\.toml holds project metadata"):
        parse_file(main_in)


def test_a_dynamic_setuptools_project_is_read_through_its_backend(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='dyn-app', version='0.1', install_requires=['beta<1.1'],\n"
        "      extras_require={'test': ['gamma; python_version >= \"3\"']})\n"
    )
    build = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    (project / "pyproject.toml").write_text(build)
    # The machine has no index for build requirements here: the backend runs in this venv.
    results = compile_project(
        tmp_path,
        index,
        project / "setup.py",
        extras=("test",),
        build_isolation=False,
        output="-",
    )
    assert pinned_versions(results[0].text) == {"beta": "1.0", "gamma": "0.5"}
    assert "    # via proj/setup.py (extra: test)\n" in results[0].text
    # Isolated, the build requirements come through pip under pip's configuration: none here.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(BuildError, match=r"setuptools"):
        compile_project(tmp_path, index, project / "setup.py", output="-")


def test_the_cli_takes_project_options_and_shows_them_in_the_header(
    tmp_path: Path, index: IndexServer
) -> None:
    write_project(tmp_path, STATIC)
    code, _out, err = compile_cli(
        tmp_path,
        "--index-url",
        index.url,
        "--extra",
        "test",
        "--group",
        "lint",
        "--no-build-isolation",
        "pyproject.toml",
    )
    assert code == 0, err
    text = (tmp_path / "requirements.txt").read_text()
    assert pinned_versions(text) == {"alpha": "1.0", "beta": "1.1", "gamma": "0.5", "mypy": "1.0"}
    assert "--extra test --group lint --no-build-isolation pyproject.toml\n" in text


def test_project_options_come_from_the_configuration_too(
    tmp_path: Path, index: IndexServer
) -> None:
    write_project(
        tmp_path,
        STATIC + '\n[tool.pinlock]\ninputs = ["pyproject.toml"]\nextra = ["docs"]\n',
    )
    code, _out, err = compile_cli(tmp_path, "--index-url", index.url)
    assert code == 0, err
    text = (tmp_path / "requirements.txt").read_text()
    assert pinned_versions(text) == {"alpha": "1.0", "beta": "1.1", "sphinx": "7.0"}


@pytest.fixture(scope="session")
def backend_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real setuptools and hatchling wheels (and their dependencies), from PyPI once a session:
    the isolated builds below install them from this folder, never from the network."""
    folder = tmp_path_factory.mktemp("backend-wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder)]
    try:
        done = subprocess.run(
            [*command, "hatchling", "setuptools>=61"],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("PyPI did not answer: cannot download setuptools and hatchling")
    if done.returncode:
        pytest.skip("PyPI is unreachable: cannot download setuptools and hatchling")
    return folder


SETUPTOOLS_DYNAMIC = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "st-app"
version = "1.0"
dynamic = ["dependencies", "optional-dependencies"]

[tool.setuptools]
py-modules = []

[tool.setuptools.dynamic]
dependencies = {file = ["requirements.txt"]}
optional-dependencies.test = {file = ["test-requirements.txt"]}
"""

HATCHLING_DYNAMIC = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "hatch-app"
version = "1.0"
dynamic = ["dependencies", "optional-dependencies"]

[tool.hatch.metadata.hooks.custom]
"""

HATCH_HOOK = """\
from hatchling.metadata.plugin.interface import MetadataHookInterface


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata):
        metadata["dependencies"] = ["alpha<2"]
        metadata["optional-dependencies"] = {"test": ["gamma"]}
"""


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["setuptools", "hatchling"])
def test_dynamic_dependencies_come_from_a_real_backend_in_an_isolated_build(
    tmp_path: Path,
    index: IndexServer,
    backend_wheels: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    if backend == "setuptools":
        (project / "pyproject.toml").write_text(SETUPTOOLS_DYNAMIC)
        (project / "requirements.txt").write_text("beta<1.1\n")
        (project / "test-requirements.txt").write_text("gamma\n")
        expected = {"beta": "1.0", "gamma": "0.5"}
    else:
        (project / "pyproject.toml").write_text(HATCHLING_DYNAMIC)
        (project / "hatch_build.py").write_text(HATCH_HOOK)
        (project / "hatch_app").mkdir()
        (project / "hatch_app" / "__init__.py").write_text("")
        expected = {"alpha": "1.0", "gamma": "0.5"}
    # pip configuration is how build isolation finds the backend: the local index and a local
    # folder only (pinlock honours the same configuration).
    monkeypatch.setenv("PIP_INDEX_URL", index.url)
    monkeypatch.setenv("PIP_FIND_LINKS", str(backend_wheels))
    [result] = compile_project(
        tmp_path, index, project / "pyproject.toml", extras=("test",), output="-"
    )
    assert pinned_versions(result.text) == expected
    assert "    # via proj/pyproject.toml (extra: test)\n" in result.text
    assert "    # via proj/pyproject.toml\n" in result.text


def test_a_project_file_may_constrain_other_inputs(tmp_path: Path, index: IndexServer) -> None:
    write_project(tmp_path, STATIC)
    (tmp_path / "tools.in").write_text("alpha\n")
    [result] = compile_project(
        tmp_path, index, tmp_path / "tools.in", constraints=(Path("pyproject.toml"),), output="-"
    )
    assert pinned_versions(result.text) == {"alpha": "1.0"}
    assert "    #   -c pyproject.toml\n" in result.text


def test_built_metadata_is_split_by_extra_keeping_environment_markers(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = built\n")
    metadata = (
        b"Metadata-Version: 2.1\nName: built\nVersion: 1.0\n"
        b"Provides-Extra: test\nProvides-Extra: docs\n"
        b"Requires-Dist: alpha\n"
        b'Requires-Dist: gamma ; extra == "test"\n'
        b'Requires-Dist: delta ; python_version >= "3" and extra == "test"\n'
        b'Requires-Dist: sphinx ; extra == "docs" or extra == "test"\n'
    )
    asked: list[tuple[Path, str, bool]] = []

    def build(folder: Path, what: str, isolation: bool) -> bytes:
        asked.append((folder, what, isolation))
        return metadata

    projects = ProjectInputs(
        ProjectSelection(extras=("Test",), build_isolation=False), build_metadata=build
    )
    lines = projects(tmp_path / "setup.cfg", "setup.cfg")
    projects(tmp_path / "setup.cfg", "setup.cfg")  # read once per run
    assert asked == [(tmp_path, "setup.cfg", False)]
    found = {str(line.requirement.name): line for line in lines if line.requirement}
    assert {name: line.via for name, line in found.items()} == {
        "alpha": "setup.cfg",
        "gamma": "setup.cfg (extra: test)",
        "delta": "setup.cfg (extra: test)",
        "sphinx": "setup.cfg (extra: test)",
    }
    assert found["gamma"].marker is None
    assert str(found["delta"].marker) == 'python_version >= "3"'
    assert projects.names == {"built"}
    projects.check_selection()
