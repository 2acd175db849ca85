"""The difference between what a lock wants and what an environment has: a pure function."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from pinlock.lock.model import LockedPackage
from pinlock.sync.environment import InstalledDist
from pinlock.urls import is_file_url, local_path, redact_url, strip_userinfo

__all__ = ["Action", "Plan", "Step", "make_plan", "seed_names"]


class Action(Enum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    REINSTALL = "reinstall"
    REMOVE = "remove"
    KEEP = "keep"


_SYMBOLS = {
    Action.INSTALL: "+",
    Action.REMOVE: "-",
    Action.UPGRADE: "~",
    Action.DOWNGRADE: "~",
    Action.REINSTALL: "~",
    Action.KEEP: "=",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """What happens to one package; ``reason`` says why in a few words."""

    action: Action
    name: NormalizedName
    installed: InstalledDist | None = None
    wanted: LockedPackage | None = None
    reason: str = ""

    @property
    def is_change(self) -> bool:
        return self.action is not Action.KEEP

    @property
    def summary(self) -> str:
        """One line: ``+ name 1.2``, ``- name 0.3``, ``~ name 1.0 -> 1.2``."""
        before = _describe_installed(self.installed) if self.installed else ""
        after = _describe_wanted(self.wanted) if self.wanted else ""
        symbol = _SYMBOLS[self.action]
        if self.action is Action.INSTALL:
            text = f"{symbol} {self.name} {after}"
        elif self.action in (Action.REMOVE, Action.KEEP):
            text = f"{symbol} {self.name} {before}"
        else:
            text = f"{symbol} {self.name} {before} -> {after}"
        text = text.rstrip()
        return (
            f"{text} ({self.reason})" if self.reason and self.action is Action.REINSTALL else text
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """Every step, sorted by name; ``skipped`` are lock lines whose markers exclude the target."""

    steps: tuple[Step, ...]
    skipped: tuple[LockedPackage, ...] = ()

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.is_change)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def to_uninstall(self) -> tuple[InstalledDist, ...]:
        """Installed distributions that go away: removed, or replaced by another install."""
        return tuple(
            step.installed
            for step in self.changes
            if step.installed is not None and step.action is not Action.INSTALL
        )

    @property
    def to_install(self) -> tuple[LockedPackage, ...]:
        return tuple(
            step.wanted
            for step in self.changes
            if step.wanted is not None and step.action is not Action.REMOVE
        )

    def count(self, action: Action) -> int:
        return sum(1 for step in self.steps if step.action is action)


def seed_names(python_version: tuple[int, ...]) -> frozenset[NormalizedName]:
    """Packages ``venv`` installs itself: pip, and setuptools and wheel before Python 3.12."""
    names = {"pip"} if python_version >= (3, 12) else {"pip", "setuptools", "wheel"}
    return frozenset(canonicalize_name(n) for n in names)


def make_plan(
    wanted: Iterable[LockedPackage],
    installed: Iterable[InstalledDist],
    *,
    python_version: tuple[int, ...],
    protected: Collection[NormalizedName] = (),
    skipped: Iterable[LockedPackage] = (),
) -> Plan:
    """Compare ``wanted`` (already filtered for the target) with ``installed``.

    Unlisted installed distributions are removed, except seed packages and ``protected`` ones,
    which are kept. Listed ones follow the lock.
    """
    wanted_by_name = {package.name: package for package in wanted}
    installed_by_name = {dist.name: dist for dist in installed}
    spared = seed_names(python_version) | frozenset(protected)
    steps: list[Step] = []
    for name in sorted(wanted_by_name.keys() | installed_by_name.keys()):
        want = wanted_by_name.get(name)
        have = installed_by_name.get(name)
        if want is None:
            assert have is not None
            if name in spared:
                reason = "seed" if name in seed_names(python_version) else "needed by pinlock"
                steps.append(Step(action=Action.KEEP, name=name, installed=have, reason=reason))
            else:
                steps.append(Step(action=Action.REMOVE, name=name, installed=have))
        elif have is None:
            steps.append(Step(action=Action.INSTALL, name=name, wanted=want))
        else:
            action, reason = _compare(want, have)
            steps.append(Step(action=action, name=name, installed=have, wanted=want, reason=reason))
    return Plan(steps=tuple(steps), skipped=tuple(skipped))


def _compare(want: LockedPackage, have: InstalledDist) -> tuple[Action, str]:
    if want.editable:
        if not have.editable:
            return Action.REINSTALL, "editable in the lock"
        if not _same_location(want.url, have.url):
            return Action.REINSTALL, "editable from another path"
        return Action.KEEP, "editable"
    if have.editable:
        return Action.REINSTALL, "installed editable"
    if want.url is not None:
        if have.url is None or not _same_location(want.url, have.url):
            return Action.REINSTALL, "other URL"
        if want.version is not None and have.version != want.version:
            return Action.REINSTALL, "other version"
        return Action.KEEP, ""
    if have.url is not None and not is_file_url(have.url):
        return Action.REINSTALL, "installed from a URL"
    if have.version is None:
        return Action.REINSTALL, f"unreadable installed version {have.raw_version!r}"
    assert want.version is not None
    if have.version == want.version:
        return Action.KEEP, ""
    if have.version.public == want.version.public:
        return Action.REINSTALL, "other local version"
    if have.version < want.version:
        return Action.UPGRADE, ""
    return Action.DOWNGRADE, ""


def _same_location(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    path_a, path_b = local_path(a), local_path(b)
    if path_a is not None and path_b is not None:
        return _resolved(path_a) == _resolved(path_b)
    # direct_url.json is written without credentials; the lock's URL may carry them.
    return strip_userinfo(a)[0].rstrip("/") == strip_userinfo(b)[0].rstrip("/")


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _describe_installed(dist: InstalledDist) -> str:
    if dist.editable and dist.url:
        return f"{dist.raw_version} (editable {redact_url(dist.url)})"
    return dist.raw_version


def _describe_wanted(package: LockedPackage) -> str:
    if package.editable:
        return f"(editable {redact_url(package.url or '')})"
    if package.url is not None:
        return f"{package.version or ''} ({redact_url(package.url)})".strip()
    return str(package.version)
