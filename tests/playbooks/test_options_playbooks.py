"""The playbooks behind `scimrecon options` (issue 16): option 2 (non-billable-policy) and
option 4 (deactivate-unwanted), end to end against the simulator."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from scimrecon.recon.billable import world_billable
from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, accounts_by_email, in_process

SIX = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text())["trello_only"]
# the fixture's non-billable policy (world_acme_trello.AUTH_POLICIES)
POLICY = {"id": "c3a9d2e4-51b7-4e0f-8c26-9b7d4a1f0e52", "name": "Free products, no SSO",
          "billable": False}  # fmt: skip
DEFAULT = {"id": "6f1e4b0a-7d2c-4c1b-9a55-0d3a2f6c8e01", "name": "Default policy", "billable": True}


def _targets(tmp_path: Path, emails: list[str]) -> str:
    path = tmp_path / "targets.csv"
    path.write_text("email\n" + "\n".join(emails) + "\n", encoding="utf-8")
    return str(path)


def _policy_world() -> dict[str, Any]:
    return copy.deepcopy(load_world("acme-trello"))


def test_non_billable_policy_moves_the_users_and_the_bill_drops(tmp_path: Path) -> None:
    with in_process(_policy_world(), tmp_path) as env:
        before = env.world()
        billable_before = world_billable(before)
        result = env.cli(
            "run", "non-billable-policy", "--targets", _targets(tmp_path, SIX),
            "--yes", "--param", f"policy_id={POLICY['id']}",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        # the trade-off is shown with the confirmation of the destructive step
        assert "no enforced SSO or two-step verification for them there" in result.output
        after = accounts_by_email(env.world())
        for email in SIX:
            assert after[email]["policy"] == POLICY, email
        others = [a for a in before["accounts"] if a["email"] not in SIX]
        assert all(after[a["email"]] == a for a in others)
        assert env.billable() == billable_before - len(SIX)
        report = env.cli("report", "1").output
        # the report's figures are the org API's: managed accounts only (the v1 list), so the
        # world's one external user (the contractor on acme) is not in them
        assert f"billable before: {billable_before - 1}" in report
        assert f"billable after: {billable_before - 1 - len(SIX)}" in report
        adds = [r for r in env.app.log if r["path"].endswith("/add-users")]
        assert len(adds) == len(SIX) and all(r["status"] == 202 for r in adds)

        undo = env.cli("undo", "1", "--yes")
        assert undo.exit_code == 0, undo.output
        restored = accounts_by_email(env.world())
        for email in SIX:
            assert restored[email]["policy"] == DEFAULT  # back where they were
        assert env.billable() == billable_before


def test_non_billable_policy_skips_admins_and_users_already_moved(tmp_path: Path) -> None:
    world = _policy_world()
    first = next(a for a in world["accounts"] if a["email"] == SIX[0])
    first["policy"] = dict(POLICY)
    admin = next(a for a in world["accounts"] if a["org_role"] == "admin")
    with in_process(world, tmp_path) as env:
        result = env.cli(
            "run", "non-billable-policy", "--targets",
            _targets(tmp_path, [SIX[0], admin["email"]]),
            "--yes", "--param", f"policy_id={POLICY['id']}",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        reasons = {t["key"]: t["reason"] for t in status["targets"]}
        assert reasons == {
            SIX[0]: f"already in policy {POLICY['name']}",
            admin["email"]: reasons[admin["email"]],
        }
        assert reasons[admin["email"]].startswith("protected")
        assert not [r for r in env.app.log if r["path"].endswith("/add-users")]


def test_a_billable_policy_fails_the_target_and_says_how_to_undo(tmp_path: Path) -> None:
    world = _policy_world()
    world["org"]["auth_policies"].append({"id": "pol-b", "name": "Strict", "billable": True})
    with in_process(world, tmp_path) as env:
        result = env.cli(
            "run", "non-billable-policy", "--targets", _targets(tmp_path, SIX[:1]),
            "--yes", "--param", "policy_id=pol-b",
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        (target,) = status["targets"]
        assert "that policy is billable: nothing is saved; scimrecon undo 1" in target["reason"]


def test_deactivate_unwanted_never_touches_an_idp_managed_account(tmp_path: Path) -> None:
    world = copy.deepcopy(load_world("acme-trello"))
    invited, synced = SIX[0], SIX[1]
    gone = next(a["account_id"] for a in world["accounts"] if a["email"] == invited)
    world["scim_users"] = [s for s in world["scim_users"] if s.get("account_id") != gone]
    world["idp"]["users"] = [u for u in world["idp"]["users"] if u.get("mail") != invited]
    with in_process(world, tmp_path) as env:
        before = accounts_by_email(env.world())
        result = env.cli(
            "run", "deactivate-unwanted", "--targets", _targets(tmp_path, [invited, synced]),
            "--yes",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        after = accounts_by_email(env.world())
        assert after[invited]["status"] == "inactive"
        assert after[synced] == before[synced]  # the IdP-managed account is untouched
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        reasons = {t["key"]: (t["state"], t["reason"]) for t in status["targets"]}
        assert reasons[invited][0] == "done"
        state, why = reasons[synced]
        assert state == "skipped" and why.startswith("managed by an IdP (SCIM user ")
        assert "never deactivated here" in why
        disables = [r for r in env.app.log if r["path"].endswith("/lifecycle/disable")]
        assert [r["path"].split("/")[3] for r in disables] == [gone]

        undo = env.cli("undo", "1", "--yes")
        assert undo.exit_code == 0, undo.output
        assert accounts_by_email(env.world())[invited]["status"] == "active"


def test_deactivate_unwanted_skips_an_account_with_a_wanted_product(tmp_path: Path) -> None:
    world = copy.deepcopy(load_world("acme-trello"))
    user = next(a for a in world["accounts"] if a["email"] == SIX[0])
    user["product_access"].append({"key": "confluence", "site": "acme", "last_active": None})
    world["scim_users"] = [
        s for s in world["scim_users"] if s.get("account_id") != user["account_id"]
    ]
    world["idp"]["users"] = [u for u in world["idp"]["users"] if u.get("mail") != SIX[0]]
    with in_process(world, tmp_path) as env:
        result = env.cli(
            "run", "deactivate-unwanted", "--targets", _targets(tmp_path, SIX[:1]), "--yes"
        )
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        assert status["targets"][0]["reason"] == "also uses confluence: not only unwanted access"
        assert accounts_by_email(env.world())[SIX[0]]["status"] == "active"


def test_non_billable_policy_moves_no_one_who_uses_another_product_or_none(
    tmp_path: Path,
) -> None:
    """The policy takes SSO and two-step verification away: a hand-typed list naming someone
    who works in Jira (lars: four products, trello among them) or someone with no product at
    all (kira: nothing to save) moves nobody (trial 6, finding 5); include_licensed opts in
    lars, never alan, who has no Trello at all (the review of the first version)."""
    world = _policy_world()
    lars, kira = "lars.nilsson@acme.example", "kira.ivanova@acme.example"
    alan = "alan.turing@acme.example"
    products = {
        a["email"]: sorted(p["key"] for p in a["product_access"]) for a in world["accounts"]
    }
    licensed = [k for k in products[lars] if k != "trello"]
    assert licensed and "trello" in products[lars] and products[kira] == []  # the fixture
    assert products[alan] and "trello" not in products[alan]
    with in_process(world, tmp_path) as env:
        before = env.world()
        targets = _targets(tmp_path, [lars, kira, alan])
        result = env.cli(
            "run", "non-billable-policy", "--targets", targets,
            "--yes", "--param", f"policy_id={POLICY['id']}",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        assert {t["key"]: t["reason"] for t in status["targets"]} == {
            lars: f"uses {', '.join(licensed)}: the policy would take SSO and two-step "
            "verification away from a product they use (--param include_licensed=true to move "
            "them anyway)",
            kira: "no product access: not billable, nothing to save",
            alan: "no trello access: not billable through it",
        }
        assert env.world() == before
        assert not [r for r in env.app.log if r["path"].endswith("/add-users")]

        opted = env.cli(
            "run", "non-billable-policy", "--targets", targets, "--yes",
            "--param", f"policy_id={POLICY['id']}", "--param", "include_licensed=true",
        )  # fmt: skip
        assert opted.exit_code == 0, opted.output
        after = accounts_by_email(env.world())
        assert after[lars]["policy"] == POLICY  # asked for by name
        assert after[kira] == accounts_by_email(before)[kira]  # still nothing to save
        assert after[alan] == accounts_by_email(before)[alan]  # no Trello: never this option
