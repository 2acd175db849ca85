from __future__ import annotations

from pathlib import Path

import pytest
from packaging.markers import Marker

from pinlock.errors import ReqFileError
from pinlock.index.options import IndexOptions
from pinlock.origin import Origin
from pinlock.reqfile import ParsedRequirements, ReqLine, parse_file

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip isolation comes from conftest; these tests work in their own folder."""
    monkeypatch.chdir(tmp_path)


def write(path: str, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def project(folder: str) -> Path:
    write(f"{folder}/pyproject.toml", "[project]\nname = 'x'\nversion = '1'\n")
    return Path(folder).absolute()


def parse(text: str, name: str = "main.in", **kwargs: object) -> ParsedRequirements:
    write(name, text)
    return parse_file(name, environ={}, **kwargs)  # type: ignore[arg-type]


def only(parsed: ParsedRequirements) -> ReqLine:
    assert len(parsed.requirements) == 1, parsed.requirements
    return parsed.requirements[0]


def error_of(text: str, name: str = "main.in", **kwargs: object) -> ReqFileError:
    with pytest.raises(ReqFileError) as info:
        parse(text, name, **kwargs)
    return info.value


# ---- lines: comments, blanks, continuations, variables


def test_comments_and_blank_lines_are_skipped_but_url_fragments_survive() -> None:
    parsed = parse(
        "# a comment\n"
        "\n"
        "   # an indented comment\n"
        "click>=8  # why we need it\n"
        "https://example.org/p/foo-1.0.tar.gz#sha256=" + SHA_A + "\n"
        "bar\t# tab before the comment\n"
    )
    texts = [line.text for line in parsed.requirements]
    assert texts == [
        "click>=8",
        "https://example.org/p/foo-1.0.tar.gz#sha256=" + SHA_A,
        "bar",
    ]
    assert [line.origin.line for line in parsed.requirements] == [4, 5, 6]
    assert parsed.requirements[1].link == "https://example.org/p/foo-1.0.tar.gz#sha256=" + SHA_A


def test_continuations_join_and_keep_the_first_line_number() -> None:
    parsed = parse(
        f"\nrequests>=2 \\\n    --hash=sha256:{SHA_A} \\\n    --hash=sha256:{SHA_B}\nidna\n"
    )
    first, second = parsed.requirements
    assert first.origin == Origin(path="main.in", line=2)
    assert first.hashes == (f"sha256:{SHA_A}", f"sha256:{SHA_B}")
    assert str(first.requirement) == "requests>=2"
    assert second.origin.line == 5


def test_a_comment_line_ends_a_continuation() -> None:
    parsed = parse("click \\\n# a comment\nidna\n")
    assert [str(line.requirement) for line in parsed.requirements] == ["click", "idna"]
    assert [line.origin.line for line in parsed.requirements] == [1, 3]


def test_continuation_on_the_last_line() -> None:
    assert str(only(parse("click>=8 \\")).requirement) == "click>=8"


def test_environment_variables_follow_pips_rule() -> None:
    write("main.in", "--index-url https://${USER_1}:${TOKEN}@example.org/simple\n${lower}\n")
    with pytest.raises(ReqFileError, match=r"main\.in:2: invalid requirement"):
        parse_file("main.in", environ={"USER_1": "me", "TOKEN": "s3cret", "lower": "click"})
    write("main.in", "--index-url https://${USER_1}:${TOKEN}@example.org/simple\n${UNSET}pkg\n")
    with pytest.raises(ReqFileError) as info:
        parse_file("main.in", environ={"USER_1": "me", "TOKEN": "s3cret"})
    assert "${UNSET}pkg" in str(info.value)
    write("main.in", "--index-url https://${USER_1}:${TOKEN}@example.org/simple\n${NAME}==1\n")
    parsed = parse_file("main.in", environ={"USER_1": "me", "TOKEN": "s3cret", "NAME": "click"})
    assert parsed.options.index_url == "https://me:s3cret@example.org/simple"
    line = only(parsed)
    assert str(line.requirement) == "click==1"
    assert line.text == "${NAME}==1"


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINLOCK_TEST_PKG", "click")
    write("main.in", "${PINLOCK_TEST_PKG}\n")
    assert only(parse_file("main.in")).name == "click"


def test_utf8_bom_is_accepted() -> None:
    Path("main.in").write_bytes(b"\xef\xbb\xbfclick\n")
    assert only(parse_file("main.in", environ={})).name == "click"


# ---- requirements


def test_named_requirement_with_extras_specifiers_and_marker() -> None:
    line = only(parse('Black[jupyter,D] >=23, <25 ; python_version < "3.12"\n'))
    assert line.name == "black"
    assert line.requirement is not None
    assert str(line.requirement.specifier) == "<25,>=23"
    assert line.extras == frozenset({"jupyter", "d"})
    assert line.marker == Marker('python_version < "3.12"')
    assert line.link is None
    assert line.via == "-r main.in"
    assert not line.constraint
    assert not line.editable


def test_direct_url_requirement() -> None:
    line = only(parse('foo @ https://example.org/foo-1.0-py3-none-any.whl ; os_name == "posix"\n'))
    assert line.name == "foo"
    assert line.link == "https://example.org/foo-1.0-py3-none-any.whl"
    assert line.marker == Marker('os_name == "posix"')


def test_direct_reference_must_be_a_url() -> None:
    project("pkg")
    error = error_of("foo @ ./pkg\n")
    assert "main.in:1: direct reference './pkg' is not a URL" in str(error)


def test_invalid_requirement_includes_packagings_message() -> None:
    error = error_of("click\nclick>=>1\n")
    assert (error.path, error.line, error.text) == ("main.in", 2, "click>=>1")
    assert str(error).startswith("main.in:2: invalid requirement: Expected ")
    assert str(error).endswith("\n    click>=>1")


def test_a_missing_path_is_reported_as_such() -> None:
    error = error_of("./missing\n")
    assert "invalid requirement" in error.reason
    assert f"it looks like a path, but {Path('missing').absolute()} does not exist" in error.reason


def test_duplicate_names_are_allowed() -> None:
    parsed = parse("click>=8\nClick<9\n")
    assert [line.name for line in parsed.requirements] == ["click", "click"]


# ---- bare paths and URLs


def test_bare_local_folder_is_resolved_against_the_file(tmp_path: Path) -> None:
    folder = project("reqs/pkg")
    write("reqs/main.in", './pkg[test] ; python_version >= "3.10"\n')
    line = only(parse_file("reqs/main.in", environ={}))
    assert line.requirement is None
    assert line.link == str(folder)
    assert line.extras == frozenset({"test"})
    assert line.marker == Marker('python_version >= "3.10"')
    assert line.via == "-r reqs/main.in"


def test_bare_folder_without_a_build_file_is_an_error() -> None:
    Path("pkg").mkdir()
    error = error_of("./pkg\n")
    assert "main.in:1: directory './pkg' is not installable" in str(error)


def test_bare_archive_takes_its_name_from_the_file_name() -> None:
    write("dist/Foo_Bar-1.0.tar.gz", "")
    write("dist/other.zip", "")
    parsed = parse("dist/Foo_Bar-1.0.tar.gz\n./dist/other.zip\n")
    sdist, unnamed = parsed.requirements
    assert sdist.name == "foo-bar"
    assert sdist.link == str(Path("dist/Foo_Bar-1.0.tar.gz").absolute())
    assert sdist.requirement is not None
    assert sdist.requirement.url == Path("dist/Foo_Bar-1.0.tar.gz").absolute().as_uri()
    assert unnamed.requirement is None
    assert unnamed.link == str(Path("dist/other.zip").absolute())


def test_missing_archive_is_an_error() -> None:
    error = error_of("dist/foo-1.0.tar.gz\n")
    assert "main.in:1: file not found:" in str(error)


def test_bare_urls() -> None:
    parsed = parse(
        "file:///opt/wheels/baz-2.0-py3-none-any.whl\n"
        "https://example.org/archive/main.zip#egg=Spam[fast]\n"
        'https://example.org/unknown/download ; sys_platform == "linux"\n'
    )
    wheel, egg, unknown = parsed.requirements
    assert wheel.name == "baz"
    assert wheel.link == "file:///opt/wheels/baz-2.0-py3-none-any.whl"
    assert egg.name == "spam"
    assert egg.extras == frozenset({"fast"})
    assert egg.link == "https://example.org/archive/main.zip#egg=Spam[fast]"
    assert unknown.requirement is None
    assert unknown.link == "https://example.org/unknown/download"
    assert unknown.marker == Marker('sys_platform == "linux"')


def test_invalid_egg_fragment() -> None:
    error = error_of("https://example.org/x.zip#egg=foo==1\n")
    assert "invalid #egg= fragment 'foo==1'" in error.reason


# ---- editables


def test_editable_path_is_absolute_relative_to_the_including_file() -> None:
    folder = project("src/pkg")
    write("reqs/dev.in", "-e ../src/pkg[test]\n--editable=../src/pkg\n")
    first, second = parse_file("reqs/dev.in", environ={}).requirements
    assert first.editable
    assert first.link == str(folder)
    assert first.requirement is None
    assert first.extras == frozenset({"test"})
    assert second.link == str(folder)


def test_editable_vcs_url_needs_an_egg_name() -> None:
    line = only(parse("-e git+https://example.org/repo.git@v1#egg=tool\n"))
    assert line.editable
    assert line.name == "tool"
    assert line.link == "git+https://example.org/repo.git@v1#egg=tool"
    error = error_of("-e git+https://example.org/repo.git\n")
    assert "cannot tell the project name" in error.reason


def test_editable_errors() -> None:
    assert "editable project folder not found" in error_of("-e ./nowhere\n").reason
    Path("bare").mkdir()
    assert "is not installable" in error_of("-e ./bare\n").reason
    assert "not a valid editable requirement" in error_of("-e https://example.org/x.zip\n").reason
    project("a")
    project("b")
    assert "only one -e" in error_of("-e ./a -e ./b\n").reason
    assert "unexpected argument 'extra'" in error_of("-e ./a extra\n").reason


# ---- hashes and per-requirement options


def test_hashes_are_collected_and_lowercased() -> None:
    line = only(parse(f"click==8 --hash=sha256:{SHA_A.upper()} --hash sha256:{SHA_B}\n"))
    assert line.hashes == (f"sha256:{SHA_A}", f"sha256:{SHA_B}")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("md5:abc", "invalid --hash value 'md5:abc'"),
        ("sha256:abc", "a sha256 digest has 64 hex digits"),
    ],
)
def test_bad_hash_values(value: str, reason: str) -> None:
    assert reason in error_of(f"click --hash={value}\n").reason


def test_hash_without_a_requirement() -> None:
    assert "--hash must follow a requirement" in error_of(f"--hash=sha256:{SHA_A}\n").reason


@pytest.mark.parametrize(
    "option",
    ["--config-settings=a=b", "--global-option=--x", "-C a=b", "--prefer-binary"],
)
def test_options_pinlock_cannot_honour_are_rejected(option: str) -> None:
    text = f"click {option}\n" if "prefer" not in option else f"{option}\n"
    error = error_of(text)
    assert error.reason.endswith("is not supported by pinlock")
    assert str(error).startswith("main.in:1: option")


def test_option_lines_cannot_follow_a_requirement() -> None:
    error = error_of("click --index-url https://example.org/simple\n")
    assert error.reason == "option --index-url cannot follow a requirement"


# ---- option lines


def test_option_lines_in_both_forms() -> None:
    Path("wheels").mkdir()
    parsed = parse(
        "-i https://one.example/simple\n"
        "--index-url=https://two.example/simple\n"
        "--extra-index-url https://extra.example/simple\n"
        "--extra-index-url=https://extra2.example/simple\n"
        "-f wheels\n"
        "--find-links=missing-folder\n"
        "--find-links https://example.org/links/\n"
        "--no-index\n"
        "--trusted-host one.example --trusted-host=two.example\n"
        "--pre\n"
        "--only-binary=:all:\n"
        "--no-binary Foo_Bar,baz\n"
    )
    assert parsed.requirements == ()
    assert parsed.options == IndexOptions(
        index_url="https://two.example/simple",
        extra_index_urls=("https://extra.example/simple", "https://extra2.example/simple"),
        find_links=(
            str(Path("wheels").absolute()),
            "missing-folder",
            "https://example.org/links/",
        ),
        no_index=True,
        trusted_hosts=("one.example", "two.example"),
        pre=True,
        only_binary=frozenset({":all:"}),
        no_binary=frozenset({"foo-bar", "baz"}),
    )


def test_format_controls_follow_pips_rules() -> None:
    options = parse("--no-binary :all:\n--only-binary foo\n").options
    assert options.no_binary == frozenset({":all:"})
    assert options.only_binary == frozenset({"foo"})
    options = parse("--only-binary foo,bar\n--no-binary foo\n--only-binary :none:\n").options
    assert options.only_binary == frozenset()
    assert options.no_binary == frozenset({"foo"})
    options = parse("--only-binary :all:,:none:,baz\n").options
    assert options.only_binary == frozenset({"baz"})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("--frobnicate\n", "unknown option --frobnicate"),
        ("-x foo\n", "unknown option -x"),
        ("--index-url\n", "option --index-url requires an argument"),
        ("-r\n", "option --requirement requires an argument"),
        ("--pre=yes\n", "option --pre takes no argument"),
        ("--no-binary -x\n", "option --no-binary requires an argument"),
        ("--index-url 'https://x\n", "cannot split the line into words: No closing quotation"),
        ("--pre stray\n", "unexpected argument 'stray'"),
    ],
)
def test_bad_option_lines(text: str, reason: str) -> None:
    error = error_of(f"click\n{text}")
    assert (error.line, error.reason) == (2, reason)
    assert str(error).startswith(f"main.in:2: {reason}")


# ---- includes


def test_requirement_includes_are_relative_to_the_including_file() -> None:
    write("requirements/main.in", "-r base.in\nclick\n-rsub/extra.in\n")
    write("requirements/base.in", "--extra-index-url https://a.example/simple\nidna\n")
    write(
        "requirements/sub/extra.in",
        "--index-url https://b.example/simple\n"
        "--extra-index-url https://a.example/simple\n"
        "--extra-index-url https://c.example/simple\n"
        "attrs\n",
    )
    parsed = parse_file("requirements/main.in", environ={})
    assert [(line.name, line.via, str(line.origin)) for line in parsed.requirements] == [
        ("idna", "-r requirements/base.in", "requirements/base.in:2"),
        ("click", "-r requirements/main.in", "requirements/main.in:2"),
        ("attrs", "-r requirements/sub/extra.in", "requirements/sub/extra.in:4"),
    ]
    assert parsed.files == (
        "requirements/main.in",
        "requirements/base.in",
        "requirements/sub/extra.in",
    )
    assert parsed.options.index_url == "https://b.example/simple"
    assert parsed.options.extra_index_urls == (
        "https://a.example/simple",
        "https://c.example/simple",
    )


def test_index_url_last_one_wins_across_files() -> None:
    write(
        "main.in", "-i https://first.example/simple\n-r other.in\n-i https://last.example/simple\n"
    )
    write("other.in", "-i https://middle.example/simple\n")
    assert parse_file("main.in", environ={}).options.index_url == "https://last.example/simple"


def test_top_level_path_object_and_absolute_includes(tmp_path: Path) -> None:
    write("shared/base.in", "idna\n")
    write("main.in", f"--requirement {tmp_path / 'shared' / 'base.in'}\n")
    parsed = parse_file(Path("main.in"), environ={})
    assert only(parsed).via == f"-r {tmp_path / 'shared' / 'base.in'}"


def test_missing_include_is_reported_at_the_including_line() -> None:
    error = error_of("click\n-r nope.in\n")
    assert str(error).startswith("main.in:2: requirement file not found: nope.in")
    error = error_of("-c nope.txt\n")
    assert str(error).startswith("main.in:1: constraint file not found: nope.txt")


def test_missing_top_level_file() -> None:
    with pytest.raises(ReqFileError, match=r"^absent.in: requirement file not found: absent.in"):
        parse_file("absent.in", environ={})


def test_include_cycles_are_errors() -> None:
    write("a.in", "click\n-r b.in\n")
    write("b.in", "-r ./a.in\n")
    with pytest.raises(ReqFileError) as info:
        parse_file("a.in", environ={})
    assert str(info.value).startswith("b.in:1: include cycle: a.in -> b.in -> a.in")


def test_the_same_file_twice_without_a_cycle_is_fine() -> None:
    write("main.in", "-r common.in\n-r common.in\n")
    write("common.in", "click\n")
    parsed = parse_file("main.in", environ={})
    assert [line.name for line in parsed.requirements] == ["click", "click"]
    assert parsed.files == ("main.in", "common.in")


def test_remote_includes_are_not_supported() -> None:
    error = error_of("-r https://example.org/reqs.txt\n")
    assert (
        error.reason == "remote requirement files are not supported: https://example.org/reqs.txt"
    )


def test_file_url_include(tmp_path: Path) -> None:
    write("base.in", "idna\n")
    parsed = parse(f"-r {(tmp_path / 'base.in').as_uri()}\n")
    assert only(parsed).name == "idna"


# ---- constraints


def test_constraint_files_and_their_includes_are_constraints() -> None:
    write("main.in", "click\n-c constraints/pins.txt\n")
    write("constraints/pins.txt", "click<9\n-r more.txt\n--extra-index-url https://x.example/s\n")
    write("constraints/more.txt", "idna==3.7\n")
    parsed = parse_file("main.in", environ={})
    assert [line.name for line in parsed.requirements] == ["click"]
    assert [(line.name, line.via, line.constraint) for line in parsed.constraints] == [
        ("click", "-c constraints/pins.txt", True),
        ("idna", "-c constraints/more.txt", True),
    ]
    assert parsed.options.extra_index_urls == ("https://x.example/s",)
    assert parsed.files == ("main.in", "constraints/pins.txt", "constraints/more.txt")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-e ./pkg\n", "editable requirements are not allowed as constraints"),
        ("./pkg\n", "a constraint must name its project"),
        ("click[extra]<9\n", "constraints cannot have extras"),
    ],
)
def test_bad_constraints(text: str, reason: str) -> None:
    project("pkg")
    write("pins.txt", "idna\n" + text)
    error = error_of("-c pins.txt\n")
    assert str(error).startswith(f"pins.txt:2: {reason}")


def test_constraints_can_be_forbidden() -> None:
    write("pins.txt", "click\n")
    error = error_of("idna\n--constraint=pins.txt\n", allow_constraints=False)
    assert str(error).startswith("main.in:2: constraint files (-c) are not allowed")


def test_require_hashes_is_accepted_as_a_no_op() -> None:
    parsed = parse_file(write("reqs.txt", "--require-hashes\nsix==1.16.0\n"))
    assert [line.text for line in parsed.requirements] == ["six==1.16.0"]
