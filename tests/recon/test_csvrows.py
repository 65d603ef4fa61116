"""FastRows gives exactly csv.reader's rows, line numbers and errors (strict, default dialect),
inside the line and record limits."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.errors import InputError
from scimrecon.recon.csvrows import FastRows, split_lines

# every character the csv module treats specially, and a few it does not
_PIECES = st.sampled_from(['"', ",", "\n", "\r", "\r\n", "\x00", " ", "a", "é", "名", ";", '""'])
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=40).map("".join)


def _fast(text: str, **limits: int) -> FastRows:
    return FastRows(io.StringIO(text, newline=""), "t.csv", **limits)


def _csv(text: str) -> object:
    """csv.reader over the lines of `text` as textio.open_text hands them out (newline="")."""
    return csv.reader(io.StringIO(text, newline=""), strict=True)


def _read(reader: object) -> tuple[list[tuple[list[str], int]], str | None]:
    """Every row with the line number after it, and the error that ended the reading."""
    rows: list[tuple[list[str], int]] = []
    try:
        for row in reader:  # type: ignore[attr-defined]
            rows.append((row, reader.line_num))  # type: ignore[attr-defined]
    except csv.Error as exc:
        return rows, f"{exc} at line {reader.line_num}"  # type: ignore[attr-defined]
    return rows, None


@given(_TEXT)
def test_rows_line_numbers_and_errors_are_the_csv_modules(text: str) -> None:
    assert _read(_fast(text)) == _read(_csv(text))


@given(st.lists(st.lists(st.text(max_size=6), min_size=1, max_size=4), max_size=8))
def test_written_rows_read_back(rows: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    assert _read(_fast(out.getvalue())) == _read(_csv(out.getvalue()))


def test_a_field_over_the_csv_modules_limit_is_still_refused() -> None:
    rows, error = _read(_fast("x" * (csv.field_size_limit() + 1) + ",y\n"))
    assert rows == [] and error is not None and "field larger than field limit" in error


def test_plain_lines_split_at_commas_and_blank_lines_are_empty() -> None:
    reader = _fast("a,b,,c\r\n\nd\re,f")
    assert _read(reader) == ([(["a", "b", "", "c"], 1), ([], 2), (["d"], 3), (["e", "f"], 4)], None)


def test_a_quoted_cell_spanning_lines_counts_every_line() -> None:
    assert _read(_fast('a,"b\nc",d\ne,f\n')) == ([(["a", "b\nc", "d"], 2), (["e", "f"], 3)], None)
    assert next(_fast("x,y\n")) == ["x", "y"]


def test_a_line_over_the_limit_is_refused_after_reading_the_limit() -> None:
    reader = _fast("a,b\n" + "c" * 50 + "\n", max_line=20)
    refused = r"^t\.csv:2: line longer than the limit of 20 characters$"
    with pytest.raises(InputError, match=refused):
        list(reader)
    assert list(_fast("a,b\n" + "c" * 19 + "\n", max_line=20))[1] == ["c" * 19]


def test_the_record_limit_is_per_record_not_per_file() -> None:
    quoted = '"a\nb",c\n'  # a record of two lines, 8 characters
    assert len(list(_fast(quoted * 50 + "x,y\n" * 50, max_record=10))) == 100
    with pytest.raises(InputError, match=r"^t\.csv:3: row longer than the limit of 10 characters$"):
        list(_fast('x\n"a\nbcdefghij",c\n', max_record=10))


def _read_blocks(reader: FastRows, size: int) -> tuple[list[tuple[list[str], int]], str | None]:
    """Every row of blocks() with the line its row starts on, and the error that ended it."""
    rows: list[tuple[list[str], int]] = []
    try:
        for start, texts, block in reader.blocks(size):
            block = split_lines(texts) if texts is not None else block
            assert block is not None
            rows += [(row, start + n) for n, row in enumerate(block)]
    except csv.Error as exc:
        return rows, f"{exc} at line {reader.line_num}"
    return rows, None


def _starts(reader: object) -> tuple[list[tuple[list[str], int]], str | None]:
    """Every row with the line it starts on (csv.reader's count before it, plus one)."""
    rows: list[tuple[list[str], int]] = []
    last = 0
    try:
        for row in reader:  # type: ignore[attr-defined]
            rows.append((row, last + 1))
            last = reader.line_num  # type: ignore[attr-defined]
    except csv.Error as exc:
        return rows, f"{exc} at line {reader.line_num}"  # type: ignore[attr-defined]
    return rows, None


@given(st.lists(st.one_of(_TEXT, st.just("a,b\n"), st.just("\n")), max_size=12).map("".join),
       st.integers(1, 5))  # fmt: skip
def test_blocks_give_the_csv_modules_rows_and_lines(text: str, size: int) -> None:
    """Plain lines split a block at a time, any other line row by row: the same rows, lines
    and errors as csv.reader, whatever the block size."""
    assert _read_blocks(_fast(text), size) == _starts(_csv(text))


def test_a_quoted_row_ends_its_block_and_goes_on_past_it() -> None:
    reader = _fast('a,b\nc,"d\ne\nf",g\nh\n\ni,j')
    blocks = list(reader.blocks(2))
    assert blocks == [
        (1, None, [["a", "b"]]),
        (2, None, [["c", "d\ne\nf", "g"]]),
        (5, ["h", ""], None),
        (7, ["i,j"], None),
    ]
