"""Target lists: encodings, duplicates, blanks and limits, each refused with file:line."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.engine.targets import parse_targets
from scimrecon.errors import InputError, RefusedError


def parse(data: bytes | str, name: str = "targets.csv", **kw):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return parse_targets(data, name, columns=kw.pop("columns", ["email"]), key="email", **kw)


def error(data: bytes | str, name: str = "targets.csv", **kw) -> str:
    with pytest.raises(InputError) as err:
        parse(data, name, **kw)
    assert err.value.exit_code == 2
    return err.value.message


def test_duplicates_are_case_insensitive_for_emails() -> None:
    text = (
        "email,name\n"
        "bob@acme.example,Bob\n"
        "Ada@Acme.example,Ada\n"
        "cy@acme.example,Cy\n"
        "di@acme.example,Di\n"
        "ed@acme.example,Ed\n"
        "ada@acme.example,Ada again\n"
    )
    assert error(text) == "targets.csv:7: duplicate target 'ada@acme.example' (first on line 3)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name\nAda\n", "targets.csv:1: missing column 'email' (found: name)"),
        ("email,name\n,Ada\n", "targets.csv:2: empty 'email'"),
        ("email,name\na@x.example,A\n,\nb@x.example,B\n", "targets.csv:3: empty row"),
        ("email,name\na@x.example,A\n\nb@x.example,B\n", "targets.csv:3: empty row"),
        ("email\na@x.example,extra\n", "targets.csv:2: 2 values but the header has 1 columns"),
        ("email,email\na@x.example,b\n", "targets.csv:1: column 'email' appears twice"),
        ("", "targets.csv: empty file (expected a header row)"),
        ("email\n", "targets.csv: no targets"),
    ],
)
def test_csv_mistakes_name_the_line(text: str, message: str) -> None:
    assert error(text) == message


def test_multiline_cells_keep_line_numbers_right() -> None:
    text = 'email,note\na@x.example,"two\nlines"\na@x.example,dup\n'
    assert error(text) == "targets.csv:4: duplicate target 'a@x.example' (first on line 2)"


def test_a_list_saved_decomposed_is_read_composed() -> None:
    """NFD, as some Mac tools save text: `zoe` + U+0301 reads `zoé` and is that address (the
    identity rule composes anyway); before, the whole list was refused (trial 8). Composed, it
    is also the same target as `zoé` typed whole: a duplicate."""
    got = parse("email,name\nzoe\u0301@acme.example,Zoe\u0301\n")
    assert [(t.key, t.row) for t in got.targets] == [
        ("zo\u00e9@acme.example", {"email": "zo\u00e9@acme.example", "name": "Zoe\u0301"})
    ]
    assert error("email\nzoe\u0301@acme.example\nzo\u00e9@acme.example\n") == (
        "targets.csv:3: duplicate target 'zo\u00e9@acme.example' (first on line 2)"
    )
    # a Kelvin sign is no decomposed text (NFC would map it to K): still refused
    assert error("email\n\u212aenji@acme.example\n") == (
        "targets.csv:2: email '\u212aenji@acme.example': holds U+212A KELVIN SIGN, a variant of "
        "'K': retype it as 'K'"
    )


def test_trailing_blank_lines_and_spaces_are_fine() -> None:
    got = parse("email , name\n a@x.example , A \n\n,\n")
    assert [(t.key, t.row, t.line) for t in got.targets] == [
        ("a@x.example", {"email": "a@x.example", "name": "A"}, 2)
    ]


@pytest.mark.parametrize(
    "encoded",
    [
        "email\nzoë@x.example\n".encode(),
        "\ufeffemail\nzoë@x.example\n".encode(),
        "email\r\nzoë@x.example\r\n".encode("utf-16"),  # BOM + little endian
        b"\xfe\xff" + "email\nzoë@x.example\n".encode("utf-16-be"),
    ],
)
def test_utf8_and_utf16_with_bom_are_read(encoded: bytes) -> None:
    assert [t.key for t in parse(encoded).targets] == ["zoë@x.example"]


def test_other_encodings_are_refused_with_advice() -> None:
    data = "email\na@x.example\nzoë@x.example\n".encode("latin-1")
    assert error(data) == (
        "targets.csv:3: not UTF-8 text (byte 0xeb); save the file as UTF-8 (or UTF-16 with a BOM)"
    )
    assert error("email\n".encode("utf-32")) == (
        "targets.csv: UTF-32 is not supported; save the file as UTF-8"
    )


def test_json_lists_are_validated_with_lines() -> None:
    text = (
        '[\n  {"email": "a@x.example"},\n  {"email": "b@x.example", "n": 1},\n'
        '  {"email": "A@x.example"}\n]\n'
    )
    assert error(text, "t.json") == "t.json:4: duplicate target 'A@x.example' (first on line 2)"
    ok = parse(text.replace("A@x", "c@x"), "t.json")
    assert [(t.key, t.line) for t in ok.targets] == [
        ("a@x.example", 2),
        ("b@x.example", 3),
        ("c@x.example", 4),
    ]
    assert ok.targets[1].row == {"email": "b@x.example", "n": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"email": "a"}', "t.json: {'email': 'a'} is not of type 'array'"),
        (
            '[{"email": "a"},\n {"email": ["x"]}]',
            "t.json:2: field 'email': ['x'] is not of type 'string', 'number', 'boolean', 'null'",
        ),
        ('[{"name": "a"}]', "t.json:1: missing 'email'"),
        ('[{"email": "a"}\n {"email": "b"}]', "t.json:2: invalid JSON: Expecting ',' delimiter"),
        ("[{}]", "t.json:1: empty row"),
        ('[{"email": null}]', "t.json:1: empty row"),
    ],
)
def test_json_mistakes(text: str, message: str) -> None:
    assert error(text, "t.json") == message


def test_max_targets_refuses_long_lists() -> None:
    text = "email\n" + "".join(f"u{i}@x.example\n" for i in range(4))
    with pytest.raises(RefusedError) as err:
        parse(text, max_targets=3)
    assert err.value.exit_code == 4
    assert err.value.message == (
        "targets.csv: 4 targets is more than --max-targets 3; raise --max-targets to go on"
    )
    assert len(parse(text, max_targets=4)) == 4


def test_digest_changes_with_content_only() -> None:
    a = parse("email,n\na@x.example,1\n")
    b = parse("\ufeffemail , n\r\na@x.example,1\r\n")
    c = parse("email,n\na@x.example,2\n")
    assert a.digest == b.digest != c.digest


_emails = st.lists(
    # Valid addresses only: dots inside the local part, no label starting or ending with '-'.
    st.from_regex(
        r"[a-z0-9_%+-]{1,6}(\.[a-z0-9_%+-]{1,5})?@[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\.example",
        fullmatch=True,
    ),
    min_size=1,
    max_size=20,
    unique_by=str.casefold,
)


@given(_emails, st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]), st.sampled_from(["\n", "\r\n"]))
def test_any_clean_list_round_trips(emails: list[str], encoding: str, newline: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["email", "note"])
    for e in emails:
        writer.writerow([e, 'a, "quoted" note'])
    got = parse(out.getvalue().encode(encoding))
    assert [t.key for t in got.targets] == emails
    assert [t.line for t in got.targets] == list(range(2, len(emails) + 2))


@given(_emails)
def test_json_and_csv_agree(emails: list[str]) -> None:
    as_json = parse(json.dumps([{"email": e} for e in emails], indent=1), "t.json")
    as_csv = parse("email\n" + "".join(f"{e}\n" for e in emails))
    assert [t.key for t in as_json.targets] == [t.key for t in as_csv.targets]
    assert as_json.digest == as_csv.digest
