"""The rows of an export: csv.reader's exact answer, faster for the lines exports are made of,
inside the limits every streamed file keeps (limits.py).

An Atlassian export is mostly plain lines: no quote character anywhere, cells separated by
commas. For such a line the csv module's answer is exactly the line without its line break,
split at every comma (`str.split`, one C call), and reading a million-row export that way
takes about a third less time than the csv module's character-by-character parser; that is
part of what keeps `analyze` no slower than pandas (docs/performance.md, decision 95). Any line
the split could get wrong goes the careful way, to a real csv.reader: one with a quote (quoted
cells may hold commas and span lines) and one longer than the csv module's field size limit
(so its "field larger than field limit" error stays). A line from a text stream opened with
`newline=""` (textio.open_text) can hold a line break only at its end, so there is nothing
else to differ on; tests/recon/test_csvrows.py checks rows, line numbers and errors against
csv.reader on hostile text.

The limits: every line is read with `readline(MAX_LINE_CHARS + 1)`, so a 200 MB header costs
1 MB before it is refused; a plain line is shorter than the field size limit, hence whole and
within MAX_LINE_CHARS, and only lines that go the careful way need checking: each must be whole,
and the lines of one record together at most MAX_RECORD_CHARS (a quoted cell that never ends).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import partial
from itertools import chain, islice, repeat
from typing import IO

from scimrecon.limits import MAX_LINE_CHARS, MAX_RECORD_CHARS, line_too_long, record_too_long


class FastRows:
    """Rows of the default CSV dialect (strict), with `line_num` as csv.reader keeps it: the
    number of lines read so far. Iterate it once; limits broken raise InputError naming
    `name` and the line."""

    def __init__(
        self,
        text: IO[str],
        name: str,
        *,
        max_line: int = MAX_LINE_CHARS,
        max_record: int = MAX_RECORD_CHARS,
    ) -> None:
        self.name = name
        self.max_line = max_line
        self.max_record = max_record
        self.line_num = 0
        # readline with a limit, called from C: a line never costs more than max_line + 1
        self._source = iter(partial(text.readline, max_line + 1), "")
        self._lines: Iterator[str] = self._source  # blocks() may put a block back in front
        self._held: list[str] = []  # the line the csv reader must start with
        self._record = 0  # characters of the record read the careful way, so far
        self._plain_max = min(csv.field_size_limit(), max_line)
        self._csv = csv.reader(self._feed(), strict=True)
        self._rows = self._read()

    def __iter__(self) -> Iterator[list[str]]:
        """The one generator of rows (a `for` loop over it runs at generator speed)."""
        return self._rows

    def __next__(self) -> list[str]:
        return next(self._rows)

    def _take(self, line: str) -> str:
        """Count a line read the careful way, and check it against the limits."""
        self.line_num += 1
        size = len(line)
        if size > self.max_line and line[-1] not in "\r\n":
            raise line_too_long(self.name, self.line_num, self.max_line)
        self._record += size
        if self._record > self.max_record:
            raise record_too_long(self.name, self.line_num, self.max_record)
        return line

    def _feed(self) -> Iterator[str]:
        """The csv reader's input: the held line, then as many more as its record needs (from
        `self._lines` as it is now: blocks() may have put lines back in front of it)."""
        held = self._held
        while True:
            if held:
                yield held.pop()
                continue
            line = next(self._lines, None)
            if line is None:
                return
            yield self._take(line)

    def _row(self, line: str) -> list[str] | None:
        """The row that starts with `line` (None: the csv reader has seen the end)."""
        if '"' in line or len(line) > self._plain_max:
            self._record = 0
            self._held.append(self._take(line))
            return next(self._csv, None)
        self.line_num += 1
        text = line.rstrip("\r\n")
        return text.split(",") if text else []

    def blocks(self, size: int) -> Iterator[tuple[int, list[str] | None, list[list[str]] | None]]:
        """The rows, in blocks: (the line the block's first row starts on, its plain lines,
        its rows). A block of plain lines (the usual case) holds up to `size` rows, one a
        line, given as the lines without their line breaks (`split_lines` makes them rows, or
        the caller splits them its own way); a block of lines holding a quote or a long line
        is read row by row instead, each row a block of its own, given as rows. Use either
        this or iteration, once."""
        plain_max = self._plain_max
        while True:
            block = list(islice(self._lines, size))
            if not block:
                return
            if max(map(len, block)) <= plain_max and '"' not in "".join(block):
                start = self.line_num + 1
                self.line_num += len(block)
                yield start, list(map(str.rstrip, block, repeat("\r\n"))), None
                continue
            # put the lines back and read them one row at a time (a quoted row may go on
            # past the block's last line: its lines then come from the file, as they would)
            self._lines = chain(block, self._source)  # the last block put back is used up
            end = self.line_num + len(block)
            while self.line_num < end:
                start = self.line_num + 1
                row = self._row(next(self._lines))
                if row is None:
                    return
                yield start, None, [row]

    def _read(self) -> Iterator[list[str]]:
        held, reader, plain_max = self._held, self._csv, self._plain_max
        for line in self._lines:
            if '"' in line or len(line) > plain_max:
                self._record = 0
                held.append(self._take(line))
                row = next(reader, None)
                if row is None:  # the csv reader has seen the end (strict: an error first)
                    return
                yield row
                continue
            self.line_num += 1
            text = line.rstrip("\r\n")
            yield text.split(",") if text else []


def split_lines(texts: list[str]) -> list[list[str]]:
    """Plain lines (no quote, no line break) as csv.reader's rows: split at every comma, and
    a blank line [] (csv.reader's answer, not [""])."""
    if "" in texts:
        return [t.split(",") if t else [] for t in texts]
    return list(map(str.split, texts, repeat(",")))
