"""VCS references (``name @ git+https://host/repo@ref``) pinned to a full commit id.

A lock pins what a branch or tag points at when it is compiled: ``git+https://host/repo@<commit>``.
git answers which commit a ref names (``git ls-remote``); that commit is fetched shallowly into
the cache once, and its metadata is read from the checkout like any local project's. Only git
is supported; without git on PATH a VCS reference is a clear error.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pinlock.cache import Cache
from pinlock.errors import NetworkError, PinlockError
from pinlock.urls import redact_text, redact_url

__all__ = ["VcsCheckouts", "VcsReference", "parse_vcs_url"]

_FULL_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")
_DONE = ".pinlock-checkout"


@dataclass(frozen=True, kw_only=True, slots=True)
class VcsReference:
    """A VCS URL taken apart: ``git+URL@revision#egg=name&subdirectory=sub``."""

    vcs: str
    url: str
    revision: str | None
    fragment: str = ""

    @property
    def subdirectory(self) -> str | None:
        for part in self.fragment.split("&"):
            key, _, value = part.partition("=")
            if key == "subdirectory" and value:
                return value
        return None

    def pinned(self, commit: str) -> str:
        """The URL pinned to ``commit``, keeping the fragment (``#egg=``, ``subdirectory=``)."""
        fragment = f"#{self.fragment}" if self.fragment else ""
        return f"{self.vcs}+{self.url}@{commit}{fragment}"


def parse_vcs_url(link: str) -> VcsReference | None:
    """The parts of a ``vcs+scheme://...`` URL; None for anything else."""
    scheme, plus, rest = link.partition("+")
    if not plus or scheme.lower() not in ("git", "hg", "svn", "bzr") or "://" not in rest:
        return None
    location, _, fragment = rest.partition("#")
    parts = urlsplit(location)
    path, at, revision = parts.path.rpartition("@")
    if not at:
        path, revision = parts.path, ""
    url = parts._replace(path=path).geturl()
    return VcsReference(vcs=scheme.lower(), url=url, revision=revision or None, fragment=fragment)


class VcsCheckouts:
    """Commits named by refs, and their checkouts under the cache (``<root>/vcs``)."""

    def __init__(self, cache: Cache, *, environ: Mapping[str, str] | None = None) -> None:
        self._root = cache.root / "vcs"
        self._environ = dict(os.environ if environ is None else environ)
        # git must never stop to ask for a password: a run is not interactive.
        self._environ["GIT_TERMINAL_PROMPT"] = "0"
        self._known: dict[tuple[str, str | None], str] = {}

    def checkout(self, ref: VcsReference) -> tuple[str, Path]:
        """The full commit id ``ref`` names now, and the folder where it is checked out."""
        if ref.vcs != "git":
            raise PinlockError(
                f"cannot pin {redact_url(ref.url)}: only git references are supported "
                f"({ref.vcs}+ is not); pin a wheel or sdist URL instead"
            )
        commit = self.commit(ref)
        folder = self._root / hashlib.sha256(ref.url.encode()).hexdigest()[:24] / commit
        if not (folder / _DONE).is_file():
            self._fetch(ref.url, commit, folder)
        return commit, folder

    def commit(self, ref: VcsReference) -> str:
        key = (ref.url, ref.revision)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._resolve(ref)
        return known

    def _resolve(self, ref: VcsReference) -> str:
        revision = ref.revision
        if revision is not None and _FULL_COMMIT.match(revision.lower()):
            return revision.lower()
        listed = self._git(["ls-remote", ref.url], url=ref.url)
        refs: dict[str, str] = {}
        for line in listed.splitlines():
            sha, _, name = line.partition("\t")
            refs[name.strip()] = sha.strip()
        wanted = (
            ["HEAD"]
            if revision is None
            else [
                f"refs/tags/{revision}^{{}}",  # an annotated tag, peeled to its commit
                f"refs/tags/{revision}",
                f"refs/heads/{revision}",
                revision,
            ]
        )
        for name in wanted:
            if name in refs:
                return refs[name]
        if revision is not None and re.fullmatch(r"[0-9a-fA-F]{4,39}", revision):
            return self._expand_short(ref.url, revision)
        raise PinlockError(
            f"{redact_url(ref.url)} has no branch or tag {revision!r} (git ls-remote lists "
            f"{len(refs)} refs)"
        )

    def _expand_short(self, url: str, revision: str) -> str:
        """A short commit id, which only a full fetch can expand."""
        with tempfile.TemporaryDirectory(prefix="pinlock-git-") as tmp:
            self._git(["init", "-q", tmp], url=url)
            self._git(["-C", tmp, "fetch", "-q", url, "+refs/*:refs/remotes/all/*"], url=url)
            found = self._git(
                ["-C", tmp, "rev-parse", "--verify", f"{revision}^{{commit}}"], url=url
            )
        return found.strip()

    def _fetch(self, url: str, commit: str, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        try:
            self._git(["init", "-q", str(work)], url=url)
            self._git(["-C", str(work), "fetch", "-q", "--depth", "1", url, commit], url=url)
            self._git(["-C", str(work), "checkout", "-q", "--detach", "FETCH_HEAD"], url=url)
            (work / _DONE).write_text(commit + "\n", encoding="utf-8")
            try:
                work.rename(folder)
            except OSError:
                if not (folder / _DONE).is_file():  # not another run's finished checkout
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _git(self, args: Sequence[str], *, url: str) -> str:
        git = shutil.which("git", path=self._environ.get("PATH"))
        if git is None:
            raise PinlockError(
                f"{redact_url(url)} is a git reference, and pinning it to a commit needs git, "
                "which is not on PATH: install git, or pin a wheel or sdist URL instead"
            )
        try:
            done = subprocess.run(
                [git, *args],
                env=self._environ,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as error:
            raise PinlockError(f"cannot run git: {error.strerror or error}") from None
        if done.returncode:
            reason = redact_text(
                done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
            )
            raise NetworkError(
                url, 1, f"git {args[0] if args[0] != '-C' else args[2]} failed: {reason}"
            )
        return done.stdout
