"""`scimrecon analyze` end to end: exact JSON contract, tables, target lists, fixture worlds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.recon.billable import account_is_billable
from scimrecon.recon.world import export_from_world

from .conftest import FIXTURES, load_world, world_names

AS_OF = ["--as-of", "2026-11-23"]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_documented_contract(data: Path) -> None:
    path = str(data / "directory.csv")
    code, out, err = _run(
        "analyze", path, *AS_OF, "--domain", "acme.example", "--tier", "8", "--format", "json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "as_of": "2026-11-23",
        "format": "directory-export",
        "source": path,
        "users": 9,
        "active": 8,
        "billable": 8,
        "billable_reported_by_export": None,
        # fay is deactivated; gus (gmail.example, not the org's domain) has Jira on acme: an
        # external user, billable like the 7 managed accounts with access
        "billable_by_rule": {
            "inactive": 1,
            "portal-only": 0,
            "not-org-user": 0,
            "non-billable-policy": 0,
            "no-product": 0,
            "reported-not-billable": 0,
            "managed-with-access": 7,
            "external-with-access": 1,
        },
        "org_sites": None,
        "unmanaged_site_access": [],
        "products": [
            {
                "product": "Confluence",
                "site": "acme",
                "users": 2,
                "active_30d": 1,
                "active_90d": 1,
                "never_accessed": 1,
            },
            {
                "product": "Jira Software",
                "site": "acme",
                "users": 6,
                "active_30d": 2,
                "active_90d": 3,
                "never_accessed": 2,
            },
            {
                "product": "Loom",
                "site": "acme",
                "users": 1,
                "active_30d": 0,
                "active_90d": 0,
                "never_accessed": 0,
            },
            {
                "product": "Trello",
                "site": "trello",
                "users": 2,
                "active_30d": 1,
                "active_90d": 2,
                "never_accessed": 0,
            },
        ],
        "tier": {
            "limit": 8,
            "used": 8,
            "percent": 100.0,
            "status": "over",
            "remove_to_get_under_80": 2,
        },
        "classes": {
            "trello-only": [
                {
                    "email": "bob@acme.example",
                    "account_id": "u-bob",
                    "name": 'Bob "The Builder", Jr.',
                    "reason": "billable only through Trello",
                },
            ],
            "inactive": [
                {
                    "email": "cara@acme.example",
                    "account_id": "u-cara",
                    "name": "Cara\r\nTwo-Lines",
                    "reason": "never accessed any product; added 2024-02-01, "
                    "1026 days before 2026-11-23",
                },
                {
                    "email": "hal@acme.example",
                    "account_id": "u-hal",
                    "name": "Hal Loom",
                    "reason": "last seen 2026-08-01, 114 days before 2026-11-23",
                },
            ],
            "protected": [
                {
                    "email": "eve@acme.example",
                    "account_id": "u-eve",
                    "name": "Eve Admin",
                    "reason": "protected (org role 'org admin'); would be inactive: "
                    "last seen 2026-05-07, 200 days before 2026-11-23",
                },
            ],
        },
        "settings": {"unwanted": ["trello"], "inactive_days": 90, "grace_days": 30},
        "warnings": [],
    }


def test_as_of_moves_every_figure(data: Path) -> None:
    code, out, _ = _run(
        "analyze", str(data / "directory.csv"), "--as-of", "2026-08-20", "--domain", "acme.example",
        "--format", "json",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0
    # on 2026-08-20 Hal (last seen 2026-08-01) is active and Eve (2026-05-07) is 105 days out
    assert [c["email"] for c in doc["classes"]["inactive"]] == ["cara@acme.example"]
    assert [c["email"] for c in doc["classes"]["protected"]] == ["eve@acme.example"]
    assert doc["tier"] == {
        "limit": None,
        "used": 8,
        "percent": None,
        "status": None,
        "remove_to_get_under_80": None,
    }


def test_table_output(data: Path) -> None:
    code, out, err = _run(
        "analyze", str(data / "directory.csv"), *AS_OF, "--domain", "acme.example", "--tier", "8"
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{data / 'directory.csv'} (directory-export), as of 2026-11-23"
    assert "users     9" in lines
    assert "billable  8" in lines
    assert "tier      8 of 8 (100.0 %): over; remove 2 to get under 80 %" in lines
    assert "trello-only: 1 billable only through an unwanted product (trello)" in lines
    assert "inactive: 2 inactive licences (no use in 90 days)" in lines
    assert "protected: 1 protected (left off the candidate lists)" in lines
    assert any(
        line.startswith("cara@acme.example  u-cara        Cara Two-Lines  never") for line in lines
    )
    assert any(
        line.startswith(
            "Jira Software  acme          6             2             3                 2"
        )
        for line in lines
    )


def test_control_characters_in_names_are_shown_escaped(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "User id,User name,email,User status,Trello - trello\n"
        "u1,\x1b[31mRed,red@acme.example,Active,Yes\n",
        encoding="utf-8",
    )
    _, out, _ = _run("analyze", str(path), *AS_OF, "--domain", "acme.example")
    assert "\x1b" not in out
    assert "u1            \\x1b[31mRed  billable only through Trello" in out


def test_limit_shortens_lists_and_says_so(data: Path) -> None:
    _, out, _ = _run(
        "analyze", str(data / "directory.csv"), *AS_OF, "--domain", "acme.example", "--limit", "1"
    )
    assert "... and 1 more (--limit 0, --format csv or --targets-out for all)" in out.splitlines()


def test_csv_output_lists_every_class(data: Path) -> None:
    _, out, _ = _run(
        "analyze",
        str(data / "directory.csv"),
        *AS_OF,
        "--domain",
        "acme.example",
        "--format",
        "csv",
    )
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["class", "email", "account_id", "name", "reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("trello-only", "bob@acme.example"),
        ("inactive", "cara@acme.example"),
        ("inactive", "hal@acme.example"),
        ("protected", "eve@acme.example"),
    ]


def test_targets_out_writes_the_playbook_shape(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "targets.csv"
    code, _, err = _run(
        "analyze", str(data / "directory.csv"), *AS_OF, "--domain", "acme.example",
        "--targets-out", str(out), "--class", "inactive",
    )  # fmt: skip
    assert code == 0
    assert err == f"wrote 2 inactive targets to {out}\n"
    assert out.read_bytes().decode("utf-8") == (
        "email,account_id,name,reason\n"
        'cara@acme.example,u-cara,"Cara\r\nTwo-Lines",'
        '"never accessed any product; added 2024-02-01, 1026 days before 2026-11-23"\n'
        'hal@acme.example,u-hal,Hal Loom,"last seen 2026-08-01, 114 days before 2026-11-23"\n'
    )


def test_protect_patterns_and_files(data: Path, tmp_path: Path) -> None:
    vip = tmp_path / "vip.txt"
    vip.write_text("# keep\nhal@ACME.example\n", encoding="utf-8")
    _, out, _ = _run(
        "analyze", str(data / "directory.csv"), *AS_OF, "--domain", "acme.example",
        "--protect", str(vip), "--protect", "u-bo*", "--format", "json",
    )  # fmt: skip
    doc = json.loads(out)
    assert doc["classes"]["trello-only"] == []
    assert [c["email"] for c in doc["classes"]["inactive"]] == ["cara@acme.example"]
    reasons = {c["email"]: c["reason"] for c in doc["classes"]["protected"]}
    assert reasons["hal@acme.example"] == (
        f"protected (matches protect pattern 'hal@ACME.example' ({vip}:2)); "
        "would be inactive: last seen 2026-08-01, 114 days before 2026-11-23"
    )
    assert reasons["bob@acme.example"] == (
        "protected (matches protect pattern 'u-bo*' (--protect)); would be trello-only: "
        "billable only through Trello"
    )


def test_grace_days_protect_new_users(data: Path) -> None:
    _, out, _ = _run(
        "analyze", str(data / "directory.csv"), "--as-of", "2024-02-10", "--domain", "acme.example",
        "--inactive-days", "5", "--format", "json",
    )  # fmt: skip
    protected = {c["email"]: c["reason"] for c in json.loads(out)["classes"]["protected"]}
    assert protected["cara@acme.example"] == (
        "protected (added 2024-02-01, within the 30-day grace period); would be inactive: "
        "never accessed any product; added 2024-02-01, 9 days before 2024-02-10"
    )


def test_unwanted_can_name_other_products(data: Path) -> None:
    _, out, _ = _run(
        "analyze", str(data / "directory.csv"), *AS_OF, "--domain", "acme.example",
        "--unwanted", "Loom", "--unwanted", "trello", "--format", "json",
    )  # fmt: skip
    doc = json.loads(out)
    assert {c["email"]: c["reason"] for c in doc["classes"]["trello-only"]} == {
        "bob@acme.example": "billable only through Trello",
        "hal@acme.example": "billable only through Loom",
    }


def test_no_domain_counts_the_same_and_warns_the_split_is_unknown(data: Path) -> None:
    """Under Guard Standard a user with access bills as a managed account or as an external
    user alike: without a domain the count is the one with it, only who is which is not."""
    code, out, err = _run("analyze", str(data / "directory.csv"), *AS_OF, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["billable"] == 8  # the 8 active users with access, as with --domain
    assert doc["billable_by_rule"]["managed-with-access"] == 0
    assert doc["billable_by_rule"]["external-with-access"] == 8
    assert err == (
        "warning: no user counts as managed (no Claimed column and no --domain matched): the "
        "billable count holds (with access, a managed account and an external user bill the "
        "same), but which users the org manages is unknown, and `options` and its claim list "
        "depend on it: pass --domain with the org's verified domains\n"
    )


def test_tier_comes_from_the_profile(data: Path, tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text("[billing]\ntier = 10\n", encoding="utf-8")
    _, out, _ = _run(
        "--profile", str(profile), "analyze", str(data / "directory.csv"), *AS_OF,
        "--domain", "acme.example", "--format", "json",
    )  # fmt: skip
    assert json.loads(out)["tier"] == {
        "limit": 10,
        "used": 8,
        "percent": 80.0,
        "status": "warning",
        "remove_to_get_under_80": 1,
    }


def test_managed_export_cross_checks_its_billable_column(data: Path, tmp_path: Path) -> None:
    text = (
        (data / "managed.csv")
        .read_text(encoding="utf-8")
        .replace("u-fay,Deactivated,,Yes,No", "u-fay,Deactivated,,Yes,Yes")
    )
    path = tmp_path / "managed.csv"
    path.write_text(text, encoding="utf-8")
    code, out, err = _run("analyze", str(path), *AS_OF, "--format", "json")
    assert code == 0
    # fay is deactivated: the export's "Yes" does not make her billable, it is cross-checked
    assert json.loads(out)["billable_reported_by_export"] == 5
    assert err == "warning: the export's own Billable column says 5, the Guard rule gives 4\n"


def test_managed_export_billable_no_excludes(data: Path, tmp_path: Path) -> None:
    """Atlassian's own "No" (a policy or plan the export may not name) is not counted."""
    text = (
        (data / "managed.csv")
        .read_text(encoding="utf-8")
        .replace("u-jo,Active,,Yes,Yes", "u-jo,Active,,Yes,No")
    )
    path = tmp_path / "managed.csv"
    path.write_text(text, encoding="utf-8")
    code, out, err = _run("analyze", str(path), *AS_OF, "--format", "json")
    doc = json.loads(out)
    assert (code, err) == (0, "")
    assert (doc["billable"], doc["billable_reported_by_export"]) == (3, 3)
    # jo, and dan: unclaimed with Jira, an external user, whom the export calls not billable
    assert doc["billable_by_rule"]["reported-not-billable"] == 2


@pytest.mark.parametrize("name", world_names())
@pytest.mark.parametrize("claimed", [True, False])
def test_exports_of_fixture_worlds_agree_with_the_simulators_billable_count(
    name: str, claimed: bool, tmp_path: Path
) -> None:
    world = load_world(name)
    path = tmp_path / "users.csv"
    path.write_text(export_from_world(world, claimed_column=claimed), encoding="utf-8")
    domains = [] if claimed else [arg for d in world["org"]["domains"] for arg in ("--domain", d)]
    code, out, _ = _run("analyze", str(path), *AS_OF, *domains, "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["users"] == len(world["accounts"])
    assert doc["billable"] == sum(1 for a in world["accounts"] if account_is_billable(a))


def test_acme_trello_world_numbers(tmp_path: Path) -> None:
    expected = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text(encoding="utf-8"))
    path = tmp_path / "users.csv"
    path.write_text(export_from_world(load_world("acme-trello")), encoding="utf-8")
    _, out, _ = _run("analyze", str(path), *AS_OF, "--tier", "50", "--format", "json")
    doc = json.loads(out)
    assert doc["billable"] == expected["billable"]["before"]
    assert {k: doc["tier"][k] for k in ("used", "percent", "status")} == expected["tier"]["before"]
    assert [c["email"] for c in doc["classes"]["trello-only"]] == expected["trello_only"]


def test_inactive_licences_world_classes(tmp_path: Path) -> None:
    expected = json.loads(
        (FIXTURES / "inactive-licences" / "expected.json").read_text(encoding="utf-8")
    )
    targets = (
        (FIXTURES / "inactive-licences" / "targets.csv").read_text(encoding="utf-8").split()[1:]
    )
    path = tmp_path / "users.csv"
    path.write_text(export_from_world(load_world("inactive-licences")), encoding="utf-8")
    out_targets = tmp_path / "t.csv"
    _, out, _ = _run(
        "analyze", str(path), *AS_OF, "--protect", "svc-*@acme.example", "--format", "json",
        "--targets-out", str(out_targets), "--class", "inactive",
    )  # fmt: skip
    doc = json.loads(out)
    classes = expected["classes"]
    assert [c["email"] for c in doc["classes"]["inactive"]] == (
        classes["inactive_90d"] + classes["inactive_180d"] + classes["never_accessed_old"]
    )
    assert [c["email"] for c in doc["classes"]["inactive"]] == targets
    assert sorted(c["email"] for c in doc["classes"]["protected"]) == sorted(classes["protected"])
    rows = list(csv.DictReader(out_targets.open(encoding="utf-8", newline="")))
    assert [r["email"] for r in rows] == targets
