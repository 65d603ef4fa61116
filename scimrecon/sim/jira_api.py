"""Jira Cloud and JSM, under /jira/{site}: search, reassign, bulk edit, request participants.

Reassigning tickets from the old account to the new one is a playbook step; these endpoints
keep Jira's shapes (token paging on /search/jql, 204 on edit, async bulk tasks) so the connector
written against the simulator works against Jira.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from scimrecon.sim.context import Ctx
from scimrecon.sim.jql import JqlError, compile_jql
from scimrecon.sim.store import Record, Store
from scimrecon.sim.web import ApiError, Reply, Router, json_object

BASE = "/jira/{site}"
API = f"{BASE}/rest/api/3"
MAX_RESULTS = 100
BULK_LIMIT = 1000
USER_FIELDS = ("reporter", "assignee")


def register(router: Router) -> None:
    router.add("POST", f"{API}/search/jql", search)
    router.add("GET", f"{API}/issue/{{key}}", get_issue)
    router.add("PUT", f"{API}/issue/{{key}}", edit_issue)
    router.add("GET", f"{API}/user", get_user)
    router.add("GET", f"{API}/myself", myself)
    router.add("POST", f"{API}/bulk/issues/fields", bulk_edit)
    router.add("GET", f"{API}/bulk/queue/{{task_id}}", bulk_status)
    participants = f"{BASE}/rest/servicedeskapi/request/{{key}}/participant"
    router.add("GET", participants, get_participants)
    router.add("POST", participants, add_participants)
    router.add("DELETE", participants, remove_participants)


def _site(ctx: Ctx, site: str) -> None:
    if str(ctx.store.jira.get("site", "")).lower() != site.lower():
        raise ApiError(404, f"site {site} not found")


def _issue_or_404(store: Store, key: str) -> Record:
    issue = store.issue(key)
    if issue is None:
        raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
    return issue


def _issue_id(store: Store, issue: Record) -> str:
    if issue.get("id"):
        return str(issue["id"])
    return str(10000 + (store.jira.get("issues") or []).index(issue))


def _user(store: Store, account_id: str | None) -> dict[str, Any] | None:
    if not account_id:
        return None
    account = store.account(account_id)
    out: dict[str, Any] = {"accountId": account_id}
    if account is not None:
        out["displayName"] = account.get("name")
        out["active"] = account.get("status") == "active"
    return out


def _render(store: Store, issue: Record, fields: list[str]) -> dict[str, Any]:
    everything = not fields or "*all" in fields or "*navigable" in fields
    available: dict[str, Any] = {
        "reporter": _user(store, issue.get("reporter")),
        "assignee": _user(store, issue.get("assignee")),
        "project": {"key": issue.get("project") or str(issue.get("key", "")).split("-")[0]},
        "summary": issue.get("summary", ""),
    }
    chosen = available if everything else {k: v for k, v in available.items() if k in fields}
    return {"id": _issue_id(store, issue), "key": issue["key"], "fields": chosen}


def _token(jql: str, offset: int) -> str:
    digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(f"{digest}:{offset}".encode()).decode().rstrip("=")


def _token_offset(jql: str, token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        digest, _, number = text.partition(":")
        offset = int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, "The provided next page token is invalid.") from exc
    if digest != hashlib.sha256(jql.encode()).hexdigest()[:12]:
        raise ApiError(400, "The provided next page token does not match the query.")
    return offset


def search(ctx: Ctx, site: str) -> Reply:
    _site(ctx, site)
    body = json_object(ctx.request)
    jql = body.get("jql")
    if not isinstance(jql, str):
        raise ApiError(400, "The JQL query is required.")
    try:
        predicate = compile_jql(jql)
    except JqlError as exc:
        raise ApiError(400, str(exc)) from exc
    fields = body.get("fields") or []
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    try:
        limit = min(max(int(body.get("maxResults") or 50), 1), MAX_RESULTS)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "maxResults must be an integer.") from exc
    token = body.get("nextPageToken")
    offset = _token_offset(jql, token) if token else 0
    matches = [i for i in ctx.store.jira.get("issues") or [] if predicate(i)]
    page = matches[offset : offset + limit]
    # Without `fields`, /search/jql answers issue ids only (GET issue defaults to all fields)
    issues = [
        _render(ctx.store, i, list(fields)) if fields else {"id": _issue_id(ctx.store, i)}
        for i in page
    ]
    out: dict[str, Any] = {"issues": issues}
    if offset + limit < len(matches):
        out["nextPageToken"] = _token(jql, offset + limit)
    else:
        out["isLast"] = True
    return Reply(200, out)


def get_issue(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    fields = [f for f in (ctx.arg("fields") or "").split(",") if f]
    return Reply(200, _render(ctx.store, issue, fields))


def _check_account(store: Store, field: str, value: Any) -> str | None:
    """Validate a {"accountId": ...} user value; None clears (assignee only)."""
    if value is None:
        if field == "reporter":
            raise ApiError(400, "", fields={"reporter": "Reporter is required."})
        return None
    account_id = value.get("accountId") if isinstance(value, dict) else None
    if not isinstance(account_id, str) or store.account(account_id) is None:
        raise ApiError(
            400,
            "",
            fields={field: "Specified user does not exist or you do not have required permissions"},
        )
    return account_id


def edit_issue(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    body = json_object(ctx.request)
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ApiError(400, "No fields to update.")
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name in USER_FIELDS:
            changes[name] = _check_account(ctx.store, name, value)
        elif name == "summary" and isinstance(value, str):
            changes[name] = value
        else:
            raise ApiError(
                400,
                "",
                fields={
                    name: f"Field '{name}' cannot be set. "
                    "It is not on the appropriate screen, or unknown."
                },
            )
    issue.update(changes)
    return Reply(204)


def get_user(ctx: Ctx, site: str) -> Reply:
    _site(ctx, site)
    account_id = ctx.arg("accountId")
    account = ctx.store.account(account_id) if account_id else None
    if account is None:
        raise ApiError(404, f"Specified user does not exist: {account_id}")
    return Reply(
        200,
        {
            "accountId": account["account_id"],
            "accountType": "atlassian",
            "displayName": account.get("name"),
            "emailAddress": account.get("email"),
            "active": account.get("status") == "active",
        },
    )


def myself(ctx: Ctx, site: str) -> Reply:
    """The API token's own user: the account with the Jira email, else a stand-in user."""
    _site(ctx, site)
    email = str(ctx.store.jira.get("email") or "")
    account = ctx.store.account_by_email(email)
    if account is None:
        return Reply(
            200,
            {
                "accountId": "sim-jira-api-user",
                "accountType": "atlassian",
                "emailAddress": email,
                "displayName": "Jira API user (simulated)",
                "active": True,
            },
        )
    return Reply(
        200,
        {
            "accountId": account["account_id"],
            "accountType": "atlassian",
            "emailAddress": account.get("email"),
            "displayName": account.get("name"),
            "active": account.get("status") == "active",
        },
    )


# -- bulk edit --------------------------------------------------------------------------------


def bulk_edit(ctx: Ctx, site: str) -> Reply:
    """Validate everything first (a bad issue or account rejects the whole request), then apply.

    Body: selectedIssueIdsOrKeys, selectedActions (reporter/assignee), and
    editedFieldsInput.singleSelectClearableUserPickerFields [{fieldId, user: {accountId}}].
    """
    _site(ctx, site)
    body = json_object(ctx.request)
    keys = body.get("selectedIssueIdsOrKeys")
    actions = body.get("selectedActions")
    if not isinstance(keys, list) or not keys:
        raise ApiError(400, "selectedIssueIdsOrKeys must list at least one issue.")
    if len(keys) > BULK_LIMIT:
        raise ApiError(400, f"A bulk edit accepts at most {BULK_LIMIT} issues; got {len(keys)}.")
    if not isinstance(actions, list) or not actions or any(a not in USER_FIELDS for a in actions):
        raise ApiError(400, "selectedActions must name reporter and/or assignee.")
    pickers = (body.get("editedFieldsInput") or {}).get(
        "singleSelectClearableUserPickerFields"
    ) or []
    values: dict[str, str | None] = {}
    for entry in pickers:
        field = entry.get("fieldId") if isinstance(entry, dict) else None
        if field in actions:
            values[field] = _check_account(ctx.store, field, entry.get("user"))
    missing = [a for a in actions if a not in values]
    if missing:
        raise ApiError(400, f"No value given for selected field(s): {', '.join(missing)}.")
    issues = []
    for key in keys:
        issue = ctx.store.issue(str(key)) or next(
            (i for i in ctx.store.jira.get("issues") or [] if _issue_id(ctx.store, i) == str(key)),
            None,
        )
        if issue is None:
            raise ApiError(
                400, f"Issue {key} does not exist or you do not have permission to see it."
            )
        issues.append(issue)
    for issue in issues:
        issue.update(values)
    task_id = str(10000 + len(ctx.runtime.bulk_tasks))
    now = ctx.store.now().isoformat()
    ctx.runtime.bulk_tasks[task_id] = {
        "taskId": task_id,
        "status": "COMPLETE",
        "progressPercent": 100,
        "processedAccessibleIssues": [int(_issue_id(ctx.store, i)) for i in issues],
        "failedAccessibleIssues": {},
        "invalidOrInaccessibleIssueCount": 0,
        "totalIssueCount": len(issues),
        "created": now,
        "updated": now,
        "polled": 0,
    }
    return Reply(201, {"taskId": task_id})


def bulk_status(ctx: Ctx, site: str, task_id: str) -> Reply:
    """The first poll reports RUNNING, the next ones COMPLETE, so clients must really poll."""
    _site(ctx, site)
    task = ctx.runtime.bulk_tasks.get(task_id)
    if task is None:
        raise ApiError(404, f"Task {task_id} not found.")
    task["polled"] += 1
    out = {k: v for k, v in task.items() if k != "polled"}
    if task["polled"] == 1:
        out.update(status="RUNNING", progressPercent=50)
    return Reply(200, out)


# -- JSM participants -------------------------------------------------------------------------


def _participants_reply(store: Store, issue: Record) -> Reply:
    values = [
        {"accountId": a, "displayName": (store.account(a) or {}).get("name")}
        for a in issue.get("participants") or []
    ]
    return Reply(
        200, {"size": len(values), "start": 0, "limit": 50, "isLastPage": True, "values": values}
    )


def _account_ids(ctx: Ctx) -> list[str]:
    ids = json_object(ctx.request).get("accountIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "accountIds must be a list of account ids.")
    unknown = [i for i in ids if ctx.store.account(i) is None]
    if unknown:
        raise ApiError(400, f"The following users do not exist: {', '.join(unknown)}")
    return ids


def get_participants(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    return _participants_reply(ctx.store, _issue_or_404(ctx.store, key))


def add_participants(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    current = list(issue.get("participants") or [])
    issue["participants"] = current + [i for i in _account_ids(ctx) if i not in current]
    return _participants_reply(ctx.store, issue)


def remove_participants(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    drop = set(_account_ids(ctx))
    issue["participants"] = [a for a in issue.get("participants") or [] if a not in drop]
    return _participants_reply(ctx.store, issue)
