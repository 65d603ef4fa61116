"""Bad input: one clear line naming file, line and column; exit 2; nothing written."""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.errors import InputError
from scimrecon.recon.export import open_export, read_records
from scimrecon.recon.repeats import LIMIT

HEADER = (
    "User id,User name,email,User status,Added to org,Org role,Jira - acme,"
    "Last seen in Jira - acme\n"
)
ROW = "u{n},User {n},user{n}@acme.example,Active,01 Jan 2024,Member,Yes,02 Mar 2025\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "users.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def _error(path: Path, **options: object) -> str:
    with pytest.raises(InputError) as err:
        read_records(path, **options)
    return str(err.value)


def _rows(count: int) -> str:
    return "".join(ROW.format(n=n) for n in range(count))


def test_bad_date_names_file_line_and_column(tmp_path: Path) -> None:
    body = _rows(12) + ROW.format(n=99).replace("02 Mar 2025", "31/02/2025")
    path = _write(tmp_path, HEADER + body)
    assert _error(path) == (
        f"{path}:14: column 'Last seen in Jira - acme': bad date '31/02/2025' "
        "(expected e.g. 02 Mar 2025 or Never accessed)"
    )


def test_bad_added_date(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ROW.format(n=1).replace("01 Jan 2024", "Never accessed"))
    assert _error(path) == (
        f"{path}:2: column 'Added to org': bad date 'Never accessed' (expected e.g. 02 Mar 2025)"
    )


def test_not_an_export(tmp_path: Path) -> None:
    path = _write(tmp_path, "order,amount\n1,2\n")
    assert _error(path) == (
        f"{path}:1: not an Atlassian user export: no 'User id'/'User status' (Directory export) "
        "or 'Atlassian ID'/'Claimed' (managed accounts) column (found 'order', 'amount'); "
        "use --column NAME=FIELD for other layouts"
    )


def test_missing_email_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "User id,User name,User status\nu1,Ann,Active\n")
    assert _error(path) == (
        f"{path}:1: no 'email' column (tried the known aliases; use --column NAME=email to name it)"
    )


def test_duplicate_user_names_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _rows(3) + ROW.format(n=1))
    assert _error(path) == f"{path}:5: duplicate user 'u1' (already on line 3)"


def test_the_first_repeat_in_file_order_is_named(tmp_path: Path) -> None:
    # the repeats are found after the last row (repeats.py): of several, the one on the
    # earliest line is named, whichever key sorts first
    text = "email,User status\n" + "".join(f"{n}@x.example,Active\n" for n in range(9000))
    assert len(read_records(_write(tmp_path, text))) == 9000
    path = _write(tmp_path, text + "8999@x.example,Active\n17@X.example,Active\n")
    assert _error(path) == f"{path}:9002: duplicate user '8999@x.example' (already on line 9001)"
    path = _write(tmp_path, text + "17@X.example,Active\n8999@x.example,Active\n")
    assert _error(path) == f"{path}:9002: duplicate user '17@x.example' (already on line 19)"
    # the same in rows read one at a time (block_rows=0) and in a row the block parser refuses
    assert _error(path, block_rows=0) == _error(path)


def test_a_shared_hash_alone_is_no_repeat(tmp_path: Path) -> None:
    """Two keys that share a hash are told apart by the second pass: given hashes of keys
    that are there once each, as often as the first pass counted them (as a collision would
    give them), reading ends without an error; given a repeated key's, it names the key."""
    path = _write(tmp_path, HEADER + _rows(300))
    with open_export(path, suspects={hash("u7"): 1, hash("u8"): 1}) as export:
        assert sum(1 for _ in export.records()) == 300
    path = _write(tmp_path, HEADER + _rows(300) + ROW.format(n=7))
    with pytest.raises(InputError) as err, open_export(path, suspects={hash("u7"): 2}) as e:
        list(e.records())
    assert str(err.value) == f"{path}:302: duplicate user 'u7' (already on line 9)"


def test_an_export_appended_to_itself_names_one_real_repeat(tmp_path: Path) -> None:
    """1,500 users twice over: the second read compares at most LIMIT of the repeated keys (its
    memory grows with them), and names one of them with both its lines."""
    path = _write(tmp_path, HEADER + _rows(1500) + _rows(1500))
    message = _error(path)
    found = re.fullmatch(rf"{re.escape(str(path))}:(\d+): duplicate user 'u(\d+)' "
                         r"\(already on line (\d+)\)", message)  # fmt: skip
    assert found, message
    line, n, first = map(int, found.groups())
    assert (first, line) == (n + 2, n + 1502)


def test_a_limit_of_shared_hashes_with_no_repeat_is_refused(tmp_path: Path) -> None:
    """Past the limit, hashes that all turn out shared by different keys (never seen: 64-bit
    hashes) may hide a repeat among those not compared: refused, not read as no repeat."""
    path = _write(tmp_path, HEADER + _rows(LIMIT))
    suspects = {hash(f"u{n}"): 1 for n in range(LIMIT)}
    with pytest.raises(InputError) as err, open_export(path, suspects=suspects) as export:
        list(export.records())
    assert str(err.value) == (
        f"{path}: {LIMIT} keys share a hash with another and none of them repeats: the rest "
        "were not compared; refusing the export"
    )
    path = _write(tmp_path, HEADER + _rows(3) + ROW.format(n=1))
    assert _error(path, suspects={}) == f"{path}:5: duplicate user 'u1' (already on line 3)"


def test_a_file_changed_between_the_two_reads_is_an_error(tmp_path: Path) -> None:
    """The first read saw u7 twice; the repeat is gone when the second read looks for it (the
    file was rewritten in between): an error, not the first read's counts, which hold u7
    twice."""
    path = _write(tmp_path, HEADER + _rows(300) + ROW.format(n=7))
    with open_export(path) as export:
        records = export.records()
        assert len(list(islice(records, 301))) == 301  # every row: the first read is over
        _write(tmp_path, HEADER + _rows(300))
        with pytest.raises(InputError) as err:
            next(records)
    assert str(err.value) == (
        f"{path}: the file changed while it was read (its users differ between two reads); "
        "read it again when nothing writes to it"
    )


def test_a_repeat_is_named_after_the_rows_are_read(tmp_path: Path) -> None:
    """The documented price of finding repeats at the end (decision 119): a file with a
    repeat and, further on, a bad date names the bad date; fixed, the repeat."""
    bad = ROW.format(n=50).replace("02 Mar 2025", "31/02/2025")
    path = _write(tmp_path, HEADER + _rows(3) + ROW.format(n=1) + _rows(40) + bad)
    assert _error(path).startswith(f"{path}:46: column 'Last seen in Jira - acme': bad date")
    path = _write(tmp_path, HEADER + _rows(3) + ROW.format(n=1) + _rows(40))
    assert _error(path) == f"{path}:5: duplicate user 'u1' (already on line 3)"


def test_duplicate_by_email_when_there_are_no_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, "email,User status\na@x.example,Active\nA@X.example,Active\n")
    assert _error(path) == f"{path}:3: duplicate user 'a@x.example' (already on line 2)"


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    assert _error(path) == f"{path}: empty file (no header row)"
    path = _write(tmp_path, "\r\n\r\n")
    assert _error(path) == f"{path}: empty file (no header row)"


def test_undecodable_bytes_are_located_exactly(tmp_path: Path) -> None:
    # far past the decoder's first read-ahead buffer, to prove the line is not the chunk's
    body = _rows(500).encode() + b"u-x,Bad \xff name,x@acme.example,Active,,Member,No,\n"
    path = _write(tmp_path, HEADER.encode() + body)
    offset = len(HEADER.encode()) + len(_rows(500).encode()) + len(b"u-x,Bad ")
    assert _error(path) == (
        f"{path}:502: cannot decode byte(s) ff 20 6e 61 at offset {offset} as utf-8 "
        "(save the export as UTF-8 or pass --encoding)"
    )


def test_a_latin1_letter_is_named_not_the_byte_after_it(tmp_path: Path) -> None:
    """0xEB starts a three-byte UTF-8 sequence: the decoder only fails at the comma after it,
    and the message must name 0xEB where it is (trial 6: it named ",zoe")."""
    row = "u-z,Zo\u00eb,zoe@acme.example,Active,,Member,No,\n".encode("latin-1")
    path = _write(tmp_path, HEADER.encode() + row)
    offset = len(HEADER.encode()) + len(b"u-z,Zo")
    assert _error(path) == (
        f"{path}:2: cannot decode byte(s) eb 2c 7a 6f at offset {offset} as utf-8 "
        "(save the export as UTF-8 or pass --encoding)"
    )


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "u1,Ann, Smith,ann@acme.example,Active,,Member,Yes,\n")
    assert _error(path) == (
        f"{path}:2: expected 8 fields like the header, found 9 "
        "(an unquoted comma or a cut-off row?)"
    )


def test_unknown_status_and_access_values(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ROW.format(n=1).replace("Active", "Sleeping"))
    assert _error(path) == (
        f"{path}:2: column 'User status': unknown status 'Sleeping' "
        "(expected Active, Deactivated, Suspended, Closed or Invited)"
    )
    path = _write(tmp_path, HEADER + ROW.format(n=1).replace("Yes", "Maybe"))
    assert _error(path) == (
        f"{path}:2: column 'Jira - acme': unknown access value 'Maybe' (expected Yes/No or a date)"
    )


def test_missing_email_value(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + ROW.format(n=1).replace("user1@acme.example", ""))
    assert _error(path) == f"{path}:2: column 'email': not an email address: ''"


def test_unterminated_quote_is_not_valid_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + 'u1,"Ann,ann@acme.example,Active,,Member,Yes,\n')
    assert _error(path).startswith(f"{path}:2: not valid CSV (")


def test_missing_file(tmp_path: Path) -> None:
    assert (
        _error(tmp_path / "nope.csv")
        == f"{tmp_path / 'nope.csv'}: cannot read (No such file or directory)"
    )


def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _rows(2) + ROW.format(n=0))
    out = tmp_path / "targets.csv"
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        [
            "analyze",
            str(path),
            "--targets-out",
            str(out),
            "--class",
            "inactive",
            "--html",
            str(html),
        ],
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {path}:4: duplicate user 'u0' (already on line 2)\n"
    assert not out.exists() and not html.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_cli_targets_out_needs_class(tmp_path: Path, data: Path) -> None:
    result = CliRunner().invoke(
        cli, ["analyze", str(data / "directory.csv"), "--targets-out", str(tmp_path / "t.csv")]
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == "error: --targets-out and --class go together (which list, to which file)\n"
    )
