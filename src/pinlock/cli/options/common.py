"""What the option lists of both commands are made of: the options they share, and helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from pinlock.cli.declare import Option

__all__ = ["INDEXES", "common_options", "in_panels", "on_by_default", "output_options", "shared"]

# The help's heading for where packages come from, on both commands.
INDEXES = "Indexes and cache"
_INDEX_OPTIONS = (
    "index_url",
    "extra_index_url",
    "find_links",
    "no_index",
    "trusted_host",
    "cert",
    "client_cert",
    "pip_args",
    "cache_dir",
)


def common_options() -> tuple[Option, ...]:
    """Options both commands have, alike: the indexes, the cache and ``--config``."""
    return (
        Option(
            name="index_url",
            kind="str",
            flags=("--index-url", "-i"),
            metavar="URL",
            help="Main index URL.",
            shared=True,
        ),
        Option(
            name="extra_index_url",
            kind="strs",
            flags=("--extra-index-url",),
            metavar="URL",
            help="Another index (repeatable).",
            shared=True,
        ),
        Option(
            name="find_links",
            kind="strs",
            flags=("--find-links", "-f"),
            metavar="URL|PATH",
            help="A folder or page of files (repeatable).",
            shared=True,
        ),
        Option(
            name="no_index",
            kind="flag",
            flags=("--no-index",),
            help="Use find-links only.",
            shared=True,
        ),
        Option(
            name="trusted_host",
            kind="strs",
            flags=("--trusted-host",),
            metavar="HOST",
            help="A host whose HTTPS is not checked, or that has none (repeatable).",
            shared=True,
        ),
        Option(
            name="cert",
            kind="path",
            flags=("--cert",),
            metavar="PATH",
            help="CA bundle for HTTPS (pip's cert).",
            shared=True,
        ),
        Option(
            name="client_cert",
            kind="path",
            flags=("--client-cert",),
            metavar="PATH",
            help="TLS client certificate with its key, one PEM file (pip's client-cert).",
            shared=True,
        ),
        Option(
            name="pip_args",
            kind="str",
            flags=("--pip-args",),
            metavar="ARGS",
            help="pip options, as pip-tools takes them: index, TLS and version-policy ones "
            "apply (-i, --extra-index-url, --pre, --only-binary, -c...), those that only change "
            "how pip installs are ignored, the rest refused.",
            shared=True,
        ),
        Option(
            name="cache_dir",
            kind="path",
            flags=("--cache-dir",),
            metavar="PATH",
            help="pinlock's cache: index pages, metadata and files (default: the user's cache "
            "folder, e.g. ~/.cache/pinlock).",
            shared=True,
        ),
        Option(
            name="config",
            kind="path",
            flags=("--config",),
            metavar="PATH",
            help="Read options from this TOML file, not from pyproject.toml's [tool.pinlock] "
            "(and its [tool.pip-tools], when it has one).",
            config=False,
        ),
        Option(
            name="no_config",
            kind="flag",
            flags=("--no-config",),
            help="Read no configuration file: neither [tool.pinlock] nor pip-tools' "
            "(.pip-tools.toml, [tool.pip-tools]). pip's own configuration still applies.",
            config=False,
        ),
    )


def output_options() -> tuple[Option, ...]:
    """How much a command prints, and in which form: the same on both commands."""
    return (
        Option(
            name="json_output",
            kind="flag",
            flags=("--json",),
            help="Print the result as one JSON document on standard output (its schema: "
            'docs/json.md); an error too, as {"error": {...}}.',
            config=False,
        ),
        Option(
            name="quiet",
            kind="count",
            flags=("--quiet", "-q"),
            help="Print less: no progress display, plan or summary; errors, warnings and what "
            "--check finds still show.",
            config=False,
        ),
        Option(
            name="verbose",
            kind="count",
            flags=("--verbose", "-v"),
            help="Print more: what was fetched, built or set aside and why, and the pip "
            "configuration in force with where each value came from; -vv adds detail and the "
            "build backends' output.",
            config=False,
        ),
        Option(
            name="version",
            kind="flag",
            flags=("--version",),
            help="Print pinlock's version and exit.",
            config=False,
        ),
    )


def on_by_default(name: str, help: str) -> Option:
    """A switch that is on unless ``--no-<name>`` (pip-compile's spelling) says otherwise."""
    dashed = name.replace("_", "-")
    return Option(
        name=name, kind="toggle", flags=(f"--{dashed}/--no-{dashed}",), help=help, default=True
    )


def in_panels(options: Sequence[Option], panels: Mapping[str, Sequence[str]]) -> tuple[Option, ...]:
    """``options`` with those named in ``panels`` listed under that heading in the help; the
    index options go under ``INDEXES``."""
    where = {name: panel for panel, names in panels.items() for name in names}
    where.update(dict.fromkeys(_INDEX_OPTIONS, INDEXES))
    unknown = set(where) - {option.name for option in options}
    if unknown:
        raise ValueError(f"no such options: {sorted(unknown)}")
    return tuple(replace(option, panel=where.get(option.name, option.panel)) for option in options)


def shared(*options: Option) -> tuple[Option, ...]:
    """``options`` with every one that a command table takes also taken by ``[tool.pinlock]``."""
    return tuple(replace(option, shared=option.config) for option in options)
