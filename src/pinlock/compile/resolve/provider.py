"""The resolvelib provider: a thin adapter over the factory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from resolvelib.providers import AbstractProvider
from resolvelib.structs import RequirementInformation

from pinlock.compile.resolve.candidates import (
    AnyCandidate,
    ExplicitRequirement,
    PythonRequirement,
    Requirement,
)
from pinlock.compile.resolve.factory import Factory

__all__ = ["Provider"]

_Info = RequirementInformation[Requirement, AnyCandidate]


class Provider(AbstractProvider[Requirement, AnyCandidate, str]):
    def __init__(self, factory: Factory) -> None:
        self.factory = factory

    def identify(self, requirement_or_candidate: Requirement | AnyCandidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, AnyCandidate],
        candidates: Mapping[str, Iterator[AnyCandidate]],
        information: Mapping[str, Iterator[_Info]],
        backtrack_causes: Sequence[_Info],
    ) -> tuple[bool, bool, bool, bool, str]:
        infos = list(information[identifier])
        requirements = [info.requirement for info in infos]
        # Python first (it has one candidate), then direct references and exact pins, then
        # whatever caused the last backtrack, then the rest by name for determinism.
        is_python = any(isinstance(r, PythonRequirement) for r in requirements)
        is_explicit = any(isinstance(r, ExplicitRequirement) for r in requirements)
        is_pinned = any(
            spec.operator in ("==", "===")
            for r in requirements
            if not isinstance(r, PythonRequirement | ExplicitRequirement)
            for spec in r.specifier
        )
        causes = {info.requirement.identifier for info in backtrack_causes}
        return (not is_python, not is_explicit, not is_pinned, identifier not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[AnyCandidate]],
    ) -> list[AnyCandidate]:
        return self.factory.find_matches(
            identifier, list(requirements[identifier]), set(incompatibilities[identifier])
        )

    def is_satisfied_by(self, requirement: Requirement, candidate: AnyCandidate) -> bool:
        return self.factory.is_satisfied_by(requirement, candidate)

    def get_dependencies(self, candidate: AnyCandidate) -> Iterable[Requirement]:
        return self.factory.dependencies(candidate)
