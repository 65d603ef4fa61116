"""Rows parsed a block at a time (recon/export_blocks.py) give exactly the records, and the
errors, that parsing every row on its own gives, on random exports whose cells repeat, go bad,
come back, and sometimes hold quotes, blank lines or a wrong number of cells."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.errors import InputError
from scimrecon.recon.columns import plan_columns
from scimrecon.recon.export import open_export
from scimrecon.recon.export_blocks import block_parser
from scimrecon.recon.export_rows import RowReader
from scimrecon.recon.model import UserRecord

_HEADERS = {
    "plain": "User id,User name,email,User status,Added to org,Org role,Jira Software - acme,"
    "Last seen in Jira Software - acme,Trello - trello,Last seen in Trello - trello",
    # no account id (the key is the email), a last-active column, a product without a site
    "no id": "email,User status,Last active,Confluence,Last seen in Confluence",
    # the product columns not last (each block's product cells are split, not looked up whole)
    "products first": "Trello - trello,Last seen in Trello - trello,email,User status,Org role",
}
_CELLS = {
    # {n}: the row's number (each user once), {r}: a number a row before had (a repeat)
    "User id": ["a{n}", " a{n} ", "a{n}", "", "a{r}"],
    "User name": ["Ann", " Bob ", ""],
    "email": [
        "u{n}@acme.example",
        "U{n}@Acme.Example",
        " u{n}@other.example ",
        "nobody",
        "u{r}@acme.example",
    ],
    "User status": ["Active", "Deactivated", " active ", "bogus"],
    "Added to org": ["01 Jan 2026", "20 Nov 2026", "", "Never accessed", "31 Feb 2026"],
    "Org role": ["Member", "Org admin", "", " MEMBER "],
    "Last active": ["", "02 Mar 2025", "Never accessed", "soon"],
    "access": ["Yes", "No", "", "maybe", "acme, other"],
    "seen": ["", "Never accessed", "10 Nov 2026", "01 Jan 2020", "31 Feb 2026"],
}


def _cells(name: str) -> list[str]:
    if name in _CELLS:
        return _CELLS[name]
    return _CELLS["seen" if name.startswith("Last seen in") else "access"]


@st.composite
def _exports(draw: st.DrawFn) -> tuple[str, str]:
    """An export's text: mostly valid rows drawn from a few cells each (so blocks see cells
    seen before), with a bad cell, a quoted row, a blank line, a short or a long row now and
    then (a cell missing or one too many, at the end or at the start, before the product cells
    the block parser reads as one text)."""
    header = _HEADERS[draw(st.sampled_from(sorted(_HEADERS)))]
    names = header.split(",")
    lines = [header]
    for row in range(draw(st.integers(0, 60))):
        kind = draw(
            st.sampled_from(
                ["row"] * 40
                + ["blank", "short", "quoted", "empty cells", "long", "short start", "long start"]
            )
        )
        cells = [draw(st.sampled_from(_cells(n)[:3] if kind == "row" else _cells(n)))
                 for n in names]  # fmt: skip
        r = draw(st.integers(0, row))
        cells = [c.format(n=row, r=r) for c in cells]
        if kind == "blank":
            lines.append("")
        elif kind == "short":
            lines.append(",".join(cells[:-1]))
        elif kind == "long":
            lines.append(",".join([*cells, cells[-1]]))
        elif kind == "short start":
            lines.append(",".join(cells[1:]))
        elif kind == "long start":
            lines.append(",".join([cells[0], *cells]))
        elif kind == "quoted":
            lines.append(",".join(f'"{c}"' for c in cells))
        elif kind == "empty cells":
            lines.append("," * (len(names) - 1))
        else:
            if draw(st.integers(0, 9)) == 0:  # a cell drawn from every value, bad ones too
                at = draw(st.integers(0, len(names) - 1))
                cells[at] = draw(st.sampled_from(_cells(names[at]))).format(n=row, r=r)
            lines.append(",".join(cells))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + draw(st.sampled_from(["", end])), header


def _read(path: Path, block_rows: int) -> list[UserRecord] | str:
    """Every record, or the one line of the error that stopped the reading."""
    try:
        with open_export(path, domains=["acme.example"], block_rows=block_rows) as export:
            return list(export.records())
    except InputError as exc:
        return str(exc)


@settings(max_examples=150, deadline=None)
@given(_exports(), st.sampled_from([2, 3, 7, 40]))
def test_blocks_give_the_row_parsers_records_and_errors(export: tuple[str, str], size: int) -> None:
    text, _header = export
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.csv"
        path.write_bytes(text.encode("utf-8"))
        by_rows = _read(path, 0)
        assert _read(path, size) == by_rows


def test_a_block_of_cells_seen_before_is_parsed_as_a_block() -> None:
    """The block parser answers for a block whose every cell the row parser has checked (with
    each record's own line), and refuses one with a cell it has not."""
    header = _HEADERS["plain"].split(",")
    row = "a{n},User {n},u{n}@acme.example,Active,01 Jan 2026,Member,Yes,10 Nov 2026,No,"
    lines = [row.format(n=n) for n in range(6)]
    reader = RowReader(plan_columns(header, source="t.csv"), "t.csv", ["acme.example"])
    parse, block = reader.parser(), block_parser(reader)
    assert block is not None
    assert block(lines[3:], 5) is None  # nothing checked yet
    expected = [parse(line.split(","), 2 + n) for n, line in enumerate(lines)]
    assert block(lines, 2) == expected
    assert block([*lines[:2], lines[2].replace("Active", "Suspended")], 2) is None
    assert block([*lines[:2], lines[2].replace("10 Nov", "11 Nov")], 2) is None
    assert block([*lines[:2], lines[2] + ","], 2) is None  # a cell too many
