"""CSV that is safe to open in a spreadsheet, and the exact inverse for the lists we read back.

People open our CSV files (analysis lists, target lists, run reports, bills) in Excel, LibreOffice
or Google Sheets. A cell that starts with `=`, `+`, `-` or `@` is a formula there, and one that
starts with a tab or carriage return can hide one; a display name like `=HYPERLINK(...)` coming
from the directory would then run on the admin's machine (OWASP "CSV injection"). So every CSV
writer of the tool goes through `writer()` below, which prefixes such a text cell with a single
quote `'`: spreadsheets show the text, never evaluate it.

Numbers written from Python numbers (a negative amount, a count) are left as they are: they are
ours, not text from a directory, and a spreadsheet must still see them as numbers.

The target-list loader undoes the prefix with `restore()`, so a list written by
`--targets-out` loads and matches the same people. To make that exact for every value, the
prefix is also added to a text that already starts with quotes followed by one of those
characters (`'-x` is written `''-x`), and `restore()` removes one quote only from a cell of that
shape (one or more quotes, then a formula character). So `restore(neutralise(v)) == v` for
every string `v` (tests/test_spreadsheet.py proves it with hypothesis). Emails can legitimately
start with `-`, `+` or `=` (RFC 5322 "atext"), and they survive the round trip too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

#: The first characters a spreadsheet may treat as the start of a formula: OWASP's list, and the
#: NUL that OWASP ASVS 5.0 (requirement 1.2.10) adds.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")

_NEEDS_PREFIX = re.compile(r"'*[=+\-@\t\r\0]")
_PREFIXED = re.compile(r"'+[=+\-@\t\r\0]")
# a "\r" in a cell that nothing else (comma, quote, "\n") makes the csv module quote
_BARE_CR = re.compile(r"^[^,\"\n]*\r[^,\"\n]*$")


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def neutralise(value: Any) -> Any:
    """The cell as it must be written: text that could start a formula gets a leading `'`."""
    if isinstance(value, str) and _NEEDS_PREFIX.match(value):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The inverse of `neutralise` for a cell read back from a file we wrote."""
    if _PREFIXED.match(value):
        return value[1:]
    return value


class SafeWriter:
    """`csv.writer` with every cell neutralised; the only way the tool writes CSV rows."""

    def __init__(self, out: _Writable, *, lineterminator: str = "\n") -> None:
        self._writer = csv.writer(out, lineterminator=lineterminator)
        # csv quotes a cell holding a character of the line terminator, but with "\n" as the
        # terminator a bare "\r" goes out unquoted and cuts the row in two when read back; such
        # rare rows are written with every cell quoted (still one valid CSV file).
        self._quoted = csv.writer(out, lineterminator=lineterminator, quoting=csv.QUOTE_ALL)
        self._bare_cr = "\r" not in lineterminator

    def writerow(self, row: Iterable[Any]) -> None:
        cells = [neutralise(v) for v in row]
        if self._bare_cr and any(isinstance(c, str) and _BARE_CR.search(c) for c in cells):
            self._quoted.writerow(cells)
        else:
            self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Writable, *, lineterminator: str = "\n") -> SafeWriter:
    """A CSV writer whose text cells cannot be read as formulas by a spreadsheet."""
    return SafeWriter(out, lineterminator=lineterminator)


__all__ = ["FORMULA_START", "SafeWriter", "neutralise", "restore", "writer"]
