"""stays_behind against the simulator: what Jira cannot move off an account, counted."""

from __future__ import annotations

from typing import Any

from scimrecon.connectors.jira_history import stays_behind
from scimrecon.sim.world import load_world
from tests.connectors.conftest import make_sim


def account_id(world: dict[str, Any], name: str) -> str:
    return next(a["account_id"] for a in world["accounts"] if a["name"] == name)


def test_counts_match_the_world_in_three_searches() -> None:
    world = load_world("acme-trello")
    sim = make_sim(world=world)
    issues = world["jira"]["issues"]
    for name in ("Samir Khan", "Fatima Okafor", "Kenji Watanabe", "Diego Alvarez"):
        who = account_id(world, name)
        before = len(sim.app.log)
        found = stays_behind(sim.services.jira, who)
        expected = {
            "comments": sum(c["author"] == who for i in issues for c in i.get("comments", [])),
            "worklogs": sum(w["author"] == who for i in issues for w in i.get("worklogs", [])),
            "approvals": sum(
                any(who in a["approvers"] for a in i.get("approvals", [])) for i in issues
            ),
            "watchers": sum(who in i.get("watchers", []) for i in issues),
        }
        assert found.counts == expected, name
        assert found.issues["watchers"] == [i["key"] for i in issues if who in i["watchers"]]
        sent = [(r["method"], r["path"]) for r in sim.app.log[before:]]
        assert sent == [("POST", "/jira/acme/rest/api/3/search/jql")] * 3, name
    assert sum(expected.values()) > 0  # the story gives the last of them something to count


def test_an_incomplete_embedded_list_is_read_from_the_issue_endpoint() -> None:
    world = load_world("acme-trello")
    ada = account_id(world, "Ada Lovelace")
    other = account_id(world, "Priya Raman")
    issue = next(i for i in world["jira"]["issues"] if i["key"] == "ENG-4")
    issue["comments"] = [
        {"id": str(900 + n), "author": ada if n < 23 else other} for n in range(26)
    ]
    issue["worklogs"] = [{"id": str(990 + n), "author": ada} for n in range(21)]
    issue["watchers"] = [ada]
    sim = make_sim(world=world)
    found = stays_behind(sim.services.jira, ada)
    elsewhere = sum(
        c["author"] == ada
        for i in world["jira"]["issues"]
        if i["key"] != "ENG-4"
        for c in i.get("comments", [])
    )
    assert found.counts["comments"] == 23 + elsewhere
    assert found.counts["worklogs"] == 21
    gets = [r["path"].split("?")[0] for r in sim.app.log if r["method"] == "GET"]
    assert gets == [
        "/jira/acme/rest/api/3/issue/" + _id(sim, "ENG-4") + "/comment",
        "/jira/acme/rest/api/3/issue/" + _id(sim, "ENG-4") + "/worklog",
    ]


def _id(sim: Any, key: str) -> str:
    issues = sim.world["jira"]["issues"]
    return str(10000 + [i["key"] for i in issues].index(key))


def test_a_site_without_service_management_has_no_approvals_to_count() -> None:
    world = load_world("acme-trello")
    for site in world["sites"]:
        if site["name"] == "acme":
            site["products"] = [p for p in site["products"] if p != "jira-servicedesk"]
    sim = make_sim(world=world)
    found = stays_behind(sim.services.jira, account_id(world, "Fatima Okafor"))
    assert found.counts["approvals"] is None  # not applicable, never a false 0
    assert found.notes == [
        "approvals not searchable on this site (Field 'approvals' does not exist or you do not "
        "have permission to view it.)"
    ]
    assert found.counts["watchers"] and found.counts["comments"]


def test_a_comment_on_an_issue_the_account_has_no_tie_to_is_not_found() -> None:
    # JQL has no comment-author field: such a comment is beyond any search, so the count is a
    # floor (the report says so); Jira's default auto-watch makes this the unwatched case only.
    world = load_world("acme-trello")
    ada = account_id(world, "Ada Lovelace")
    issue = next(i for i in world["jira"]["issues"] if i["key"] == "ENG-4")
    assert ada not in (issue["reporter"], issue["assignee"], *issue["watchers"])
    before = stays_behind(make_sim(world=world).services.jira, ada).counts["comments"]
    issue["comments"] = [{"id": "777", "author": ada, "body": "unwatched afterwards"}]
    after = stays_behind(make_sim(world=world).services.jira, ada)
    assert after.counts["comments"] == before
    assert "ENG-4" not in after.issues["comments"]
