"""The packages a sync wants: the lines of one or more locks that hold for the target, merged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.utils import NormalizedName

from pinlock.errors import LockConflict, ReqFileError
from pinlock.index.options import IndexOptions
from pinlock.lock.model import Lock, LockedPackage
from pinlock.urls import file_url_to_path, is_file_url, is_vcs_url

__all__ = ["Wanted", "check_hashes", "merge_options", "select_packages"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Wanted:
    """The merged packages for one target, and the lock lines its markers leave out."""

    packages: tuple[LockedPackage, ...]
    skipped: tuple[LockedPackage, ...] = ()

    def by_name(self) -> dict[NormalizedName, LockedPackage]:
        return {package.name: package for package in self.packages}


def select_packages(locks: Iterable[Lock], markers: Mapping[str, str]) -> Wanted:
    """Keep the lines whose markers hold for ``markers`` and merge them across ``locks``.

    The same pin in two locks merges (hashes united); a name pinned differently raises
    ``LockConflict`` naming both lines.
    """
    chosen: dict[NormalizedName, LockedPackage] = {}
    skipped: list[LockedPackage] = []
    env = {**markers, "extra": ""}
    for lock in locks:
        for package in lock.packages:
            if package.marker is not None and not package.marker.evaluate(env):
                skipped.append(package)
                continue
            earlier = chosen.get(package.name)
            if earlier is None:
                chosen[package.name] = package
            elif _same_pin(earlier, package):
                hashes = tuple(sorted(set(earlier.hashes) | set(package.hashes)))
                chosen[package.name] = replace(earlier, hashes=hashes)
            else:
                raise LockConflict(package.name, _where(earlier, lock), _where(package, lock))
    packages = tuple(sorted(chosen.values(), key=lambda p: p.name))
    return Wanted(packages=packages, skipped=tuple(skipped))


def builds_from_source(package: LockedPackage) -> bool:
    """Whether pip installs ``package`` from its source itself: an editable, a VCS commit or a
    local project folder, which have no file to fetch and hash-check."""
    url = package.url or ""
    if package.editable or is_vcs_url(url):
        return True
    path = file_url_to_path(url) if is_file_url(url) else None
    return path is not None and path.is_dir()


def check_hashes(locks: Sequence[Lock]) -> None:
    """Refuse an unhashed line among hashed ones, as pip's ``--require-hashes`` does.

    pip turns hash checking on for every requirement once any requirement it was given (in any
    file) has a ``--hash``; a line without one then stops the install. The same holds here
    across all ``locks`` merged into one sync, with two deliberate differences: a line pip
    builds from source (an editable, a VCS commit, a local folder) is exempt (there is no file
    to hash; compile writes such locks, and says plain pip refuses them), and a line its markers
    exclude here must be hashed too, so a lock passes or fails alike on every target. Raises
    ``ReqFileError`` naming the first such line, and how many more there are.
    """
    packages = [package for lock in locks for package in lock.packages]
    hashed = next((package for package in packages if package.hashes), None)
    if hashed is None:
        return
    missing = [p for p in packages if not p.hashes and not builds_from_source(p)]
    if not missing:
        return
    first = missing[0]
    more = f" (and {len(missing) - 1} more such lines)" if len(missing) > 1 else ""
    origin = first.origin
    raise ReqFileError(
        origin.path if origin else "<lock>",
        origin.line if origin else 0,
        first.shown_text,
        f"{first.display_name} has no --hash, but {hashed.origin or hashed.display_name} has "
        "one: once any line is hashed every line must be, as with pip's --require-hashes "
        f"(this file would be installed unchecked){more}",
    )


def merge_options(locks: Iterable[Lock]) -> IndexOptions:
    """The index options of all ``locks``: the first index URL, every extra index and find-links."""
    index_url: str | None = None
    extra: list[str] = []
    find_links: list[str] = []
    trusted: list[str] = []
    no_index = False
    for lock in locks:
        options = lock.options
        if options.index_url and index_url is None:
            index_url = options.index_url
        elif options.index_url and options.index_url != index_url:
            extra.append(options.index_url)
        extra.extend(options.extra_index_urls)
        find_links.extend(options.find_links)
        trusted.extend(options.trusted_hosts)
        no_index = no_index or options.no_index
    return IndexOptions(
        index_url=index_url,
        extra_index_urls=tuple(dict.fromkeys(extra)),
        find_links=tuple(dict.fromkeys(find_links)),
        no_index=no_index,
        trusted_hosts=tuple(dict.fromkeys(trusted)),
    )


def _same_pin(a: LockedPackage, b: LockedPackage) -> bool:
    return a.version == b.version and a.url == b.url and a.editable == b.editable


def _where(package: LockedPackage, lock: Lock | None = None) -> str:
    origin = str(package.origin) if package.origin else ((lock and lock.path) or "<lock>")
    return f"{origin}: {package.shown_text}"
