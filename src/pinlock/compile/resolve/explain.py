"""Readable explanations of an impossible resolution: which requirements clash, and who asked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

from packaging.utils import NormalizedName
from resolvelib.structs import RequirementInformation

from pinlock.compile.resolve.candidates import (
    PYTHON_IDENTIFIER,
    AnyCandidate,
    Candidate,
    PythonRequirement,
    Requirement,
    SpecifierRequirement,
    split_identifier,
)
from pinlock.compile.resolve.factory import Factory

__all__ = ["explain_conflict"]

_MAX_CHAIN = 8


def explain_conflict(
    causes: Collection[RequirementInformation[Requirement, AnyCandidate]],
    factory: Factory,
    root_labels: Mapping[NormalizedName, Sequence[str]],
    *,
    root_lines: Mapping[Requirement, Sequence[str]] | None = None,
) -> str:
    """A multi-line explanation naming each clashing requirement and its chain of dependents.

    ``root_labels`` name the input files asking for each project; ``root_lines`` the files
    that wrote each root requirement, so two clashing lines are each shown with their own file.
    """
    target = factory.target
    by_name: dict[str, list[RequirementInformation[Requirement, AnyCandidate]]] = defaultdict(list)
    for info in causes:
        by_name[info.requirement.identifier].append(info)
    lines = [f"cannot resolve the requirements for {target.description}:"]
    for identifier in sorted(by_name, key=lambda i: (i == PYTHON_IDENTIFIER, i)):
        infos = by_name[identifier]
        if identifier == PYTHON_IDENTIFIER:
            lines.append(f"  the target's Python is {target.python_full_version}, but")
        else:
            lines.append(f"  {identifier}:")
        seen: set[str] = set()
        for info in infos:
            who = _chain(info.parent, factory, root_labels, info.requirement, root_lines or {})
            text = f"    {info.requirement} is required by {who}"
            if text not in seen:
                seen.add(text)
                lines.append(text)
        if identifier != PYTHON_IDENTIFIER:
            lines.extend(_availability(identifier, [i.requirement for i in infos], factory))
    return "\n".join(lines)


def _chain(
    parent: AnyCandidate | None,
    factory: Factory,
    root_labels: Mapping[NormalizedName, Sequence[str]],
    requirement: Requirement,
    root_lines: Mapping[Requirement, Sequence[str]],
) -> str:
    if parent is None:
        if isinstance(requirement, PythonRequirement):
            return "the inputs"
        name = split_identifier(requirement.identifier)[0]
        labels = root_lines.get(requirement) or root_labels.get(name) or ["the inputs"]
        return ", ".join(labels)
    if not isinstance(parent, Candidate):
        return str(parent)
    steps = [f"{parent.name} {parent.version}"]
    current: NormalizedName = parent.name
    visited = {current}
    while len(steps) < _MAX_CHAIN:
        askers = factory.required_by.get(current, set())
        if None in askers or not askers:
            if root_labels.get(current):
                steps.append(", ".join(root_labels[current]))
            break
        # Deterministic choice of one path: the alphabetically first dependent not yet visited,
        # at the newest of its versions that asked (backtracking leaves several in the set).
        eligible = [c for c in askers if c is not None and c.name not in visited]
        if not eligible:
            break
        first = min(c.name for c in eligible)
        nxt = max((c for c in eligible if c.name == first), key=lambda c: c.version)
        steps.append(f"{nxt.name} {nxt.version}")
        current = nxt.name
        visited.add(current)
    return " <- ".join(steps)


def _availability(
    identifier: str, requirements: Sequence[Requirement], factory: Factory
) -> list[str]:
    """What exists for a project, so "no version fits" can be told from "versions clash"."""
    name, _extras = split_identifier(identifier)
    if name in factory.explicit:
        return []
    versions = factory.versions(name)
    lines: list[str] = []
    usable = list(versions.usable)
    if usable:
        shown = ", ".join(str(v) for v in usable[:8]) + (" ..." if len(usable) > 8 else "")
        lines.append(f"    versions usable on this target: {shown}")
    elif not versions.rejected and not versions.yanked_only:
        lines.append("    no configured index or find-links source lists any file of it")
    else:
        lines.append("    no version of it can be used on this target")
    yanked = list(versions.yanked_only)
    if yanked:
        # PEP 592: without this, a yanked release reads as if it did not exist.
        lines.append(
            f"    yanked (used only when pinned with ==): {', '.join(str(v) for v in yanked[:3])}"
            + (" ..." if len(yanked) > 3 else "")
        )
    for reason, rejected in sorted(versions.rejected.items()):
        newest = sorted(rejected, reverse=True)[:3]
        lines.append(
            f"    set aside ({reason}): {', '.join(str(v) for v in newest)}"
            + (" ..." if len(rejected) > 3 else "")
        )
    flavour = factory.options.flavour
    if flavour is not None and flavour.owns(name):
        # Otherwise "no version" reads as if the normal indexes had been searched too.
        lines.append(f"    {name} comes only from the {flavour.name} flavour index {flavour.index}")
    constrained = factory.constraints.get(name, ())
    lines.extend(f"    constrained to {name}{c.specifier} by {c.label}" for c in constrained)
    specs = [r.specifier for r in requirements if isinstance(r, SpecifierRequirement)]
    limits = [*specs, *(c.specifier for c in constrained)]
    if specs and usable and not any(all(factory.admits(s, v) for s in limits) for v in usable):
        lines.append("    no usable version satisfies all of the requirements above at once")
    return lines
