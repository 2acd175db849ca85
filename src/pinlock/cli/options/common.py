"""What the option lists of both commands are made of: the options they share, and helpers."""

from __future__ import annotations

from dataclasses import replace

from pinlock.cli.declare import Option

__all__ = ["common_options", "on_by_default", "shared"]


def common_options() -> tuple[Option, ...]:
    """Options both commands have, alike: the indexes, the cache and ``--config``."""
    return (
        Option(
            name="index_url",
            kind="str",
            flags=("--index-url", "-i"),
            help="Main index URL.",
            shared=True,
        ),
        Option(
            name="extra_index_url",
            kind="strs",
            flags=("--extra-index-url",),
            help="Another index (repeatable).",
            shared=True,
        ),
        Option(
            name="find_links",
            kind="strs",
            flags=("--find-links", "-f"),
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
            help="A host whose HTTPS is not checked, or that has none (repeatable).",
            shared=True,
        ),
        Option(
            name="cert",
            kind="path",
            flags=("--cert",),
            help="CA bundle for HTTPS (pip's cert).",
            shared=True,
        ),
        Option(
            name="client_cert",
            kind="path",
            flags=("--client-cert",),
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
            name="cache_dir", kind="path", flags=("--cache-dir",), help="Cache folder.", shared=True
        ),
        Option(
            name="config",
            kind="path",
            flags=("--config",),
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


def on_by_default(name: str, help: str) -> Option:
    """A switch that is on unless ``--no-<name>`` (pip-compile's spelling) says otherwise."""
    dashed = name.replace("_", "-")
    return Option(
        name=name, kind="toggle", flags=(f"--{dashed}/--no-{dashed}",), help=help, default=True
    )


def shared(*options: Option) -> tuple[Option, ...]:
    """``options`` with every one that a command table takes also taken by ``[tool.pinlock]``."""
    return tuple(replace(option, shared=option.config) for option in options)
