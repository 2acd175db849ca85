"""The resolver package on its own, through its FileSource / MetadataSource Protocols.

Every test declares a tiny index in memory (tests/support/fakes.py): no HTTP, no disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib.structs import RequirementInformation

from pinlock.compile.resolve import (
    Constraint,
    MetadataOrigin,
    Resolution,
    ResolveOptions,
    resolve,
)
from pinlock.compile.resolve.admissions import Admissions
from pinlock.compile.resolve.candidates import Candidate
from pinlock.compile.resolve.factory import Factory, from_packaging
from pinlock.compile.resolve.prefetch import Prefetcher
from pinlock.compile.resolve.provider import Provider
from pinlock.errors import ResolutionImpossible
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
    assert "set aside (requires Python >=3.13, not 3.12.0): 2.0" in text


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


def test_only_files_the_target_can_use_become_dist_files(monkeypatch: pytest.MonkeyPatch) -> None:
    # A page lists every platform's wheels of every version; sorting versions judges files from
    # their records, and makes DistFiles only of the usable files of a version looked at (and of
    # the other platform's wheel an sdist-only version's metadata is read from).
    from pinlock.compile.resolve import versions as versions_module
    from pinlock.index.models import ProjectListing

    index = FakeIndex()
    platforms = ["cp312-cp312-win_amd64", "cp312-cp312-macosx_11_0_arm64", "cp311-cp311-win32"]
    for minor in range(10):
        index.release("native", f"1.{minor}", wheels=[*platforms, "cp312-cp312-manylinux1_x86_64"])
    index.release("native", "2.0", wheels=platforms, sdist=True)
    made: list[str] = []
    from pinlock.index.models import dist_from_record as real

    def counting(record: Any, source: str) -> Any:
        made.append(record[0])
        return real(record, source)

    monkeypatch.setattr(versions_module, "dist_from_record", counting)
    policy = versions_module.FilePolicy(target=LINUX)
    listing = index.files.listing(NormalizedName("native"))
    found = versions_module.project_versions(listing, policy)
    assert len(listing) == 44
    assert list(found.usable) == [Version("2.0"), *(Version(f"1.{m}") for m in range(9, -1, -1))]
    # 2.0 has an sdist only for this target: its metadata is read from another platform's wheel.
    assert made == ["native-2.0-cp312-cp312-macosx_11_0_arm64.whl"]
    foreign = found.foreign_wheels[Version("2.0")]
    assert foreign.filename == "native-2.0-cp312-cp312-macosx_11_0_arm64.whl"
    made.clear()
    files = found.usable[Version("1.7")]
    assert [f.filename for f in files] == ["native-1.7-cp312-cp312-manylinux1_x86_64.whl"]
    assert found.usable[Version("1.7")] is files
    assert made == ["native-1.7-cp312-cp312-manylinux1_x86_64.whl"]
    assert ProjectListing.of(listing.files()) == listing


def test_each_requirement_is_checked_against_a_pin_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # resolvelib re-checks every pin against every requirement on it each round; the answers
    # are kept, so the factory decides each (requirement, candidate) pair once, and each
    # specifier filters a project's listed versions once however many requirements repeat it.
    index = FakeIndex()
    for number in range(12):
        index.release(f"leaf{number}", "1.0")
        index.release(f"leaf{number}", "2.0")
    leaves = [f"leaf{number}>=1" for number in range(12)]
    for number in range(6):
        index.release(f"mid{number}", "1.0", *leaves)
    asked: list[tuple[int, int]] = []
    real_check = Factory.is_satisfied_by

    def counting_check(self: Factory, requirement: Any, candidate: Any) -> bool:
        asked.append((id(requirement), id(candidate)))
        return real_check(self, requirement, candidate)

    filtered: list[tuple[str, str]] = []
    real_filter = Admissions.listed

    def counting_filter(self: Admissions, name: Any, specifier: Any, versions: Any) -> Any:
        key = (name, str(specifier))
        if key not in self._listed:
            filtered.append(key)
        return real_filter(self, name, specifier, versions)

    monkeypatch.setattr(Factory, "is_satisfied_by", counting_check)
    monkeypatch.setattr(Admissions, "listed", counting_filter)
    result = run(index, *(f"mid{number}" for number in range(6)))
    assert len(pins(result)) == 18
    assert asked and len(asked) == len(set(asked))
    # Six projects ask each leaf for ">=1": each leaf's versions are filtered once for it.
    assert len(filtered) == len(set(filtered)) == 12


def test_a_pin_among_the_newest_versions_carries_every_file_of_its_version() -> None:
    # The lock lists the hashes of every file of a pinned version, whatever it runs on: for the
    # newest usable versions the resolver keeps them, so the lock need not read the page again.
    index = FakeIndex()
    platforms = ["cp312-cp312-win_amd64", "cp312-cp312-manylinux1_x86_64"]
    for minor in range(6):
        index.release("native", f"1.{minor}", wheels=platforms, sdist=True)
    newest = run(index, "native").by_name()[NormalizedName("native")]
    assert newest.every_file is not None
    assert sorted(f.filename for f in newest.every_file) == [
        "native-1.5-cp312-cp312-manylinux1_x86_64.whl",
        "native-1.5-cp312-cp312-win_amd64.whl",
        "native-1.5.tar.gz",
    ]
    assert [f.filename for f in newest.every_file] == [
        f.filename for f in index.files.listing(NormalizedName("native")).files(Version("1.5"))
    ]
    old = run(index, "native<1.1").by_name()[NormalizedName("native")]
    assert old.version == Version("1.0")
    assert old.every_file is None  # the lock reads the listing for it


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


def test_metadata_that_contradicts_the_file_sets_the_version_aside() -> None:
    index = FakeIndex()
    index.release("lib", "1.0")
    (dist,) = index.release("lib", "2.0")
    other = index.metadata.by_url[index.release("impostor", "9.9")[0].url]
    index.metadata.by_url[dist.url] = other
    result = run(index, "lib")
    assert pins(result) == {"lib": "1.0"}
    assert result.set_aside == (
        "lib 2.0: bad metadata for lib 2.0: its metadata says impostor 9.9",
    )
    with pytest.raises(ResolutionImpossible, match=r"its metadata says impostor 9\.9"):
        run(index, "lib>=2")


# --- versions whose metadata cannot be had -------------------------------------------------


def test_a_version_whose_build_fails_is_set_aside_and_an_older_one_pinned() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "curl-helper")
    index.release("curl-helper", "2.0")
    index.release("curl-helper", "3.0", wheels=[], sdist=True, broken="invalid install_requires")
    result = run(index, "app")
    assert pins(result) == {"app": "1.0", "curl-helper": "2.0"}
    assert result.set_aside == (
        "curl-helper 3.0: could not build curl_helper-3.0.tar.gz: backend failed "
        "(invalid install_requires)",
    )
    [log] = result.build_logs
    assert (log.what, log.failed) == ("curl_helper-3.0.tar.gz", True)
    assert "invalid install_requires" in log.output
    # Set aside once: not built again for every requirement that reaches it.
    assert index.metadata.fetched.count("curl_helper-3.0.tar.gz") == 1


def test_a_dependency_whose_metadata_fails_steps_its_dependent_back() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "lib")
    index.release("app", "2.0", "lib", "broken")
    index.release("lib", "1.0")
    index.release("broken", "0.1", broken="Requires-Dist 'x >>= 1' is invalid")
    result = run(index, "app")
    assert pins(result) == {"app": "1.0", "lib": "1.0"}
    assert result.set_aside == (
        "broken 0.1: bad metadata for broken-0.1-py3-none-any.whl: Requires-Dist 'x >>= 1' is "
        "invalid",
    )


def test_when_nothing_is_left_the_error_lists_what_was_set_aside_and_why() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "dep")
    index.release("dep", "1.0", wheels=[], sdist=True, broken="no compiler")
    index.release("dep", "2.0", broken="METADATA names another project")
    index.release("other", "1.0", wheels=[], sdist=True, broken="old setup.py")
    index.release("tool", "1.0", "other")
    index.release("tool", "0.9")
    with pytest.raises(ResolutionImpossible) as failure:
        run(index, "tool", "app")
    text = str(failure.value)
    assert failure.value.exit_code == 3
    assert "dep is required by app 1.0 <- -r requirements.in" in text
    assert (
        "    set aside (bad metadata for dep-2.0-py3-none-any.whl: METADATA names another "
        "project): 2.0" in text
    )
    assert (
        "    set aside (could not build dep-1.0.tar.gz: backend failed (no compiler)): 1.0" in text
    )
    # Versions of other projects set aside on the way are listed too, once each.
    assert failure.value.explanation.endswith(
        "\n  also set aside because their metadata could not be had:\n"
        "    other 1.0: could not build other-1.0.tar.gz: backend failed (old setup.py)"
    )
    assert "output of dep-1.0.tar.gz" in failure.value.build_output
    # The failed builds' output closes the message: the one time a build's output is shown.
    assert text.endswith("output of dep-1.0.tar.gz\nno compiler")


# --- where metadata is read from -----------------------------------------------------------


def test_metadata_comes_from_a_wheel_for_another_platform_rather_than_a_build() -> None:
    index = FakeIndex()
    index.release("native", "1.0", "helper", wheels=["cp312-cp312-win_amd64"], sdist=True)
    index.release("helper", "1.0")
    result = run(index, "native", target=LINUX)
    assert pins(result) == {"helper": "1.0", "native": "1.0"}
    package = result.by_name()[NormalizedName("native")]
    assert [f.filename for f in package.files] == ["native-1.0.tar.gz"]
    assert package.metadata_origin is MetadataOrigin.OTHER_WHEEL
    assert package.metadata_file is not None
    assert package.metadata_file.filename == "native-1.0-cp312-cp312-win_amd64.whl"
    assert "native-1.0.tar.gz" not in index.metadata.fetched
    assert result.build_logs == ()


def test_the_closest_foreign_wheel_stands_for_the_target() -> None:
    index = FakeIndex()
    # Old setup.py files computed dependencies per Python: the cp311 wheel speaks for 3.12
    # better than the cp27 one, whatever the file names' order.
    index.release("old", "1.0", "enum34", wheels=["cp27-cp27mu-win_amd64"])
    index.release("old", "1.0", wheels=["cp311-cp311-win_amd64", "cp313-cp313-win_amd64"])
    index.release("old", "1.0", wheels=[], sdist=True)
    result = run(index, "old", target=LINUX)
    assert pins(result) == {"old": "1.0"}
    source = result.by_name()[NormalizedName("old")].metadata_file
    assert source is not None
    assert source.filename == "old-1.0-cp311-cp311-win_amd64.whl"
    # A wheel for Python 2 only never stands in: the sdist is read instead.
    index.release("legacy", "0.5", "futures", wheels=["py2-none-any"])
    index.release("legacy", "0.5", wheels=[], sdist=True)
    package = run(index, "legacy", target=LINUX).by_name()[NormalizedName("legacy")]
    assert package.metadata_origin is MetadataOrigin.BUILT


def test_an_sdist_is_read_only_for_a_version_without_any_wheel() -> None:
    index = FakeIndex()
    index.release("plain", "1.0", wheels=[], sdist=True)
    result = run(index, "plain", target=LINUX)
    package = result.by_name()[NormalizedName("plain")]
    assert package.metadata_origin is MetadataOrigin.BUILT
    assert [log.what for log in result.build_logs] == ["plain-1.0.tar.gz"]


def test_metadata_comes_from_the_highest_build_tag_among_equal_wheels() -> None:
    index = FakeIndex()
    index.release("lib", "1.0", "first", build="1")
    index.release("lib", "1.0", "second", build="2")
    index.release("first", "1.0")
    index.release("second", "1.0")
    result = run(index, "lib")
    assert pins(result) == {"lib": "1.0", "second": "1.0"}
    package = result.by_name()[NormalizedName("lib")]
    assert [f.filename for f in package.files] == [
        "lib-1.0-2-py3-none-any.whl",
        "lib-1.0-1-py3-none-any.whl",
    ]


def test_the_prefetcher_reads_only_cheap_metadata_and_never_builds() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "wheel-dep", "sdist-dep")
    index.release("wheel-dep", "1.0", "deeper")
    index.release("deeper", "1.0")
    index.release("sdist-dep", "1.0", "behind-sdist", wheels=[], sdist=True)
    index.release("behind-sdist", "1.0")
    factory = Factory(
        files=index.files, metadata=index.metadata, options=ResolveOptions(target=LINUX)
    )
    prefetcher = Prefetcher(factory)
    prefetcher.submit([PackagingRequirement("app")])
    prefetcher.close(wait=True)
    assert index.metadata.fetched == []
    assert sorted(index.metadata.peeked) == [
        "app-1.0-py3-none-any.whl",
        "deeper-1.0-py3-none-any.whl",
        "sdist_dep-1.0.tar.gz",
        "wheel_dep-1.0-py3-none-any.whl",
    ]
    # What only a build could tell is left to the resolver.
    assert "behind-sdist" not in index.files.asked


def test_without_threads_to_walk_with_the_resolver_reads_everything_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pids limit can refuse new threads: the walk is left out, the resolution is the same.
    index = FakeIndex()
    index.release("app", "1.0", "lib")
    index.release("lib", "1.0")

    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    assert pins(run(index, "app")) == {"app": "1.0", "lib": "1.0"}
    assert index.metadata.peeked == []


def test_a_defect_met_by_a_walk_is_raised_by_close_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    index = FakeIndex()
    index.release("app", "1.0")
    factory = Factory(
        files=index.files, metadata=index.metadata, options=ResolveOptions(target=LINUX)
    )

    def broken(name: str) -> object:
        raise ZeroDivisionError("a defect, not a failed read")

    monkeypatch.setattr(factory, "versions", broken)
    prefetcher = Prefetcher(factory)
    prefetcher.submit([PackagingRequirement("app")])
    with pytest.raises(ZeroDivisionError):
        prefetcher.close(wait=True)


def test_the_prefetcher_walks_what_extras_bring_and_goes_deepest_first() -> None:
    index = FakeIndex()
    index.release("app", "1.0", "lib", "other")
    index.release("lib", "1.0", 'by-extra; extra == "more"', extras=["more"])
    index.release("other", "1.0", "lib[more]")
    index.release("by-extra", "1.0", "deepest")
    index.release("deepest", "1.0")
    index.release("second-root", "1.0")
    factory = Factory(
        files=index.files, metadata=index.metadata, options=ResolveOptions(target=LINUX)
    )
    # One walker makes the order plain: each project's dependencies before anything shallower.
    prefetcher = Prefetcher(factory, workers=1)
    prefetcher.submit([PackagingRequirement("app"), PackagingRequirement("second-root")])
    prefetcher.close(wait=True)
    # lib is walked without extras (from app), then again for what [more] brings (from other);
    # the second root waits for everything deeper.
    assert [name.split("-1.0")[0] for name in index.metadata.peeked] == [
        "app",
        "lib",
        "other",
        "lib",
        "by_extra",
        "deepest",
        "second_root",
    ]


# --- order of pinning and conflict explanations --------------------------------------------


def _provider(index: FakeIndex, *inputs: str) -> Provider:
    factory = Factory(
        files=index.files, metadata=index.metadata, options=ResolveOptions(target=LINUX)
    )
    return Provider(factory, input_order={name: i for i, name in enumerate(inputs)})


def _info(text: str, parent: Candidate | None = None) -> RequirementInformation[Any, Any]:
    return RequirementInformation(from_packaging(PackagingRequirement(text)), parent)


def _first_choice(
    provider: Provider,
    infos: Sequence[RequirementInformation[Any, Any]],
    causes: Sequence[RequirementInformation[Any, Any]] = (),
) -> str:
    """The identifier resolvelib would pin next, given what the criteria hold."""
    information: dict[str, list[RequirementInformation[Any, Any]]] = {}
    for info in infos:
        information.setdefault(info.requirement.identifier, []).append(info)
    names = list(
        provider.narrow_requirement_selection(information, {}, {}, _iterators(information), causes)
    )
    return min(
        names,
        key=lambda name: provider.get_preference(name, {}, {}, _iterators(information), causes),
    )


def _iterators(information: dict[str, list[Any]]) -> dict[str, Iterator[Any]]:
    class Fresh(dict[str, Iterator[Any]]):
        def __getitem__(self, key: str) -> Iterator[Any]:
            return iter(information[key])

    return Fresh(dict.fromkeys(information, iter(())))


def test_pins_and_upper_bounds_come_before_open_requirements() -> None:
    provider = _provider(FakeIndex(), "aaa", "mmm", "zzz")
    # Before: alphabetical among equals (aaa); pip pins exact pins first, then upper bounds.
    assert _first_choice(provider, [_info("aaa"), _info("mmm>=1"), _info("zzz<2")]) == "zzz"
    assert _first_choice(provider, [_info("aaa<3"), _info("zzz==1.0")]) == "zzz"
    # Among equals, the inputs' order.
    assert _first_choice(provider, [_info("zzz"), _info("mmm")]) == "mmm"


def test_after_a_backtrack_its_causes_and_their_dependents_are_pinned_first() -> None:
    provider = _provider(FakeIndex(), "top")
    parent = Candidate(name=NormalizedName("zzz"), version=Version("2.0"))
    clash = [_info("shared<2", parent), _info("shared>=2", parent)]
    infos = [_info("aaa==1.0"), _info("bbb<3"), *clash]
    assert _first_choice(provider, infos, causes=clash) in {"shared", "zzz"}
    names = ["aaa", "bbb", "shared", "zzz"]
    assert set(provider.narrow_requirement_selection(names, {}, {}, {}, clash)) == {"shared", "zzz"}
    # The inputs' own requirements still come first: they constrain all the rest.
    assert list(provider.narrow_requirement_selection([*names, "top"], {}, {}, {}, clash)) == [
        "top"
    ]
    # The target's Python is always settled alone and first.
    assert list(
        provider.narrow_requirement_selection(["top", "aaa", "<python>"], {}, {}, {}, clash)
    ) == ["<python>"]


def test_a_project_that_keeps_clashing_unpinned_is_promoted() -> None:
    provider = _provider(FakeIndex())
    clash = [_info("zzz<2", Candidate(name=NormalizedName("mid"), version=Version("1.0")))]
    for _ in range(5):
        provider.narrow_requirement_selection(["aaa", "zzz"], {}, {}, {}, clash)
    assert list(provider.narrow_requirement_selection(["aaa", "zzz"], {}, {}, {}, [])) == ["zzz"]
    assert _first_choice(provider, [_info("aaa==1"), _info("zzz")]) == "zzz"


def test_the_resolution_says_how_many_rounds_it_took() -> None:
    index = FakeIndex()
    index.release("web", "2.0", "orm<2")
    index.release("web", "1.0", "orm>=2")
    index.release("orm", "1.9")
    index.release("orm", "2.1")
    result = run(index, "web", "orm>=2")
    assert pins(result) == {"orm": "2.1", "web": "1.0"}
    # One round per pin (web 2.0 is ruled out within its round), and one that finds no more.
    assert result.rounds == 3


def test_consecutive_dependent_versions_are_merged_into_a_range() -> None:
    index = FakeIndex()
    index.release("flask", "3.0.0", "jinja2>=3.1.2", "werkzeug>=3.0.0")
    for patch in range(0, 7):
        index.release("jinja2", f"3.1.{patch}", "MarkupSafe>=2.0")
    index.release("werkzeug", "3.0.0", "MarkupSafe>=2.1.1")
    for version in ("1.1.1", "2.0.0", "2.1.1", "3.0.4"):
        index.release("markupsafe", version, wheels=["cp312-cp312-manylinux_2_17_x86_64"])
    index.release("markupsafe", "3.0.4", wheels=["cp312-cp312-win_amd64"])
    text = impossible(index, "flask==3.0.0", "markupsafe<2.0")
    assert (
        "    markupsafe>=2.0 is required by jinja2>=3.1.2,<=3.1.6 <- flask 3.0.0 <- "
        "-r requirements.in\n" in text
    )
    assert text.count("is required by jinja2") == 1
    # 3.0.4 has a wheel for the target, besides one for Windows: nothing of it is set aside.
    assert "set aside" not in text


def test_versions_with_gaps_are_shown_as_several_ranges() -> None:
    index = FakeIndex()
    for version, needs in [("1.0", "x<1"), ("1.1", "x<1"), ("1.2", "x"), ("1.3", "x<1")]:
        index.release("lib", version, needs)
    index.release("x", "1.0")
    text = impossible(index, "lib!=1.2", "x>=1")
    assert "x<1 is required by lib (>=1.0,<=1.1 or ==1.3) <- -r requirements.in" in text


def test_the_chain_of_dependents_is_the_shortest_one() -> None:
    index = FakeIndex()
    index.release("alpha", "1.0", "beta")
    index.release("beta", "1.0", "gamma")
    index.release("gamma", "1.0", "shared<2")
    index.release("zeta", "1.0", "gamma")
    index.release("shared", "1.0")
    index.release("shared", "2.0")
    text = impossible(index, "alpha", "zeta", "shared>=2")
    assert "shared<2 is required by gamma 1.0 <- zeta 1.0 <- -r requirements.in" in text


def test_backtracking_goes_to_the_requirer_not_to_an_innocent_bystander() -> None:
    # A miniature of the airflow set: every newer "llm" pins net==3.13 while "strict" needs
    # net>=3.14, so "top" must step back until its "middle" allows an old llm. "bystander"
    # also depends on net, harmlessly. Checked only when pinned, each llm clash was blamed on
    # every requirer of net, and backtracking stepped through each version of the bystander
    # (1578 rounds); with forward checking and the inputs pinned first it takes 27.
    index = FakeIndex()
    for major in range(2, 7):
        index.release("top", f"{major}.0", "middle>=2")
    index.release("top", "1.0", "middle<2")
    for minor in range(5):
        index.release("middle", f"2.{minor}", "llm>=2")
    index.release("middle", "1.0", "llm<2")
    for minor in range(10):
        index.release("llm", f"2.{minor}", "net==3.13")
    index.release("llm", "1.0", "net")
    for minor in range(40):
        index.release("bystander", f"1.{minor}", "net>=3.9")
    index.release("strict", "1.0", "net>=3.14")
    index.release("net", "3.13")
    index.release("net", "3.14")
    result = run(index, "top", "bystander", "strict")
    assert pins(result) == {
        "bystander": "1.39",
        "llm": "1.0",
        "middle": "1.0",
        "net": "3.14",
        "strict": "1.0",
        "top": "1.0",
    }
    assert result.rounds <= 30


def test_an_extra_is_chosen_only_at_a_version_whose_base_fits() -> None:
    # storage 2.0's base needs web>=3 while the input says web<3: its [s3] extra must not be
    # chosen at 2.0, or the clash surfaces later and is blamed on the last pin that depends on
    # web ("auth"), which then steps back through every one of its versions.
    index = FakeIndex()
    index.release("storage", "1.0", "web>=1", "s3lib; extra == 's3'", extras=["s3"])
    index.release("storage", "2.0", "web>=3", "s3lib; extra == 's3'", extras=["s3"])
    index.release("s3lib", "1.0")
    for minor in range(30):
        index.release("auth", f"0.{minor}", "web>=1")
    index.release("web", "2.2")
    index.release("web", "3.2")
    result = run(index, "web<3", "storage[s3]", "auth")
    assert pins(result) == {"auth": "0.29", "s3lib": "1.0", "storage": "1.0", "web": "2.2"}
    assert result.rounds <= 8
