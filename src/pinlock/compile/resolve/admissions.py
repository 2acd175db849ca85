"""Which versions a specifier admits: answers the resolver asks for again and again, kept."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from pinlock.compile.resolve.versions import ProjectVersions

__all__ = ["Admissions"]


class Admissions:
    """Specifier-against-version answers for one resolution, pre-releases included (callers
    decide those)."""

    def __init__(self) -> None:
        self._by_specifier: dict[int, tuple[SpecifierSet, dict[Version, bool]]] = {}
        self._listed: dict[tuple[NormalizedName, str], frozenset[Version]] = {}

    def admits(self, specifier: SpecifierSet, version: Version) -> bool:
        """Whether ``specifier`` admits ``version``.

        Kept by the specifier's identity: resolvelib re-checks every pin against every
        requirement each round, and hashing a SpecifierSet costs more than the check itself
        (the set is kept with its answers, so its id is not reused meanwhile).
        """
        entry = self._by_specifier.get(id(specifier))
        if entry is None or entry[0] is not specifier:
            entry = self._by_specifier[id(specifier)] = (specifier, {})
        known = entry[1].get(version)
        if known is None:
            known = entry[1][version] = specifier.contains(version, prereleases=True)
        return known

    def listed(
        self, name: NormalizedName, specifier: SpecifierSet, versions: ProjectVersions
    ) -> frozenset[Version]:
        """The listed versions of ``name`` (yanked ones too) that ``specifier`` admits.

        Kept by the specifier's text: the same limit (``traitlets>=5.3``) comes from many
        projects as separate objects, and a project lists hundreds of versions; each new
        requirement on a project then costs set lookups instead of a pass over them all.
        """
        key = (name, str(specifier))
        known = self._listed.get(key)
        if known is None:
            known = frozenset(
                v
                for table in (versions.usable, versions.yanked_only)
                for v in table
                if specifier.contains(v, prereleases=True)
            )
            self._listed[key] = known
        return known
