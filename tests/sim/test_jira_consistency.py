"""Jira as it behaves: the search index lags writes unless reconcileIssues names the issue, the
default `fields` is `id` only, and bulk tasks pass through ENQUEUED and report per-issue failures.

Sources: Jira Cloud REST v3 "Search for issues using JQL enhanced search" (POST
/rest/api/3/search/jql: `fields` default `id`; `reconcileIssues`: "strong consistency issue ids
to be reconciled with search results. Accepts max 50 ids. All issues must exist"); the bulk
queue's task states (ENQUEUED, RUNNING, COMPLETE, ...) and `failedAccessibleIssues`.
"""

from __future__ import annotations

from tests.sim.conftest import ADA, BOB, JIRA, JIRA_AUTH


def _search(api, jql, **extra):
    r = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": jql, **extra})
    assert r.status_code == 200, r.text
    return r.json()["issues"]


def _move(api, key, account):
    r = api.put(
        f"{JIRA}/issue/{key}",
        params={"notifyUsers": "false"},
        auth=JIRA_AUTH,
        json={"fields": {"reporter": {"accountId": account}}},
    )
    assert r.status_code == 204, r.text


def test_the_default_fields_are_ids_only(api):
    (hit,) = _search(api, 'key = "HELP-1"')
    assert set(hit) == {"id"}
    (hit,) = _search(api, 'key = "HELP-1"', fields=["reporter"])
    assert hit["key"] == "HELP-1" and set(hit["fields"]) == {"reporter"}


def test_a_write_is_invisible_to_search_until_the_index_catches_up(api, clock):
    (hit,) = _search(api, 'key = "HELP-1"')
    issue_id = int(hit["id"])
    _move(api, "HELP-1", BOB)
    # The index still has ADA as reporter: a plain search says the ticket was not moved...
    assert [i["id"] for i in _search(api, f'reporter = "{ADA}"')] == [str(issue_id)]
    assert _search(api, f'reporter = "{BOB}" AND key = "HELP-1"') == []
    # ...the same search reconciling that issue answers as it is now.
    assert _search(api, f'reporter = "{ADA}"', reconcileIssues=[issue_id]) == []
    reconciled = _search(api, f'reporter = "{BOB}" AND key = "HELP-1"', reconcileIssues=[issue_id])
    assert [i["id"] for i in reconciled] == [str(issue_id)]
    clock.advance(2.0)  # the default lag (sim/jira_index.py DEFAULT_LAG_S)
    assert _search(api, f'reporter = "{ADA}"') == []


def test_reconcile_issues_is_limited_to_50_existing_ids(api):
    r = api.post(
        f"{JIRA}/search/jql",
        auth=JIRA_AUTH,
        json={"jql": 'project = "HELP"', "reconcileIssues": list(range(10000, 10051))},
    )
    assert r.status_code == 400 and "at most 50" in r.text
    r = api.post(
        f"{JIRA}/search/jql",
        auth=JIRA_AUTH,
        json={"jql": 'project = "HELP"', "reconcileIssues": [99999]},
    )
    assert r.status_code == 400 and "99999" in r.text


def test_a_world_can_switch_the_lag_off(world, clock):
    from tests.simharness import client, make_sim

    world["jira"]["index_lag_seconds"] = 0
    with client(make_sim(world, seed=7, clock=clock, sleep=clock.sleep)) as api:
        _move(api, "HELP-1", BOB)
        assert _search(api, f'reporter = "{ADA}"') == []


def test_bulk_tasks_report_per_issue_failures(world, clock):
    from tests.simharness import client, make_sim

    issues = {i["key"]: i for i in world["jira"]["issues"]}
    issues["HELP-1"]["bulk_failures"] = 1  # transient
    issues["DEV-1"]["edit_error"] = "Issue is closed and cannot be edited."  # lasting
    sim = make_sim(world, seed=7, clock=clock, sleep=clock.sleep)
    body = {
        "selectedIssueIdsOrKeys": ["HELP-1", "HELP-2", "DEV-1"],
        "selectedActions": ["reporter"],
        "editedFieldsInput": {
            "singleSelectClearableUserPickerFields": [
                {"fieldId": "reporter", "user": {"accountId": BOB}}
            ]
        },
    }
    with client(sim) as api:
        task = api.post(f"{JIRA}/bulk/issues/fields", auth=JIRA_AUTH, json=body).json()["taskId"]
        polls = [api.get(f"{JIRA}/bulk/queue/{task}", auth=JIRA_AUTH).json() for _ in range(3)]
        assert [p["status"] for p in polls] == ["ENQUEUED", "RUNNING", "COMPLETE"]
        done = polls[-1]
        ids = {
            i["key"]: i["id"] for i in _search(api, 'project in ("HELP", "DEV")', fields=["key"])
        }
        assert done["processedAccessibleIssues"] == [int(ids["HELP-2"])]
        assert set(done["failedAccessibleIssues"]) == {ids["HELP-1"], ids["DEV-1"]}
        after = {i["key"]: i for i in sim.world_snapshot()["jira"]["issues"]}
        assert after["HELP-1"]["reporter"] == ADA and after["HELP-2"]["reporter"] == BOB
        # A single edit of the transient failure now works; the closed issue refuses it too.
        _move(api, "HELP-1", BOB)
        r = api.put(
            f"{JIRA}/issue/DEV-1",
            auth=JIRA_AUTH,
            json={"fields": {"reporter": {"accountId": ADA}}},
        )
        assert r.status_code == 400 and "closed" in r.text
