"""The proof for issue 12 point 3: `analyze` on an export and `reconcile --live` against the
simulator serving the same world give the same billable figures, on a world with external
users, a non-billable policy and access on a site the org does not manage (guard-billing).

The org API's user list (v1) holds managed accounts only, as does the managed-accounts export,
so the live figures are compared with that export; the whole population (external users too)
is compared across the Directory export, the world file and the simulator's own count.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.recon.billable import UNMANAGED_NOTE
from scimrecon.sim.summary import summarize
from scimrecon.sim.world import fixtures_root, load_world
from tests.recon.test_reconcile_live_entra import live

HERE = Path(str(fixtures_root())) / "guard-billing"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
SITES = ("--site", "acme", "--site", "trello")


def _json(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _billable_ids(doc: dict) -> set[str]:
    return {i["account_id"] for i in doc["identities"] if i["billable"]}


def test_export_world_file_and_simulator_agree_on_everyone() -> None:
    analyzed = _json("analyze", str(HERE / "users-export.csv"), "--as-of", "2026-11-23", *SITES)
    reconciled = _json("reconcile", "--world", str(HERE / "world.json"))
    world = load_world("guard-billing")
    assert analyzed["billable"] == reconciled["billable"]["billable"] == 7
    assert summarize(world)["billable"] == 7 == EXPECTED["billable"]["all"]
    assert analyzed["billable_by_rule"] == reconciled["billable"]["by_rule"]
    expected_rules = dict.fromkeys(analyzed["billable_by_rule"], 0)
    for rule in EXPECTED["rules"].values():
        expected_rules[rule] += 1
    assert analyzed["billable_by_rule"] == expected_rules
    flagged = {c["email"]: c["reason"] for c in analyzed["unmanaged_site_access"]}
    assert flagged == {
        c["email"]: c["reason"] for c in reconciled["billable"]["unmanaged_site_access"]
    }
    assert set(flagged) == set(EXPECTED["unmanaged_site"])
    assert all(UNMANAGED_NOTE in reason for reason in flagged.values())


def test_analyze_export_equals_reconcile_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzed = _json(
        "analyze", str(HERE / "managed-accounts.csv"), "--as-of", "2026-11-23", *SITES, "--why"
    )
    with live("guard-billing", tmp_path, monkeypatch) as (env, invoke):
        result = invoke("reconcile", "--live", "--format", "json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert env.writes() == []
    bill = doc["billable"]
    assert bill["billable"] == analyzed["billable"] == EXPECTED["billable"]["managed"] == 5
    assert bill["org_sites"] == analyzed["org_sites"] == ["acme", "trello"]  # from the profile
    assert _billable_ids(doc) == {u["account_id"] for u in analyzed["billable_users"]}
    assert {c["account_id"]: c["reason"] for c in bill["unmanaged_site_access"]} == {
        c["account_id"]: c["reason"] for c in analyzed["unmanaged_site_access"]
    }
    # the v1 list names no policy: Atlassian's access_billable false is what excludes them
    by_rule = bill["by_rule"]
    assert (
        by_rule["reported-not-billable"] == analyzed["billable_by_rule"]["non-billable-policy"] == 2
    )
    why = {i["email"]: i["billable_why"] for i in doc["identities"]}
    assert why["maria.santos@acme.example"] == (
        f"managed account with access to confluence on globex; globex: {UNMANAGED_NOTE}"
    )
    assert why["kenji.watanabe@acme.example"].startswith("not billable: Atlassian reports it so")


def test_reconcile_table_and_accounts_show_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live("guard-billing", tmp_path, monkeypatch) as (_, invoke):
        table = invoke("reconcile", "--live", "--all")
        assert table.exit_code == 0, table.output
        assert "billable: 5 (" in table.stdout
        maria = "managed account with access to confluence on globex"
        line = f"maria.santos@acme.example: managed-with-access: {maria}; globex: {UNMANAGED_NOTE}"
        assert f"  {line}" in table.stdout.splitlines()
        shown = invoke("accounts", "show", "linus.berg@acme.example", "--format", "json")
        assert shown.exit_code == 0, shown.output
        facts = json.loads(shown.stdout)
        assert (facts["billable"], facts["billable_rule"]) == (True, "managed-with-access")
        assert facts["unmanaged_sites"] == ["globex"]
        assert facts["billable_why"] == (
            "managed account with access to confluence on acme, jira-software on acme, "
            f"jira-software on globex; globex: {UNMANAGED_NOTE}"
        )
        text = invoke("accounts", "show", "kenji.watanabe@acme.example")
        assert "billable      no" in text.stdout
        assert "why           not billable: Atlassian reports it so" in text.stdout
