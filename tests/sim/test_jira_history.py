"""What stays on a Jira account: JQL `watcher`, `worklogAuthor`, `approvals = approver()`, and
comments / worklogs in Jira's shapes (embedded with `total`, and paged endpoints)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.connectors.jira import jql_quote
from scimrecon.sim.jira_history import EMBEDDED, PAGE
from scimrecon.sim.jql import JqlError, compile_jql
from tests.sim.conftest import ADA, BOB, JIRA, JIRA_AUTH
from tests.simharness import client, make_sim

ISSUES = [
    {"key": "HELP-1", "watchers": ["a"], "worklogs": [{"id": "1", "author": "b"}]},
    {"key": "HELP-2", "watchers": ["b", "c"], "approvals": [{"id": "1", "approvers": ["a"]}]},
    {"key": "DEV-1", "worklogs": [{"id": "2", "author": "a"}]},
]


def keys(jql: str, jsm: bool = True) -> list[str]:
    predicate = compile_jql(jql, jsm)
    return [i["key"] for i in ISSUES if predicate(i)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('watcher = "a"', ["HELP-1"]),
        ("watcher in (c, a)", ["HELP-1", "HELP-2"]),
        ('worklogAuthor = "a"', ["DEV-1"]),
        ("worklogauthor in (a, b)", ["HELP-1", "DEV-1"]),
        ('approvals = approver("a")', ["HELP-2"]),
        ("approvals = approver(b, a)", ["HELP-2"]),
        (
            'watcher = "a" OR worklogAuthor = "a" OR approvals = approver("a")',
            ["HELP-1", "HELP-2", "DEV-1"],
        ),
    ],
)
def test_history_fields_in_jql(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "jsm", "message"),
    [
        ("approvals = approved()", True, "Function 'approved' is not supported"),
        ('approvals = "a"', True, "Function 'a' is not supported"),
        ("approvals in approver(a)", True, "operator 'in' is not supported by the 'approvals'"),
        ('approvals = approver("a")', False, "Field 'approvals' does not exist"),
        ('"Request participants" = a', False, "Field 'Request participants' does not exist"),
    ],
)
def test_approvals_only_through_approver_and_only_with_jsm(jql: str, jsm: bool, message: str):
    with pytest.raises(JqlError, match=message):
        compile_jql(jql, jsm)


@given(
    who=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    other=st.sampled_from(["a", "b", 'x"y', "\\"]),
)
def test_any_quoted_account_id_finds_exactly_its_own_history(who: str, other: str) -> None:
    issues = [
        {"key": "K-1", "watchers": [who], "worklogs": [{"id": "1", "author": other}]},
        {"key": "K-2", "watchers": [other], "approvals": [{"id": "1", "approvers": [who]}]},
        {"key": "K-3", "worklogs": [{"id": "2", "author": who}]},
    ]
    q = jql_quote(who)
    for jql, expected in [
        (f"watcher = {q}", {"K-1"} | ({"K-2"} if other == who else set())),
        (f"worklogAuthor = {q}", {"K-3"} | ({"K-1"} if other == who else set())),
        (f"approvals = approver({q})", {"K-2"}),
    ]:
        predicate = compile_jql(jql)
        assert {i["key"] for i in issues if predicate(i)} == expected, jql


def _world(world: dict[str, Any], comments: int) -> dict[str, Any]:
    issue = world["jira"]["issues"][0]
    issue["comments"] = [
        {"id": str(100 + n), "author": ADA if n % 3 else BOB, "body": f"c{n}"}
        for n in range(comments)
    ]
    issue["worklogs"] = [{"id": "7", "author": BOB, "time_spent_seconds": 600}]
    issue["watchers"] = [ADA, BOB]
    return world


def test_search_embeds_at_most_20_comments_with_the_total(world, clock):
    sim = make_sim(_world(world, EMBEDDED + 5), seed=7, clock=clock, sleep=clock.sleep)
    with client(sim) as api:
        r = api.post(
            f"{JIRA}/search/jql",
            auth=JIRA_AUTH,
            json={"jql": f'watcher = "{ADA}"', "fields": ["comment", "worklog"]},
        )
    assert r.status_code == 200
    (found,) = r.json()["issues"]
    comment, worklog = found["fields"]["comment"], found["fields"]["worklog"]
    assert (len(comment["comments"]), comment["total"]) == (EMBEDDED, EMBEDDED + 5)
    assert comment["comments"][1]["author"]["accountId"] == ADA
    assert comment["comments"][0]["body"]["type"] == "doc"  # v3: Atlassian Document Format
    assert (len(worklog["worklogs"]), worklog["total"]) == (1, 1)
    assert worklog["worklogs"][0]["timeSpentSeconds"] == 600


def test_comment_and_worklog_endpoints_page_by_start_at(world, clock):
    sim = make_sim(_world(world, PAGE + 10), seed=7, clock=clock, sleep=clock.sleep)
    with client(sim) as api:
        first = api.get(f"{JIRA}/issue/HELP-1/comment", auth=JIRA_AUTH).json()
        second = api.get(
            f"{JIRA}/issue/HELP-1/comment", auth=JIRA_AUTH, params={"startAt": PAGE}
        ).json()
        worklogs = api.get(f"{JIRA}/issue/HELP-1/worklog", auth=JIRA_AUTH).json()
        bad = api.get(f"{JIRA}/issue/HELP-1/comment", auth=JIRA_AUTH, params={"startAt": "x"})
        missing = api.get(f"{JIRA}/issue/NOPE-1/worklog", auth=JIRA_AUTH)
    assert (first["startAt"], first["maxResults"], first["total"]) == (0, PAGE, PAGE + 10)
    assert len(first["comments"]) == PAGE and len(second["comments"]) == 10
    ids = [c["id"] for c in first["comments"] + second["comments"]]
    assert ids == [str(100 + n) for n in range(PAGE + 10)]  # oldest first, none twice
    assert [w["author"]["accountId"] for w in worklogs["worklogs"]] == [BOB]
    assert bad.status_code == 400 and missing.status_code == 404
