"""JiraApi against the simulator: search paging, edits, bulk moves, JSM participants, JQL."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimrecon.connectors.jira import BulkResult, jql_quote, jql_user
from scimrecon.http import HttpError
from scimrecon.sim.world import load_world
from tests.connectors.conftest import Sim, make_sim


def issue(sim: Sim, key: str) -> dict[str, Any]:
    return next(i for i in sim.world["jira"]["issues"] if i["key"] == key)


def managed_ids(sim: Sim) -> list[str]:
    return [a["account_id"] for a in sim.world["accounts"] if a["managed"]]


def big_world(extra: int) -> dict[str, Any]:
    world = load_world("acme-trello")
    template = world["jira"]["issues"][0]
    reporter = next(a["account_id"] for a in world["accounts"] if a["managed"])
    for n in range(extra):
        item = copy.deepcopy(template)
        item.update(key=f"BULK-{n + 1}", project="BULK", reporter=reporter, participants=[])
        world["jira"]["issues"].append(item)
    return world


def test_search_follows_next_page_tokens() -> None:
    sim = make_sim(world=big_world(250))
    reporter = issue(sim, "BULK-1")["reporter"]
    found = list(sim.services.jira.search(f"project = BULK AND {jql_user('reporter', reporter)}"))
    assert [i.key for i in found] == [f"BULK-{n}" for n in range(1, 251)]
    first = found[0]
    assert (first.key, first.reporter, first.assignee) == (
        "BULK-1",
        reporter,
        issue(sim, "BULK-1")["assignee"],
    )
    assert first.id  # the consistent re-read (reconcileIssues) needs it
    assert [(m, s) for m, _, s in sim.requests("/jira")] == [("POST", 200)] * 3


def test_set_reporter_and_assignee_without_notifications(sim: Sim) -> None:
    new = managed_ids(sim)[3]
    sim.services.jira.set_reporter("HELP-1", new)
    sim.services.jira.set_assignee("HELP-1", new)
    assert issue(sim, "HELP-1")["reporter"] == new == issue(sim, "HELP-1")["assignee"]
    paths = [p for _, p, _ in sim.requests("/jira")]
    assert paths == ["/jira/acme/rest/api/3/issue/HELP-1?notifyUsers=false"] * 2


def test_edit_errors_are_one_line(sim: Sim) -> None:
    with pytest.raises(HttpError) as err:
        sim.services.jira.set_reporter("NOPE-1", managed_ids(sim)[0])
    assert str(err.value) == (
        "Jira: PUT /rest/api/3/issue/NOPE-1 → 404: "
        "Issue does not exist or you do not have permission to see it."
    )
    with pytest.raises(HttpError) as err:
        sim.services.jira.set_reporter("HELP-1", "no-such-account")
    assert str(err.value) == (
        "Jira: PUT /rest/api/3/issue/HELP-1 → 400: "
        "reporter: Specified user does not exist or you do not have required permissions"
    )


def test_bulk_set_splits_at_1000_and_polls_each_task() -> None:
    sim = make_sim(world=big_world(2500))
    new = managed_ids(sim)[5]
    keys = [f"BULK-{n}" for n in range(1, 2501)]
    result = sim.services.jira.bulk_set(keys, "reporter", new, poll_interval=2.0)
    assert result == BulkResult(2500, 2500, 0, 0, ("10000", "10001", "10002"))
    assert all(issue(sim, k)["reporter"] == new for k in keys)
    calls = [(m, p.rsplit("/", 2)[-2:], s) for m, p, s in sim.requests("/jira")]
    submits = [c for c in calls if c[0] == "POST"]
    polls = [c for c in calls if c[0] == "GET"]
    assert len(submits) == 3 and len(polls) == 9  # ENQUEUED, RUNNING, COMPLETE per task
    assert sim.time.sleeps == [2.0] * 6


def test_participants_add_and_remove(sim: Sim) -> None:
    old, new = issue(sim, "HELP-1")["participants"][0], managed_ids(sim)[7]
    jira = sim.services.jira
    assert jira.participants("HELP-1") == [old]
    jira.add_participants("HELP-1", [new])
    jira.remove_participants("HELP-1", [old])
    assert jira.participants("HELP-1") == [new] == issue(sim, "HELP-1")["participants"]


def test_participants_are_read_page_after_page(sim: Sim) -> None:
    many = [f"5b10ac8d82e05b22cc7d{n:04d}" for n in range(120)]
    issue(sim, "HELP-1")["participants"] = many
    assert sim.services.jira.participants("HELP-1") == many
    reads = [p for m, p, _ in sim.requests("/jira") if m == "GET" and "participant" in p]
    assert len(reads) == 3  # 50 + 50 + 20, as JSM pages them


def test_wrong_token_is_401() -> None:
    sim = make_sim(secrets={"SCIMRECON_JIRA_TOKEN": "bad-token-xyz"})
    with pytest.raises(HttpError) as err:
        list(sim.services.jira.search('project = "HELP"'))
    assert err.value.status == 401
    assert str(err.value).startswith("Jira: POST /rest/api/3/search/jql → 401: ")
    assert "bad-token-xyz" not in str(err.value)


def test_search_is_retried_on_503_because_it_is_a_read() -> None:
    sim = make_sim()
    sim.faults({"/jira": {"error_rate": 0.4}, "seed": 5})
    for _ in range(3):
        assert [i.key for i in sim.services.jira.search('key = "HELP-1"')] == ["HELP-1"]


@pytest.fixture(scope="module")
def jql_sim() -> Sim:
    return make_sim()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(account_id=st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s))
def test_any_account_id_in_jql_matches_only_itself(jql_sim: Sim, account_id: str) -> None:
    issues = jql_sim.world["jira"]["issues"]
    key = f"ESC-{len(issues) + 1}"
    issues.append(
        {"key": key, "project": "ESC", "reporter": account_id, "assignee": None, "participants": []}
    )
    found = [i.key for i in jql_sim.services.jira.search(jql_user("reporter", account_id))]
    expected = [i["key"] for i in issues if i["reporter"] == account_id]
    assert found == expected and key in found


def test_jql_quote() -> None:
    assert jql_quote('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(ValueError):
        jql_user("watcher", "x")
