"""Exports as Atlassian really gives them: the shipped variant files of the guard-billing world.

- managed-accounts.csv: the managed-accounts export (`Last active date [UTC]`, `Billable`,
  `Policy name`, `Policy type`, one column a product listing its sites: "acme, globex");
- users-by-group.csv: the user export with group membership, one row per group.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.cli.main import cli
from scimrecon.errors import InputError
from scimrecon.recon.columns import MANAGED
from scimrecon.recon.export import open_export, read_records
from scimrecon.sim.world import fixtures_root

HERE = Path(str(fixtures_root())) / "guard-billing"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
AS_OF = ("--as-of", "2026-11-23")


def _analyze(path: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["analyze", str(path), *AS_OF, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_managed_accounts_export_columns() -> None:
    with open_export(HERE / "managed-accounts.csv") as export:
        assert export.format == MANAGED
        fields = export.plan.fields
        assert export.plan.header(fields["last_active"]) == "Last active date [UTC]"
        assert export.plan.header(fields["policy_type"]) == "Policy type"
        assert export.plan.header(fields["policy_name"]) == "Policy name"
        records = {r.email: r for r in export.records()}
    linus = records["linus.berg@acme.example"]
    assert sorted((p.key, p.site) for p in linus.products) == [
        ("confluence", "acme"),
        ("jira-software", "acme"),
        ("jira-software", "globex"),
    ]  # the Jira cell says "acme, globex"
    assert linus.last_active == date(2026, 11, 20)
    kenji = records["kenji.watanabe@acme.example"]
    assert (kenji.policy, kenji.policy_billable) == ("Frontline (non-billable)", False)
    assert kenji.verdict().rule == "non-billable-policy"
    assert records["ada.lovelace@acme.example"].policy_billable is None
    # only managed accounts are in this export, each with the rule the world was built for
    rules = {e: r for e, r in EXPECTED["rules"].items() if e.endswith("@acme.example")}
    assert {e: r.verdict().rule for e, r in records.items()} == rules


def test_managed_accounts_export_figures() -> None:
    doc = _analyze(HERE / "managed-accounts.csv", "--site", "acme", "--site", "trello")
    assert doc["billable"] == EXPECTED["billable"]["managed"] == 5
    assert doc["billable_reported_by_export"] == 5 and doc["warnings"] == []
    flagged = {e for e in EXPECTED["unmanaged_site"] if e.endswith("@acme.example")}
    assert {c["email"] for c in doc["unmanaged_site_access"]} == flagged
    maria = next(c for c in doc["unmanaged_site_access"] if c["email"].startswith("maria"))
    assert maria["reason"] == (
        "managed-with-access: managed account with access to confluence on globex; globex: "
        "access on a site you don't manage: only that site's admin or Atlassian support can "
        "remove it"
    )


def test_one_row_per_group_is_merged_not_a_duplicate() -> None:
    text = (HERE / "users-by-group.csv").read_text(encoding="utf-8")
    assert text.count("ada.lovelace@acme.example") == 2  # jira-users and confluence-users
    records = read_records(HERE / "users-by-group.csv")
    assert len(records) == len(EXPECTED["rules"]) == 13
    by_email = {r.email: r for r in records}
    assert by_email["ada.lovelace@acme.example"].groups == ("jira-users", "confluence-users")
    assert by_email["chloe.martin@acme.example"].groups == ()
    by_group = _analyze(HERE / "users-by-group.csv", "--site", "acme", "--site", "trello")
    one_row = _analyze(HERE / "users-export.csv", "--site", "acme", "--site", "trello")
    for key in ("users", "billable", "billable_by_rule", "unmanaged_site_access", "classes"):
        assert by_group[key] == one_row[key], key
    assert by_group["billable"] == EXPECTED["billable"]["all"] == 7


def _rows() -> list[str]:
    return (HERE / "users-by-group.csv").read_text(encoding="utf-8").splitlines()


def test_conflicting_rows_of_one_user_are_reported(tmp_path: Path) -> None:
    lines = _rows()
    # ada's second row (confluence-users, line 3) says Deactivated where line 2 says Active
    assert lines[2].startswith("confluence-users,") and ",Active," in lines[2]
    lines[2] = lines[2].replace(",Active,", ",Deactivated,", 1)
    path = tmp_path / "users.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_records(path)
    ada = "712020:82450164-728a-4fcf-b03a-07b28f2df760"
    assert str(err.value) == (
        f"{path}:3: conflicting rows for user {ada!r}: column 'User status' says "
        f"'Deactivated' here but 'Active' on line 2 (rows of one user may differ only in "
        f"the group)"
    )
    result = CliRunner().invoke(cli, ["analyze", str(path), *AS_OF])
    assert result.exit_code == 2
    assert result.stderr == f"error: {err.value}\n"


def test_scattered_rows_of_one_user_count_once(tmp_path: Path) -> None:
    lines = _rows()
    lines.append(lines.pop(1))  # ada's jira-users row moves to the end of the file
    path = tmp_path / "users.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = read_records(path)
    assert len(records) == 13
    assert sum(r.email == "ada.lovelace@acme.example" for r in records) == 1


def test_duplicate_rows_without_a_group_column_are_still_refused(tmp_path: Path) -> None:
    lines = (HERE / "users-export.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "users.csv"
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r":15: duplicate user .* \(already on line 2\)"):
        read_records(path)


def test_bad_policy_type_names_the_cell(tmp_path: Path) -> None:
    text = (HERE / "managed-accounts.csv").read_text(encoding="utf-8")
    path = tmp_path / "managed.csv"
    path.write_text(text.replace(",Non-billable,", ",Sometimes,", 1), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_records(path)
    assert str(err.value) == (
        f"{path}:7: column 'Policy type': expected Billable or Non-billable, found 'Sometimes'"
    )


def test_a_site_list_is_only_read_from_a_product_column_without_a_site(tmp_path: Path) -> None:
    path = tmp_path / "directory.csv"
    path.write_text(
        "User id,email,User status,Jira Software - acme\nu1,a@acme.example,Active,globex\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_records(path)
    assert str(err.value) == (
        f"{path}:2: column 'Jira Software - acme': unknown access value 'globex' "
        f"(expected Yes/No or a date)"
    )


memberships = st.lists(
    st.lists(st.sampled_from(("g1", "g2", "g3")), unique=True, max_size=3), min_size=1, max_size=15
)


def _group_export(users: list[list[str]], order: list[int] | None = None) -> list[list[str]]:
    rows = [
        [group, f"u{n}", f"u{n}@acme.example", "Active", "Yes", "Yes"]
        for n, groups in enumerate(users)
        for group in groups or [""]
    ]
    return [rows[i] for i in order] if order is not None else rows


def _write(tmp: Path, rows: list[list[str]]) -> Path:
    path = tmp / "by-group.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        header = ["group_name", "User id", "email", "User status", "Claimed"]
        writer.writerow([*header, "Jira Software - acme"])
        writer.writerows(rows)
    return path


@settings(max_examples=60, deadline=None)
@given(memberships, st.randoms(use_true_random=False))
def test_any_order_of_group_rows_gives_each_user_once(users: list[list[str]], rnd: Any) -> None:
    order = list(range(len(_group_export(users))))
    rnd.shuffle(order)
    with tempfile.TemporaryDirectory() as tmp:
        records = read_records(_write(Path(tmp), _group_export(users, order)))
    assert sorted(r.account_id for r in records) == sorted(f"u{n}" for n in range(len(users)))
    assert all(r.billable for r in records)


@settings(max_examples=60, deadline=None)
@given(memberships, st.data())
def test_a_changed_cell_in_any_repeated_row_is_caught(users: list[list[str]], data: Any) -> None:
    rows = _group_export(users)
    repeated = [i for i, row in enumerate(rows) if [r[1] for r in rows[:i]].count(row[1])]
    if not repeated:
        return
    i = data.draw(st.sampled_from(repeated))
    rows[i][5] = "No"  # the user's Jira access differs from their first row
    conflict = r"conflicting rows for user 'u\d+': column 'Jira"
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(InputError, match=conflict):
        read_records(_write(Path(tmp), rows))


def test_the_merge_table_grows_past_its_first_size() -> None:
    from scimrecon.recon.group_rows import merge_group_rows
    from scimrecon.recon.model import UserRecord

    def parse(row: list[str], line: int) -> UserRecord:
        return UserRecord(row[1], "", f"{row[1]}@x.example", "active", True, groups=(row[0],))

    text = "".join(f"{g},u{n // 2}\n" for n, g in enumerate(["a", "b"] * 9000))
    reader = csv.reader(io.StringIO(text))
    merged = list(
        merge_group_rows(
            reader, parse, group=0, headers=("g", "id"), source="s", row_at=lambda _: None
        )
    )
    assert len(merged) == 9000 and {r.groups for r in merged} == {("a", "b")}


def test_a_group_export_larger_than_the_record_limit_reads(tmp_path: Path) -> None:
    # the record limit (4,000,000 characters, limits.py) bounds one record, not the file: a
    # group export used to count the whole file as one record and stop past 4 MB
    from scimrecon.limits import MAX_RECORD_CHARS

    path = tmp_path / "groups.csv"
    row = "id{n},User {n},user{n}@acme.example,Active,{g}\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("User id,User name,email,User status,Group name\n")
        n = 0
        while fh.tell() <= MAX_RECORD_CHARS:
            fh.writelines(row.format(n=n + k, g=g) for k in range(2000) for g in ("a", "b"))
            n += 2000
    records = read_records(path, domains=["acme.example"])
    assert len(records) == n and {r.groups for r in records} == {("a", "b")}
