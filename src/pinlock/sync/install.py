"""Installing verified files: sdists built into wheels, wheels staged and installed by pip.

pip runs only through ``pinlock.sync.piprun``; every wheel it installs here was verified against
the lock first, and pip is told to check the same hashes again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pinlock.atomic import link_or_copy
from pinlock.cache import Cache
from pinlock.digests import record_digest
from pinlock.errors import EnvironmentProblem
from pinlock.index.models import FileKind
from pinlock.lock.model import LockedPackage
from pinlock.progress import BUILDING, INSTALLING, Progress
from pinlock.store import ArtifactStore
from pinlock.sync.environment import Environment, InstalledDist, read_installed
from pinlock.sync.fetch import FetchedFile
from pinlock.sync.piprun import run_pip
from pinlock.urls import is_vcs_url, local_path, redact_url, strip_userinfo

# Private names kept from sync/apply.py, whose orchestration (apply_plan) is their one caller.
__all__: list[str] = []


def _source_of(package: LockedPackage) -> str:
    """What pip is given for a package installed from its source; the folder must exist."""
    url = package.url or ""
    if is_vcs_url(url):
        return url if package.editable else f"{package.display_name} @ {url}"
    path = local_path(url) or Path(url)
    if not path.is_dir():
        what = "editable " if package.editable else ""
        raise EnvironmentProblem(f"{what}{package.display_name}: {url} is not a folder")
    return str(path)


def _build_sdists(
    fetched: Sequence[FetchedFile],
    env: Environment,
    *,
    work: Path,
    cache: Cache,
    environ: Mapping[str, str] | None,
    progress: Progress | None = None,
) -> list[tuple[FetchedFile, Path, str]]:
    """Every fetched file as an installable wheel: ``(fetched, wheel, "sha256:..")``.

    ``environ`` gives pip the indexes for build requirements (``pinlock.sync.pipindex``);
    ``progress`` hears of each sdist built (``BUILDING``).
    """
    wheels: list[tuple[FetchedFile, Path, str]] = []
    tag = env.soabi or "py{}{}".format(*env.python_version[:2])
    store = ArtifactStore(cache)
    sdists = sum(1 for item in fetched if item.kind is not FileKind.WHEEL)
    if progress is not None and sdists:
        progress.stage(BUILDING, total=sdists)
    for item in fetched:
        if item.kind is FileKind.WHEEL:
            wheels.append((item, item.path, item.sha256))
            continue
        # The wheel built from this sdist for this interpreter, kept in the artifact store.
        key = f"built:{item.sha256}-{tag}"
        built = store.recall(key)
        if progress is not None:
            progress.advance(BUILDING, 0, item=item.path.name)
        if built is None:
            out = work / "build" / item.package.name
            out.mkdir(parents=True)
            run_pip(
                ["wheel", "--no-deps", "--wheel-dir", str(out), str(item.path)],
                python=env.python,
                environ=environ,
            )
            made = sorted(out.glob("*.whl"))
            if len(made) != 1:
                raise EnvironmentProblem(f"building {item.path.name} gave no single wheel")
            built = store.add_file(made[0])
            store.remember(key, built[1], made[0].name)
            if progress is not None:
                progress.note(f"built {made[0].name} from {item.path.name}")
        elif progress is not None:
            progress.note(f"{built[0].name}, built from {item.path.name} before", level=2)
        if progress is not None:
            progress.advance(BUILDING)
        wheels.append((item, *built))
    if progress is not None and sdists:
        progress.end(BUILDING)
    return wheels


def _install(
    wheels: Sequence[tuple[FetchedFile, Path, str]],
    env: Environment,
    work: Path,
    extra: Sequence[str],
    environ: Mapping[str, str] | None,
    *,
    progress: Progress | None = None,
) -> None:
    if not wheels:
        return
    # Pinned packages come from a folder holding exactly the verified wheels, by name==version,
    # so pip records no direct URL for them; URL packages keep their URL.
    stage = work / "wheels"
    stage.mkdir()
    lines: list[str] = []
    for item, wheel, digest in wheels:
        staged = stage / wheel.name
        link_or_copy(wheel, staged)
        package = item.package
        # pip checks again, against the lock's own digests when the file is the lock's.
        digests = package.hashes if wheel == item.path and package.hashes else (digest,)
        hash_option = " ".join(f"--hash={value}" for value in digests)
        if package.url is not None:
            lines.append(f"{package.display_name} @ {staged.as_uri()} {hash_option}")
        else:
            lines.append(f"{package.display_name}=={package.version} {hash_option}")
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_pip(
        [
            "install",
            "--no-deps",
            "--require-hashes",
            "--no-index",
            "--find-links",
            str(stage),
            *extra,
            "--requirement",
            str(requirements),
        ],
        python=env.python,
        environ=environ,
    )
    if progress is not None:
        # One pip run installs them all; an installer that takes them one by one says each.
        for item, wheel, _digest in wheels:
            progress.advance(INSTALLING, item=item.package.display_name)
            progress.note(f"installed {wheel.name}", level=2)


def _install_from_source(
    packages: Sequence[LockedPackage],
    env: Environment,
    extra: Sequence[str],
    environ: Mapping[str, str] | None,
    *,
    progress: Progress | None = None,
) -> None:
    """Editables, VCS commits and local folders: pip builds and installs each."""
    for package in packages:
        source = _source_of(package)
        wanted = ["--editable", source] if package.editable else [source]
        if progress is not None:
            progress.advance(INSTALLING, 0, item=package.display_name)
        # Building installs the package's build requirements: ``environ`` names the indexes.
        run_pip(
            ["install", "--no-deps", *extra, *wanted],
            python=env.python,
            environ=environ,
        )
        if progress is not None:
            progress.advance(INSTALLING)
            progress.note(f"installed {package.display_name} from {redact_url(source)}", level=2)


def _record_lock_urls(wheels: Sequence[tuple[FetchedFile, Path, str]], env: Environment) -> None:
    """Point ``direct_url.json`` of URL packages at the lock's URL (without its userinfo), not
    the staged copy.

    pip records the URL it installed from, which for a verified, staged file is a temporary
    path: the next sync would see another URL and reinstall. RECORD keeps matching the file.
    """
    by_url = {item.package.name: item for item, _wheel, _digest in wheels if item.package.url}
    if not by_url:
        return
    for dist in read_installed(env.site_dirs):
        item = by_url.get(dist.name)
        if item is None or item.package.url is None:
            continue
        data = _direct_url(item)
        (dist.info_dir / "direct_url.json").write_bytes(data)
        _update_record(dist, "direct_url.json", data)


def _direct_url(item: FetchedFile) -> bytes:
    """``direct_url.json`` of a package the lock gives by URL: that URL, without its userinfo,
    and the digest of the file."""
    assert item.package.url is not None
    algorithm, _, digest = item.sha256.partition(":")
    return json.dumps(
        {
            # Without credentials, as pip and uv write it: the file is readable by all.
            "url": strip_userinfo(item.package.url)[0],
            "archive_info": {"hash": f"{algorithm}={digest}", "hashes": {algorithm: digest}},
        },
        sort_keys=True,
    ).encode()


def _update_record(dist: InstalledDist, filename: str, data: bytes) -> None:
    record = dist.info_dir / "RECORD"
    if not record.is_file():
        return
    entry = f"{dist.info_dir.name}/{filename}"
    with record.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and row[0] != entry]
    rows.append([entry, record_digest(data), str(len(data))])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    record.write_text(buffer.getvalue(), encoding="utf-8")
