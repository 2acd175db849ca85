"""The resolvelib provider: a thin adapter over the factory, and the order in which to pin.

The order follows pip's provider (``narrow_requirement_selection`` and ``get_preference``), with
one addition: the target's Python alone first; then what the input files ask for (their limits
apply before anything else chooses); then the projects named by the last backtrack (the
requirements that clashed and the candidates that asked for them), since no solution exists
while that clash stands; then projects that keep turning up in clashes without being pinned;
and among the rest, direct references and exact pins, upper-bounded requirements, the inputs
in the order given, any constrained requirement, and the name for determinism.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from packaging.specifiers import SpecifierSet
from resolvelib.providers import AbstractProvider
from resolvelib.structs import RequirementInformation

from pinlock.compile.resolve.candidates import (
    PYTHON_IDENTIFIER,
    AnyCandidate,
    ExplicitRequirement,
    PythonRequirement,
    Requirement,
    split_identifier,
)
from pinlock.compile.resolve.factory import Factory

__all__ = ["Provider"]

_Info = RequirementInformation[Requirement, AnyCandidate]
_Preference = tuple[bool, bool, bool, bool, float, bool, str]
# What a requirement tells the pinning order: direct reference, exact pin, upper bound, any limit.
_Limits = tuple[bool, bool, bool, bool]

# How often a project must be named by a backtrack while still unpinned before it is pinned
# ahead of everything else (pip's threshold): its limits then apply before others choose.
_PROMOTE_AFTER_CONFLICTS = 5


class Provider(AbstractProvider[Requirement, AnyCandidate, str]):
    def __init__(self, factory: Factory, *, input_order: Mapping[str, int] | None = None) -> None:
        self.factory = factory
        self._input_order = dict(input_order or {})
        self._conflicts: defaultdict[str, int] = defaultdict(int)
        self._promoted: set[str] = set()
        # resolvelib asks both of these over and over (every pin against every requirement on
        # it, each round; every unpinned project's preference, each round) and the answers
        # never change. Requirements and candidates live as long as the resolution (the
        # factory holds them), and each entry keeps its objects, so their ids stay unique keys.
        self._satisfied: dict[tuple[int, int], tuple[Requirement, AnyCandidate, bool]] = {}
        self._limits: dict[int, tuple[Requirement, _Limits]] = {}
        self._constraint_limits: dict[str, _Limits] = {}

    def identify(self, requirement_or_candidate: Requirement | AnyCandidate) -> str:
        return requirement_or_candidate.identifier

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, AnyCandidate],
        candidates: Mapping[str, Iterator[AnyCandidate]],
        information: Mapping[str, Iterator[_Info]],
        backtrack_causes: Sequence[_Info],
    ) -> Iterable[str]:
        """Python alone; else the identifiers the last backtrack named; else the promoted ones.

        Checking backtrack causes here is linear; in ``get_preference`` it would be quadratic.
        """
        causes: set[str] = set()
        for info in backtrack_causes:
            causes.add(info.requirement.identifier)
            if info.parent is not None:
                causes.add(info.parent.identifier)
        for identifier in causes:
            if identifier not in resolutions:
                self._conflicts[identifier] += 1
                if self._conflicts[identifier] >= _PROMOTE_AFTER_CONFLICTS:
                    self._promoted.add(identifier)
        inputs: list[str] = []
        named: list[str] = []
        promoted: list[str] = []
        for identifier in identifiers:
            if identifier == PYTHON_IDENTIFIER:
                return [identifier]
            if identifier in self._input_order:
                inputs.append(identifier)
            elif identifier in causes:
                named.append(identifier)
            elif identifier in self._promoted:
                promoted.append(identifier)
        return inputs or named or promoted or identifiers

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, AnyCandidate],
        candidates: Mapping[str, Iterator[AnyCandidate]],
        information: Mapping[str, Iterator[_Info]],
        backtrack_causes: Sequence[_Info],
    ) -> _Preference:
        direct, pinned, upper_bounded, constrained = self._limits_of_constraints(identifier)
        for info in information[identifier]:
            limits = self._limits_of(info.requirement)
            direct |= limits[0]
            pinned |= limits[1]
            upper_bounded |= limits[2]
            constrained |= limits[3]
        return (
            identifier not in self._promoted,
            not direct,
            not pinned,
            not upper_bounded,
            self._input_order.get(identifier, float("inf")),
            not constrained,
            identifier,
        )

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[AnyCandidate]],
    ) -> list[AnyCandidate] | Callable[[], Iterator[AnyCandidate]]:
        return self.factory.find_matches(
            identifier,
            list(requirements[identifier]),
            set(incompatibilities[identifier]),
            others=requirements,
        )

    def is_satisfied_by(self, requirement: Requirement, candidate: AnyCandidate) -> bool:
        key = (id(requirement), id(candidate))
        known = self._satisfied.get(key)
        if known is None:
            answer = self.factory.is_satisfied_by(requirement, candidate)
            known = self._satisfied[key] = (requirement, candidate, answer)
        return known[2]

    def _limits_of(self, requirement: Requirement) -> _Limits:
        known = self._limits.get(id(requirement))
        if known is None:
            if isinstance(requirement, ExplicitRequirement):
                limits: _Limits = (True, False, False, False)
            elif isinstance(requirement, PythonRequirement):
                limits = (False, False, False, False)
            else:
                limits = _specifier_limits([requirement.specifier])
            known = self._limits[id(requirement)] = (requirement, limits)
        return known[1]

    def _limits_of_constraints(self, identifier: str) -> _Limits:
        known = self._constraint_limits.get(identifier)
        if known is None:
            name = split_identifier(identifier)[0]
            constraints = self.factory.constraints.get(name, ())
            known = _specifier_limits([c.specifier for c in constraints])
            self._constraint_limits[identifier] = known
        return known

    def get_dependencies(self, candidate: AnyCandidate) -> Iterable[Requirement]:
        return self.factory.dependencies(candidate)


def _specifier_limits(specifiers: Iterable[SpecifierSet]) -> _Limits:
    """(direct, pinned, upper-bounded, constrained) of version limits: never direct."""
    pinned = upper_bounded = constrained = False
    for specifier in specifiers:
        for spec in specifier:
            constrained = True
            wildcard = spec.version.endswith("*")
            if spec.operator in ("==", "===") and not wildcard:
                pinned = True
            elif spec.operator in ("<", "<=", "~=") or (spec.operator == "==" and wildcard):
                upper_bounded = True
    return (False, pinned, upper_bounded, constrained)
