"""Reconciliation: the drift world's planted cases exactly, each situation on its own, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.recon.reconcile import (
    ADVICE,
    PLAYBOOKS,
    SITUATIONS,
    reconcile,
    reconcile_world,
)
from scimrecon.recon.world import export_from_world

from .conftest import FIXTURES, load_world

PLAYBOOK_DIR = Path(__file__).resolve().parents[2] / "scimrecon" / "playbooks"


def test_drift_world_every_planted_case_and_nothing_else() -> None:
    expected = json.loads((FIXTURES / "drift" / "expected.json").read_text(encoding="utf-8"))
    got = {i.key: i.situation for i in reconcile_world(load_world("drift"))}
    assert got == expected["situations"]


def test_every_situation_has_a_playbook_that_exists_or_a_sentence() -> None:
    for situation in SITUATIONS:
        assert situation in PLAYBOOKS or ADVICE[situation]
    for playbook in PLAYBOOKS.values():
        assert (PLAYBOOK_DIR / f"{playbook}.toml").is_file()


def _idp(
    name: str, *, oid: str | None = None, mail: str | None = None, assigned: bool = True
) -> dict:
    return {
        "object_id": oid or f"o-{name}",
        "userName": f"{name}@a.example",
        "mail": mail or f"{name}@a.example",
        "displayName": name.title(),
        "assigned": assigned,
    }


def _scim(name: str, account: str | None, *, oid: str | None = None) -> dict:
    return {
        "id": f"s-{name}",
        "userName": f"{name}@a.example",
        "externalId": oid or f"o-{name}",
        "emails": [{"value": f"{name}@a.example"}],
        "displayName": name.title(),
        "account_id": account,
    }


def _account(
    name: str,
    *,
    email: str | None = None,
    products: tuple[str, ...] = ("jira-software",),
    managed: bool = True,
    display: str | None = None,
) -> dict[str, Any]:
    return {
        "account_id": f"a-{name}",
        "email": email or f"{name}@a.example",
        "name": display or name.title(),
        "status": "active",
        "managed": managed,
        "product_access": [{"key": k, "site": "acme", "last_active": None} for k in products],
    }


def _one(idp: list, scim: list, accounts: list) -> list[tuple[str, str, str]]:
    return [(i.key, i.situation, i.reason) for i in reconcile(idp, scim, accounts)]


def test_linked() -> None:
    assert _one([_idp("ann")], [_scim("ann", "a-ann")], [_account("ann")]) == [
        ("ann@a.example", "linked", "IdP user, SCIM entry and account agree")
    ]


def test_scim_entry_pointing_at_a_missing_account_is_unlinked() -> None:
    assert _one([_idp("ann")], [_scim("ann", "a-gone")], []) == [
        (
            "ann@a.example",
            "unlinked",
            "SCIM entry s-ann links to account a-gone, which does not exist",
        )
    ]


def test_idp_user_found_by_user_name_when_external_id_differs() -> None:
    assert (
        _one([_idp("ann")], [_scim("ann", "a-ann", oid="other")], [_account("ann")])[0][1]
        == "linked"
    )


def test_unmatched_with_an_existing_account_says_it_will_be_linked() -> None:
    assert _one([_idp("ann")], [], [_account("ann")]) == [
        (
            "ann@a.example",
            "unmatched",
            "assigned in the IdP but has no SCIM entry; "
            "the account ann@a.example exists and will be linked",
        )
    ]


def test_unassigned_idp_user_without_scim_entry_is_not_an_identity_to_fix() -> None:
    assert _one([_idp("ann", assigned=False)], [], []) == []


def test_duplicate_by_email_alias() -> None:
    rows = _one(
        [_idp("ann", mail="ann.smith@a.example")],
        [_scim("ann", "a-ann")],
        [
            _account("ann", email="ann.smith@a.example"),
            _account("as", email="ann@a.example", display="A. S."),
        ],
    )
    assert [(k, s) for k, s, _ in rows] == [
        ("ann.smith@a.example", "duplicate"),
        ("ann@a.example", "duplicate"),
    ]


def test_people_with_the_same_name_both_provisioned_are_not_duplicates() -> None:
    idp = [_idp("js1"), _idp("js2")]
    for u in idp:
        u["displayName"] = "John Smith"
    accounts = [_account("js1", display="John Smith"), _account("js2", display="John Smith")]
    rows = _one(idp, [_scim("js1", "a-js1"), _scim("js2", "a-js2")], accounts)
    assert [s for _, s, _ in rows] == ["linked", "linked"]


def test_accents_and_case_do_not_hide_a_duplicate() -> None:
    rows = _one(
        [_idp("zoe")],
        [_scim("zoe", "a-zoe")],
        [
            _account("zoe", display="Zoë Ünal"),
            _account("zu", email="zu@a.example", display="zoe  unal"),
        ],
    )
    assert {s for _, s, _ in rows} == {"duplicate"}


def test_unmanaged_lookalike_is_not_a_duplicate() -> None:
    rows = _one(
        [_idp("ann")],
        [_scim("ann", "a-ann")],
        [_account("ann"), _account("ann2", email="ann@gmail.example", managed=False)],
    )
    assert [s for _, s, _ in rows] == ["linked"]


def test_unwanted_access_without_scim_entry_is_still_reported() -> None:
    assert _one([], [], [_account("tim", products=("trello",))]) == [
        ("tim@a.example", "unwanted-access", "billable only through Trello (no SCIM entry)")
    ]


def test_orphaned_outranks_unwanted_access() -> None:
    rows = _one([], [_scim("tim", "a-tim")], [_account("tim", products=("trello",))])
    assert rows == [("tim@a.example", "orphaned", "the IdP has no user tim@a.example any more")]


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["reconcile", *args])


def test_cli_world_json(tmp_path: Path) -> None:
    result = _run("--world", str(FIXTURES / "drift" / "world.json"), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"] == {
        "unlinked": 1,
        "orphaned": 2,
        "unmatched": 1,
        "duplicate": 2,
        "email-drift": 1,
        "unwanted-access": 1,
        "linked": 6,
    }
    wei = next(i for i in doc["identities"] if i["key"] == "wei.zhang@acme.example")
    assert wei == {
        "key": "wei.zhang@acme.example",
        "situation": "unwanted-access",
        "reason": "billable only through Trello",
        "playbook": "reprovision",
        "fix": "playbook reprovision",
        "email": "wei.zhang@acme.example",
        "account_id": "712020:c38084a0-3d93-4d4c-804c-25d64affdcd1",
        "name": "Wei Zhang",
        "scim_id": "0f977044-218e-4b7b-958d-cdb46b446806",
        "idp_object_id": "8b5ab3ee-4265-4b31-9374-09029620bf0d",
        "billable": True,
        "billable_why": "managed account with access to trello on trello",
    }


def test_cli_table_hides_linked_unless_asked() -> None:
    result = _run("--world", str(FIXTURES / "drift" / "world.json"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "(6 linked identities not listed; --all lists them)"
    assert not any(line.startswith("ada.lovelace@") for line in lines)
    result = _run("--world", str(FIXTURES / "drift" / "world.json"), "--all")
    assert any(line.startswith("ada.lovelace@acme.example") for line in result.stdout.splitlines())


def test_cli_targets_for_a_situation(tmp_path: Path) -> None:
    out = tmp_path / "orphans.csv"
    result = _run(
        "--world",
        str(FIXTURES / "drift" / "world.json"),
        "--situation",
        "orphaned",
        "--targets-out",
        str(out),
    )
    assert result.exit_code == 0
    assert result.stderr == f"wrote 2 orphaned targets to {out}\n"
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [(r["email"], r["reason"]) for r in rows] == [
        ("oscar.dubois@acme.example", "the IdP has no user oscar.dubois@acme.example any more"),
        ("paula.costa@acme.example", "the IdP user is no longer assigned to the app"),
    ]


def test_cli_from_separate_files_matches_the_world(tmp_path: Path) -> None:
    world = load_world("drift")
    idp = tmp_path / "idp.csv"
    with idp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["objectId", "userPrincipalName", "mail", "displayName", "assigned"])
        for u in world["idp"]["users"]:
            writer.writerow(
                [
                    u["object_id"],
                    u["userName"],
                    u["mail"],
                    u["displayName"],
                    str(u["assigned"]).lower(),
                ]
            )
    scim = tmp_path / "scim.json"
    resources = []
    for s in world["scim_users"]:
        item = {k: v for k, v in s.items() if k != "account_id"}
        item["urn:scim:schemas:extension:atlassian-external:1.0"] = {
            "atlassianAccountId": s["account_id"]
        }
        resources.append(item)
    scim.write_text(
        json.dumps({"schemas": [], "totalResults": len(resources), "Resources": resources})
    )
    accounts = tmp_path / "users.csv"
    accounts.write_text(export_from_world(world), encoding="utf-8")
    result = _run(
        "--idp", str(idp), "--scim", str(scim), "--accounts", str(accounts), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    expected = json.loads((FIXTURES / "drift" / "expected.json").read_text(encoding="utf-8"))
    assert {i["key"]: i["situation"] for i in json.loads(result.stdout)["identities"]} == expected[
        "situations"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --world FILE, or all three of --idp, --scim and --accounts"),
        (["--idp", "x.csv"], "give --world FILE, or all three of --idp, --scim and --accounts"),
        (["--targets-out", "x.csv"], "--targets-out needs --situation (which list to write)"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"


def test_cli_bad_idp_file(tmp_path: Path) -> None:
    idp = tmp_path / "idp.csv"
    idp.write_text("userName,assigned\nann@a.example,perhaps\n", encoding="utf-8")
    other = tmp_path / "x.json"
    other.write_text("[]", encoding="utf-8")
    result = _run("--idp", str(idp), "--scim", str(other), "--accounts", str(other))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: {idp}:2: column 'assigned': expected true or false, found 'perhaps'\n"
    )


def test_cli_situation_filters_the_list_but_not_the_summary() -> None:
    result = _run(
        "--world",
        str(FIXTURES / "drift" / "world.json"),
        "--situation",
        "duplicate",
        "--format",
        "json",
    )
    doc = json.loads(result.stdout)
    assert [i["key"] for i in doc["identities"]] == [
        "tbrown@acme.example",
        "tessa.brown@acme.example",
    ]
    assert doc["summary"]["linked"] == 6
