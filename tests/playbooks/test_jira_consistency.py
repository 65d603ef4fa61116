"""reprovision against a Jira that behaves like Jira: an index that lags our writes, bulk tasks
that fail some issues, and an issue that cannot be edited. Over a real socket, real time."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, over_socket, targets

EXPECTED = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text(encoding="utf-8"))


def _world(**issue_changes: dict) -> dict:
    world = copy.deepcopy(load_world("acme-trello"))
    world["jira"]["index_lag_seconds"] = 30  # far longer than the run: every read is stale
    for issue in world["jira"]["issues"]:
        issue.update(issue_changes.get(issue["key"], {}))
    return world


def _edits(env) -> list[str]:
    return [
        r["path"].split("?")[0].rsplit("/", 1)[-1]
        for r in env.app.log
        if r["method"] == "PUT" and "/issue/" in r["path"]
    ]


def test_lagging_index_and_transient_bulk_failures_still_move_every_ticket(tmp_path: Path) -> None:
    # Fatima has three tickets: with bulk_threshold 1 they go through one bulk task, which
    # fails HELP-5 once; only HELP-5 is then edited on its own.
    with over_socket(_world(**{"HELP-5": {"bulk_failures": 1}}), tmp_path) as env:
        result = env.cli(
            "run",
            "reprovision",
            "--targets",
            targets("acme-trello"),
            "--yes",
            "--param",
            "bulk_threshold=1",
        )
        assert result.exit_code == 0, result.output
        assert "run 1 completed: 6 done" in result.output
        after = env.world()
        by_id = {a["account_id"]: a for a in after["accounts"]}
        for email, keys in EXPECTED["reported_tickets"].items():
            for issue in after["jira"]["issues"]:
                if issue["key"] in keys:
                    owner = by_id[issue["reporter"]]
                    assert owner["email"] == email and owner["status"] == "active", issue["key"]
        assert _edits(env).count("HELP-5") == 1  # the bulk failure, retried alone
        assert "HELP-4" not in _edits(env) and "HELP-6" not in _edits(env)
        report = env.cli("status", "1", "--format", "json")
        fatima = next(
            t for t in json.loads(report.output)["targets"] if t["key"].startswith("fatima")
        )
        assert fatima["outputs"]["tickets_moved"] == 3
        assert fatima["outputs"]["moved_reporter"] == 3


def test_a_ticket_jira_refuses_to_edit_fails_that_target_naming_it(tmp_path: Path) -> None:
    closed = "Issue is closed and cannot be edited."
    with over_socket(_world(**{"HELP-7": {"edit_error": closed}}), tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 1, result.output
        assert "5 done" in result.output
        assert "diego.alvarez@acme.example at reassign" in result.output
        assert f"reporter: HELP-7 ({closed})" in result.output
