"""The shipped fixture worlds tell exactly the stories their READMEs promise."""

from __future__ import annotations

import csv
import importlib.util
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scimrecon.recon.billable import account_is_billable, billable_only_through, world_billable
from scimrecon.sim.summary import summarize
from scimrecon.sim.world import fixture_names, fixtures_root
from tests.world.conftest import fixture_world

FIXTURES = Path(str(fixtures_root()))
AS_OF = date(2026, 11, 23)

SUMMARIES = {
    "acme-trello": {
        "accounts": 44,
        "managed": 43,
        "active": 43,
        "billable": 42,
        "scim_users": 42,
        "linked_scim_users": 42,
        "idp_users": 42,
        "issues": 24,
        "directories": 1,
        "idp_kind": "entra",
        "tier": 50,
    },
    "manual": {
        "accounts": 44,
        "managed": 43,
        "active": 43,
        "billable": 42,
        "scim_users": 42,
        "linked_scim_users": 42,
        "idp_users": 42,
        "issues": 24,
        "directories": 1,
        "idp_kind": "manual",
        "tier": 50,
    },
    "okta": {
        "accounts": 44,
        "managed": 43,
        "active": 43,
        "billable": 42,
        "scim_users": 42,
        "linked_scim_users": 42,
        "idp_users": 42,
        "issues": 24,
        "directories": 1,
        "idp_kind": "okta",
        "tier": 50,
    },
    "inactive-licences": {
        "accounts": 29,
        "managed": 29,
        "active": 29,
        "billable": 29,
        "scim_users": 27,
        "linked_scim_users": 27,
        "idp_users": 27,
        "issues": 0,
        "directories": 1,
        "idp_kind": "entra",
        "tier": 50,
    },
    "guard-billing": {
        "accounts": 13,
        "managed": 9,
        "active": 12,
        "billable": 7,
        "scim_users": 8,
        "linked_scim_users": 8,
        "idp_users": 8,
        "issues": 0,
        "directories": 1,
        "idp_kind": "entra",
        "tier": 10,
    },
    "drift": {
        "accounts": 12,
        "managed": 12,
        "active": 12,
        "billable": 12,
        "scim_users": 12,
        "linked_scim_users": 11,
        "idp_users": 11,
        "issues": 0,
        "directories": 1,
        "idp_kind": "entra",
        "tier": 50,
    },
}


def _targets(name: str) -> list[str]:
    with (FIXTURES / name / "targets.csv").open(encoding="utf-8", newline="") as fh:
        return [row["email"] for row in csv.DictReader(fh)]


def _expected(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name / "expected.json").read_text(encoding="utf-8"))


def _trello_only(world: dict[str, Any]) -> list[str]:
    return [
        a["email"]
        for a in world["accounts"]
        if account_is_billable(a)
        and billable_only_through([p["key"] for p in a["product_access"]], ["trello"])
    ]


def test_every_fixture_is_listed_and_documented() -> None:
    assert fixture_names() == sorted(SUMMARIES)
    for name in fixture_names():
        readme = (FIXTURES / name / "README.md").read_text(encoding="utf-8").strip()
        assert readme.startswith(f"{name}: ") and "\n" not in readme
        assert _targets(name), f"{name}/targets.csv has no targets"


@pytest.mark.parametrize("name", sorted(SUMMARIES))
def test_summary_numbers(name: str) -> None:
    assert summarize(fixture_world(name)) == SUMMARIES[name]


@pytest.mark.parametrize("name", ["acme-trello", "manual", "okta"])
def test_exactly_six_trello_only_users_are_the_targets(name: str) -> None:
    world = fixture_world(name)
    expected = _expected(name)
    assert _trello_only(world) == _targets(name) == expected["trello_only"]
    assert len(expected["trello_only"]) == 6
    # 41 managed accounts with access and liam.obrien@gmail.example, whom the world does not
    # flag external: unmanaged, with Jira on the org's acme site, he is an external user
    billable = world_billable(world)
    assert billable == expected["billable"]["before"] == 42
    assert billable - 6 == expected["billable"]["after"] == 36
    assert expected["tier"]["before"]["percent"] == round(100 * 42 / world["billing"]["tier"], 1)


@pytest.mark.parametrize("name", ["acme-trello", "manual", "okta"])
def test_each_trello_only_user_is_managed_linked_and_reported_tickets(name: str) -> None:
    world = fixture_world(name)
    expected = _expected(name)
    by_email = {a["email"]: a for a in world["accounts"]}
    linked = {u["account_id"]: u for u in world["scim_users"]}
    assigned = {u["userName"] for u in world["idp"]["users"] if u["assigned"]}
    for email in expected["trello_only"]:
        account = by_email[email]
        assert account["managed"] and account["status"] == "active"
        assert linked[account["account_id"]]["userName"] == email
        assert email in assigned
        reported = [
            i["key"] for i in world["jira"]["issues"] if i["reporter"] == account["account_id"]
        ]
        assert reported == expected["reported_tickets"][email]
        assert 1 <= len(reported) <= 3 and all(k.startswith("HELP-") for k in reported)
    involved = {k for keys in expected["assignee_or_participant_tickets"].values() for k in keys}
    assert involved == {"HELP-1", "HELP-2", "HELP-6", "HELP-9"}


def test_acme_trello_has_admins_a_contractor_and_a_leaver() -> None:
    accounts = fixture_world("acme-trello")["accounts"]
    assert sum(a["org_role"] == "admin" for a in accounts) == 2
    unmanaged = [a["email"] for a in accounts if not a["managed"]]
    assert unmanaged == ["liam.obrien@gmail.example"]
    assert [a["status"] for a in accounts if a["status"] != "active"] == ["inactive"]


def test_acme_trello_is_entra_okta_has_an_app_and_manual_has_no_api() -> None:
    entra = fixture_world("acme-trello")["idp"]
    assert entra["job"]["state"] == "Active" and entra["cycle_seconds"] == 30
    assert {"tenant", "client_id", "client_secret", "service_principal"} <= set(entra)
    okta = fixture_world("okta")["idp"]
    assert okta["kind"] == "okta" and "job" not in okta  # Okta pushes on events, not cycles
    assert okta["okta"]["features"] == {
        "status": "ENABLED",
        "create": "ENABLED",
        "profile": "ENABLED",
        "deactivate": "ENABLED",
        "password": "DISABLED",
    }
    manual = fixture_world("manual")["idp"]
    assert manual["kind"] == "manual"
    assert "job" not in manual and "client_secret" not in manual and "okta" not in manual
    # the same people in both: only the IdP differs
    assert fixture_world("okta")["accounts"] == fixture_world("manual")["accounts"]


def _days_since(value: str | None) -> int | None:
    return None if value is None else (AS_OF - date.fromisoformat(value)).days


def test_inactive_licences_classes_match_the_dates() -> None:
    world = fixture_world("inactive-licences")
    classes = _expected("inactive-licences")["classes"]
    by_email = {a["email"]: a for a in world["accounts"]}
    ranges = {
        "active_30d": (0, 29),
        "inactive_30d": (30, 89),
        "inactive_90d": (90, 179),
        "inactive_180d": (180, 10_000),
    }
    for cls, (low, high) in ranges.items():
        for email in classes[cls]:
            seen = [_days_since(p["last_active"]) for p in by_email[email]["product_access"]]
            assert all(d is not None for d in seen)
            assert low <= min(d for d in seen if d is not None) <= high, (cls, email)
    never = {"never_accessed_old": (30, 10_000), "never_accessed_new": (0, 29)}
    for cls, (low, high) in never.items():
        for email in classes[cls]:
            account = by_email[email]
            assert all(p["last_active"] is None for p in account["product_access"])
            assert low <= _days_since(account["added_to_org"]) <= high  # type: ignore[operator]
    protected = {by_email[e]["org_role"] for e in classes["protected"]}
    assert protected == {"admin", "member"}
    assert [by_email[e]["account_type"] for e in classes["protected"]].count("app") == 1
    everyone = [e for emails in classes.values() for e in emails]
    assert sorted(everyone) == sorted(by_email)


def test_drift_situations_point_at_real_records() -> None:
    world = fixture_world("drift")
    situations = _expected("drift")["situations"]
    assert sorted(set(situations.values())) == [
        "duplicate",
        "email-drift",
        "linked",
        "orphaned",
        "unlinked",
        "unmatched",
        "unwanted-access",
    ]
    accounts = {a["email"]: a for a in world["accounts"]}
    scim = {u["userName"]: u for u in world["scim_users"]}
    idp = {u["object_id"]: u for u in world["idp"]["users"]}
    idp_by_name = {u["userName"]: u for u in world["idp"]["users"]}
    for key, situation in situations.items():
        if situation == "linked":
            user = scim[key]
            assert user["account_id"] == accounts[key]["account_id"]
            assert idp[user["externalId"]]["assigned"] and idp[user["externalId"]]["mail"] == key
        elif situation == "orphaned":
            user = scim[key]
            assert user["externalId"] not in idp or not idp[user["externalId"]]["assigned"]
        elif situation == "unlinked":
            assert scim[key]["account_id"] is None and key not in accounts
        elif situation == "unmatched":
            assert idp_by_name[key]["assigned"] and key not in scim and key not in accounts
        elif situation == "email-drift":
            user = scim[key]
            assert idp[user["externalId"]]["mail"] != key == accounts[key]["email"]
        elif situation == "duplicate":
            names = [a["name"] for a in world["accounts"]]
            assert names.count(accounts[key]["name"]) == 2
        elif situation == "unwanted-access":
            keys = [p["key"] for p in accounts[key]["product_access"]]
            assert billable_only_through(keys, ["trello"])


def test_make_fixtures_reproduces_the_committed_files(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    # world, expected, targets and users-export for 6 worlds, and guard-billing's two
    # export variants (managed-accounts.csv, users-by-group.csv)
    assert len(written) == 26
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (FIXTURES / rel).read_bytes(), rel
