"""`report` says what moved and what could not (issue 13, point 6): tickets moved per field, and
the comments, worklogs, approvals and watches that stay on the old account, counted from the
world file here, independently of the code under test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scimrecon.cli import what_stays
from scimrecon.sim.world import load_world
from tests.playbooks.harness import accounts_by_email, in_process, targets

TARGETS = Path(targets("acme-trello")).read_text(encoding="utf-8").split()[1:]
FIELDS = "reporter,assignee,participants"


def expected_for(world: dict[str, Any], who: str) -> dict[str, Any]:
    """What the world holds for account `who`: counted straight from the fixture."""
    issues = world["jira"]["issues"]

    def keys(test: Any) -> list[str]:
        return [i["key"] for i in issues if test(i)]

    comments = [c for i in issues for c in i.get("comments", []) if c["author"] == who]
    worklogs = [w for i in issues for w in i.get("worklogs", []) if w["author"] == who]
    return {
        "moved_by_field": {
            "reporter": len(keys(lambda i: i["reporter"] == who)),
            "assignee": len(keys(lambda i: i["assignee"] == who)),
            "participants": len(keys(lambda i: who in i["participants"])),
        },
        "counts": {
            "comments": len(comments),
            "worklogs": len(worklogs),
            "approvals": len(
                keys(lambda i: any(who in a["approvers"] for a in i.get("approvals", [])))
            ),
            "watchers": len(keys(lambda i: who in i.get("watchers", []))),
        },
        "watched": keys(lambda i: who in i.get("watchers", [])),
    }


def test_report_counts_what_moved_and_what_stays_on_the_old_account(tmp_path: Path) -> None:
    world = load_world("acme-trello")
    old = {email: a["account_id"] for email, a in accounts_by_email(world).items()}
    expected = {email: expected_for(world, old[email]) for email in TARGETS}
    assert sum(e["counts"]["comments"] for e in expected.values()) > 0
    assert all(sum(e["counts"].values()) > 0 for e in expected.values())

    with in_process(world, tmp_path) as env:
        run = env.cli(
            "run", "reprovision", "--targets", targets("acme-trello"), "--yes",
            "--param", f"reassign={FIELDS}",
        )  # fmt: skip
        assert run.exit_code == 0, run.output
        after = env.world()
        doc = json.loads(env.cli("report", "1", "--format", "json").output)
        shown = env.cli("report", "1").output

    # the run moved tickets, and left every comment, worklog, approval and watch where it was
    for email in TARGETS:
        who = old[email]
        assert expected_for(after, who)["counts"] == expected[email]["counts"], email
        assert sum(expected_for(after, who)["moved_by_field"].values()) == 0, email

    by_key = {t["key"]: t for t in doc["targets"]}
    assert set(by_key) == set(TARGETS)
    for email in TARGETS:
        target = by_key[email]
        part = target["what_moved"]
        assert target["state"] == "done"
        assert target["outputs"]["old_account_id"] == old[email]
        assert part["moved_by_field"] == expected[email]["moved_by_field"], email
        assert target["outputs"]["moved_by_field"] == expected[email]["moved_by_field"]
        assert part["stays_on_old_account"]["counts"] == expected[email]["counts"], email
        assert target["outputs"]["stays_on_old_account"] == expected[email]["counts"]
        issues = part["stays_on_old_account"]["issues"]
        assert issues["watchers"] == expected[email]["watched"], email
        if "memberships_before" not in target["outputs"]:
            assert part["memberships"] is None  # not recorded: said as unknown, never as 0

    assert "What moved, and what stays on the old account (Jira cannot reassign it):" in shown
    lines = shown.splitlines()
    header = next(line for line in lines if line.startswith("target") and "comments" in line)
    assert header.split()[-4:] == ["comments", "worklogs", "approvals", "watchers"]
    for email in TARGETS:
        row = next(line for line in lines[lines.index(header) :] if line.startswith(email))
        counts = expected[email]["counts"]
        assert row.split()[-4:] == [str(counts[k]) for k in counts], row
        moved = ", ".join(f"{f} {n}" for f, n in expected[email]["moved_by_field"].items())
        assert moved in row
    assert "`scimrecon report 1 --format json`" in shown


def _target(key: str, outputs: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "outputs": outputs, "what_moved": what_stays.summary(outputs)}


def test_memberships_before_and_after_are_shown_with_what_is_missing(capsys) -> None:
    targets = [
        _target(
            "ada@acme.example",
            {
                "memberships_before": ["jira-users", "atlassian-users", "confluence-users"],
                "memberships_after": ["atlassian-users"],
                "stays_on_old_account": {"comments": 1, "worklogs": 0, "approvals": None},
            },
        ),
        _target("bob@acme.example", {"memberships_before": ["atlassian-users"]}),
    ]
    ada, bob = (t["what_moved"] for t in targets)
    assert ada["memberships"] == {
        "before": ["atlassian-users", "confluence-users", "jira-users"],
        "after": ["atlassian-users"],
        "missing": ["confluence-users", "jira-users"],
    }
    assert ada["stays_on_old_account"]["counts"] == {
        "comments": 1, "worklogs": 0, "approvals": None, "watchers": None,
    }  # fmt: skip
    assert bob["memberships"] == {"before": ["atlassian-users"], "after": None, "missing": None}
    assert ada["moved_by_field"] is None and bob["stays_on_old_account"] is None
    what_stays.echo_table("7", targets)
    out = capsys.readouterr().out.splitlines()
    header = out[2].split()
    assert header[:2] == ["target", "groups"] and "tickets" not in header
    assert out[4].split()[1:] == ["3", "→", "1", "(2", "missing)", "1", "0", "n/a", "n/a"]
    assert out[5].split()[1:] == ["1", "→", "?", "-", "-", "-", "-"]
    assert (
        "  ! ada@acme.example: group membership(s) missing after the run: "
        "confluence-users, jira-users" in out
    )


def test_an_older_run_without_these_outputs_shows_what_it_has(capsys) -> None:
    older = _target("ada@acme.example", {"tickets_moved": 2, "moved_reporter": 2})
    assert older["what_moved"] == {
        "moved_by_field": {"reporter": 2},
        "memberships": None,
        "stays_on_old_account": None,
    }
    what_stays.echo_table("3", [older])
    out = capsys.readouterr().out.splitlines()
    assert out[2].split() == ["target", "tickets", "moved"]
    assert out[4].split() == ["ada@acme.example", "reporter", "2"]
    assert not any("Comments are counted" in line for line in out)
    what_stays.echo_table("3", [_target("bob@acme.example", {"old_account_id": "x"})])
    assert capsys.readouterr().out == ""  # nothing of this kind: no second table
