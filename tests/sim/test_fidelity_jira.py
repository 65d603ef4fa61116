"""Jira's /search/jql as the fidelity ledger (docs/fidelity.md) describes it.

Jira Cloud REST v3, "Search for issues using JQL enhanced search (POST)": `fields` — "By default,
this resource returns IDs only"; `maxResults` up to 5000 (the simulator caps pages at 100 on
purpose); "Recent updates might not be immediately visible in the returned search results"
(not simulated yet: issue 13).
"""

from __future__ import annotations

from tests.sim.conftest import BOB, JIRA, JIRA_AUTH


def test_search_without_fields_returns_issue_ids_only(api):
    r = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = HELP"})
    assert r.status_code == 200
    issues = r.json()["issues"]
    assert issues and all(set(issue) == {"id"} for issue in issues)

    asked = api.post(
        f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = HELP", "fields": []}
    )
    assert all(set(issue) == {"id"} for issue in asked.json()["issues"])


def test_search_with_fields_returns_keys_and_only_those_fields(api):
    body = {"jql": "project = HELP", "fields": ["assignee"]}
    issues = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json=body).json()["issues"]
    assert [i["key"] for i in issues] == ["HELP-1", "HELP-2"]
    assert all(set(i["fields"]) == {"assignee"} for i in issues)


def test_max_results_above_100_still_pages_by_100(sim, api):
    issues = sim.world["jira"]["issues"]
    for n in range(150):
        issues.append({"key": f"BIG-{n + 1}", "project": "BIG", "reporter": BOB})
    body = {"jql": "project = BIG", "fields": ["reporter"], "maxResults": 5000}
    first = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json=body).json()
    assert len(first["issues"]) == 100 and first["nextPageToken"]
    body["nextPageToken"] = first["nextPageToken"]
    second = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json=body).json()
    assert len(second["issues"]) == 50 and "nextPageToken" not in second
    assert second["isLast"] is True
