"""Every limit on what the tool reads, in one place, and the guarded readers that enforce them.

Anything a person hands the tool (an export, a target list, a playbook, a plan, a world, a
profile, an option) may be broken or hostile: a 200 MB header line, a million columns, a
device that never ends (`/dev/zero`), a FIFO that never opens, JSON nested ten thousand deep,
a number with a hundred thousand digits. Without limits these cost minutes and gigabytes, or
end in a RecursionError reported as "unexpected". With them each is one line naming the file
and the limit, exit 2, in bounded time and memory (docs/reliability.md, "Limits").

The figures are far above anything a real file needs (the largest Atlassian exports we know of
have a few hundred columns and lines of a few kilobytes) and low enough that the tool stays
under 200 MB of memory on any input it streams (exports), and on any document it parses whole
(target lists, playbooks, plans, profiles, reconcile inputs: at most MAX_DOCUMENT_BYTES). The
one exception is a simulator world, which may be as large as MAX_WORLD_BYTES (a 100,000-account
world is 84 MiB; loading it takes about 500 MB, docs/performance.md): it is test data for the
simulator, never a file the product reads to act on people.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

from scimrecon.errors import InputError

MiB = 1024 * 1024

#: One physical line of a CSV file (a header or a row), in characters.
MAX_LINE_CHARS = 1_000_000
#: One CSV record (a row whose quoted cells run over several lines), in characters.
MAX_RECORD_CHARS = 4_000_000
#: Columns in an export header (products x sites x 2 columns each, plus about ten).
MAX_COLUMNS = 5_000
#: A file read whole: target list, playbook, plan, profile, faults, reconcile inputs.
MAX_DOCUMENT_BYTES = 16 * MiB
#: A simulator world (read whole, by `sim` only).
MAX_WORLD_BYTES = 128 * MiB
#: Nesting of a JSON or TOML document (a world needs 5, a plan 6).
MAX_NESTING = 64
#: A `when` condition: characters, and nesting of brackets and `not`.
MAX_EXPR_CHARS = 2_000
MAX_EXPR_DEPTH = 32
#: Digits of an integer literal (a `when` number); 18 digits still fit a 64-bit integer.
MAX_INT_DIGITS = 18
#: A price per user and month (billing): finite, not negative, at most this.
MAX_PRICE = 1_000_000
#: A count of users given as an option or in the profile (--tier, --start, --remove).
MAX_USERS = 10_000_000
#: A number of days given as an option (--inactive-days, --grace-days): 100 years.
MAX_DAYS = 36_500
#: Accounts `sim generate` makes: about the largest world MAX_WORLD_BYTES can load back.
MAX_GENERATED_ACCOUNTS = 150_000

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n:,} bytes"


def open_regular(path: Path, label: str | None = None, *, missing: str | None = None) -> IO[bytes]:
    """Open `path` for reading in binary, refusing anything but a regular file.

    Opened non-blocking, then checked with fstat on the open descriptor (no race with a swap):
    a FIFO would otherwise block the open until a writer came, and a device like /dev/zero or
    /dev/urandom would never end.
    """
    name = label or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(
            f"{name}: {missing or 'cannot read (No such file or directory)'}"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a regular file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{name}: is {_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_document(
    path: Path,
    label: str | None = None,
    *,
    limit: int = MAX_DOCUMENT_BYTES,
    missing: str | None = None,
) -> bytes:
    """The bytes of a file read whole: a regular file of at most `limit` bytes.

    `missing` replaces the message for a file that does not exist ("targets file not found").
    """
    name = label or str(path)
    with open_regular(path, name, missing=missing) as fh:
        check_size(fh, name, limit)  # before reading: a 1 TB sparse file costs nothing
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{name}: larger than the limit of {_size(limit)} for this kind of file")
    return data


def check_size(fh: IO[Any], name: str, limit: int) -> None:
    """Refuse an open regular file larger than `limit` bytes (before reading it whole)."""
    size = os.fstat(fh.fileno()).st_size
    if size > limit:
        raise InputError(f"{name}: larger than the limit of {_size(limit)} for this kind of file")


# -- nesting ----------------------------------------------------------------------------------

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# every byte but the five that decide nesting: brackets, and quotes (to skip strings)
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')
_CHUNK = 1 << 20


def nesting_of(data: bytes) -> int:
    """How deep the brackets of a JSON document nest (brackets inside strings skipped),
    without parsing it: json.loads recurses in C and raises RecursionError ("unexpected") on a
    document nested a thousand deep, and what it returns for 900 deep breaks later code.

    All in C-speed bytes operations (about a third of json.loads' own time): escapes dropped,
    every byte but brackets and quotes deleted, the parts between quotes dropped (strings),
    then matched pairs removed level by level; the exact count runs only for a document that
    is deep or unbalanced.
    """
    if b"\\" in data:
        data = _ESCAPE.sub(b"", data)
    skeleton = data.translate(None, _NOT_STRUCTURE)
    outside: list[bytes] = []
    in_string = False
    for start in range(0, len(skeleton), _CHUNK):
        parts = skeleton[start : start + _CHUNK].split(b'"')
        outside.append(b"".join(parts[1 if in_string else 0 :: 2]))
        in_string ^= (len(parts) - 1) % 2 == 1
    brackets = b"".join(outside)
    rest = brackets
    for depth in range(MAX_NESTING + 1):
        if not rest:
            return depth
        # one level a pass: mark the innermost pairs first, so `{[]}` takes two passes
        shorter = rest.replace(b"[]", b"x").replace(b"{}", b"x").replace(b"x", b"")
        if shorter == rest:
            break
        rest = shorter
    steps = (1 if b in b"[{" else -1 for b in brackets)
    return max(accumulate(steps, initial=0))


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(
            f"the number {text if len(text) <= 20 else text[:20] + '...'} is too large"
        )
    return value


def parse_json(data: bytes | str, name: str, *, max_nesting: int = MAX_NESTING) -> Any:
    """json.loads with the nesting limit checked first; a JSONDecodeError is the caller's."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if nesting_of(raw) > max_nesting:
        raise InputError(f"{name}: JSON nested deeper than the limit of {max_nesting} levels")
    try:
        return json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:  # pragma: no cover - the scan above stops these first
        raise InputError(
            f"{name}: JSON nested deeper than the limit of {max_nesting} levels"
        ) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        if "digits" in str(exc):  # int() refuses more than 4300 digits (CPython's own guard)
            raise InputError(f"{name}: a number longer than the limit of 4300 digits") from None
        raise InputError(f"{name}: {exc}") from None


def check_nesting(doc: Any, name: str, *, max_nesting: int = MAX_NESTING) -> None:
    """Refuse a parsed document (TOML) nested deeper than `max_nesting`, iteratively."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_nesting:
            raise InputError(f"{name}: nested deeper than the limit of {max_nesting} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))


def load_toml(text: str, name: str) -> dict[str, Any]:
    """tomllib.loads with RecursionError turned into the nesting limit, then checked.

    A TOMLDecodeError is left to the caller (its message names line and column).
    """
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except RecursionError:
        raise InputError(f"{name}: nested deeper than the limit of {MAX_NESTING} levels") from None
    except ValueError:  # int() refuses more than 4300 digits
        raise InputError(f"{name}: a number longer than the limit of 4300 digits") from None
    check_nesting(doc, name)
    return doc


# -- CSV streams ------------------------------------------------------------------------------


class GuardedLines:
    """The lines of a text stream for csv.reader, each at most MAX_LINE_CHARS.

    `readline(limit)` never holds more than one line plus one character, so a 200 MB header
    is refused after reading 1 MB of it. (Exports are read by recon/csvrows.FastRows, which
    applies the same limit and MAX_RECORD_CHARS to a record whose quoted cells span lines.)
    """

    def __init__(self, text: IO[str], name: str, *, max_line: int = MAX_LINE_CHARS) -> None:
        self._text = text
        self.name = name
        self.max_line = max_line
        self.lines_read = 0

    def __iter__(self) -> Iterator[str]:
        readline = self._text.readline
        limit = self.max_line + 1
        while True:
            line = readline(limit)
            if not line:
                return
            self.lines_read += 1
            if len(line) == limit and line[-1] not in "\r\n":
                raise line_too_long(self.name, self.lines_read, self.max_line)
            yield line


def line_too_long(name: str, line: int, limit: int) -> InputError:
    return InputError(f"{name}:{line}: line longer than the limit of {limit:,} characters")


def record_too_long(name: str, line: int, limit: int) -> InputError:
    return InputError(f"{name}:{line}: row longer than the limit of {limit:,} characters")


def check_columns(count: int, name: str, *, line: int = 1) -> None:
    if count > MAX_COLUMNS:
        raise InputError(
            f"{name}:{line}: {count:,} columns is more than the limit of {MAX_COLUMNS:,}"
        )


__all__ = [
    "MAX_COLUMNS",
    "MAX_DOCUMENT_BYTES",
    "MAX_EXPR_CHARS",
    "MAX_EXPR_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_LINE_CHARS",
    "MAX_NESTING",
    "MAX_PRICE",
    "MAX_RECORD_CHARS",
    "MAX_WORLD_BYTES",
    "GuardedLines",
    "check_columns",
    "check_nesting",
    "check_size",
    "line_too_long",
    "load_toml",
    "nesting_of",
    "open_regular",
    "parse_json",
    "read_document",
    "record_too_long",
]
