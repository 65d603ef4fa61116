"""Files a command writes (`--out`, `--targets-out`, `--html`, `--save`, ...) never replace a
file the same command reads, its state database, or another of its outputs.

Why: an output path is typed by hand, often by completing a name that is already there. Before
this guard, `plan --out state.db` replaced the only record of the runs that `resume` and `undo`
need (old account ids, parked addresses, recorded groups) with a JSON plan, and
`analyze export.csv --targets-out export.csv` replaced the export with six lines; both exited 0
(trial 6, finding 8). Any other existing file is replaced as before (outputs are written
whole, through a temporary file): refusing those would only teach people to pass a flag.

`sim serve --profile-out` has a rule of its own (it replaces only files it wrote itself:
sim/profile_toml.py), and `sim serve --save` may write over the world it started from (the
world is named by a text, not a path, so the guard does not compare them): that is what saving
a session back is for.

Every command gets the guard from the root group (`cli/main.py` wraps each command's callback),
so an option only has to be declared with the `OutputFile` type to be covered.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from scimrecon.errors import InputError

#: the first bytes of every SQLite 3 database (https://www.sqlite.org/fileformat.html)
SQLITE_MAGIC = b"SQLite format 3\x00"


class OutputFile(click.Path):
    """A file the command writes (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)


def _paths(value: Any) -> Iterator[Path]:
    if isinstance(value, Path):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _paths(item)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return a.expanduser().resolve() == b.expanduser().resolve()


def _is_sqlite(path: Path) -> bool:
    """An SQLite database, or one of the files beside it while it is open (its write-ahead
    log, shared memory, rollback journal): replacing those damages the database too."""
    for suffix in ("-wal", "-shm", "-journal"):
        if path.name.endswith(suffix):
            return _is_sqlite(path.with_name(path.name.removesuffix(suffix)))
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False  # a terminal, a pipe (/dev/stdout): reading it would block, not tell
    except OSError:
        return False
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:  # missing, or not a regular readable file: the write itself will say
        return False


def _regular_or_new(path: Path) -> bool:
    """Whether `path` (its link followed) is a regular file, or nothing yet."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _option(param: click.Parameter) -> str:
    """How the person typed it: `--targets`, or an argument's metavar (`EXPORT`)."""
    if isinstance(param, click.Argument):
        return param.human_readable_name
    return max(param.opts, key=len)


def check_outputs(ctx: click.Context) -> None:
    """Refuse (exit 2, nothing written or changed) an output path that is an SQLite database,
    a file this command reads (any other path it was given, the root's --profile and --state),
    or the path of another output."""
    outputs: list[tuple[str, Path]] = []
    others: list[tuple[str, Path]] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        named = _option(param)
        target = outputs if isinstance(param.type, OutputFile) else others
        target.extend((named, path) for path in _paths(value))
    root = ctx.find_root()
    if root is not ctx:
        for param in root.command.params:
            others.extend((_option(param), p) for p in _paths(root.params.get(param.name or "")))
    for n, (option, path) in enumerate(outputs):
        if not _regular_or_new(path):
            # outputs are written whole through a temp file renamed over the path: over
            # /dev/stdout (a link) that would replace the device link itself
            raise InputError(
                f"{option} {path}: not a regular file (a terminal, a pipe, a device or a "
                "folder); give a file path, and print that file if you want it on screen"
            )
        if _is_sqlite(path):
            raise InputError(
                f"{option} {path}: refusing to replace an SQLite database or its files (a state "
                "file holds what resume and undo need); choose another path"
            )
        for other, there in [*others, *outputs[:n]]:
            if _same(path, there):
                raise InputError(
                    f"{option} {path}: that is also the {other} file; refusing to replace it, "
                    "choose another path"
                )


def guarded(callback: Callable[..., Any]) -> Callable[..., Any]:
    """`callback`, after `check_outputs` on the command's context (once per command)."""
    if getattr(callback, "_outputs_guarded", False):
        return callback

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        check_outputs(click.get_current_context())
        return callback(*args, **kwargs)

    run._outputs_guarded = True  # type: ignore[attr-defined]
    return run
