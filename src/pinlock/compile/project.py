"""A project's own requirements as compile input: ``pyproject.toml``, ``setup.cfg``, ``setup.py``.

``[project] dependencies``, the optional dependencies of the extras asked for (``--extra``,
``--all-extras``) and PEP 735 dependency groups (``--group``, following ``include-group``)
become requirement lines labelled with where they come from: ``pyproject.toml``,
``pyproject.toml (extra: test)``, ``pyproject.toml (group: docs)``.

The ``[project]`` table is read as written when what is needed of it is static; otherwise, and
for ``setup.cfg`` / ``setup.py``, the project's build backend prepares its metadata (PEP 517, in
an isolated build environment unless build isolation is off). Dependency groups are never
dynamic. An extra or group naming the project itself (``app[test]``) brings that extra's
requirements, as pip and uv read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pinlock.coremetadata import parse_metadata
from pinlock.errors import ConfigError, MetadataError
from pinlock.origin import Origin
from pinlock.pyproject import read_toml
from pinlock.reqfile import ReqLine

__all__ = ["ProjectInputs", "ProjectSelection"]

MetadataBuilder = Callable[[Path, str, bool], bytes]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectSelection:
    """What of a project to lock besides its dependencies; names as the user wrote them."""

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    build_isolation: bool = True

    @property
    def wants_anything(self) -> bool:
        return bool(self.extras or self.all_extras or self.groups)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Entry:
    """One requirement as the project declares it, and its line in the file (0: unknown)."""

    requirement: Requirement
    text: str
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class _Project:
    name: NormalizedName | None
    dependencies: tuple[_Entry, ...]
    extras: Mapping[NormalizedName, tuple[_Entry, ...]]
    # Group name -> its items: requirements, or the (normalized) name of an included group.
    groups: Mapping[NormalizedName, tuple[_Entry | NormalizedName, ...]] = field(
        default_factory=dict
    )


class ProjectInputs:
    """Reads project files into requirement lines, each project once per run.

    Callable as a ``pinlock.reqfile.ProjectReader``. ``build_metadata(folder, what, isolation)``
    returns the core metadata a backend prepares (default: ``pinlock.compile.sdist``).
    """

    def __init__(
        self, selection: ProjectSelection, *, build_metadata: MetadataBuilder | None = None
    ) -> None:
        self.selection = selection
        self._build = build_metadata or _prepare_metadata
        self._projects: dict[Path, _Project] = {}
        self._extras = {canonicalize_name(e) for e in selection.extras}
        self._groups = {canonicalize_name(g) for g in selection.groups}

    @property
    def names(self) -> frozenset[NormalizedName]:
        """The names of the projects read so far (``--no-emit-project`` leaves them out)."""
        return frozenset(p.name for p in self._projects.values() if p.name is not None)

    def __call__(self, path: Path, label: str, *, constraint: bool = False) -> list[ReqLine]:
        project = self._project(path, label)
        lines = [
            _line(entry, label, label, constraint)
            for entry in project.dependencies
            if _names(entry) != project.name
        ]
        extras = set(project.extras) if self.selection.all_extras else self._extras
        for extra in sorted(extras & set(project.extras)):
            for written_in, entry in self._extra_entries(project, extra, ()):
                lines.append(_line(entry, label, f"{label} ({written_in})", constraint))
        for group in sorted(self._groups & set(project.groups)):
            for written_in, entry in self._group_entries(project, group, (), label):
                lines.append(_line(entry, label, f"{label} ({written_in})", constraint))
        return lines

    def check_selection(self) -> None:
        """Every extra and group asked for is declared by a project read in this run."""
        what = {"--extra": self._extras, "--group": self._groups}
        if not self._projects:
            for option, names in what.items():
                if names or (option == "--extra" and self.selection.all_extras):
                    raise ConfigError(
                        option,
                        ", ".join(sorted(names)) or "--all-extras",
                        "applies to project inputs (pyproject.toml, setup.cfg, setup.py); "
                        "none was given",
                    )
            return
        declared_extras = {e for p in self._projects.values() for e in p.extras}
        declared_groups = {g for p in self._projects.values() for g in p.groups}
        for option, names, declared in (
            ("--extra", self._extras, declared_extras),
            ("--group", self._groups, declared_groups),
        ):
            missing = sorted(names - declared)
            if missing:
                known = ", ".join(sorted(declared)) or "none"
                raise ConfigError(
                    option, ", ".join(missing), f"no project input declares it (declared: {known})"
                )

    # -- expansion -------------------------------------------------------------------------

    def _extra_entries(
        self, project: _Project, extra: NormalizedName, seen: tuple[NormalizedName, ...]
    ) -> Iterable[tuple[str, _Entry]]:
        """The requirements of one extra, each with where it is written (``extra: test``)."""
        if extra in seen:
            return
        for entry in project.extras.get(extra, ()):
            if project.name is not None and _names(entry) == project.name:
                # ``app[test]`` inside an extra of app: that extra's requirements too.
                for inner in sorted(canonicalize_name(e) for e in entry.requirement.extras):
                    for written_in, found in self._extra_entries(project, inner, (*seen, extra)):
                        yield written_in, _and_marker(found, entry.requirement.marker)
                continue
            yield f"extra: {extra}", entry

    def _group_entries(
        self,
        project: _Project,
        group: NormalizedName,
        seen: tuple[NormalizedName, ...],
        label: str,
    ) -> Iterable[tuple[str, _Entry]]:
        if group in seen:
            chain = " -> ".join([*seen, group])
            raise ConfigError(label, "dependency-groups", f"include-group cycle: {chain}")
        if group not in project.groups:
            raise ConfigError(
                label, "dependency-groups", f"include-group names an unknown group {group!r}"
            )
        for item in project.groups[group]:
            if not isinstance(item, _Entry):
                yield from self._group_entries(project, item, (*seen, group), label)
            elif project.name is not None and _names(item) == project.name:
                # The project itself in a group: its dependencies are already locked; its
                # extras are added.
                for extra in sorted(canonicalize_name(e) for e in item.requirement.extras):
                    for written_in, found in self._extra_entries(project, extra, ()):
                        yield written_in, _and_marker(found, item.requirement.marker)
            else:
                yield f"group: {group}", item

    # -- reading -------------------------------------------------------------------------

    def _project(self, path: Path, label: str) -> _Project:
        key = path.resolve()
        known = self._projects.get(key)
        if known is None:
            known = self._projects[key] = self._read(path, label)
        return known

    def _read(self, path: Path, label: str) -> _Project:
        folder = path.parent
        document: Mapping[str, object] = {}
        pyproject = folder / "pyproject.toml"
        text = ""
        if pyproject.is_file():
            try:
                document = read_toml(pyproject)
                text = pyproject.read_text(encoding="utf-8")
            except OSError as error:
                raise ConfigError(str(pyproject), "(file)", error.strerror or str(error)) from None
        lines = _LineFinder(text)
        groups = _groups(document.get("dependency-groups"), label, lines)
        table = document.get("project")
        if path.name == "pyproject.toml" and isinstance(table, dict) and self._static(table):
            name = table.get("name")
            return _Project(
                name=canonicalize_name(name) if isinstance(name, str) else None,
                dependencies=_entries(table.get("dependencies"), label, "dependencies", lines),
                extras=_extras(table.get("optional-dependencies"), label, lines),
                groups=groups,
            )
        what = label if path.name != "setup.py" else f"{label} (its folder {folder})"
        data = self._build(folder, what, self.selection.build_isolation)
        metadata = parse_metadata(data, what=label)
        dependencies: list[_Entry] = []
        extras: dict[NormalizedName, list[_Entry]] = {e: [] for e in metadata.provides_extra}
        for requirement in metadata.requires_dist:
            for extra, part in _split_extras(requirement):
                entry = _Entry(requirement=part, text=str(requirement))
                (dependencies if extra is None else extras.setdefault(extra, [])).append(entry)
        return _Project(
            name=metadata.name,
            dependencies=tuple(dependencies),
            extras={k: tuple(v) for k, v in extras.items()},
            groups=groups,
        )

    def _static(self, table: Mapping[str, object]) -> bool:
        dynamic = table.get("dynamic", [])
        if not isinstance(dynamic, list):
            return False
        needed = {"dependencies"}
        if self._extras or self.selection.all_extras:
            needed.add("optional-dependencies")
        return not needed & {str(item) for item in dynamic}


def _prepare_metadata(folder: Path, what: str, build_isolation: bool) -> bytes:
    from pinlock.compile.sdist import prepare_metadata

    return prepare_metadata(folder, build_isolation=build_isolation, what=what)


class _LineFinder:
    """The line of the file where a requirement string is written (0 when not found)."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def __call__(self, requirement: str) -> int:
        for quote in ('"', "'"):
            needle = f"{quote}{requirement}{quote}"
            for number, line in enumerate(self._lines, start=1):
                if needle in line:
                    return number
        return 0


def _entries(value: object, label: str, key: str, lines: _LineFinder) -> tuple[_Entry, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(label, key, "must be a list of requirement strings")
    return tuple(_entry(text, label, key, lines) for text in value)


def _entry(text: str, label: str, key: str, lines: _LineFinder) -> _Entry:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise ConfigError(label, key, f"invalid requirement {text!r}: {reason}") from None
    return _Entry(requirement=requirement, text=text, line=lines(text))


def _extras(
    value: object, label: str, lines: _LineFinder
) -> dict[NormalizedName, tuple[_Entry, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(label, "project.optional-dependencies", "must be a table")
    found: dict[NormalizedName, tuple[_Entry, ...]] = {}
    for extra, requirements in value.items():
        key = f"project.optional-dependencies.{extra}"
        found[canonicalize_name(extra)] = _entries(requirements, label, key, lines)
    return found


def _groups(
    value: object, label: str, lines: _LineFinder
) -> dict[NormalizedName, tuple[_Entry | NormalizedName, ...]]:
    """PEP 735 ``[dependency-groups]``: requirement strings and ``{include-group = NAME}``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(label, "dependency-groups", "must be a table")
    found: dict[NormalizedName, tuple[_Entry | NormalizedName, ...]] = {}
    for group, items in value.items():
        key = f"dependency-groups.{group}"
        name = canonicalize_name(group)
        if name in found:
            raise ConfigError(label, key, "two groups have this name once normalized")
        if not isinstance(items, list):
            raise ConfigError(label, key, "must be a list")
        parsed: list[_Entry | NormalizedName] = []
        for item in items:
            if isinstance(item, str):
                parsed.append(_entry(item, label, key, lines))
            elif isinstance(item, dict) and set(item) == {"include-group"}:
                included = item["include-group"]
                if not isinstance(included, str):
                    raise ConfigError(label, key, "include-group must name a group")
                parsed.append(canonicalize_name(included))
            else:
                raise ConfigError(
                    label, key, f"expected a requirement or {{include-group = ...}}, got {item!r}"
                )
        found[name] = tuple(parsed)
    return found


def _names(entry: _Entry) -> NormalizedName:
    return canonicalize_name(entry.requirement.name)


def _line(entry: _Entry, label: str, via: str, constraint: bool) -> ReqLine:
    requirement = entry.requirement
    return ReqLine(
        requirement=requirement,
        text=entry.text,
        origin=Origin(path=label, line=entry.line),
        via=f"-c {via}" if constraint else via,
        constraint=constraint,
        link=requirement.url,
        extras=frozenset(canonicalize_name(e) for e in requirement.extras),
        marker=requirement.marker,
    )


def _and_marker(entry: _Entry, marker: Marker | None) -> _Entry:
    if marker is None:
        return entry
    requirement = Requirement(str(entry.requirement))
    own = requirement.marker
    requirement.marker = marker if own is None else Marker(f"({own}) and ({marker})")
    return _Entry(requirement=requirement, text=entry.text, line=entry.line)


# In built metadata an extra's requirements carry ``extra == "name"`` in their marker. For each
# extra named there, the clause becomes always true and the clauses of other extras always false,
# so the marker keeps only its environment conditions.
_EXTRA_CLAUSE = re.compile(r'extra == "([^"]+)"|"([^"]+)" == extra')
_TRUE = 'python_version >= "0"'
_FALSE = 'python_version < "0"'


def _split_extras(requirement: Requirement) -> Sequence[tuple[NormalizedName | None, Requirement]]:
    marker = requirement.marker
    text = str(marker) if marker is not None else ""
    named = sorted({canonicalize_name(a or b) for a, b in _EXTRA_CLAUSE.findall(text)})
    if not named:
        return [(None, requirement)]
    parts: list[tuple[NormalizedName | None, Requirement]] = []
    for extra in named:

        def clause(match: re.Match[str], extra: NormalizedName = extra) -> str:
            return _TRUE if canonicalize_name(match[1] or match[2]) == extra else _FALSE

        rewritten = _EXTRA_CLAUSE.sub(clause, text)
        for redundant in (f" and {_TRUE}", f"{_TRUE} and "):
            rewritten = rewritten.replace(redundant, "")
        part = Requirement(str(requirement))
        try:
            part.marker = None if rewritten in (_TRUE, f"({_TRUE})") else Marker(rewritten)
        except InvalidMarker:
            raise MetadataError(str(requirement), "cannot read which extra it belongs to") from None
        parts.append((extra, part))
    return parts
