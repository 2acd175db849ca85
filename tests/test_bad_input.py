"""Bad input, case by case: ``pinlock compile`` ends with its exit code and one clear message,
no traceback, and no file written or changed.

Every case runs the real CLI in a folder holding ``requirements.in`` (and whatever else the case
writes) and an existing lock ``requirements.txt``, against a real index on 127.0.0.1 that serves
a small world of packages: plain ones, a conflict deep in a tree, releases for a Python that does
not exist yet, a yanked-only project, a Windows-only wheel and an sdist whose build fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.artifacts import make_sdist, make_wheel
from tests.support.compiling import compile_cli
from tests.support.index_server import IndexServer

OLD_LOCK = "# the lock from before: a failed run leaves it untouched\n"
FAILING_BACKEND = (
    b"def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
    b"    print('compiler exploded: missing header foo.h')\n"
    b"    raise RuntimeError('cannot build broken-build')\n"
    b"def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
    b"    raise RuntimeError('cannot build broken-build')\n"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    files = tmp_path_factory.mktemp("world")
    make_wheel(files, "alpha", "1.0")
    make_wheel(files, "alpha", "2.0", requires_dist=["beta"])
    make_wheel(files, "beta", "1.0")
    # A conflict three levels down: app -> (left -> lib>=2), (right -> middle -> lib<2).
    make_wheel(files, "app", "1.0", requires_dist=["left", "right"])
    make_wheel(files, "left", "1.0", requires_dist=["lib>=2"])
    make_wheel(files, "right", "1.0", requires_dist=["middle"])
    make_wheel(files, "middle", "1.0", requires_dist=["lib<2"])
    make_wheel(files, "lib", "1.0")
    make_wheel(files, "lib", "2.0")
    for version in ("1.0", "2.0"):
        make_wheel(files, "future", version, requires_python=">=3.99")
    make_wheel(files, "gone", "1.0")
    make_wheel(files, "winonly", "1.0", tag="cp312-cp312-win_amd64")
    make_sdist(
        files,
        "broken-build",
        "1.0",
        pkg_info=False,
        extra_members={"broken_build-1.0/tinybackend.py": FAILING_BACKEND},
    )
    yanked = {"gone-1.0-py3-none-any.whl": "a broken release"}
    with IndexServer(files, yanked=yanked) as index:
        yield index


@dataclass(frozen=True, kw_only=True)
class Case:
    """``files`` (``{INDEX}`` is replaced with the index URL), extra CLI ``args``, the exit code
    and words the one error message must hold."""

    id: str
    requirements: str | None = None
    code: int = 2
    words: tuple[str, ...] = ()
    files: dict[str, str | bytes] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ("requirements.in",)


MALFORMED = [
    Case(
        id="empty-specifier",
        requirements="alpha==\n",
        words=("requirements.in:1", "alpha=="),
    ),
    Case(
        id="dangling-comparison",
        requirements="beta\nalpha>=1.0,<\n",
        words=("requirements.in:2", "alpha>=1.0,<"),
    ),
    Case(
        id="unclosed-extras", requirements="alpha[cli\n", words=("requirements.in:1", "alpha[cli")
    ),
    Case(
        id="bad-marker",
        requirements="alpha ; python_version >\n",
        words=("requirements.in:1", "python_version"),
    ),
    Case(
        id="unknown-marker-variable",
        requirements='alpha ; colour == "red"\n',
        words=("requirements.in:1", "colour"),
    ),
    Case(id="garbage", requirements="!!! what is this\n", words=("requirements.in:1", "!!!")),
    Case(id="empty-url", requirements="alpha @ \n", words=("requirements.in:1",)),
    Case(
        id="undefined-variable",
        requirements="${NOT_DEFINED_ANYWHERE}\n",
        words=("requirements.in:1", "${NOT_DEFINED_ANYWHERE} is not set in the environment"),
    ),
    Case(id="editable-without-path", requirements="-e\n", words=("requirements.in:1", "-e")),
    Case(
        id="not-utf8",
        files={"requirements.in": b"alpha\n\xff\xfe caf\xe9\n"},
        words=("requirements.in", "UTF-8"),
    ),
    Case(
        id="nul-byte",
        files={"requirements.in": b"alpha\x00beta\n"},
        words=("requirements.in:1",),
    ),
    Case(
        id="hash-without-requirement",
        requirements="--hash=sha256:" + "a" * 64 + "\n",
        words=("requirements.in:1", "--hash"),
    ),
]

OPTIONS = [
    Case(
        id="unknown-option-in-file",
        requirements="--frobnicate\nalpha\n",
        words=("requirements.in:1", "--frobnicate"),
    ),
    Case(id="unknown-cli-option", requirements="alpha\n", args=("--frobnicate",), words=()),
    Case(
        id="bad-annotation-style",
        requirements="alpha\n",
        args=("--annotation-style", "sideways"),
        words=("--annotation-style", "sideways"),
    ),
    Case(
        id="bad-python-version",
        requirements="alpha\n",
        args=("--python-version", "three"),
        words=("three",),
    ),
    Case(
        id="bad-platform",
        requirements="alpha\n",
        args=("--platform", "amiga"),
        words=("amiga",),
    ),
    Case(
        id="bad-upgrade-package",
        requirements="alpha\n",
        args=("-P", "alpha>=="),
        words=("--upgrade-package", "alpha>=="),
    ),
    Case(
        id="unknown-flavour",
        requirements="alpha\n",
        args=("--flavour", "banana"),
        words=("banana", "unknown flavour"),
    ),
    Case(
        id="invalid-pyproject",
        requirements="alpha\n",
        files={"pyproject.toml": "[tool.pinlock\ninputs = \n"},
        words=("pyproject.toml",),
    ),
    Case(
        id="wrong-type-in-pyproject",
        requirements="alpha\n",
        files={"pyproject.toml": '[tool.pinlock]\npre = "very"\n'},
        words=("pyproject.toml", "pre"),
    ),
    Case(
        id="unknown-key-in-pyproject",
        requirements="alpha\n",
        files={"pyproject.toml": "[tool.pinlock]\nturbo = true\n"},
        words=("pyproject.toml", "turbo"),
    ),
]

FILES = [
    Case(
        id="missing-included-file",
        requirements="alpha\n-r other.in\n",
        words=("requirements.in:2", "other.in"),
    ),
    Case(
        id="missing-constraints-file",
        requirements="-c limits.txt\nalpha\n",
        words=("requirements.in:1", "limits.txt"),
    ),
    Case(id="missing-input", inputs=("absent.in",), words=("absent.in",)),
    Case(
        id="include-cycle",
        requirements="-r second.in\nalpha\n",
        files={"second.in": "-r third.in\n", "third.in": "-r requirements.in\n"},
        words=("cycle", "requirements.in"),
    ),
    Case(
        id="inputs-include-each-other",
        requirements="-r second.in\n",
        files={"second.in": "-r requirements.in\nalpha\n"},
        inputs=("requirements.in", "second.in"),
        words=("cycle",),
    ),
]

RESOLUTION: list[Case | Any] = [
    Case(
        id="no-such-package", requirements="nonexistent-pkg\n", code=3, words=("nonexistent-pkg",)
    ),
    Case(id="no-such-version", requirements="alpha==9.9\n", code=3, words=("alpha", "9.9")),
    Case(
        id="conflict-at-the-top",
        requirements="alpha>=2\nalpha<2\n",
        code=3,
        words=("alpha>=2", "alpha<2"),
    ),
    Case(
        id="conflict-deep-in-the-tree",
        requirements="app\n",
        code=3,
        words=("lib>=2", "lib<2", "left", "middle"),
    ),
    Case(
        id="requires-python-excludes-every-version",
        requirements="future\n",
        code=3,
        words=("future", ">=3.99"),
    ),
    Case(id="only-yanked-versions", requirements="gone\n", code=3, words=("gone", "yanked")),
    Case(
        id="wheel-only-for-another-platform",
        requirements="winonly\n",
        code=3,
        args=("--python-version", "3.12", "--platform", "linux"),
        words=("winonly", "no wheel"),
    ),
]


def _run(
    case: Case, tmp_path: Path, index_url: str, *, backend_output: bool = False
) -> tuple[int, str]:
    if case.requirements is not None:
        (tmp_path / "requirements.in").write_text(case.requirements)
    for name, content in case.files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{INDEX}", index_url))
    (tmp_path / "requirements.txt").write_text(OLD_LOCK)
    before = _snapshot(tmp_path)
    code, out, err = compile_cli(tmp_path, "--index-url", index_url, *case.args, *case.inputs)
    if backend_output:
        # A failed build shows the backend's own output, traceback and all; never pinlock's.
        assert re.search(r'File "[^"]*[/\\]pinlock[/\\]', out + err) is None
    else:
        assert "Traceback" not in out + err
    assert _snapshot(tmp_path) == before, "a failed run wrote or changed a file"
    return code, err


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file outside the cache, with its bytes and modification time."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "cache" not in path.relative_to(folder).parts
    }


def _check(case: Case, code: int, err: str) -> None:
    assert code == case.code, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    if case.id == "unknown-cli-option":  # click's own usage error, not pinlock's
        assert "No such option" in err
        assert "--frobnicate" in err
        return
    assert len(errors) == 1, err
    message = err[err.index("error:") :]
    for word in case.words:
        assert word in message, f"{word!r} not in:\n{err}"


@pytest.mark.parametrize("case", [*MALFORMED, *OPTIONS, *FILES], ids=lambda case: case.id)
def test_bad_input_is_a_usage_error(case: Case, tmp_path: Path, world: IndexServer) -> None:
    code, err = _run(case, tmp_path, world.url)
    _check(case, code, err)


@pytest.mark.parametrize("case", RESOLUTION, ids=lambda case: getattr(case, "id", None))
def test_what_cannot_be_resolved_is_exit_3(case: Case, tmp_path: Path, world: IndexServer) -> None:
    code, err = _run(case, tmp_path, world.url)
    _check(case, code, err)


def test_an_sdist_whose_build_fails_names_it_and_shows_its_output(
    tmp_path: Path, world: IndexServer
) -> None:
    case = Case(id="failing-build", requirements="broken-build\n")
    code, err = _run(case, tmp_path, world.url, backend_output=True)
    # No other version to fall back on: an error either way (exit 1 for the failed build
    # today; 3 once a failed build sets the candidate aside and nothing is left).
    assert code in (1, 3), err
    assert "broken_build-1.0.tar.gz" in err or "broken-build" in err
    assert "compiler exploded" in err


def test_several_bad_lines_report_the_first(tmp_path: Path, world: IndexServer) -> None:
    case = Case(id="two-bad-lines", requirements="alpha\nbeta==\ngamma[\n")
    code, err = _run(case, tmp_path, world.url)
    assert code == 2
    assert "requirements.in:2" in err
    assert "requirements.in:3" not in err
