"""The reprovision playbook end to end, against the simulator: the world after is exactly right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scimrecon.engine.action import Action, StepContext
from tests.playbooks.harness import (
    FIXTURES,
    SimEnv,
    accounts_by_email,
    in_process,
    over_socket,
    targets,
)

EXPECTED = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text(encoding="utf-8"))
TARGETS = EXPECTED["trello_only"]
DATA = Path(__file__).parent / "data"


def assert_reprovisioned(before: dict[str, Any], after: dict[str, Any], run: str) -> None:
    """Each target has a new account with its original email; the old one is parked, disabled."""
    old_by_email = accounts_by_email(before)
    now_by_email = accounts_by_email(after)
    accounts_by_id = {a["account_id"]: a for a in after["accounts"]}
    scim_by_name = {u["userName"].lower(): u for u in after["scim_users"]}
    issues = {i["key"]: i for i in after["jira"]["issues"]}
    for email in TARGETS:
        old = old_by_email[email]
        new = now_by_email[email]
        assert new["account_id"] != old["account_id"], email
        assert new["status"] == "active" and new["managed"] is True
        assert not new.get("product_access"), f"{email}: the new account must not carry Trello"
        parked = accounts_by_id[old["account_id"]]
        local, domain = email.split("@")
        assert parked["email"] == f"{local}+old-{run}@{domain}"
        assert parked["status"] == "inactive"
        assert scim_by_name[email]["account_id"] == new["account_id"]
        for key in EXPECTED["reported_tickets"][email]:
            assert issues[key]["reporter"] == new["account_id"], key
    assert after["idp"]["job"]["state"] == "Active"
    untouched = [a for a in before["accounts"] if a["email"] not in TARGETS]
    for account in untouched:
        assert accounts_by_id[account["account_id"]] == account


def assert_memberships_back(
    before: dict[str, Any], after: dict[str, Any], grouped: list[str] = TARGETS
) -> None:
    """Every target is in the same SCIM groups (by name) on its new entry as on its old one,
    and those `grouped` were in some."""

    def groups_of(world: dict[str, Any], email: str) -> list[str]:
        entry = next(u for u in world["scim_users"] if u["userName"].lower() == email)
        return sorted(g["displayName"] for g in world["groups"] if entry["id"] in g["members"])

    for email in TARGETS:
        if email in grouped:
            assert groups_of(before, email), f"{email}: the fixture must give targets groups"
        assert groups_of(after, email) == groups_of(before, email), email


def run_ok(env: SimEnv, *extra: str) -> None:
    result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes", *extra)
    assert result.exit_code == 0, result.output
    assert "run 1 completed: 6 done" in result.output


def test_reprovision_over_a_real_socket_fixes_every_target(tmp_path: Path) -> None:
    from scimrecon.sim.generate import ungroup
    from scimrecon.sim.world import load_world

    # two targets keep their group: 6 user pushes and 2 group pushes on demand, in real time
    # at 5 per 10 s (every target's group comes back in tests/playbooks/test_okta.py and ...
    # test_group_memberships.py)
    grouped = TARGETS[:2]
    with over_socket(ungroup(load_world("acme-trello"), TARGETS[2:]), tmp_path) as env:
        before = env.world()
        assert env.billable() == EXPECTED["billable"]["before"]
        run_ok(env)
        assert env.billable() == EXPECTED["billable"]["after"]
        assert_reprovisioned(before, env.world(), "1")

        report = env.cli("report", "1")
        assert report.exit_code == 0
        lines = report.output.splitlines()
        assert lines[0].split() == [
            "target",
            "state",
            "reason",
            "old_account_id",
            "new_account_id",
            "old_account_email",
            "tickets_moved",
            "scim_removed",
        ]
        # org.count_billable reads the v1 list, managed accounts only: the world's external
        # user (the contractor, 42 -> 36 on the bill) is not in it
        assert "billable before: 41" in lines and "billable after: 35" in lines
        assert any(line.startswith("paused seconds: ") for line in lines)
        csv_report = env.cli("report", "1", "--format", "csv").output.splitlines()
        assert len(csv_report) == 1 + len(TARGETS)

        status = env.cli("status", "1", "--format", "json")
        assert status.exit_code == 0
        doc = json.loads(status.output)
        assert doc["state"] == "completed"
        assert {t["key"] for t in doc["targets"]} == set(TARGETS)
        now = accounts_by_email(env.world())
        for target in doc["targets"]:
            assert target["state"] == "done"
            assert target["outputs"]["new_account_id"] == now[target["key"]]["account_id"]
            assert target["outputs"]["old_account_id"] != target["outputs"]["new_account_id"]
            # the group memberships survived: recorded before, read back in SCIM after
            groups = ["atlassian-users"] if target["key"] in grouped else []
            assert target["outputs"]["memberships_before"] == groups
            assert target["outputs"]["memberships_after"] == groups
        assert_memberships_back(before, env.world(), grouped)


def test_reprovision_completes_identically_under_503s_and_429s(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as clean:
        before = clean.world()
        run_ok(clean)
        expected_after = clean.world()
    with in_process("acme-trello", tmp_path / "faulty") as env:
        env.app.set_faults(
            {
                "seed": 3,
                "/atlassian": {"error_rate": 0.1, "error_statuses": [503], "rate_per_s": 5},
                "/jira": {"error_rate": 0.1, "error_statuses": [503], "rate_per_s": 5},
                "/graph": {"error_rate": 0.1, "error_statuses": [503]},
            }
        )
        run_ok(env)
        statuses = {r["status"] for r in env.app.log}
        assert {429, 503} & statuses, "the faults must actually have fired"
        after = env.world()
        assert_reprovisioned(before, after, "1")
        assert env.billable() == EXPECTED["billable"]["after"]
        assert len(after["accounts"]) == len(expected_after["accounts"])


def test_dry_run_sends_no_write_request(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--dry-run")
        assert result.exit_code == 0, result.output
        assert env.app.log, "the dry run must have read the world"
        assert env.writes() == []
        assert env.world() == before


def test_rerunning_a_completed_target_list_changes_nothing(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        run_ok(env)
        after_first = env.world()
        writes = len(env.writes())
        again = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert again.exit_code == 0, again.output
        # every target is skipped at the lookup: its account no longer has Trello
        assert "6 skipped" in again.output
        assert [w for w in env.writes()[writes:] if "synchronization" not in w["path"]] == []
        assert env.world()["accounts"] == after_first["accounts"]


def test_delete_mode_deactivates_the_old_account_through_scim(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        run_ok(env, "--param", "scim_removal=delete")
        deletes = [r for r in env.app.log if r["method"] == "DELETE" and r["prefix"] != "/graph"]
        assert len(deletes) == 6 and all("/scim/directory/" in r["path"] for r in deletes)
        # the re-push: each target's own app assignment removed and added again (Graph)
        graph = [r for r in env.app.log if r["method"] == "DELETE" and r["prefix"] == "/graph"]
        assert len(graph) == 6 and all("/appRoleAssignedTo/" in r["path"] for r in graph)
        assert_reprovisioned(before, env.world(), "1")


class IdpCycle(Action):
    """Test only: somebody restarts the paused job by hand, a full cycle runs, and they pause
    it again: the pause did not hold (a playbook without it is refused when loaded)."""

    name = "test.idp_cycle"
    app: Any = None

    def describe(self, ctx: StepContext) -> str:
        return "an IdP provisioning cycle runs"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        app = type(self).app
        job = app.store.world["idp"]["job"]
        job["state"] = "Active"
        pushed = app.tick(full=True)
        job["state"] = "Paused"
        return {"pushed": len(pushed)}


def test_a_cycle_inside_the_window_relinks_the_old_account_and_the_run_says_so(
    tmp_path: Path,
) -> None:
    with in_process("acme-trello", tmp_path) as env:
        IdpCycle.app = env.app
        env.extra_registry = {IdpCycle.name: IdpCycle}
        before = accounts_by_email(env.world())
        result = env.cli(
            "run",
            "reprovision-restarted",
            "--playbooks",
            str(DATA),
            "--targets",
            targets("acme-trello"),
            "--yes",
        )
        assert result.exit_code == 1, result.output
        assert "6 failed" in result.output
        # the pause did not hold, and the run trusted its own unlink (decision 103's read
        # saved); parking the address is then refused by Atlassian itself, since the IdP
        # manages the old account again (UM-6, decision 122): nothing parked, nobody
        # unassigned, and the way back is `undo`
        assert "(reason: externalDirectory.scim)" in result.output
        assert "undo them: scimrecon undo 1" in result.output
        after = env.world()
        scim_by_name = {u["userName"].lower(): u for u in after["scim_users"]}
        now = accounts_by_email(after)
        for email in TARGETS:
            # the IdP pushed each user straight back onto the account we meant to retire
            assert scim_by_name[email]["account_id"] == before[email]["account_id"]
            assert now[email]["account_id"] == before[email]["account_id"]  # its address kept
        assert env.billable() == EXPECTED["billable"]["before"]


def test_when_every_target_is_skipped_provisioning_is_never_paused(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        run_ok(env)
        seen = len(env.app.log)
        again = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert again.exit_code == 0, again.output
        assert "6 skipped" in again.output
        assert [r for r in env.app.log[seen:] if r["path"].endswith("/pause")] == []
        status = json.loads(env.cli("status", "2", "--format", "json").output)
        assert {t["reason"] for t in status["targets"]} == {"no trello access: nothing to remove"}


def test_assignee_and_jsm_participants_move_too_when_asked(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        run_ok(env, "--param", "reassign=reporter,assignee,participants")
        after = env.world()
        old_to_new = {
            a["account_id"]: accounts_by_email(after)[a["email"]]["account_id"]
            for a in before["accounts"]
            if a["email"] in TARGETS
        }
        old_issues = {i["key"]: i for i in before["jira"]["issues"]}
        moved_somewhere = 0
        for issue in after["jira"]["issues"]:
            was = old_issues[issue["key"]]
            for field in ("reporter", "assignee"):
                assert issue[field] == old_to_new.get(was[field], was[field]), issue["key"]
            expected = sorted(old_to_new.get(p, p) for p in was["participants"])
            assert sorted(issue["participants"]) == expected, issue["key"]
            moved_somewhere += any(p in old_to_new for p in was["participants"])
        assert moved_somewhere, "the fixture must plant participants among the targets"


def test_cycle_mode_leaves_the_user_push_to_the_idp_and_pushes_only_groups_on_demand(
    tmp_path: Path,
) -> None:
    from scimrecon.sim.generate import ungroup
    from scimrecon.sim.world import load_world

    world = load_world("acme-trello")
    world["idp"]["cycle_seconds"] = 1
    ungroup(world, TARGETS[1:])  # one group push, not six: real time, 5 per 10 s
    with over_socket(world, tmp_path) as env:
        before = env.world()
        run_ok(env, "--param", "provision_mode=cycle")
        pushes = [
            r
            for r in env.app.log
            if r["path"].endswith("/provisionOnDemand") and r["status"] == 200
        ]
        # the users came by the cycle; an incremental cycle does not re-send memberships of
        # groups that did not change, so the grouped target's group is pushed on demand
        assert len(pushes) == 1
        assert_reprovisioned(before, env.world(), "1")
        assert_memberships_back(before, env.world(), TARGETS[:1])


def test_waiting_for_the_first_login_parks_the_run_and_resume_finishes_it(
    tmp_path: Path,
) -> None:
    with in_process("acme-trello", tmp_path) as env:
        args = ("--targets", targets("acme-trello"), "--yes", "--max-wait", "0")
        parked = env.cli("run", "reprovision", *args, "--param", "wait_login_days=3")
        assert parked.exit_code == 3, parked.output
        world = env.world()
        assert world["idp"]["job"]["state"] == "Active"  # resumed before the wait
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        assert status["state"] == "parked"
        assert {t["state"] for t in status["targets"]} == {"waiting"}
        assert {t["steps"]["disable-old"] for t in status["targets"]} == {"pending"}
        old_ids = {t["outputs"]["old_account_id"] for t in status["targets"]}
        accounts = {a["account_id"]: a for a in world["accounts"]}
        assert {accounts[i]["status"] for i in old_ids} == {"active"}

        # the people log in to Jira with their new accounts
        new_ids = {t["outputs"]["new_account_id"] for t in status["targets"]}
        for account in env.app.store.world["accounts"]:
            if account["account_id"] in new_ids:
                account["product_access"] = [
                    {"key": "jira-software", "site": "acme", "last_active": "2026-11-24"}
                ]
        done = env.cli("resume", "1", "--yes", "--max-wait", "0")
        assert done.exit_code == 0, done.output
        accounts = {a["account_id"]: a for a in env.world()["accounts"]}
        assert {accounts[i]["status"] for i in old_ids} == {"inactive"}
        final = json.loads(env.cli("status", "1", "--format", "json").output)
        assert {t["outputs"]["first_login"] for t in final["targets"]} == {"2026-11-24"}
