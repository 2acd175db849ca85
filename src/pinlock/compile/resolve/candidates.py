"""What the resolver chooses between (candidates) and what it must satisfy (requirements).

Identifiers follow pip's split: ``name`` for a project, ``name[extra,...]`` for the same project
with extras (an extras candidate depends on its base candidate at the same version), and
``<python>`` for the target interpreter, so a Requires-Python clash shows up as a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.index.models import DistFile

__all__ = [
    "PYTHON_IDENTIFIER",
    "Candidate",
    "Constraint",
    "ExplicitRequirement",
    "MetadataOrigin",
    "PythonCandidate",
    "PythonRequirement",
    "Requirement",
    "SpecifierRequirement",
    "identifier_for",
    "split_identifier",
]

PYTHON_IDENTIFIER = "<python>"


def identifier_for(name: NormalizedName, extras: Iterable[str] = ()) -> str:
    """``name`` or ``name[a,b]`` with sorted, normalized extras."""
    if not extras:
        return name
    wanted = sorted({canonicalize_name(e) for e in extras})
    return f"{name}[{','.join(wanted)}]" if wanted else name


def split_identifier(identifier: str) -> tuple[NormalizedName, frozenset[NormalizedName]]:
    name, _, rest = identifier.partition("[")
    extras = frozenset(NormalizedName(e) for e in rest.rstrip("]").split(",") if e)
    return NormalizedName(name), extras


class MetadataOrigin(Enum):
    """Where a pinned version's dependencies were read from (the value says it in words)."""

    WHEEL = "a wheel for the target"
    OTHER_WHEEL = "a wheel for another platform"
    SDIST = "the sdist's PKG-INFO"
    BUILT = "building the sdist on this machine"
    SOURCE = "the project itself"


@dataclass(frozen=True, kw_only=True, slots=True)
class Constraint:
    """A version limit that does not itself ask for the package (``-c``, a layer below).

    ``annotate`` says whether a lock names it in the package's ``# via`` (pip-compile lists
    constraint files there; pins inherited from a base layer are not listed).
    """

    name: NormalizedName
    specifier: SpecifierSet
    label: str
    annotate: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """One version of a project (with extras, when ``extras`` is non-empty).

    ``files`` are the files of that version usable on the target, best first; metadata is read
    from ``metadata_file`` (``files[0]`` when None), which is a wheel for another platform when
    no wheel fits the target (see ``versions``). A direct reference (URL, local path, editable)
    has ``link`` set and its ``files`` hold the one file it points at, if it is a file.
    """

    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName] = frozenset()
    files: tuple[DistFile, ...] = field(default=(), compare=False, hash=False)
    metadata_file: DistFile | None = field(default=None, compare=False, hash=False)
    link: str | None = None
    editable: bool = False
    source_dir: str | None = field(default=None, compare=False, hash=False)

    @property
    def identifier(self) -> str:
        return identifier_for(self.name, self.extras)

    @property
    def base(self) -> Candidate:
        """The same version without extras."""
        return self.with_extras(frozenset()) if self.extras else self

    def with_extras(self, extras: frozenset[NormalizedName]) -> Candidate:
        """The same version with exactly these extras."""
        return self if extras == self.extras else replace(self, extras=extras)

    def __str__(self) -> str:
        return f"{self.identifier} {self.version}"


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonCandidate:
    """The target interpreter, as the single candidate for ``<python>``."""

    version: Version
    description: str

    @property
    def identifier(self) -> str:
        return PYTHON_IDENTIFIER

    def __str__(self) -> str:
        return f"Python {self.version}"


@dataclass(frozen=True, kw_only=True, slots=True)
class SpecifierRequirement:
    """``name[extras] specifier`` coming from an input file or a dependency's metadata.

    ``label`` is how a conflict explanation shows where it came from (``-r main.in`` or the
    requiring candidate is known to resolvelib already; the label adds the original text).
    """

    name: NormalizedName
    extras: frozenset[NormalizedName]
    specifier: SpecifierSet
    text: str
    # The candidate whose metadata states it (None for an input line): explanations name it,
    # and a candidate is never checked against what its own project asked for.
    required_by: Candidate | None = field(default=None, compare=False, hash=False)

    @property
    def identifier(self) -> str:
        return identifier_for(self.name, self.extras)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, kw_only=True, slots=True)
class ExplicitRequirement:
    """Exactly this candidate: an extras candidate's base, or a direct URL / editable input."""

    candidate: Candidate
    text: str

    @property
    def identifier(self) -> str:
        return self.candidate.identifier

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonRequirement:
    """A candidate's Requires-Python, checked against the target interpreter."""

    specifier: SpecifierSet

    @property
    def identifier(self) -> str:
        return PYTHON_IDENTIFIER

    def __str__(self) -> str:
        return f"Python{self.specifier}"


Requirement = SpecifierRequirement | ExplicitRequirement | PythonRequirement
AnyCandidate = Candidate | PythonCandidate
