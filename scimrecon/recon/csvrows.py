"""csv.reader's rows, faster for the lines an export is made of.

An Atlassian export is mostly plain lines: no quote character anywhere, cells separated by
commas. For such a line the csv module's answer is exactly the line without its line break,
split at every comma (`str.split`, one C call), and reading a million-row export that way
takes about a third less time than the csv module's character-by-character parser; that is
what keeps `analyze` no slower than pandas (docs/performance.md, decision 95). Any line the
split could get wrong goes to a real csv.reader instead: one with a quote (quoted cells, which
may hold commas and span lines), and one longer than the csv module's field size limit (so its
"field larger than field limit" error stays). A line from a text stream opened with
`newline=""` (textio.open_text) can hold a line break only at its end, so there is nothing
else to differ on; tests/recon/test_csvrows.py checks rows, line numbers and errors against
csv.reader on hostile text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator


class FastRows:
    """Rows of the default CSV dialect (strict), with `line_num` as csv.reader keeps it: the
    number of lines read so far."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._held: list[str] = []  # the line the csv reader must start with
        self.line_num = 0
        self._csv = csv.reader(self._feed(), strict=True)
        self._field_limit = csv.field_size_limit()
        self._rows = self._read()

    def __iter__(self) -> Iterator[list[str]]:
        """The one generator of rows (a `for` loop over it runs at generator speed)."""
        return self._rows

    def __next__(self) -> list[str]:
        return next(self._rows)

    def _feed(self) -> Iterator[str]:
        """The csv reader's input: the held line, then as many more as its record needs."""
        held, lines = self._held, self._lines
        while True:
            if held:
                yield held.pop()
                continue
            line = next(lines, None)
            if line is None:
                return
            self.line_num += 1
            yield line

    def _read(self) -> Iterator[list[str]]:
        held, reader, limit = self._held, self._csv, self._field_limit
        for line in self._lines:
            self.line_num += 1
            if '"' in line or len(line) > limit:
                held.append(line)
                row = next(reader, None)
                if row is None:  # the csv reader has seen the end (strict: an error first)
                    return
                yield row
                continue
            text = line.rstrip("\r\n")
            yield text.split(",") if text else []
