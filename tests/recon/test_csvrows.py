"""FastRows gives exactly csv.reader's rows, line numbers and errors (strict, default dialect)."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from scimrecon.recon.csvrows import FastRows

# every character the csv module treats specially, and a few it does not
_PIECES = st.sampled_from(['"', ",", "\n", "\r", "\r\n", "\x00", " ", "a", "é", "名", ";", '""'])
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=40).map("".join)


def _lines(text: str) -> list[str]:
    """The lines of `text` as textio.open_text hands them out (newline="")."""
    return list(io.StringIO(text, newline=""))


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
    expected = _read(csv.reader(_lines(text), strict=True))
    assert _read(FastRows(_lines(text))) == expected


@given(st.lists(st.lists(st.text(max_size=6), min_size=1, max_size=4), max_size=8))
def test_written_rows_read_back(rows: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    text = out.getvalue()
    assert _read(FastRows(_lines(text))) == _read(csv.reader(_lines(text), strict=True))


def test_a_field_over_the_csv_modules_limit_is_still_refused() -> None:
    line = "x" * (csv.field_size_limit() + 1) + ",y\n"
    rows, error = _read(FastRows([line]))
    assert rows == [] and error is not None and "field larger than field limit" in error


def test_plain_lines_split_at_commas_and_blank_lines_are_empty() -> None:
    reader = FastRows(["a,b,,c\r\n", "\n", "d\r", "e,f"])
    assert _read(reader) == ([(["a", "b", "", "c"], 1), ([], 2), (["d"], 3), (["e", "f"], 4)], None)


def test_a_quoted_cell_spanning_lines_counts_every_line() -> None:
    reader = FastRows(['a,"b\n', 'c",d\n', "e,f\n"])
    assert _read(reader) == ([(["a", "b\nc", "d"], 2), (["e", "f"], 3)], None)
    assert next(FastRows(["x,y\n"])) == ["x", "y"]
