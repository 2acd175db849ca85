"""The resolver package on its own, through its FileSource / MetadataSource Protocols.

Every test declares a tiny index in memory (tests/support/fakes.py): no HTTP, no disk.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile.resolve import Constraint, Resolution, ResolveOptions, resolve
from pinlock.errors import MetadataError, ResolutionImpossible
from pinlock.target import Target
from tests.support.fakes import FakeIndex, req_lines

LINUX = Target.from_spec("3.12", "linux")
WINDOWS = Target.from_spec("3.12", "windows")


def run(
    index: FakeIndex,
    *lines: str,
    target: Target = LINUX,
    constraints: Sequence[Constraint] = (),
    pre: bool = False,
    prefer: dict[str, str] | None = None,
    only_binary: frozenset[str] = frozenset(),
) -> Resolution:
    options = ResolveOptions(
        target=target,
        pre=pre,
        prefer={canonicalize_name(k): Version(v) for k, v in (prefer or {}).items()},
        only_binary=only_binary,
    )
    return resolve(
        req_lines(*lines),
        files=index.files,
        metadata=index.metadata,
        options=options,
        constraints=constraints,
    )


def pins(resolution: Resolution) -> dict[str, str]:
    return {package.name: str(package.version) for package in resolution.packages}


def impossible(index: FakeIndex, *lines: str, target: Target = LINUX) -> str:
    with pytest.raises(ResolutionImpossible) as failure:
        run(index, *lines, target=target)
    return str(failure.value)


def constraint(name: str, spec: str, label: str = "-c constraints.txt") -> Constraint:
    return Constraint(name=NormalizedName(name), specifier=SpecifierSet(spec), label=label)


# --- chains --------------------------------------------------------------------------------


def test_a_chain_pins_the_newest_fitting_versions_and_says_who_asked() -> None:
    index = FakeIndex()
    index.release("App", "1.0", "lib>=1")
    index.release("App", "2.0", "lib>=1.5", "helper")
    index.release("lib", "1.0")
    index.release("lib", "1.6", "base<3")
    index.release("lib", "1.7", "base<3")
    index.release("helper", "0.1")
    index.release("base", "2.9")
    index.release("base", "3.0")
    result = run(index, "app")
    assert pins(result) == {"app": "2.0", "base": "2.9", "helper": "0.1", "lib": "1.7"}
    by_name = result.by_name()
    assert by_name[NormalizedName("app")].display_name == "App"
    assert by_name[NormalizedName("app")].via == ("-r requirements.in",)
    assert by_name[NormalizedName("lib")].via == ("app",)
    assert by_name[NormalizedName("base")].via == ("lib",)
    # The files of the pinned version come along, for the lock's hashes.
    assert [f.filename for f in by_name[NormalizedName("base")].files] == [
        "base-2.9-py3-none-any.whl"
    ]


def test_a_project_needed_by_two_is_pinned_once_with_both_in_via() -> None:
    index = FakeIndex()
    index.release("a", "1.0", "shared>=1")
    index.release("b", "1.0", "shared<3")
    for version in ("1.0", "2.0", "3.0"):
        index.release("shared", version)
    result = run(index, "a", "b")
    assert pins(result) == {"a": "1.0", "b": "1.0", "shared": "2.0"}
    assert result.by_name()[NormalizedName("shared")].via == ("a", "b")


def test_nothing_is_asked_of_projects_nobody_needs() -> None:
    index = FakeIndex()
    index.release("a", "1.0")
    index.release("unrelated", "1.0")
    run(index, "a")
    assert "unrelated" not in index.files.asked
    assert index.metadata.fetched.count("a-1.0-py3-none-any.whl") >= 1
    assert all(not name.startswith("unrelated") for name in index.metadata.fetched)


# --- extras --------------------------------------------------------------------------------


def test_extras_bring_their_dependencies_only_when_asked() -> None:
    index = FakeIndex()
    index.release(
        "tool",
        "1.0",
        "core",
        "click; extra == 'cli'",
        "rich; extra == 'cli' and python_version < '3'",
        "numpy; extra == 'fast'",
        extras=["cli", "fast"],
    )
    for name in ("core", "click", "rich", "numpy"):
        index.release(name, "1.0")
    assert pins(run(index, "tool")) == {"core": "1.0", "tool": "1.0"}
    with_cli = run(index, "tool[cli]")
    assert pins(with_cli) == {"click": "1.0", "core": "1.0", "tool": "1.0"}
    assert with_cli.by_name()[NormalizedName("click")].via == ("tool",)


def test_self_referencing_extras_expand() -> None:
    index = FakeIndex()
    index.release(
        "kit",
        "2.0",
        "click; extra == 'cli'",
        "numpy; extra == 'fast'",
        "kit[cli,fast]; extra == 'all'",
        extras=["cli", "fast", "all"],
    )
    index.release("click", "8.0")
    index.release("numpy", "2.0")
    result = run(index, "kit[all]")
    assert pins(result) == {"click": "8.0", "kit": "2.0", "numpy": "2.0"}
    # kit itself is pinned once, not once per extra.
    assert [p.name for p in result.packages].count(NormalizedName("kit")) == 1


def test_an_extra_pins_the_same_version_as_its_base() -> None:
    index = FakeIndex()
    index.release("kit", "1.0", "click; extra == 'cli'", extras=["cli"])
    index.release("kit", "2.0", "click>=9; extra == 'cli'", extras=["cli"])
    index.release("click", "8.0")
    # kit 2.0's extra cannot be met, so the base has to step back with it.
    assert pins(run(index, "kit[cli]")) == {"click": "8.0", "kit": "1.0"}


# --- markers -------------------------------------------------------------------------------


def test_markers_are_evaluated_for_the_target_not_this_host() -> None:
    index = FakeIndex()
    index.release(
        "app",
        "1.0",
        "pywin32; sys_platform == 'win32'",
        "uvloop; sys_platform != 'win32'",
        "tomli; python_version < '3.11'",
    )
    for name in ("pywin32", "uvloop", "tomli"):
        index.release(name, "1.0")
    assert pins(run(index, "app", target=WINDOWS)) == {"app": "1.0", "pywin32": "1.0"}
    assert pins(run(index, "app", target=LINUX)) == {"app": "1.0", "uvloop": "1.0"}
    old = Target.from_spec("3.10", "linux")
    assert pins(run(index, "app", target=old)) == {"app": "1.0", "tomli": "1.0", "uvloop": "1.0"}


def test_input_lines_with_markers_for_other_targets_are_skipped() -> None:
    index = FakeIndex()
    index.release("colorama", "0.4")
    index.release("a", "1.0")
    assert pins(run(index, "a", "colorama; os_name == 'nt'", target=LINUX)) == {"a": "1.0"}
    assert pins(run(index, "a", "colorama; os_name == 'nt'", target=WINDOWS)) == {
        "a": "1.0",
        "colorama": "0.4",
    }


# --- which files and versions the target may use -------------------------------------------


def test_index_requires_python_sets_versions_aside() -> None:
    index = FakeIndex()
    index.release("lib", "1.0")
    index.release("lib", "2.0", index_requires_python=">=3.13")
    assert pins(run(index, "lib")) == {"lib": "1.0"}
    newer = Target.from_spec("3.13", "linux")
    assert pins(run(index, "lib", target=newer)) == {"lib": "2.0"}
    text = impossible(index, "lib>=2")
    assert "set aside (requires a Python other than 3.12.0): 2.0" in text


def test_metadata_requires_python_backtracks() -> None:
    # The index page says nothing; only the metadata tells that 2.0 needs a newer Python.
    index = FakeIndex()
    index.release("lib", "1.0", requires_python=">=3.8")
    index.release("lib", "2.0", requires_python=">=3.13")
    assert pins(run(index, "lib")) == {"lib": "1.0"}
    text = impossible(index, "lib==2.0")
    assert "the target's Python is 3.12.0, but" in text
    assert "Python>=3.13 is required by lib 2.0" in text


def test_pre_releases_only_when_asked_for_or_when_nothing_else_fits() -> None:
    index = FakeIndex()
    index.release("lib", "1.0")
    index.release("lib", "2.0b1")
    index.release("edge", "0.9rc1")
    assert pins(run(index, "lib")) == {"lib": "1.0"}
    assert pins(run(index, "lib", pre=True)) == {"lib": "2.0b1"}
    # A specifier that names a pre-release admits pre-releases.
    assert pins(run(index, "lib>=2.0b1")) == {"lib": "2.0b1"}
    # With no final release at all, a pre-release is better than nothing (as pip does).
    assert pins(run(index, "edge")) == {"edge": "0.9rc1"}


def test_yanked_files_are_used_only_for_exact_pins() -> None:
    index = FakeIndex()
    index.release("lib", "1.0")
    index.release("lib", "1.1", yanked=True)
    assert pins(run(index, "lib")) == {"lib": "1.0"}
    assert pins(run(index, "lib==1.1")) == {"lib": "1.1"}
    text = impossible(index, "lib>=1.1")
    assert "yanked (used only when pinned with ==): 1.1" in text


def test_a_wheel_only_version_without_a_fitting_wheel_is_unusable() -> None:
    index = FakeIndex()
    index.release("native", "1.0", wheels=["py3-none-any"])
    index.release("native", "2.0", wheels=["cp312-cp312-win_amd64"])
    assert pins(run(index, "native", target=WINDOWS)) == {"native": "2.0"}
    assert pins(run(index, "native", target=LINUX)) == {"native": "1.0"}
    text = impossible(index, "native==2.0", target=LINUX)
    assert f"set aside (no wheel for {LINUX.description}): 2.0" in text
    assert "versions usable on this target: 1.0" in text


def test_an_sdist_is_usable_anywhere_and_ranks_after_a_fitting_wheel() -> None:
    index = FakeIndex()
    index.release("native", "1.0", wheels=["cp312-cp312-win_amd64"], sdist=True)
    linux = run(index, "native", target=LINUX).by_name()[NormalizedName("native")]
    assert [f.filename for f in linux.files] == ["native-1.0.tar.gz"]
    windows = run(index, "native", target=WINDOWS).by_name()[NormalizedName("native")]
    assert [f.filename for f in windows.files] == [
        "native-1.0-cp312-cp312-win_amd64.whl",
        "native-1.0.tar.gz",
    ]
    with pytest.raises(ResolutionImpossible, match="sdists excluded by --only-binary"):
        run(index, "native", target=LINUX, only_binary=frozenset({"native"}))


# --- constraints and preferences -----------------------------------------------------------


def test_constraints_limit_versions_without_asking_for_packages() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "lib")
    for version in ("1.0", "1.5", "2.0"):
        index.release("lib", version)
    index.release("other", "1.0")
    result = run(index, "app", constraints=[constraint("lib", "<2"), constraint("other", "==1.0")])
    assert pins(result) == {"app": "1.0", "lib": "1.5"}
    assert result.by_name()[NormalizedName("lib")].via == ("-c constraints.txt", "app")
    quiet = Constraint(
        name=NormalizedName("lib"),
        specifier=SpecifierSet("<1.5"),
        label="-c base.txt",
        annotate=False,
    )
    result = run(index, "app", constraints=[quiet])
    assert pins(result) == {"app": "1.0", "lib": "1.0"}
    assert result.by_name()[NormalizedName("lib")].via == ("app",)


def test_a_constraint_that_nothing_meets_is_named_in_the_conflict() -> None:
    index = FakeIndex()
    index.release("lib", "1.0")
    with pytest.raises(ResolutionImpossible) as failure:
        run(index, "lib", constraints=[constraint("lib", ">=3")])
    text = str(failure.value)
    assert "constrained to lib>=3 by -c constraints.txt" in text
    assert "no usable version satisfies all of the requirements above at once" in text


def test_preferred_pins_are_kept_while_they_fit() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "lib")
    index.release("app", "2.0", "lib")
    for version in ("1.0", "1.1", "2.0"):
        index.release("lib", version)
    assert pins(run(index, "app", prefer={"lib": "1.1"})) == {"app": "2.0", "lib": "1.1"}
    assert pins(run(index, "app", prefer={"app": "1.0", "lib": "1.1"})) == {
        "app": "1.0",
        "lib": "1.1",
    }
    # A preference the inputs no longer allow gives way.
    assert pins(run(index, "app", "lib>=2", prefer={"lib": "1.1"})) == {
        "app": "2.0",
        "lib": "2.0",
    }


# --- backtracking and conflicts ------------------------------------------------------------


def test_backtracking_finds_the_combination_that_works() -> None:
    index = FakeIndex()
    # The newest web needs an old orm; the input wants a new orm: web must step back twice.
    index.release("web", "3.0", "orm<2")
    index.release("web", "2.0", "orm<2", "extras-lib")
    index.release("web", "1.0", "orm>=2")
    index.release("extras-lib", "1.0")
    index.release("orm", "1.9")
    index.release("orm", "2.1")
    assert pins(run(index, "web", "orm>=2")) == {"orm": "2.1", "web": "1.0"}


def test_backtracking_through_a_transitive_clash() -> None:
    index = FakeIndex()
    index.release("a", "2.0", "c==1.0")
    index.release("a", "1.0", "c")
    index.release("b", "1.0", "c>=2")
    index.release("c", "1.0")
    index.release("c", "2.0")
    assert pins(run(index, "a", "b")) == {"a": "1.0", "b": "1.0", "c": "2.0"}


def test_a_conflict_names_both_sides_and_who_asked() -> None:
    index = FakeIndex()
    index.release("left", "1.0", "shared<2")
    index.release("right", "1.0", "shared>=2")
    index.release("shared", "1.0")
    index.release("shared", "2.0")
    text = impossible(index, "left", "right")
    assert text.startswith(f"cannot resolve the requirements for {LINUX.description}:")
    assert "  shared:" in text
    assert "    shared<2 is required by left 1.0 <- -r requirements.in" in text
    assert "    shared>=2 is required by right 1.0 <- -r requirements.in" in text
    assert "    versions usable on this target: 2.0, 1.0" in text


def test_two_input_lines_that_clash_are_each_named() -> None:
    index = FakeIndex()
    index.release("lib", "1.0")
    index.release("lib", "2.0")
    text = impossible(index, "lib<2", "lib>=2")
    assert "lib<2 is required by -r requirements.in" in text
    assert "lib>=2 is required by -r requirements.in" in text
    assert "no usable version satisfies all of the requirements above at once" in text


def test_a_project_no_source_lists_says_so() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "ghost>=1")
    text = impossible(index, "app")
    assert "ghost>=1 is required by app 1.0 <- -r requirements.in" in text
    assert "no configured index or find-links source lists any file of it" in text


def test_metadata_that_contradicts_the_file_is_an_error() -> None:
    index = FakeIndex()
    (dist,) = index.release("lib", "1.0")
    other = index.metadata.by_url[index.release("impostor", "9.9")[0].url]
    index.metadata.by_url[dist.url] = other
    with pytest.raises(MetadataError, match=r"its metadata says impostor 9\.9"):
        run(index, "lib")
