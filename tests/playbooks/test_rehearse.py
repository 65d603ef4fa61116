"""`rehearse`: a playbook run on the org's twin predicts what the real run does, changes nothing
live, and its saved plan is refused by `run --plan` once the org has drifted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scimrecon.sim.outcome import world_changes
from tests.playbooks.harness import in_process, targets


def _targets(tmp_path: Path) -> Path:
    """The story's six people, plus one the org does not know (a skip with a reason)."""
    path = tmp_path / "targets.csv"
    rows = Path(targets("acme-trello")).read_text("utf-8").split()
    path.write_text("\n".join([*rows, "nobody.here@acme.example"]) + "\n", "utf-8")
    return path


def _without_new_ids(changes: dict[str, Any]) -> dict[str, Any]:
    """Created accounts get ids the simulator makes up; everything else must match as is."""
    out = json.loads(json.dumps(changes))
    for account in out["accounts_created"]:
        account.pop("account_id")
    out["accounts_created"].sort(key=lambda a: a["email"])
    return out


def test_a_rehearsal_predicts_the_real_run_and_changes_nothing_live(tmp_path: Path) -> None:
    people = _targets(tmp_path)
    with in_process("acme-trello", tmp_path) as env:
        rehearsed = env.cli("rehearse", "reprovision", "--targets", str(people), "--format", "json")
        assert env.writes() == []  # captured read-only, rehearsed on the twin
        predicted = json.loads(rehearsed.stdout)
        before = env.world()
        real = env.cli("run", "reprovision", "--targets", str(people), "--yes")
        status = json.loads(env.cli("status", "--format", "json").stdout)
        outcome = world_changes(before, env.world())
    assert rehearsed.exit_code == real.exit_code == 0  # a skip is not a failure
    assert predicted["run"]["exit_code"] == real.exit_code
    assert _without_new_ids(predicted["changes"]) == _without_new_ids(outcome)
    # 41 managed and the contractor with Jira on acme, an external user the twin reads too
    assert predicted["changes"]["billable"] == {"before": 42, "after": 36}
    assert len(predicted["changes"]["accounts_disabled"]) == 6
    assert len(predicted["changes"]["tickets_moved"]) == 12
    real_states = [
        {"key": t["key"], "state": t["state"], "reason": t["reason"]} for t in status["targets"]
    ]
    assert predicted["targets"] == real_states
    (missing,) = predicted["not_done"]
    assert missing["key"] == "nobody.here@acme.example"
    assert missing["reason"]


def test_the_table_names_every_change_and_every_target_left_out(tmp_path: Path) -> None:
    people = _targets(tmp_path)
    twin = tmp_path / "twin.json"
    with in_process("acme-trello", tmp_path) as env:
        assert (
            env.cli("sim", "capture", "--out", str(twin), "--targets", str(people)).exit_code == 0
        )
        shown = env.cli("rehearse", "reprovision", "--targets", str(people), "--twin", str(twin))
    assert shown.exit_code == 0
    text = shown.stdout
    assert "billable: 42 → 36" in text
    assert "accounts created: 6" in text and "accounts disabled: 6" in text
    assert "emails moved: 6" in text and "tickets moved: 12" in text
    assert "ada.lovelace@acme.example" in text
    assert "targets that would fail or be skipped: 1" in text
    assert "nobody.here@acme.example" in text


def test_run_with_a_rehearsed_plan_runs_on_the_unchanged_org_and_refuses_a_drifted_one(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "plan.json"
    people = targets("acme-trello")
    with in_process("acme-trello", tmp_path) as env:
        rehearsed = env.cli(
            "rehearse", "reprovision", "--targets", people, "--out", str(plan), "--format", "json"
        )
        assert rehearsed.exit_code == 0, rehearsed.output
        saved = json.loads(plan.read_text("utf-8"))
        # the plan's reads are the capture's, so it says it was made then
        assert saved["made_at"] == json.loads(rehearsed.stdout)["captured_at"]
        checked = env.cli(
            "run", "reprovision", "--targets", people, "--plan", str(plan), "--dry-run"
        )
        assert checked.exit_code == 0, checked.output  # the live reads match the twin's
        # somebody removes Ada's Trello access on the live org after the rehearsal
        ada = next(
            a for a in env.app.store.world["accounts"] if a["email"] == "ada.lovelace@acme.example"
        )
        ada["product_access"] = []
        refused = env.cli("run", "reprovision", "--targets", people, "--yes", "--plan", str(plan))
        assert refused.exit_code == 4, refused.output
        assert env.writes() == []
    # the first difference: Ada's look-up (she no longer counts in the billable count either)
    assert "plan.json is stale: the world changed (ada.lovelace@acme.example lookup: " in (
        refused.output
    )
    assert f"since it was made at {saved['made_at']}" in refused.output


def test_a_rehearsal_that_stops_at_a_manual_step_says_so_and_exits_as_the_run_would(
    tmp_path: Path,
) -> None:
    with in_process("manual", tmp_path) as env:
        quiet = env.cli("rehearse", "reprovision", "--targets", targets("manual"))
        shown = env.cli("rehearse", "reprovision", "--targets", targets("manual"), "--show-run")
        assert env.writes() == []
    assert quiet.exit_code == shown.exit_code == 4
    # the first manual step: the groups a person must push back, refused before any change
    assert (
        "run: interrupted (exit 4): ada.lovelace@acme.example is in SCIM groups (atlassian-users) "
        "that a person must push again in your IdP after the re-push; nothing was changed"
    ) in quiet.stdout
    # the rehearsed run's own output names its temporary state: only shown when asked for
    assert "twin | " not in quiet.output and "run 1 " not in quiet.output
    assert "twin | run 1 interrupted: 6 pending" in shown.stderr


def test_a_twin_captured_for_other_targets_says_whose_tickets_it_cannot_predict(
    tmp_path: Path,
) -> None:
    people = Path(targets("acme-trello"))
    header, first, *others = people.read_text("utf-8").split()
    one = tmp_path / "one.csv"
    one.write_text(f"{header}\n{first}\n", "utf-8")
    twin = tmp_path / "twin.json"
    with in_process("acme-trello", tmp_path) as env:
        captured = env.cli("sim", "capture", "--out", str(twin), "--targets", str(one))
        assert captured.exit_code == 0, captured.output
        narrow = env.cli("rehearse", "reprovision", "--targets", str(people), "--twin", str(twin))
        fitting = env.cli("rehearse", "reprovision", "--targets", str(one), "--twin", str(twin))
    others_emails = [row.split(",")[0] for row in others]
    assert (
        f"warning: the twin holds no Jira issues of {', '.join(others_emails)} (captured for "
        "other targets): their tickets are not predicted; capture again with these targets"
    ) in narrow.stderr
    assert "warning: the twin holds no Jira issues" not in fitting.stderr
