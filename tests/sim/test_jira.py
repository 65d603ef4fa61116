"""Jira and JSM: the JQL subset, search paging, reassignment, bulk edit, participants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.sim.jql import JqlError, compile_jql
from tests.sim.conftest import ADA, BOB, JIRA, JIRA_AUTH

ISSUES = [
    {"key": "HELP-1", "project": "HELP", "reporter": "a", "assignee": None},
    {"key": "HELP-2", "project": "HELP", "reporter": "b", "assignee": "a"},
    {"key": "DEV-1", "project": "DEV", "reporter": "b", "assignee": "b"},
]


def keys(jql: str) -> list[str]:
    predicate = compile_jql(jql)
    return [i["key"] for i in ISSUES if predicate(i)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('reporter = "a"', ["HELP-1"]),
        ("reporter = b AND project = help", ["HELP-2"]),
        ('assignee = "a" OR assignee = "b"', ["HELP-2", "DEV-1"]),
        ("key in (help-1, DEV-1) ORDER BY created DESC", ["HELP-1", "DEV-1"]),
        ('(reporter = "a" OR reporter = "b") and project = DEV', ["DEV-1"]),
        ("reporter in ('a', \"b\") AND assignee = a", ["HELP-2"]),
    ],
)
def test_jql_subset(jql, expected):
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("", "Unbounded JQL"),
        ("ORDER BY created", "Unbounded JQL"),
        ('summary ~ "x"', "Field 'summary' does not exist"),
        ("reporter != a", "operator '!='"),
        ("reporter is EMPTY", "operator 'is'"),
        ("reporter = a AND", "end of query"),
        ("reporter = a b", "Expecting either 'OR' or 'AND'"),
        ("(reporter = a", "end of query"),
        ("reporter = currentUser()", "Expecting either 'OR' or 'AND'"),
    ],
)
def test_jql_outside_the_subset_is_rejected(jql, message):
    with pytest.raises(JqlError, match=message.replace("(", r"\(")):
        compile_jql(jql)


account_ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='\\"'),
    min_size=1,
    max_size=12,
)


@given(ids=st.lists(account_ids, min_size=1, max_size=5))
def test_quoted_reporter_lists_select_exactly_those_reporters(ids):
    issues = [
        {"key": f"K-{n + 1}", "project": "K", "reporter": r}
        for n, r in enumerate([*ids, "zz-other"])
    ]
    quoted = ", ".join('"' + i + '"' for i in ids)
    predicate = compile_jql(f"reporter in ({quoted})")
    assert [i["reporter"] for i in issues if predicate(i)] == [
        r for r in [*ids, "zz-other"] if r in ids
    ]


def test_search_pages_with_next_page_token(api):
    seen: list[str] = []
    body = {
        "jql": f'reporter = "{BOB}" OR reporter = "{ADA}"',
        "fields": ["reporter"],
        "maxResults": 2,
    }
    while True:
        r = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json=body)
        assert r.status_code == 200
        page = r.json()
        seen += [i["key"] for i in page["issues"]]
        assert all(set(i["fields"]) == {"reporter"} for i in page["issues"])
        if "nextPageToken" not in page:
            break
        body["nextPageToken"] = page["nextPageToken"]
    assert seen == ["HELP-1", "HELP-2", "DEV-1"]


def test_search_bad_jql_is_400_with_error_messages(api):
    r = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "text ~ x"})
    assert r.status_code == 400
    assert r.json() == {
        "errorMessages": ["Field 'text' does not exist or you do not have permission to view it."],
        "errors": {},
    }


def test_search_token_from_another_query_is_refused(api):
    first = api.post(
        f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = HELP", "maxResults": 1}
    )
    token = first.json()["nextPageToken"]
    r = api.post(
        f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = DEV", "nextPageToken": token}
    )
    assert r.status_code == 400


def test_reassign_reporter(sim, api):
    r = api.put(
        f"{JIRA}/issue/HELP-1",
        params={"notifyUsers": "false"},
        auth=JIRA_AUTH,
        json={"fields": {"reporter": {"accountId": BOB}}},
    )
    assert r.status_code == 204
    assert sim.world["jira"]["issues"][0]["reporter"] == BOB


def test_reassign_to_unknown_account_is_400_and_changes_nothing(sim, api):
    r = api.put(
        f"{JIRA}/issue/HELP-1",
        auth=JIRA_AUTH,
        json={"fields": {"reporter": {"accountId": "ghost"}}},
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "reporter": "Specified user does not exist or you do not have required permissions"
    }
    assert sim.world["jira"]["issues"][0]["reporter"] == ADA


def test_edit_unknown_issue_is_404(api):
    r = api.put(f"{JIRA}/issue/NOPE-9", auth=JIRA_AUTH, json={"fields": {"assignee": None}})
    assert r.status_code == 404 and r.json()["errorMessages"]


def test_bulk_edit_then_poll_until_complete(sim, api):
    body = {
        "selectedIssueIdsOrKeys": ["HELP-1", "DEV-1"],
        "selectedActions": ["reporter"],
        "editedFieldsInput": {
            "singleSelectClearableUserPickerFields": [
                {"fieldId": "reporter", "user": {"accountId": ADA}}
            ]
        },
    }
    r = api.post(f"{JIRA}/bulk/issues/fields", auth=JIRA_AUTH, json=body)
    assert r.status_code == 201
    task = r.json()["taskId"]
    statuses = [
        api.get(f"{JIRA}/bulk/queue/{task}", auth=JIRA_AUTH).json()["status"] for _ in range(3)
    ]
    assert statuses == ["ENQUEUED", "RUNNING", "COMPLETE"]
    issues = {i["key"]: i for i in sim.world["jira"]["issues"]}
    assert issues["HELP-1"]["reporter"] == ADA and issues["DEV-1"]["reporter"] == ADA


def test_bulk_edit_over_1000_issues_is_400(api):
    body = {
        "selectedIssueIdsOrKeys": [f"HELP-{i}" for i in range(1, 1002)],
        "selectedActions": ["reporter"],
        "editedFieldsInput": {
            "singleSelectClearableUserPickerFields": [
                {"fieldId": "reporter", "user": {"accountId": ADA}}
            ]
        },
    }
    r = api.post(f"{JIRA}/bulk/issues/fields", auth=JIRA_AUTH, json=body)
    assert r.status_code == 400 and "1000" in r.json()["errorMessages"][0]


def test_jsm_participants(sim, api):
    url = "/jira/acme/rest/servicedeskapi/request/HELP-2/participant"
    assert [v["accountId"] for v in api.get(url, auth=JIRA_AUTH).json()["values"]] == [ADA]
    r = api.post(url, auth=JIRA_AUTH, json={"accountIds": [BOB]})
    assert [v["accountId"] for v in r.json()["values"]] == [ADA, BOB]
    r = api.request("DELETE", url, auth=JIRA_AUTH, json={"accountIds": [ADA]})
    assert [v["accountId"] for v in r.json()["values"]] == [BOB]
    assert sim.world["jira"]["issues"][1]["participants"] == [BOB]
    bad = api.post(url, auth=JIRA_AUTH, json={"accountIds": ["ghost"]})
    assert bad.status_code == 400


def test_unknown_site_is_404(api):
    r = api.post("/jira/other/rest/api/3/search/jql", auth=JIRA_AUTH, json={"jql": "project = X"})
    assert r.status_code == 404


def test_myself_is_the_token_user(api):
    r = api.get(f"{JIRA}/myself", auth=JIRA_AUTH)
    assert r.status_code == 200
    assert r.json()["emailAddress"] == "admin@acme.example" and r.json()["active"] is True


def test_get_user_by_account_id(api):
    r = api.get(f"{JIRA}/user", params={"accountId": ADA}, auth=JIRA_AUTH)
    assert r.json()["displayName"] == "Ada Lovelace" and r.json()["active"] is True
    assert api.get(f"{JIRA}/user", params={"accountId": "ghost"}, auth=JIRA_AUTH).status_code == 404
