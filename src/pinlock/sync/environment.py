"""The environment a sync changes: which one, and what is installed in it, read without pip.

The target interpreter is asked once, by ``pinlock.target``'s stdlib-only probe, for its marker
environment, wheel tags and paths; the installed distributions are then read from ``*.dist-info``
folders in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from pinlock.errors import EnvironmentProblem

if TYPE_CHECKING:
    from packaging.tags import Tag

    from pinlock.target import Target

__all__ = [
    "Environment",
    "InstalledDist",
    "check_allowed",
    "find_python",
    "inspect_environment",
    "protected_names",
    "read_installed",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class InstalledDist:
    """One installed distribution, as its ``.dist-info`` (or ``.egg-info``) folder describes it.

    ``version`` is None when the installed version string is not valid PEP 440 (``raw_version``
    keeps it). ``url`` is the direct URL from ``direct_url.json`` (editables and URL installs).
    """

    name: NormalizedName
    display_name: str
    version: Version | None
    raw_version: str
    info_dir: Path
    url: str | None = None
    editable: bool = False
    installer: str = ""

    @property
    def site_dir(self) -> Path:
        """The folder RECORD paths are relative to."""
        return self.info_dir.parent


@dataclass(frozen=True, kw_only=True, slots=True)
class Environment:
    """A target interpreter: its ``Target`` (markers, wheel tags), paths and installed dists.

    ``has_pip`` says whether pip is installed in it (as it was when inspected). ``data`` and
    ``include`` are its sysconfig paths of those names (None when the probe did not say);
    ``cache_tag`` names its byte code (``cpython-312``; "" when it writes none).
    """

    python: Path
    executable: Path
    prefix: Path
    base_prefix: Path
    purelib: Path
    platlib: Path
    scripts: Path
    stdlib: Path
    python_version: tuple[int, int, int]
    target: Target
    soabi: str = ""
    has_pip: bool = False
    installed: tuple[InstalledDist, ...] = ()
    data: Path | None = None
    include: Path | None = None
    cache_tag: str = ""

    @property
    def is_venv(self) -> bool:
        return self.prefix != self.base_prefix

    @property
    def marker_environment(self) -> dict[str, str]:
        return self.target.markers

    @property
    def tags(self) -> tuple[Tag, ...]:
        """The wheel tags the interpreter accepts, best first."""
        return self.target.tags

    @property
    def site_dirs(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys((self.purelib, self.platlib)))

    @property
    def externally_managed(self) -> bool:
        """PEP 668: a non-venv interpreter whose distributor manages its packages."""
        return not self.is_venv and (self.stdlib / "EXTERNALLY-MANAGED").is_file()

    @property
    def is_running_environment(self) -> bool:
        """Whether this is the environment pinlock itself runs in."""
        return _same_path(self.prefix, Path(sys.prefix))

    def by_name(self) -> dict[NormalizedName, InstalledDist]:
        return {dist.name: dist for dist in self.installed}

    def scheme(self, dist_name: str) -> dict[str, Path]:
        """Where the parts of a wheel of ``dist_name`` go, as pip puts them (its install scheme).

        pip puts headers of a venv under ``<prefix>/include/site/pythonX.Y/<name>``, else under
        the interpreter's include folder; data goes to sysconfig's ``data`` (the prefix).
        """
        if self.is_venv or self.include is None:
            version = "python{}.{}".format(*self.python_version[:2])
            headers = self.prefix / "include" / "site" / version / dist_name
        else:
            headers = self.include / dist_name
        return {
            "purelib": self.purelib,
            "platlib": self.platlib,
            "scripts": self.scripts,
            "data": self.data or self.prefix,
            "headers": headers,
        }


def find_python(
    *,
    python: Path | None = None,
    venv: Path | None = None,
    system: bool = False,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    create: bool = True,
    lock_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Path:
    """The interpreter to sync, by precedence: ``venv``, ``python``, ``$VIRTUAL_ENV``, ``./.venv``.

    ``venv`` is created with ``python -m venv`` when missing (unless ``create`` is false), by
    ``python`` when given, else by the running interpreter; a ``venv`` whose creation was
    interrupted is made again (``pinlock.sync.venvs``, which waits for another run creating it,
    at most ``lock_timeout`` seconds, telling ``on_wait``). ``system`` without ``python`` means
    the first ``python3`` on PATH.
    """
    # Imported here: ``pinlock.target`` pulls in packaging.tags, which only a sync run needs.
    from pinlock.target.probe import find_interpreter

    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    if venv is not None:
        folder = venv if venv.is_absolute() else here / venv
        if not folder.exists() and not create:
            raise EnvironmentProblem(
                f"{folder} does not exist (--dry-run and --check create nothing)"
            )
        if create:
            from pinlock.sync.venvs import ensure_venv

            creator = find_interpreter(python) if python is not None else Path(sys.executable)
            ensure_venv(creator, folder, timeout=lock_timeout, on_wait=on_wait)
        return find_interpreter(folder)
    if python is not None:
        return find_interpreter(python if python.is_absolute() else here / python)
    if system:
        found = shutil.which("python3", path=env.get("PATH")) or shutil.which(
            "python", path=env.get("PATH")
        )
        if found is None:
            raise EnvironmentProblem("--system: no python3 on PATH; name one with --python")
        return Path(found)
    active = env.get("VIRTUAL_ENV")
    if active:
        return find_interpreter(Path(active))
    local = here / ".venv"
    if local.exists():
        return find_interpreter(local)
    raise EnvironmentProblem(
        "no environment to sync: activate a virtual environment, create ./.venv, or pass "
        "--venv DIR (created when missing) or --python PATH"
    )


def inspect_environment(python: Path, *, installed: bool = True) -> Environment:
    """Ask ``python`` for its facts (one subprocess) and read what is installed in it (unless
    not ``installed``: a sync reads that once it holds the environment's lock)."""
    # Imported here: ``pinlock.target`` pulls in packaging.tags, which only this call needs.
    from pinlock.target import probe_python

    target, facts = probe_python(python)
    env = Environment(
        python=python,
        executable=facts.executable,
        prefix=facts.prefix,
        base_prefix=facts.base_prefix,
        purelib=facts.purelib,
        platlib=facts.platlib,
        scripts=facts.scripts,
        stdlib=facts.stdlib,
        python_version=facts.version_info,
        target=target,
        soabi=facts.soabi,
        has_pip=facts.has_pip,
        data=facts.data,
        include=facts.include,
        cache_tag=facts.cache_tag,
    )
    return replace(env, installed=read_installed(env.site_dirs)) if installed else env


def read_installed(site_dirs: tuple[Path, ...]) -> tuple[InstalledDist, ...]:
    """Every distribution in ``site_dirs``, sorted by name (the first folder wins on duplicates)."""
    found: dict[NormalizedName, InstalledDist] = {}
    for site in site_dirs:
        try:
            entries = sorted(os.scandir(site), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        for entry in entries:
            if not entry.is_dir():
                continue
            if entry.name.endswith(".dist-info"):
                dist = _read_dist_info(Path(entry.path))
            elif entry.name.endswith(".egg-info"):
                dist = _read_egg_info(Path(entry.path))
            else:
                continue
            if dist is not None and dist.name not in found:
                found[dist.name] = dist
    return tuple(sorted(found.values(), key=lambda d: d.name))


def _read_headers(path: Path) -> dict[str, str]:
    headers: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and not line[0].isspace() and key in ("Name", "Version"):
                    headers.setdefault(key, value.strip())
                    if len(headers) == 2:
                        break
    except OSError:
        return {}
    return headers


def _version(raw: str) -> Version | None:
    try:
        return Version(raw)
    except InvalidVersion:
        return None


def _read_dist_info(info_dir: Path) -> InstalledDist | None:
    headers = _read_headers(info_dir / "METADATA")
    if "Name" not in headers:
        return None
    raw = headers.get("Version", "")
    url: str | None = None
    editable = False
    direct = info_dir / "direct_url.json"
    if direct.is_file():
        try:
            data = json.loads(direct.read_text(encoding="utf-8"))
            url = data.get("url")
            editable = bool(data.get("dir_info", {}).get("editable", False))
            vcs = data.get("vcs_info")
            if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
                # As a lock spells it: git+https://host/repo@<commit>
                url = f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
                if data.get("subdirectory"):
                    url += f"#subdirectory={data['subdirectory']}"
        except (OSError, ValueError, AttributeError):
            url = None
    installer = ""
    installer_file = info_dir / "INSTALLER"
    if installer_file.is_file():
        installer = installer_file.read_text(encoding="utf-8", errors="replace").strip()
    return InstalledDist(
        name=canonicalize_name(headers["Name"]),
        display_name=headers["Name"],
        version=_version(raw),
        raw_version=raw,
        info_dir=info_dir,
        url=url,
        editable=editable,
        installer=installer,
    )


def _read_egg_info(info_dir: Path) -> InstalledDist | None:
    headers = _read_headers(info_dir / "PKG-INFO")
    if "Name" not in headers:
        return None
    raw = headers.get("Version", "")
    return InstalledDist(
        name=canonicalize_name(headers["Name"]),
        display_name=headers["Name"],
        version=_version(raw),
        raw_version=raw,
        info_dir=info_dir,
    )


def check_allowed(env: Environment, *, system: bool, break_system_packages: bool) -> None:
    """Refuse a system interpreter unless ``system``, and a PEP 668 one unless told to break it."""
    if env.is_venv:
        return
    if not system:
        raise EnvironmentProblem(
            f"{env.python} is not a virtual environment (prefix {env.prefix}); pinlock changes "
            "a system interpreter only with --system"
        )
    if env.externally_managed and not break_system_packages:
        raise EnvironmentProblem(
            f"{env.python} is externally managed (PEP 668: {env.stdlib / 'EXTERNALLY-MANAGED'}); "
            "use a virtual environment, or pass --break-system-packages to change it anyway"
        )


def protected_names(env: Environment) -> frozenset[NormalizedName]:
    """pinlock and what it needs to finish a sync, when ``env`` is pinlock's own environment."""
    if not env.is_running_environment:
        return frozenset()
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import InvalidRequirement, Requirement

    protected: set[NormalizedName] = set()
    pending = ["pinlock", "pip"]
    markers = env.marker_environment
    while pending:
        name = canonicalize_name(pending.pop())
        if name in protected:
            continue
        protected.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            if marker is None or marker.evaluate({**markers, "extra": ""}):
                pending.append(requirement.name)
    return frozenset(protected)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
