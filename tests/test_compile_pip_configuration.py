"""Compile under pip's configuration: constraints, pre-releases, binaries, hashes, refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pinlock.compile import CompileRequest, CompileResult, compile_locks
from pinlock.errors import ConfigError, ResolutionImpossible
from pinlock.index.config import load_pip_configuration
from pinlock.lock.txt import read_lock
from tests.support.compiling import compile_cli, pinned_versions
from tests.support.index_server import IndexServer

Factory = Callable[..., Path]


@pytest.fixture
def index(
    wheel_factory: Factory, sdist_factory: Factory, index_factory: Callable[..., IndexServer]
) -> IndexServer:
    for version in ("1.0", "2.0", "3.0b1"):
        wheel_factory("alpha", version)
    wheel_factory("user", "1.0", requires_dist=["alpha"])
    wheel_factory("zeta", "1.0")
    sdist_factory("zeta", "2.0")
    return index_factory()


def _compile(tmp_path: Path, index: IndexServer, content: str, **options: object) -> CompileResult:
    source = tmp_path / "main.in"
    source.write_text(content)
    request = CompileRequest(
        inputs=(source,),
        index_overrides={"index-url": index.url},
        cache_dir=tmp_path / "cache",
        **options,  # type: ignore[arg-type]
    )
    [result] = compile_locks(request)
    return result


def test_configured_constraints_limit_compile_and_stay_out_of_the_lock(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "company.txt").write_text("alpha<2 ; python_version >= '3'\n")
    monkeypatch.setenv("PIP_CONSTRAINT", str(tmp_path / "company.txt"))
    result = _compile(tmp_path, index, "user\n")
    assert pinned_versions(result.text) == {"alpha": "1.0", "user": "1.0"}
    [alpha] = [p for p in read_lock(tmp_path / "main.txt").packages if p.name == "alpha"]
    assert alpha.via == (f"-c {tmp_path / 'company.txt'} (pip configuration)", "user")
    assert "company.txt" not in result.text.split("alpha==")[0]  # no -c line in the lock

    with pytest.raises(ResolutionImpossible, match=r"company\.txt \(pip configuration\)"):
        _compile(tmp_path, index, "alpha>=2\n")


def test_constraint_files_pinlock_cannot_read_as_pip_does_are_refused(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_CONSTRAINT", "missing.txt")
    with pytest.raises(ConfigError, match=r"PIP_CONSTRAINT: constraint: missing\.txt: no such"):
        _compile(tmp_path, index, "alpha\n")
    monkeypatch.setenv("PIP_CONSTRAINT", "https://example.invalid/c.txt")
    with pytest.raises(ConfigError, match="remote constraint files are not supported"):
        _compile(tmp_path, index, "alpha\n")
    (tmp_path / "with-index.txt").write_text("--index-url http://elsewhere/simple\nalpha<2\n")
    monkeypatch.setenv("PIP_CONSTRAINT", (tmp_path / "with-index.txt").as_uri())
    with pytest.raises(ConfigError, match="options in a constraint file"):
        _compile(tmp_path, index, "alpha\n")


def test_pre_and_prefer_binary_from_configuration(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pinned_versions(_compile(tmp_path, index, "alpha\nzeta\n").text) == {
        "alpha": "2.0",
        "zeta": "2.0",
    }
    monkeypatch.setenv("PIP_PRE", "yes")
    monkeypatch.setenv("PIP_PREFER_BINARY", "1")
    result = _compile(tmp_path, index, "alpha\nzeta\n", upgrade=True)
    assert pinned_versions(result.text) == {"alpha": "3.0b1", "zeta": "1.0"}
    assert "--pre" not in result.text
    assert "--prefer-binary" not in result.text


def test_configured_format_controls_resolve_but_only_given_ones_reach_the_lock(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_ONLY_BINARY", ":all:")
    result = _compile(tmp_path, index, "zeta\n")
    assert pinned_versions(result.text) == {"zeta": "1.0"}
    assert "binary" not in result.text
    # The command line's --no-binary zeta beats the configured :all:, as on pip's command line.
    result = _compile(tmp_path, index, "zeta\n", upgrade=True, no_binary=frozenset({"zeta"}))
    assert pinned_versions(result.text) == {"zeta": "2.0"}
    assert "\n--no-binary zeta\n" in result.text
    assert "--only-binary" not in result.text


def test_require_hashes_refuses_a_lock_without_hashes(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_REQUIRE_HASHES", "true")
    with pytest.raises(ConfigError) as caught:
        _compile(tmp_path, index, "alpha\n", generate_hashes=False)
    assert (caught.value.source, caught.value.key) == ("PIP_REQUIRE_HASHES", "require-hashes")
    assert "--hash=sha256:" in _compile(tmp_path, index, "alpha\n").text


def test_a_refused_setting_stops_compile_naming_key_and_origin(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_KEYRING_PROVIDER", "subprocess")
    with pytest.raises(ConfigError) as caught:
        _compile(tmp_path, index, "alpha\n")
    assert (caught.value.source, caught.value.key) == ("PIP_KEYRING_PROVIDER", "keyring-provider")
    assert not (tmp_path / "main.txt").exists()


def test_a_given_pip_configuration_is_the_one_used(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.txt").write_text("alpha==1.0\n")
    monkeypatch.setenv("PIP_CONSTRAINT", "c.txt")
    given = load_pip_configuration(overrides={"index-url": index.url})
    monkeypatch.delenv("PIP_CONSTRAINT")
    result = _compile(tmp_path, index, "alpha\n", pip_configuration=given)
    assert pinned_versions(result.text) == {"alpha": "1.0"}


def test_compile_verbose_shows_pip_settings_with_origins_and_masked_credentials(
    tmp_path: Path, index: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_token = index.url.replace("http://", "http://token:s3cret@")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", with_token)
    monkeypatch.setenv("PIP_NO_COLOR", "1")
    (tmp_path / "main.in").write_text("alpha\n")
    code, out, err = compile_cli(
        tmp_path, "-v", "-i", index.url, "-o", "-", "--no-hashes", str(tmp_path / "main.in")
    )
    assert code == 0, err
    assert "alpha==2.0" in out
    assert "s3cret" not in err + out
    assert err.startswith("pip configuration (as `pip install` reads it here):\n")
    masked = with_token.replace("s3cret", "****")
    assert f"extra-index-url = {masked}  (PIP_EXTRA_INDEX_URL): applied" in err
    assert "no-color = 1  (PIP_NO_COLOR): ignored: what pip prints or logs" in err
    assert f"index-url = {index.url}  (command line): applied" in err
    code, _out, err = compile_cli(tmp_path, "-i", index.url, "-o", "-", str(tmp_path / "main.in"))
    assert code == 0
    assert "pip configuration" not in err
