"""`run --plan` names the difference a reader can act on: a person's changed look-up before the
run-wide count it moved, and a count whose words did not change is said to have read a
different result (not shown as the same text twice)."""

from __future__ import annotations

import json
from pathlib import Path

from scimrecon.recon.billable import account_is_billable
from tests.playbooks.harness import SimEnv, in_process, targets

PEOPLE = targets("acme-trello")
SAMIR = "samir.khan@acme.example"  # the last target of the fixture's list
COUNT = "count billable users in the org (billable_before)"


def _plan(env: SimEnv, tmp_path: Path) -> tuple[Path, str]:
    plan = tmp_path / "plan.json"
    made = env.cli("plan", "reprovision", "--targets", PEOPLE, "--out", str(plan))
    assert made.exit_code == 0, made.output
    return plan, json.loads(plan.read_text("utf-8"))["made_at"]


def _refused(env: SimEnv, plan: Path) -> str:
    result = env.cli("run", "reprovision", "--targets", PEOPLE, "--yes", "--plan", str(plan))
    assert result.exit_code == 4, result.output
    assert env.writes() == []
    return result.output


def test_a_targets_changed_lookup_is_named_before_the_count_it_moved(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        plan, made = _plan(env, tmp_path)
        world = env.app.store.world
        account = next(a for a in world["accounts"] if a["email"] == SAMIR)
        account["status"] = "inactive"  # billable count and Samir's look-up both change
        output = _refused(env, plan)
    assert f"plan.json is stale: the world changed ({SAMIR} lookup: was 'look up {SAMIR} " in (
        output
    )
    assert f"since it was made at {made}; make a new plan" in output


def test_a_count_with_the_same_words_says_it_read_a_different_result(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        plan, made = _plan(env, tmp_path)
        world = env.app.store.world
        # someone who is no target (nor the Jira API user) leaves: only the count differs
        others = set(Path(PEOPLE).read_text("utf-8").split()[1:]) | {world["jira"]["email"]}
        bystander = next(
            a
            for a in world["accounts"]
            if a["email"] not in others and account_is_billable(a) and a["org_role"] == "member"
        )
        bystander["status"] = "inactive"
        output = _refused(env, plan)
    assert output.strip() == (
        f"error: plan.json is stale: the world changed (run count-before: '{COUNT}' read a "
        f"different result) since it was made at {made}; make a new plan"
    )


def test_a_comment_written_after_the_plan_does_not_refuse_the_run(tmp_path: Path) -> None:
    """What stays on the old account is counted in the plan (decision 103) but is not part of
    its fingerprint: a comment the person writes meanwhile changes a figure of the report, not
    whom the run acts on. The run's count has it."""
    with in_process("acme-trello", tmp_path) as env:
        plan, _ = _plan(env, tmp_path)
        world = env.app.store.world
        samir = next(a for a in world["accounts"] if a["email"] == SAMIR)["account_id"]
        issue = next(i for i in world["jira"]["issues"] if samir in i.get("watchers", []))
        issue.setdefault("comments", []).append(
            {"id": "19999", "author": samir, "body": "One more thing."}
        )
        # counted as the run counts it: comments on issues the account watches, reports, is
        # assigned or logged work on (docs/playbooks/reprovision.md), before anything moves
        related = [
            i
            for i in world["jira"]["issues"]
            if samir in i.get("watchers", [])
            or samir in (i.get("reporter"), i.get("assignee"))
            or any(w.get("author") == samir for w in i.get("worklogs", []))
        ]
        expected = sum(c["author"] == samir for i in related for c in i.get("comments", []))
        result = env.cli("run", "reprovision", "--targets", PEOPLE, "--yes", "--plan", str(plan))
        assert result.exit_code == 0, result.output
        report = json.loads(env.cli("report", "1", "--format", "json").output)
    row = next(t for t in report["targets"] if t["key"] == SAMIR)
    counted = row["what_moved"]["stays_on_old_account"]
    assert issue["key"] in counted["issues"]["comments"]
    assert counted["counts"]["comments"] == expected
