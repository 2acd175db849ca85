"""Core metadata of a source distribution: its PKG-INFO when trustworthy, else its build backend.

PKG-INFO of Metadata-Version 2.2 or later is reliable for every field not named in ``Dynamic``
(PEP 643), so when neither ``Requires-Dist`` nor ``Requires-Python`` is dynamic no build is
needed. Otherwise the sdist is unpacked (refusing members that would land outside the target
folder) and its PEP 517 backend prepares the metadata in an isolated build environment.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path, PurePosixPath
from typing import Protocol

from packaging.version import InvalidVersion, Version

from pinlock.compile.buildenv import BuildEnvironments
from pinlock.errors import BuildError, MetadataError

__all__ = [
    "BuiltMetadata",
    "SdistMetadata",
    "build_metadata",
    "is_trusted_pkg_info",
    "prepare_metadata",
    "read_sdist_metadata",
    "sdist_metadata",
]

_FIRST_TRUSTED_VERSION = Version("2.2")
_DEPENDENCY_FIELDS = frozenset({"requires-dist", "requires-python"})


@dataclass(frozen=True, kw_only=True, slots=True)
class BuiltMetadata:
    """What a PEP 517 backend prepared: the METADATA bytes, and everything it printed (its
    subprocess output and the warnings it raised), for a user who asks to see it."""

    data: bytes
    output: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SdistMetadata:
    """An sdist's core metadata; ``built`` when its backend had to compute it on this machine
    (then its dependencies were computed here and may differ elsewhere) with ``output`` the
    backend's output."""

    data: bytes
    built: bool
    output: str = ""


def sdist_metadata(path: Path, *, build_isolation: bool = True, name: str | None = None) -> bytes:
    """The core metadata (email-header bytes) of the sdist at ``path`` (``.tar.gz`` or ``.zip``).

    ``name`` is how errors refer to the sdist (its file name by default); the archive format
    is read from the content, so a cached file without a suffix works too.
    """
    return read_sdist_metadata(path, build_isolation=build_isolation, name=name).data


def read_sdist_metadata(
    path: Path,
    *,
    build_isolation: bool = True,
    name: str | None = None,
    environments: BuildEnvironments | None = None,
    building: Callable[[str], None] | None = None,
) -> SdistMetadata:
    """Like ``sdist_metadata``, saying whether (and with what output) the backend built it;
    ``building`` hears the sdist's name just before its backend is asked."""
    what = name or path.name
    members = _read_archive(path, what)
    top = _top_folder(members)
    pkg_info = members.get(f"{top}PKG-INFO")
    if pkg_info is not None and is_trusted_pkg_info(pkg_info):
        return SdistMetadata(data=pkg_info, built=False)
    with tempfile.TemporaryDirectory(prefix="pinlock-sdist-") as tmp:
        root = Path(tmp) / "src"
        _write_tree(root, members, what)
        source_dir = root / top if top else root
        if building is not None:
            building(what)
        built = build_metadata(
            source_dir, build_isolation=build_isolation, what=what, environments=environments
        )
        return SdistMetadata(data=built.data, built=True, output=built.output)


def is_trusted_pkg_info(pkg_info: bytes) -> bool:
    """Whether PKG-INFO's dependency fields are final (PEP 643)."""
    headers = BytesHeaderParser().parsebytes(pkg_info)
    try:
        metadata_version = Version(str(headers.get("Metadata-Version", "")).strip())
    except InvalidVersion:
        return False
    if metadata_version < _FIRST_TRUSTED_VERSION:
        return False
    if not headers.get("Name") or not headers.get("Version"):
        return False
    dynamic = {str(field).strip().lower() for field in headers.get_all("Dynamic", [])}
    return not dynamic & _DEPENDENCY_FIELDS


def prepare_metadata(source_dir: Path, *, build_isolation: bool = True, what: str) -> bytes:
    """The METADATA bytes ``build_metadata`` prepares."""
    return build_metadata(source_dir, build_isolation=build_isolation, what=what).data


def build_metadata(
    source_dir: Path,
    *,
    build_isolation: bool = True,
    what: str,
    environments: BuildEnvironments | None = None,
) -> BuiltMetadata:
    """Run the project's PEP 517 ``prepare_metadata_for_build_wheel`` (or ``build_wheel``).

    With ``build_isolation`` the backend runs in an environment holding only the project's
    build requirements, installed by pip under the user's pip configuration: a fresh one, or
    the one of ``environments`` made for the same build-system requirements. Nothing reaches
    this process's stdout or stderr: the backend's output and the warnings it raises (which
    pyproject_hooks re-raises here as ``BuildBackendWarning``) are returned, or carried by the
    ``BuildError``.
    """
    import build
    from build.env import DefaultIsolatedEnv

    output: list[str] = []
    runner = _capturing_runner(output)
    try:
        with (
            _backend_warnings(output),
            tempfile.TemporaryDirectory(prefix="pinlock-metadata-") as out,
        ):
            if build_isolation and environments is not None:
                requires = build.ProjectBuilder(source_dir).build_system_requires
                env = environments.environment(requires)
                builder = build.ProjectBuilder.from_isolated_env(env, source_dir, runner=runner)
                environments.install(env, builder.get_requires_for_build("wheel"))
                data = _read_metadata_dir(builder.metadata_path(out), what)
            elif build_isolation:
                with DefaultIsolatedEnv() as env:
                    builder = build.ProjectBuilder.from_isolated_env(env, source_dir, runner=runner)
                    env.install(builder.build_system_requires)
                    env.install(builder.get_requires_for_build("wheel"))
                    data = _read_metadata_dir(builder.metadata_path(out), what)
            else:
                builder = build.ProjectBuilder(source_dir, runner=runner)
                data = _read_metadata_dir(builder.metadata_path(out), what)
    except subprocess.CalledProcessError as error:
        output.extend(_stream_text(error.stdout) + _stream_text(error.stderr))
        reason = f"command exited with {error.returncode}: {_command_text(error.cmd)}"
        raise BuildError(what, reason, "".join(output)) from None
    except build.BuildBackendException as error:
        cause = error.exception
        if isinstance(cause, subprocess.CalledProcessError):
            output.extend(_stream_text(cause.stdout) + _stream_text(cause.stderr))
        raise BuildError(what, str(error), "".join(output)) from None
    except build.BuildException as error:
        raise BuildError(what, str(error), "".join(output)) from None
    return BuiltMetadata(data=data, output="".join(output))


@contextmanager
def _backend_warnings(output: list[str]) -> Iterator[None]:
    """Collect the warnings raised while the backend runs into ``output``, not onto stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            output.extend(f"{warning.category.__name__}: {warning.message}\n" for warning in caught)


def _read_metadata_dir(dist_info: str, what: str) -> bytes:
    try:
        return (Path(dist_info) / "METADATA").read_bytes()
    except OSError as error:
        raise BuildError(what, f"the backend wrote no METADATA: {error}") from None


def _capturing_runner(output: list[str]) -> _Runner:
    def run(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = dict(os.environ)
        env.update(extra_environ or {})
        completed = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        output.append(completed.stdout.decode("utf-8", "replace"))
        if completed.returncode:
            raise subprocess.CalledProcessError(completed.returncode, list(cmd))

    return run


class _Runner(Protocol):
    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None: ...


def _stream_text(stream: bytes | str | None) -> list[str]:
    if not stream:
        return []
    return [stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream]


def _command_text(cmd: object) -> str:
    if isinstance(cmd, (list, tuple)):
        return subprocess.list2cmdline([str(part) for part in cmd])
    return str(cmd)


# -- archives -----------------------------------------------------------------------------


def _read_archive(path: Path, what: str) -> dict[str, bytes]:
    """Regular files of the archive by their member path; links and devices are left out."""
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path, what)
        with tarfile.open(path, "r:*") as archive:
            return _read_tar(archive, what)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise MetadataError(what, f"not a readable sdist archive: {error}") from None


def _read_zip(path: Path, what: str) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            members[_safe_member_path(info.filename, what)] = archive.read(info)
    return members


def _read_tar(archive: tarfile.TarFile, what: str) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    for info in archive:
        name = _safe_member_path(info.name, what)
        if not info.isfile():
            continue
        handle = archive.extractfile(info)
        if handle is not None:
            with handle:
                members[name] = handle.read()
    return members


def _safe_member_path(name: str, what: str) -> str:
    """The member's path, refusing absolute paths and ``..`` (path traversal)."""
    cleaned = name.replace("\\", "/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    pure = PurePosixPath(cleaned)
    if cleaned.startswith("/") or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise MetadataError(what, f"archive member {name!r} would be written outside the sdist")
    return "/".join(part for part in pure.parts if part not in ("", "."))


def _top_folder(members: Mapping[str, bytes]) -> str:
    """``"name-1.0/"`` when every member sits in one top-level folder (the sdist layout)."""
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) == 1 and all("/" in name for name in members):
        return f"{tops.pop()}/"
    return ""


def _write_tree(root: Path, members: Mapping[str, bytes], what: str) -> None:
    root.mkdir(parents=True)
    resolved_root = root.resolve()
    for name, data in members.items():
        target = (root / name).resolve()
        if not target.is_relative_to(resolved_root):
            raise MetadataError(what, f"archive member {name!r} would be written outside the sdist")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
