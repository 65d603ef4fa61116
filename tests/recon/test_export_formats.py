"""Every format detail of the two exports, on hand-made files (tests/recon/data)."""

from __future__ import annotations

import codecs
from datetime import date
from pathlib import Path

import pytest

from scimrecon.errors import InputError
from scimrecon.recon.columns import DIRECTORY, MANAGED, parse_column_overrides
from scimrecon.recon.export import open_export, read_records
from scimrecon.recon.model import NEVER, ProductAccess


def _summary(path: Path, **options: object) -> list[tuple[str, str, str, bool, tuple]]:
    return [
        (r.account_id, r.email, r.status, r.billable, r.products)
        for r in read_records(path, **options)
    ]


def test_directory_export_is_detected_and_read(data: Path) -> None:
    with open_export(data / "directory.csv", domains=["acme.example"]) as export:
        assert export.format == DIRECTORY
        assert export.encoding == "utf-8"
        records = list(export.records())
    assert [r.account_id for r in records] == [
        "u-ada", "u-bob", "u-cara", "u-dan", "u-eve", "u-fay", "u-gus", "u-hal", "u-ivy",
    ]  # fmt: skip
    ada, bob, cara = records[0], records[1], records[2]
    assert ada.groups == ("jira-users", "confluence-users")
    assert ada.added_to_org == date(2023, 4, 12)
    assert ada.products == (
        ProductAccess("Jira Software", "acme", date(2026, 11, 18)),
        ProductAccess("Confluence", "acme", date(2026, 11, 14)),
    )
    # quoted fields: doubled quotes, a comma, and a CRLF inside the quotes
    assert bob.name == 'Bob "The Builder", Jr.'
    assert cara.name == "Cara\r\nTwo-Lines"
    assert cara.products[0].last_seen == NEVER
    # line numbers count physical lines, so the multi-line record shifts the ones after it
    assert [r.line for r in records] == [2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert records[4].is_admin and records[5].status == "inactive"


def test_unknown_product_columns_are_kept(data: Path) -> None:
    hal = read_records(data / "directory.csv", domains=["acme.example"])[7]
    assert hal.products == (ProductAccess("Loom", "acme", date(2026, 8, 1)),)
    assert hal.billable


def test_managed_only_by_domain_or_claimed(data: Path) -> None:
    no_domain = read_records(data / "directory.csv")
    assert not any(r.managed for r in no_domain)
    with_domain = {
        r.email: r.managed for r in read_records(data / "directory.csv", domains=["ACME.example"])
    }
    assert with_domain["ada@acme.example"] and not with_domain["gus@gmail.example"]


def test_managed_accounts_export(data: Path) -> None:
    with open_export(data / "managed.csv") as export:
        assert export.format == MANAGED
        records = list(export.records())
    by_id = {r.account_id: r for r in records}
    assert by_id["u-ada"].last_active == date(2026, 11, 18)
    assert by_id["u-ada"].products == (
        ProductAccess("Jira Software", "", None),
        ProductAccess("Confluence", "", None),
    )
    assert by_id["u-dan"].managed is False  # Claimed: No
    assert by_id["u-ada"].managed and by_id["u-ada"].reported_billable is True
    # a date or "Never accessed" in a product column is access plus its last use
    assert by_id["u-jo"].products == (
        ProductAccess("Jira Software", "", date(2026, 11, 1)),
        ProductAccess("Confluence", "", NEVER),
    )


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
    ],
)
def test_encodings_are_detected(data: Path, tmp_path: Path, codec: str, bom: bytes) -> None:
    text = (
        (data / "directory.csv").read_text(encoding="utf-8").replace("Ada Lovelace", "Adá Lövelace")
    )
    path = tmp_path / "users.csv"
    path.write_bytes(bom + text.encode(codec))
    expected = _summary(data / "directory.csv", domains=["acme.example"])
    got = read_records(path, domains=["acme.example"])
    assert got[0].name == "Adá Lövelace"
    assert [(r.account_id, r.email, r.status, r.billable, r.products) for r in got] == expected


def test_explicit_encoding(data: Path, tmp_path: Path) -> None:
    text = (data / "directory.csv").read_text(encoding="utf-8").replace("Ada Lovelace", "Adé")
    path = tmp_path / "users.csv"
    path.write_bytes(text.encode("cp1252"))
    assert read_records(path, encoding="cp1252")[0].name == "Adé"


def test_lf_cr_and_crlf_line_endings_read_the_same(data: Path, tmp_path: Path) -> None:
    text = (data / "directory.csv").read_bytes()
    expected = _summary(data / "directory.csv")
    for ending in (b"\n", b"\r"):
        path = tmp_path / "users.csv"
        path.write_bytes(text.replace(b"\r\n", ending))
        assert _summary(path) == expected


def test_headers_match_case_insensitively_with_aliases(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "ATLASSIAN ACCOUNT ID,Display Name,E-mail,USER_STATUS,Date added,Role,jira - acme\n"
        "a1,Ann,ann@acme.example,active,2024-01-02,member,yes\n",
        encoding="utf-8",
    )
    (ann,) = read_records(path, domains=["acme.example"])
    assert (ann.account_id, ann.name, ann.email, ann.status) == (
        "a1",
        "Ann",
        "ann@acme.example",
        "active",
    )
    assert ann.added_to_org == date(2024, 1, 2)
    assert ann.products == (ProductAccess("jira", "acme", None),)
    assert ann.products[0].key == "jira-software"


def test_column_overrides_map_unknown_headers(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "Konto,Mail,Zustand,Seit,Jira Zugriff,Zuletzt Jira,Kostenstelle\n"
        "a1,ann@acme.example,Active,02 Jan 2024,Yes,03 Nov 2026,4711\n",
        encoding="utf-8",
    )
    overrides = parse_column_overrides(
        [
            "Konto=account_id",
            "mail=email",
            "ZUSTAND=status",
            "Seit=added_to_org",
            "Jira Zugriff=product:Jira Software - acme",
            "Zuletzt Jira=last-seen:Jira Software - acme",
            "Kostenstelle=ignore",
        ]
    )
    with open_export(path, columns=overrides, domains=["acme.example"]) as export:
        (ann,) = list(export.records())
        assert export.plan.ignored == ("Kostenstelle",)
    assert ann.account_id == "a1" and ann.billable
    assert ann.products == (ProductAccess("Jira Software", "acme", date(2026, 11, 3)),)


def test_bad_column_override_is_refused() -> None:
    with pytest.raises(InputError) as err:
        parse_column_overrides(["Konto"])
    assert str(err.value).startswith("--column 'Konto': expected NAME=FIELD with FIELD one of")
    with pytest.raises(InputError):
        parse_column_overrides(["Konto=favourite_colour"])


def test_override_for_a_missing_column_is_refused(data: Path) -> None:
    with pytest.raises(InputError) as err:
        read_records(data / "directory.csv", columns=parse_column_overrides(["Nope=email"]))
    assert str(err.value).startswith(
        f"--column: no column named 'nope' in {data / 'directory.csv'}"
    )


def test_forced_format(data: Path) -> None:
    with open_export(data / "managed.csv", export_format=DIRECTORY) as export:
        records = list(export.records())
    # as a Directory export, Claimed alone decides managed-ness (no domain given)
    assert [r.managed for r in records] == [True, True, True, False, True, True]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "\nUser id,email,User status\n\nu1,a@x.example,Active\n,,\nu2,b@x.example,Active\n",
        encoding="utf-8",
    )
    assert [(r.account_id, r.line) for r in read_records(path)] == [("u1", 4), ("u2", 6)]
