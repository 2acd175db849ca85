"""Readable explanations of an impossible resolution: which requirements clash, and who asked.

Each clashing requirement is shown once with the versions of the project that asked for it,
consecutive versions merged into one range (``jinja2>=3.1.2,<=3.1.6``), followed by the
shortest chain of dependents that leads from it to an input file. What exists of the project
follows: its usable versions, and the versions that have no file the target can use, by reason.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence

from packaging.utils import NormalizedName
from packaging.version import Version
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
from pinlock.errors import BuildError

__all__ = ["explain_conflict", "explain_set_aside", "set_aside_note"]

_MAX_CHAIN = 8
_MAX_NOTE = 240
_Info = RequirementInformation[Requirement, AnyCandidate]


def explain_conflict(
    causes: Collection[_Info],
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
    by_name: dict[str, list[_Info]] = defaultdict(list)
    for info in _with_clashes(causes, factory):
        by_name[info.requirement.identifier].append(info)
    lines = [f"cannot resolve the requirements for {target.description}:"]
    for identifier in sorted(by_name, key=lambda i: (i == PYTHON_IDENTIFIER, i)):
        infos = by_name[identifier]
        if identifier == PYTHON_IDENTIFIER:
            lines.append(f"  the target's Python is {target.python_full_version}, but")
        else:
            lines.append(f"  {identifier}:")
        for requirement, who in _askers(infos, factory, root_labels, root_lines or {}):
            lines.append(f"    {requirement} is required by {who}")
        if identifier != PYTHON_IDENTIFIER:
            lines.extend(_availability(identifier, [i.requirement for i in infos], factory))
    shown = {split_identifier(i)[0] for i in by_name}
    return "\n".join(lines) + explain_set_aside(factory, besides=shown)


def _with_clashes(causes: Collection[_Info], factory: Factory) -> list[_Info]:
    """The causes, with each project whose versions were all left out by forward checking
    replaced by the clashes that left them out: the dependency each version needed, and the
    requirements of others it could not be met with (followed a few levels down)."""
    infos = list(causes)
    done: set[str] = set()
    for _level in range(4):
        pending = {i.requirement.identifier for i in infos} - done - {PYTHON_IDENTIFIER}
        if not pending:
            break
        for identifier in sorted(pending):
            done.add(identifier)
            found = _clashes_of(identifier, [i.requirement for i in infos], factory)
            if found is None:
                continue
            infos = [i for i in infos if i.requirement.identifier != identifier]
            for candidate, (dep, against) in found:
                infos.append(RequirementInformation(dep, candidate))
                infos.extend(
                    RequirementInformation(
                        other,
                        other.required_by if isinstance(other, SpecifierRequirement) else None,
                    )
                    for other in against
                )
    # Other versions of a project named here that were left out for the same dependency.
    asked = {
        (info.parent.name, info.requirement.identifier)
        for info in infos
        if isinstance(info.parent, Candidate)
    }
    known = {(id(i.requirement), i.parent) for i in infos}
    for candidate, (dep, _against) in factory.clashes.items():
        if (candidate.name, dep.identifier) in asked and (id(dep), candidate) not in known:
            infos.append(RequirementInformation(dep, candidate))
    return infos


def _clashes_of(
    identifier: str, requirements: Sequence[Requirement], factory: Factory
) -> list[tuple[Candidate, tuple[Requirement, tuple[Requirement, ...]]]] | None:
    """Why each version the requirements on ``identifier`` admit was left out by forward
    checking; None unless that explains every one of them."""
    name, extras = split_identifier(identifier)
    if name in factory.explicit:
        return None
    specifiers = [
        r.specifier
        for r in requirements
        if isinstance(r, SpecifierRequirement) and r.identifier == identifier
    ]
    specifiers += [c.specifier for c in factory.constraints.get(name, ())]
    admitted = [
        v for v in factory.versions(name).usable if all(factory.admits(s, v) for s in specifiers)
    ]
    finals = [v for v in admitted if not v.is_prerelease]
    found = []
    for version in finals or admitted:
        candidate = Candidate(name=name, version=version)
        clash = factory.clashes.get(candidate)
        if clash is None:
            return None
        found.append((candidate.with_extras(extras), clash))
    return found or None


def set_aside_note(candidate: Candidate, error: Exception) -> str:
    """One line: which version was set aside, and why its metadata could not be had."""
    return f"{candidate.name} {candidate.version}: {_set_aside_reason(error)}"


def _set_aside_reason(error: Exception) -> str:
    if isinstance(error, BuildError):
        reason = f"could not build {error.what}: {_first_line(error.reason)}"
        last = _last_output_line(error.output)
        if last and last not in reason:
            reason += f" ({last})"
    else:
        reason = _first_line(str(error))
    if len(reason) > _MAX_NOTE:
        reason = reason[: _MAX_NOTE - 3] + "..."
    return reason


def explain_set_aside(factory: Factory, *, besides: Collection[str] = ()) -> str:
    """The versions set aside during a resolution that failed, one line each ("" for none),
    leaving out the projects in ``besides`` (their own lines list them already)."""
    notes = [
        f"    {set_aside_note(c, e)}" for c, e in factory.set_aside.items() if c.name not in besides
    ]
    if not notes:
        return ""
    also = "also " if besides else ""
    return f"\n  {also}set aside because their metadata could not be had:\n" + "\n".join(notes)


def _askers(
    infos: Sequence[_Info],
    factory: Factory,
    root_labels: Mapping[NormalizedName, Sequence[str]],
    root_lines: Mapping[Requirement, Sequence[str]],
) -> list[tuple[str, str]]:
    """(requirement, who asked) pairs: one per requirement text and asking project, with the
    asking versions merged into ranges."""
    groups: dict[tuple[str, str | None], list[_Info]] = defaultdict(list)
    for info in infos:
        parent = info.parent
        asker = parent.identifier if isinstance(parent, Candidate) else None
        groups[(_spelled(info.requirement), asker)].append(info)
    shown: list[tuple[str, str]] = []
    for (text, asker), members in groups.items():
        first = members[0]
        parent = first.parent
        if asker is None or not isinstance(parent, Candidate):
            who = _roots(first.requirement, parent, root_labels, root_lines)
        else:
            versions = {m.parent.version for m in members if isinstance(m.parent, Candidate)}
            who = _versions_text(asker, versions, factory)
            above = _shortest_chain(parent.name, factory, root_labels)
            if above:
                who += " <- " + " <- ".join(above)
        if (text, who) not in shown:
            shown.append((text, who))
    return shown


def _spelled(requirement: Requirement) -> str:
    """A requirement in one spelling (normalized name, sorted extras and specifiers), so the
    same requirement written two ways by two versions of a project is shown once."""
    if isinstance(requirement, SpecifierRequirement):
        return f"{requirement.identifier}{requirement.specifier}"
    return str(requirement)


def _roots(
    requirement: Requirement,
    parent: AnyCandidate | None,
    root_labels: Mapping[NormalizedName, Sequence[str]],
    root_lines: Mapping[Requirement, Sequence[str]],
) -> str:
    if parent is not None:  # the target's Python never asks for anything
        return str(parent)
    if isinstance(requirement, PythonRequirement):
        return "the inputs"
    name = split_identifier(requirement.identifier)[0]
    labels = root_lines.get(requirement) or root_labels.get(name) or ["the inputs"]
    return ", ".join(labels)


def _versions_text(identifier: str, versions: Collection[Version], factory: Factory) -> str:
    """``name 1.0``, or runs of consecutive versions as ranges: ``name>=1.0,<=1.4``."""
    ordered = sorted(versions)
    if len(ordered) == 1:
        return f"{identifier} {ordered[0]}"
    runs = _runs(ordered, _known_versions(identifier, factory))
    parts = [f"=={run[0]}" if len(run) == 1 else f">={run[0]},<={run[-1]}" for run in runs]
    if len(parts) == 1:
        return f"{identifier}{parts[0]}"
    return f"{identifier} ({' or '.join(parts)})"


def _known_versions(identifier: str, factory: Factory) -> list[Version]:
    name = split_identifier(identifier)[0]
    versions = factory.versions(name)
    return sorted({*versions.usable, *versions.yanked_only})


def _runs(chosen: Sequence[Version], known: Sequence[Version]) -> list[list[Version]]:
    """``chosen`` split where a known version between two of them is not chosen."""
    position = {version: index for index, version in enumerate(known)}
    runs: list[list[Version]] = []
    for version in chosen:
        if runs:
            previous = runs[-1][-1]
            here, before = position.get(version), position.get(previous)
            if here is not None and before is not None and here == before + 1:
                runs[-1].append(version)
                continue
        runs.append([version])
    return runs


def _shortest_chain(
    start: NormalizedName,
    factory: Factory,
    root_labels: Mapping[NormalizedName, Sequence[str]],
) -> list[str]:
    """The fewest dependents leading from ``start`` to an input file, then that file's label.

    A breadth-first walk over who asked for each project; among equally short chains the
    alphabetically first, each step shown at the newest of its versions that asked.
    """
    previous: dict[NormalizedName, NormalizedName | None] = {start: None}
    queue = deque([start])
    found: NormalizedName | None = None
    while queue:
        current = queue.popleft()
        askers = factory.required_by.get(current, set())
        if None in askers or (not askers and current != start):
            found = current
            break
        for name in sorted({c.name for c in askers if c is not None}):
            if name not in previous:
                previous[name] = current
                queue.append(name)
    if found is None:
        return []
    path: list[NormalizedName] = []
    step: NormalizedName | None = found
    while step is not None and step != start:
        path.append(step)
        step = previous[step]
    path.reverse()  # from the first dependent of ``start`` up to the input
    steps: list[str] = []
    below = start
    for name in path[: _MAX_CHAIN - 1]:
        asked = [c for c in factory.required_by.get(below, ()) if c is not None and c.name == name]
        steps.append(f"{name} {max(c.version for c in asked)}")
        below = name
    if len(path) < _MAX_CHAIN and root_labels.get(found):
        steps.append(", ".join(root_labels[found]))
    return steps


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
    lines.extend(
        f"    set aside ({_set_aside_reason(error)}): {candidate.version}"
        for candidate, error in factory.set_aside.items()
        if candidate.name == name
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


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()


def _last_output_line(output: str) -> str:
    lines: Iterable[str] = (line.strip() for line in output.strip().splitlines())
    meaningful = [line for line in lines if line and not line.startswith(("File ", "^", "~"))]
    return meaningful[-1] if meaningful else ""
