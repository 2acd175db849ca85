"""Properties that hold for every input, checked on generated ones (hypothesis).

- On random small dependency graphs the resolver's answer satisfies every requirement and marker
  it was given and pins nothing nobody needs; it reports a conflict only when brute force over
  every assignment of versions finds no solution. Most graphs are served by the in-memory fakes
  of ``tests/support/fakes.py`` (what ``test_resolve.py`` uses); a few go end to end, as real
  wheels on the real test index through ``compile_locks``.
- What the lock writer writes, the lock reader reads back (``render_lock`` -> ``read_lock``).

Example counts stay modest and the runs are derandomized with no example database, so the suite
stays fast and CI sees the same examples every time.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pinlock.compile import CompileRequest, compile_locks
from pinlock.compile.resolve import ResolveOptions, resolve
from pinlock.errors import NoMatchingDistribution, ResolutionImpossible
from pinlock.index.options import IndexOptions
from pinlock.lock.model import Lock, LockedPackage
from pinlock.lock.txt import LockHeader, read_lock, render_lock
from pinlock.target import Target
from pinlock.urls import redact_url
from tests.support.artifacts import make_wheel
from tests.support.compiling import pinned_versions
from tests.support.fakes import FakeIndex, req_lines
from tests.support.index_server import IndexServer

LINUX = Target.from_spec("3.12", "linux")
QUICK = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- random dependency graphs ----------------------------------------------------------------

PROJECTS = ("a", "b", "c", "d", "e")
VERSIONS = ("1.0", "2.0", "3.0")
SPECIFIERS = ("", "", "", ">=2", "<2", "<3", "==1.0", "!=2.0", ">=1,<3", "==3.0", ">1")
MARKERS = (
    *("",) * 6,
    "python_version >= '3'",
    "python_version < '3'",
    "sys_platform == 'win32'",
    "sys_platform == 'linux'",
)
# A project nobody publishes: needing it is a conflict unless a marker drops the need.
MISSING = "missing"


@dataclass(frozen=True)
class Need:
    """``name spec ; marker`` as a requirement line."""

    name: str
    spec: str
    marker: str

    @property
    def line(self) -> str:
        return f"{self.name}{self.spec}" + (f" ; {self.marker}" if self.marker else "")

    def applies(self, target: Target) -> bool:
        return target.evaluate(Marker(self.marker) if self.marker else None)

    def allows(self, version: str) -> bool:
        return SpecifierSet(self.spec).contains(Version(version), prereleases=True)


@dataclass(frozen=True)
class Release:
    needs: tuple[Need, ...]
    python_ok: bool  # False: Requires-Python excludes every real interpreter


Graph = Mapping[str, Mapping[str, Release]]


@st.composite
def needs_of(
    draw: st.DrawFn, names: Sequence[str], *, min_size: int, max_size: int
) -> tuple[Need, ...]:
    picked = draw(st.lists(st.sampled_from(names), min_size=min_size, max_size=max_size))
    return tuple(
        Need(name, draw(st.sampled_from(SPECIFIERS)), draw(st.sampled_from(MARKERS)))
        for name in picked
    )


@st.composite
def graphs(draw: st.DrawFn) -> tuple[Graph, tuple[Need, ...]]:
    """A few projects, each with a few versions, each version needing a few others."""
    names = PROJECTS[: draw(st.integers(min_value=3, max_value=len(PROJECTS)))]
    graph: dict[str, dict[str, Release]] = {}
    for name in names:
        versions = draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True))
        # The missing project is one choice in many: most needs can be met.
        others = [other for other in (*names, *names, MISSING) if other != name]
        graph[name] = {
            version: Release(
                needs=draw(needs_of(others, min_size=0, max_size=3)),
                python_ok=draw(st.sampled_from((True,) * 5 + (False,))),
            )
            for version in sorted(versions)
        }
    roots = draw(needs_of(names, min_size=1, max_size=3))
    return graph, roots


def check_solution(
    graph: Graph, roots: Iterable[Need], pins: Mapping[str, str], target: Target
) -> None:
    """The pins satisfy every root and every dependency of every pin, on ``target``; each pin
    is a usable release, and needed: reached from the roots through dependencies that apply."""
    needed: set[str] = set()
    pending = [need for need in roots if need.applies(target)]
    while pending:
        need = pending.pop()
        assert need.name in pins, f"{need.line} is not pinned: {pins}"
        version = pins[need.name]
        assert need.allows(version), f"{need.name}=={version} breaks {need.line}"
        if need.name in needed:
            continue
        needed.add(need.name)
        release = graph[need.name][version]
        assert release.python_ok, f"{need.name}=={version} needs another Python"
        pending.extend(dep for dep in release.needs if dep.applies(target))
    assert set(pins) == needed, f"pinned but never needed: {set(pins) - needed}"


def brute_force(graph: Graph, roots: Sequence[Need], target: Target) -> dict[str, str] | None:
    """Some assignment of usable versions (or none) to every project that satisfies the roots
    and the dependencies of every chosen release; None when there is none."""
    names = list(graph)
    choices = [
        [None, *(v for v, release in graph[name].items() if release.python_ok)] for name in names
    ]
    live_roots = [need for need in roots if need.applies(target)]
    for combination in itertools.product(*choices):
        chosen = {
            name: version for name, version in zip(names, combination, strict=True) if version
        }
        if _holds(graph, live_roots, chosen, target):
            return chosen
    return None


def _holds(graph: Graph, roots: list[Need], chosen: dict[str, str], target: Target) -> bool:
    def met(need: Need) -> bool:
        return need.name in chosen and need.allows(chosen[need.name])

    if not all(met(need) for need in roots):
        return False
    return all(
        met(dep)
        for name, version in chosen.items()
        for dep in graph[name][version].needs
        if dep.applies(target)
    )


def _fake_index(graph: Graph) -> FakeIndex:
    index = FakeIndex()
    for name, releases in graph.items():
        for version, release in releases.items():
            index.release(
                name,
                version,
                *(need.line for need in release.needs),
                requires_python=None if release.python_ok else ">=3.99",
            )
    return index


@QUICK
@given(graphs())
def test_resolutions_satisfy_every_requirement_and_conflicts_are_real(
    generated: tuple[Graph, tuple[Need, ...]],
) -> None:
    graph, roots = generated
    index = _fake_index(graph)
    try:
        resolution = resolve(
            req_lines(*(need.line for need in roots)),
            files=index.files,
            metadata=index.metadata,
            options=ResolveOptions(target=LINUX),
        )
    except (ResolutionImpossible, NoMatchingDistribution) as conflict:
        found = brute_force(graph, roots, LINUX)
        assert found is None, f"reported a conflict, but {found} works:\n{conflict}"
        return
    pins = {str(p.name): str(p.version) for p in resolution.packages}
    check_solution(graph, roots, pins, LINUX)


@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(generated=graphs())
def test_end_to_end_on_the_local_index(
    generated: tuple[Graph, tuple[Need, ...]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    graph, roots = generated
    host = Target.host()
    # A folder per example that outlives it: a failed resolution may leave prefetching threads
    # behind for a moment (see test_faults), which must not find their cache deleted under them.
    # No retries: once the index stops they give up at once.
    with mock.patch.dict(os.environ, {"PIP_RETRIES": "0"}):
        folder = tmp_path_factory.mktemp("graph")
        files = folder / "files"
        files.mkdir()
        for name, releases in graph.items():
            for version, release in releases.items():
                make_wheel(
                    files,
                    name,
                    version,
                    requires_dist=[need.line for need in release.needs],
                    requires_python=None if release.python_ok else ">=3.99",
                )
        source = folder / "requirements.in"
        source.write_text("".join(f"{need.line}\n" for need in roots))
        with IndexServer(files) as index:
            request = CompileRequest(
                inputs=(source,),
                index_overrides={"index-url": index.url},
                cache_dir=folder / "cache",
                dry_run=True,
            )
            try:
                [result] = compile_locks(request)
            except (ResolutionImpossible, NoMatchingDistribution) as conflict:
                found = brute_force(graph, roots, host)
                assert found is None, f"reported a conflict, but {found} works:\n{conflict}"
                return
    check_solution(graph, roots, pinned_versions(result.text), host)


# --- the lock writer and reader agree --------------------------------------------------------

# Project names as PEP 508 allows them (letters or digits at both ends, ``._-`` within).
_NAME = st.builds(
    lambda head, middle, tail: head + middle + tail,
    st.sampled_from("aZ0q"),
    st.text(alphabet="bY9._-", max_size=6),
    st.sampled_from(("", "x", "7")),
).filter(lambda name: name[-1] not in "._-")
_HASH = st.binary(min_size=32, max_size=32).map(lambda data: f"sha256:{data.hex()}")
_HOST = st.sampled_from(("idx.example", "10.0.0.7:8080", "private.corp.example"))
_USERINFO = st.sampled_from(("", "alice:s3cret@", "token-abc@"))
_MARKER = st.sampled_from(
    (
        None,
        "python_version < '3.12'",
        "sys_platform == 'win32' and platform_machine == 'AMD64'",
        "implementation_name == 'cpython' or python_full_version >= '3.13.1'",
    )
)


@st.composite
def versions(draw: st.DrawFn) -> Version:
    release = ".".join(str(n) for n in draw(st.lists(st.integers(0, 30), min_size=1, max_size=3)))
    text = release
    text += draw(st.sampled_from(("", "a1", "b2", "rc3")))
    text += draw(st.sampled_from(("", ".post1")))
    text += draw(st.sampled_from(("", ".dev4")))
    text += draw(st.sampled_from(("", "+cpu", "+cu121", "+local.7")))
    return Version(text)


@st.composite
def urls(draw: st.DrawFn, path: str, *, userinfo: bool = True) -> str:
    return f"https://{draw(_USERINFO) if userinfo else ''}{draw(_HOST)}/{path}"


@st.composite
def packages(draw: st.DrawFn, name: str, others: Sequence[str]) -> LockedPackage:
    via = draw(
        st.lists(
            st.one_of(
                st.sampled_from(others) if others else st.nothing(),
                st.sampled_from(("-r requirements.in", "-r dev/more.in", "-c constraints.txt")),
            ),
            max_size=3,
        )
    )
    direct = draw(st.booleans()) and draw(st.booleans())
    version = draw(versions())
    return LockedPackage(
        name=canonicalize_name(name),
        display_name=name,
        version=None if direct else version,
        # A direct URL is written as given, credentials and all (so pip can fetch it): only
        # index URLs are masked in a lock. The round trip is checked without them.
        url=draw(urls(f"files/{name}-{version}-py3-none-any.whl", userinfo=False))
        if direct
        else None,
        hashes=tuple(sorted(draw(st.lists(_HASH, max_size=3, unique=True)))),
        marker=None if (text := draw(_MARKER)) is None else Marker(text),
        via=tuple(via),
        index=draw(st.one_of(st.none(), urls("simple"))),
    )


@st.composite
def locks(draw: st.DrawFn) -> Lock:
    names = draw(st.lists(_NAME, min_size=1, max_size=6, unique_by=canonicalize_name))
    canonical = [str(canonicalize_name(name)) for name in names]
    made = tuple(
        draw(packages(name, [other for other in canonical if other != canonical[i]]))
        for i, name in enumerate(names)
    )
    options = IndexOptions(
        index_url=draw(st.one_of(st.none(), urls("simple"))),
        extra_index_urls=tuple(draw(st.lists(urls("extra/simple"), max_size=2, unique=True))),
        find_links=tuple(draw(st.lists(urls("wheels/"), max_size=1))),
        trusted_hosts=tuple(draw(st.lists(_HOST, max_size=1))),
        only_binary=frozenset(draw(st.lists(st.sampled_from((":all:", "numpy")), max_size=1))),
    )
    return Lock(packages=made, options=options)


@QUICK
@given(
    lock=locks(),
    style=st.sampled_from(("split", "line")),
    emit_hashes=st.booleans(),
)
def test_what_the_lock_writer_writes_the_reader_reads_back(
    lock: Lock, style: Literal["split", "line"], emit_hashes: bool
) -> None:
    header = LockHeader(command="pinlock compile requirements.in", python_version="3.12")
    text = render_lock(lock, header, annotation_style=style, emit_hashes=emit_hashes)
    with tempfile.TemporaryDirectory(prefix="pinlock-lock-") as scratch:
        path = Path(scratch) / "requirements.txt"
        path.write_text(text, encoding="utf-8")
        read = read_lock(path, environ={})
    assert [_comparable(p, emit_hashes) for p in read.packages] == sorted(
        (_expected(p, emit_hashes) for p in lock.packages), key=lambda item: str(item[0])
    )
    assert read.options.index_url == _masked(lock.options.index_url)
    assert read.options.extra_index_urls == tuple(map(redact_url, lock.options.extra_index_urls))
    assert read.options.find_links == tuple(map(redact_url, lock.options.find_links))
    assert read.options.trusted_hosts == lock.options.trusted_hosts
    assert read.options.only_binary == lock.options.only_binary


def _masked(url: str | None) -> str | None:
    if url is None or url.rstrip("/") == "https://pypi.org/simple":
        return None
    return redact_url(url)


_Comparable = tuple[
    NormalizedName,
    str,
    Version | None,
    str | None,
    tuple[str, ...],
    str,
    tuple[str, ...],
    str | None,
]


def _comparable(package: LockedPackage, emit_hashes: bool) -> _Comparable:
    return (
        package.name,
        package.display_name,
        package.version,
        package.url,
        package.hashes if emit_hashes else (),
        str(package.marker),
        package.via,
        package.index,
    )


def _expected(package: LockedPackage, emit_hashes: bool) -> _Comparable:
    via = tuple(sorted(dict.fromkeys(package.via), key=lambda item: (item.lower(), item)))
    return (
        package.name,
        package.display_name,
        package.version,
        None if package.url is None else redact_url(package.url),
        package.hashes if emit_hashes else (),
        str(package.marker),
        via,
        None if package.index is None else redact_url(package.index),
    )
