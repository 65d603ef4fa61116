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


def _externals_in_a_non_billable_policy() -> set[str]:
    """From the world file: external users whose access is on an org site but whose external
    user policy is non-billable (the one fact no Atlassian API gives)."""
    world = json.loads((HERE / "world.json").read_text(encoding="utf-8"))
    org = {s["name"] for s in world["sites"]}
    return {
        a["email"]
        for a in world["accounts"]
        if a.get("external")
        and (a.get("policy") or {}).get("billable") is False
        and any(p["site"] in org for p in a["product_access"])
    }


def test_analyze_export_equals_reconcile_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzed = _json(
        "analyze", str(HERE / "managed-accounts.csv"), "--as-of", "2026-11-23", *SITES, "--why"
    )
    everyone = _json("analyze", str(HERE / "users-export.csv"), "--as-of", "2026-11-23", *SITES)
    with live("guard-billing", tmp_path, monkeypatch) as (env, invoke):
        result = invoke("reconcile", "--live", "--format", "json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert env.writes() == []
    bill = doc["billable"]
    unseen_policy = _externals_in_a_non_billable_policy()
    assert unseen_policy == {"lee@vendor.example"}
    # managed accounts: exactly the managed-accounts export's figures
    external = {
        a["account_id"]
        for a in json.loads((HERE / "world.json").read_text())["accounts"]
        if a.get("external")
    }
    managed = {i["account_id"] for i in doc["identities"] if i["billable"]} - external
    assert managed == {u["account_id"] for u in analyzed["billable_users"]}
    assert len(managed) == analyzed["billable"] == EXPECTED["billable"]["managed"] == 5
    # everyone: the whole bill, but for external users whose non-billable policy no API shows
    assert bill["billable"] == everyone["billable"] + len(unseen_policy) == 8
    assert bill["external_policy_unknown"] == sorted(
        unseen_policy | {"sam@partner.example", "kim@partner.example"}
    )
    assert bill["org_sites"] == analyzed["org_sites"] == ["acme", "trello"]  # from the profile
    live_flags = {c["email"]: c["reason"] for c in bill["unmanaged_site_access"]}
    export_flags = {c["email"]: c["reason"] for c in everyone["unmanaged_site_access"]}
    assert set(live_flags) == set(export_flags) == set(EXPECTED["unmanaged_site"])
    for email, reason in export_flags.items():
        # a workspace outside the org has no name in any answer: it is shown by its id
        outside = "globex" if email.endswith("@acme.example") else "workspace "
        assert live_flags[email] == reason or outside in live_flags[email], email
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
        assert "billable: 8 (" in table.stdout
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


def test_analyze_live_counts_external_users_and_says_what_it_cannot_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    everyone = _json("analyze", str(HERE / "users-export.csv"), "--as-of", "2026-11-23", *SITES)
    with live("guard-billing", tmp_path, monkeypatch) as (env, invoke):
        result = invoke("analyze", "--live", "--as-of", "2026-11-23", *SITES, "--format", "json")
        assert result.exit_code == 0, result.output
        assert env.writes() == []
    doc = json.loads(result.stdout)
    unseen = _externals_in_a_non_billable_policy()
    assert doc["billable"] == everyone["billable"] + len(unseen) == 8
    assert doc["billable_by_rule"]["external-with-access"] == (
        everyone["billable_by_rule"]["external-with-access"] + len(unseen)
    )
    assert (
        "warning: 3 billable external user(s) read live: no Atlassian API names an external "
        "user's policy" in result.stderr
    )
