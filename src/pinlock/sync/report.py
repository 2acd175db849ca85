"""What one sync found and did, as a value: the environment, the plan, the flavour, the result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pinlock.urls import redact_url

if TYPE_CHECKING:
    # Typing only: a sync that changes nothing never imports the install machinery, and one
    # without --flavour never imports the flavour detection.
    from pinlock.sync.apply import ApplyResult
    from pinlock.sync.environment import Environment
    from pinlock.sync.flavours import FlavourChoice
    from pinlock.sync.plan import Plan

__all__ = ["SyncReport"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncReport:
    """The outcome of ``pinlock.sync.sync``.

    ``environment`` is the target as inspected before any change (after repairs); ``locks`` the
    lock files read (after the flavour choice); ``plan`` what makes the environment match them;
    ``flavour`` how the lock was chosen when a flavour was asked for. ``applied`` is what was
    done, None when nothing was installed or removed (a dry run, or nothing to do). ``notes``
    are things worth telling the user that are no error. ``repaired`` says what a killed run
    had left and this one repaired; ``pending_repairs`` what a dry run found to repair.
    ``unchecked`` names packages whose dependencies could not be checked (no metadata at hand).
    """

    environment: Environment
    locks: tuple[Path, ...]
    plan: Plan
    flavour: FlavourChoice | None = None
    applied: ApplyResult | None = None
    notes: tuple[str, ...] = ()
    repaired: tuple[str, ...] = ()
    pending_repairs: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()

    @property
    def differs(self) -> bool:
        """Whether the environment differed from the locks (before any change)."""
        return not self.plan.is_empty or bool(self.pending_repairs)

    @property
    def changed(self) -> bool:
        """Whether this sync changed the environment (repairs included)."""
        return self.applied is not None or bool(self.repaired)

    def as_json(self) -> dict[str, Any]:
        """The report as ``pinlock sync --json`` prints it (JSON-ready values; docs/json.md)."""
        env = self.environment
        applied = self.applied
        report: dict[str, Any] = {
            "python": str(env.python),
            "prefix": str(env.prefix),
            "target": env.target.name,
            "locks": [str(path) for path in self.locks],
            "applied": self.changed,
            "changes": [
                {
                    "action": step.action.value,
                    "name": step.name,
                    "installed": step.installed.raw_version if step.installed else None,
                    "wanted": _text(step.wanted.version) if step.wanted else None,
                    "url": redact_url(step.wanted.url) if step.wanted and step.wanted.url else None,
                    "reason": step.reason or _REASONS.get(step.action.value, ""),
                }
                for step in self.plan.changes
            ],
            "result": None
            if applied is None
            else {
                "installed": list(applied.installed),
                "removed": list(applied.removed),
                "built": list(applied.built),
            },
            "kept": [step.name for step in self.plan.steps if not step.is_change],
            "skipped": [package.shown_text for package in self.plan.skipped],
            "repaired": list(self.repaired),
            "pending_repairs": list(self.pending_repairs),
            "unchecked": list(self.unchecked),
        }
        choice = self.flavour
        report["flavour"] = None
        if choice is not None:
            report["flavour"] = {
                "requested": choice.requested,
                "chosen": choice.chosen.flavour,
                "lock": str(choice.chosen.path),
                "reason": choice.reason,
                "available": {str(lock.path): lock.flavour for lock in choice.candidates},
            }
        return report


# Why a change is made, when the plan's step says nothing more particular.
_REASONS = {
    "install": "not installed",
    "upgrade": "older than the lock's",
    "downgrade": "newer than the lock's",
    "remove": "in no lock",
}


def _text(value: object) -> str | None:
    return None if value is None else str(value)
