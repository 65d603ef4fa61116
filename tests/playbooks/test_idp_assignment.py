"""The playbooks read Entra's directory before they change anything for a person.

Reprovision only works for someone the IdP still provisions: an unassigned or disabled IdP user
would lose their SCIM link and email and never be pushed back. Deactivate-leavers must not
disable someone who is assigned again since the list was made. Both are decided at the look-up,
before the pause, from one read of the directory per run.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, accounts_by_email, in_process, targets
from tests.playbooks.test_reprovision import TARGETS

DRIFT = json.loads((FIXTURES / "drift" / "expected.json").read_text(encoding="utf-8"))


def _world(name: str, **idp_changes: dict[str, Any]) -> dict[str, Any]:
    """A fixture world with some IdP users changed (by userName)."""
    world = copy.deepcopy(load_world(name))
    for user in world["idp"]["users"]:
        user.update(idp_changes.get(user["userName"].lower(), {}))
    return world


def _step(result_json: dict[str, Any], target: str, step: str) -> dict[str, Any]:
    return next(
        s
        for t in result_json["targets"]
        if t["key"] == target
        for s in t["steps"]
        if s["step"] == step
    )


def _writes_about(env: Any, account_id: str, scim_id: str) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in env.writes()
        if account_id in r["path"] or scim_id in r["path"]
    ]


def test_reprovision_skips_a_user_no_longer_assigned_in_entra_and_touches_nothing_of_theirs(
    tmp_path: Path,
) -> None:
    unassigned = TARGETS[0]
    world = _world("acme-trello", **{unassigned: {"assigned": False}})
    account = accounts_by_email(world)[unassigned]
    scim = next(u for u in world["scim_users"] if u["userName"].lower() == unassigned)
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        status = env.cli("status", "--format", "json")
        after = env.world()
        assert _writes_about(env, account["account_id"], scim["id"]) == []
        graph_user_pages = [r for r in env.app.log if r["path"].startswith("/graph/users?")]
    target = next(t for t in json.loads(status.stdout)["targets"] if t["key"] == unassigned)
    assert target["state"] == "skipped"
    assert target["reason"] == (
        f"{unassigned} is not assigned to the Atlassian app in the IdP (entra): it would never "
        "be provisioned again (a leaver: deactivate-leavers)"
    )
    kept = accounts_by_email(after)[unassigned]
    assert kept["account_id"] == account["account_id"] and kept["status"] == "active"
    # the others went through; the directory was read once, by the plan, whose reads the run
    # took over as it was confirmed at once (--yes; decision 70: a slow answer reads again)
    done = [t for t in json.loads(status.stdout)["targets"] if t["state"] == "done"]
    assert len(done) == len(TARGETS) - 1
    assert len(graph_user_pages) == 1


def test_reprovision_skips_a_user_disabled_in_entra(tmp_path: Path) -> None:
    disabled = TARGETS[1]
    world = _world("acme-trello", **{disabled: {"accountEnabled": False}})
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "--format", "json").stdout)
    target = next(t for t in status["targets"] if t["key"] == disabled)
    assert (target["state"], target["reason"]) == (
        "skipped",
        f"{disabled} is disabled in the IdP (entra): it would not come back active",
    )


def test_leavers_spares_someone_assigned_again_since_the_list_was_made(tmp_path: Path) -> None:
    leavers = sorted(e for e, s in DRIFT["situations"].items() if s == "orphaned")
    rehired = "paula.costa@acme.example"  # unassigned in the IdP when the list was made
    assert rehired in leavers
    world = _world("drift", **{rehired: {"assigned": True}})
    account = accounts_by_email(world)[rehired]
    target_file = tmp_path / "leavers.csv"
    target_file.write_text("email\n" + "\n".join(leavers) + "\n", encoding="utf-8")
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "--format", "json").stdout)
        after = accounts_by_email(env.world())
        entries = {u["id"]: u["account_id"] for u in env.world()["scim_users"]}
        # deactivated the IdP's way: a SCIM PATCH of each leaver's entry (decision 122)
        patched = [r["path"].rsplit("/", 1)[-1] for r in env.writes() if r["method"] == "PATCH"]
    target = next(t for t in status["targets"] if t["key"] == rehired)
    assert (target["state"], target["reason"]) == (
        "skipped",
        "still assigned to the Atlassian app in the IdP (entra): not a leaver",
    )
    assert after[rehired]["status"] == "active"
    assert account["account_id"] not in [entries.get(p) for p in patched]
    assert len(patched) == len(leavers) - 1
    assert [e for e in leavers if after[e]["status"] == "inactive"] == sorted(
        set(leavers) - {rehired}
    )


def test_leavers_matches_the_idp_user_by_mail_when_the_upn_differs(tmp_path: Path) -> None:
    """No object id to go by (the entry has no externalId) and a UPN unlike the email: the
    person is still found through `mail`, and spared because they are assigned again."""
    rehired = "paula.costa@acme.example"
    world = _world("drift", **{rehired: {"assigned": True, "userName": "pcosta@acme.example"}})
    for entry in world["scim_users"]:
        if entry["userName"].lower() == rehired:
            entry.pop("externalId", None)
    target_file = tmp_path / "leavers.csv"
    target_file.write_text(f"email\n{rehired}\n", encoding="utf-8")
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "--format", "json").stdout)
        assert env.writes() == []
    assert status["targets"][0]["reason"] == (
        "still assigned to the Atlassian app in the IdP (entra): not a leaver"
    )


def test_nobody_assigned_in_entra_stops_the_run_before_any_change(tmp_path: Path) -> None:
    """An app scoped to "all users and groups" has no assignments: everyone would look like a
    leaver. The run refuses instead of skipping (or disabling) everybody."""
    world = copy.deepcopy(load_world("acme-trello"))
    for user in world["idp"]["users"]:
        user["assigned"] = False
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert env.writes() == []
    assert result.exit_code == 4, result.output
    assert (
        "Entra ID reports nobody assigned to the Atlassian Cloud app, so scimrecon cannot tell "
        "whom it provisions (is the provisioning scope 'all users and groups'?); nothing was "
        "changed: check the app's assignments, or reconcile from an exported user list "
        "(--idp FILE)"
    ) in result.output
