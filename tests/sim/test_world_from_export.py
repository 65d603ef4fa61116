"""`sim world-from-export`: a customer's export becomes a world the simulator serves and the
playbooks run on, with every inference said out loud."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.sim.validate import validate_world
from tests.playbooks.harness import FIXTURES, in_process, targets

EXPORT = FIXTURES / "acme-trello" / "users-export.csv"


def _build(tmp_path: Path, *args: str) -> tuple[dict, str]:
    out = tmp_path / "world.json"
    result = CliRunner().invoke(
        cli, ["sim", "world-from-export", str(EXPORT), "--out", str(out), *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8")), result.output


def test_the_world_keeps_every_exported_account_and_says_what_it_inferred(tmp_path: Path) -> None:
    world, output = _build(tmp_path, "--domain", "acme.example")
    assert validate_world(world) == []
    with EXPORT.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(a["email"] for a in world["accounts"]) == sorted(r["email"] for r in rows)
    assert sorted(a["account_id"] for a in world["accounts"]) == sorted(r["User id"] for r in rows)
    # Every active claimed person (not a bot) is inferred to be provisioned: SCIM + IdP.
    people = {
        r["email"]
        for r in rows
        if r["Claimed"] == "Yes"
        and r["User status"] == "Active"
        and r["Account type"] == "atlassian"
    }
    assert {u["userName"] for u in world["scim_users"]} == people
    assert {u["mail"] for u in world["idp"]["users"] if u["assigned"]} == people
    assert world["org"]["domains"] == ["acme.example"]
    assert "inferred: " in output and "SCIM entries" in output
    assert "verified domains" not in output  # given, not inferred


def test_the_reprovision_playbook_runs_on_the_built_world(tmp_path: Path) -> None:
    world, _ = _build(tmp_path)
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        assert "run 1 completed: 6 done" in result.output


def test_okta_and_issues_options(tmp_path: Path) -> None:
    issues = tmp_path / "issues.json"
    source = json.loads((FIXTURES / "acme-trello" / "world.json").read_text(encoding="utf-8"))
    issues.write_text(json.dumps(source["jira"]["issues"]), encoding="utf-8")
    world, _ = _build(tmp_path, "--idp", "okta", "--issues", str(issues))
    assert validate_world(world) == []
    assert world["idp"]["kind"] == "okta"
    assert world["jira"]["issues"] == source["jira"]["issues"]


def test_a_broken_issues_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "issues.json"
    bad.write_text('{"issues": 3}', encoding="utf-8")
    out = tmp_path / "w.json"
    result = CliRunner().invoke(
        cli, ["sim", "world-from-export", str(EXPORT), "--issues", str(bad), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert f"--issues {bad}: expected a JSON list of issues" in result.output
    assert not out.exists()
