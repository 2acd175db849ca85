"""Where each lock of a run goes, and in which format (requirements.txt or PEP 751 pylock.toml).

One target and no flavour: ``x.in`` -> ``x.txt``, or ``pylock.x.toml``. Otherwise the target
name (with several targets) and the flavour join the stem: ``main-py312-linux-cu121.txt``,
``pylock.main-py312-linux-cu121.toml``. A project input (``pyproject.toml``) has no stem of its
own: its lock is ``requirements.txt`` (as pip-compile names it) or ``pylock.toml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pinlock.compile.inputs import STDIN, is_project_file
from pinlock.compile.request import CompileRequest, LockFormat
from pinlock.errors import ConfigError
from pinlock.flavour import Flavour
from pinlock.target import Target

__all__ = ["check_outputs", "lock_format", "lock_path", "output_for", "plain_lock"]


def plain_lock(path: Path) -> Path:
    """The lock name an input has in a single-target run: what ``-c main.txt`` refers to."""
    if is_project_file(path):
        return path.with_name("requirements.txt")
    return path.with_suffix(".txt")


def lock_format(request: CompileRequest, out: Path | None) -> LockFormat:
    """The format of the lock going to ``out`` (None: standard output)."""
    if request.output_format is not None:
        return request.output_format
    return "pylock" if out is not None and _is_pylock_name(out) else "txt"


def _is_pylock_name(path: Path) -> bool:
    """PEP 751's rule (packaging's), which packaging.pylock is loaded for only when the name
    could pass it: loading it costs a run of requirements.txt locks 5 ms of its start."""
    if not (path.name.startswith("pylock.") and path.name.endswith(".toml")):
        return False
    from packaging.pylock import is_valid_pylock_path

    return is_valid_pylock_path(path)


def lock_path(
    request: CompileRequest,
    path: Path,
    target: Target,
    flavour: Flavour | None,
    multi_target: bool,
) -> Path:
    """Where the lock of ``path`` for a target/flavour goes by default.

    A name template (``{stem}``, ``{target}``, ``{flavour}``, ``{python}``) overrides the
    default; it may name a folder beside the input (``locks/{stem}-{target}.txt``).
    """
    stem = _stem(path)
    pylock = request.output_format == "pylock"
    if request.name_template:
        try:
            name = request.name_template.format(
                stem=stem or "requirements",
                target=target.name,
                flavour=flavour.name if flavour else "",
                python=target.python_version.replace(".", ""),
            )
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(
                "--output-template",
                request.name_template,
                f"cannot fill it in ({type(error).__name__}: {error}); "
                "the placeholders are {stem}, {target}, {flavour} and {python}",
            ) from None
        return path.parent / name.replace("--", "-").replace("-.", ".")
    # A project input's txt lock is requirements[-target].txt, its pylock pylock[.target].toml.
    parts = [stem or "requirements"] if stem or not pylock else []
    if multi_target:
        parts.append(target.name)
    if flavour is not None:
        parts.append(flavour.name)
    if pylock:
        # PEP 751: pylock.toml or pylock.<name>.toml, the name without dots.
        name = "-".join(parts).replace(".", "")
        return path.with_name(f"pylock.{name}.toml" if name else "pylock.toml")
    return path.with_name("-".join(parts) + ".txt")


def output_for(
    request: CompileRequest,
    path: Path,
    target: Target,
    flavour: Flavour | None,
    multi_target: bool,
) -> Path | None:
    """The lock file of one input and cell; None for standard output."""
    if request.output == "-" or (request.output is None and path == STDIN):
        return None
    if request.output is not None:
        return Path(request.output)
    return lock_path(request, path, target, flavour, multi_target)


def check_outputs(
    request: CompileRequest,
    units: Sequence[Path],
    cells: Sequence[tuple[Target, Flavour | None]],
    multi_target: bool,
    *,
    inputs: Sequence[Path],
) -> None:
    """Each lock (one per unit: an input, or all inputs merged) gets a file of its own, never an
    input's, and a pylock a name PEP 751 allows."""
    input_files = {path.resolve(): path for path in inputs}
    taken: dict[Path, str] = {}
    for path in units:
        for target, flavour in cells:
            out = output_for(request, path, target, flavour, multi_target)
            if out is None:
                continue
            what = f"the lock of {path} for {target.description}"
            what += f" ({flavour.name})" if flavour else ""
            where = out.resolve()
            if lock_format(request, out) == "pylock" and not _is_pylock_name(out):
                raise ConfigError(
                    "output",
                    str(out),
                    "a PEP 751 lock must be named pylock.toml or pylock.<name>.toml "
                    "(pip and uv recognise it by that name)",
                )
            if where in input_files:
                raise ConfigError(
                    "output", str(out), f"{what} would overwrite the input {input_files[where]}"
                )
            if where in taken:
                raise ConfigError(
                    "output",
                    str(out),
                    f"{taken[where]} and {what} would both be written there; "
                    "name the locks apart (--output-template with {target} and {flavour})",
                )
            taken[where] = what


def _stem(path: Path) -> str:
    if is_project_file(path):
        return ""
    if path == STDIN:
        return "stdin"
    return path.stem if path.suffix else path.name
