"""Jira Cloud and JSM, under /jira/{site}: search, reassign, bulk edit, request participants,
and the read-only history that stays on an account (comments, worklogs; see sim/jira_history.py).

Reassigning tickets from the old account to the new one is a playbook step; these endpoints
keep Jira's shapes (token paging on /search/jql, 204 on edit, async bulk tasks) so the connector
written against the simulator works against Jira.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from typing import Any

from scimrecon.sim import jira_history
from scimrecon.sim.context import Ctx
from scimrecon.sim.jira_index import DEFAULT_LAG_S, RECONCILE_LIMIT, JiraIndex
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
    router.add("GET", f"{API}/issue/{{key}}/comment", issue_comments)
    router.add("GET", f"{API}/issue/{{key}}/worklog", issue_worklogs)
    participants = f"{BASE}/rest/servicedeskapi/request/{{key}}/participant"
    router.add("GET", participants, get_participants)
    router.add("POST", participants, add_participants)
    router.add("DELETE", participants, remove_participants)


def _site(ctx: Ctx, site: str) -> None:
    if str(ctx.store.jira.get("site", "")).lower() != site.lower():
        raise ApiError(404, f"site {site} not found")


def _has_jsm(store: Store) -> bool:
    """Whether the Jira site has Jira Service Management (its JQL fields exist only then); a
    world that does not list the site keeps them (older worlds)."""
    name = str(store.jira.get("site", "")).lower()
    for site in store.world.get("sites") or []:
        if str(site.get("name", "")).lower() == name:
            return "jira-servicedesk" in (site.get("products") or [])
    return True


def _index(ctx: Ctx) -> JiraIndex:
    """The search index of this simulator (it lags writes; see sim/jira_index.py)."""
    index = ctx.runtime.jira_index
    if index is None:
        lag = ctx.store.jira.get("index_lag_seconds")
        index = JiraIndex(DEFAULT_LAG_S if lag is None else float(lag))
        ctx.runtime.jira_index = index
    return index


def _write(ctx: Ctx, issue: Record, changes: dict[str, Any]) -> None:
    """Every issue write goes through here, so the index sees it late, as Jira's does."""
    _index(ctx).before_write(issue, ctx.store.clock())
    issue.update(changes)


def _refuse_locked(issue: Record) -> None:
    """An issue the world marks uneditable (`edit_error`: a closed workflow status, a screen
    without the field) refuses every user-field edit, single or bulk, with that reason."""
    if issue.get("edit_error"):
        raise ApiError(400, str(issue["edit_error"]))


def _find_issue(store: Store, key: str) -> Record | None:
    """The issue by key or by id (Jira's `issueIdOrKey`)."""
    issue = store.issue(key)
    if issue is None:
        issue = next((i for issue_id, i in _with_ids(store) if issue_id == key), None)
    return issue


def _issue_or_404(store: Store, key: str) -> Record:
    issue = _find_issue(store, key)
    if issue is None:
        raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
    return issue


def _issue_id(store: Store, issue: Record) -> str:
    if issue.get("id"):
        return str(issue["id"])
    return str(10000 + (store.jira.get("issues") or []).index(issue))


def _with_ids(store: Store) -> Iterator[tuple[str, Record]]:
    """Every issue with its id, as `_issue_id` gives it, in one pass: a search over n issues
    asking `_issue_id` for each cost n²/2 comparisons of issues (half the CPU of a 300-target
    bench run, measured with a sampling profiler)."""
    for position, issue in enumerate(store.jira.get("issues") or []):
        yield (str(issue["id"]) if issue.get("id") else str(10000 + position)), issue


def _render(
    store: Store, issue: Record, fields: list[str], issue_id: str | None = None
) -> dict[str, Any]:
    everything = "*all" in fields or "*navigable" in fields
    available: dict[str, Any] = {
        "reporter": jira_history.user_json(store, issue.get("reporter")),
        "assignee": jira_history.user_json(store, issue.get("assignee")),
        "project": {"key": issue.get("project") or str(issue.get("key", "")).split("-")[0]},
        "summary": issue.get("summary", ""),
        "comment": jira_history.embedded(store, issue, "comments"),
        "worklog": jira_history.embedded(store, issue, "worklogs"),
        "watches": {"watchCount": len(issue.get("watchers") or []), "isWatching": False},
    }
    chosen = available if everything else {k: v for k, v in available.items() if k in fields}
    return {"id": issue_id or _issue_id(store, issue), "key": issue["key"], "fields": chosen}


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
        predicate = compile_jql(jql, _has_jsm(ctx.store))
    except JqlError as exc:
        raise ApiError(400, str(exc)) from exc
    fields = body.get("fields") or ["id"]  # Jira's default: issue ids only
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    reconciled = _reconciled(ctx, body.get("reconcileIssues"))
    try:
        limit = min(max(int(body.get("maxResults") or 50), 1), MAX_RESULTS)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "maxResults must be an integer.") from exc
    token = body.get("nextPageToken")
    offset = _token_offset(jql, token) if token else 0
    index, now = _index(ctx), ctx.store.clock()
    matches = []
    for issue_id, issue in _with_ids(ctx.store):
        seen = index.view(issue, now, issue_id in reconciled)
        if predicate(seen):
            matches.append((issue_id, seen))
    page = matches[offset : offset + limit]
    out: dict[str, Any] = {
        "issues": [_render_found(ctx.store, i, list(fields), issue_id) for issue_id, i in page]
    }
    if offset + limit < len(matches):
        out["nextPageToken"] = _token(jql, offset + limit)
    else:
        out["isLast"] = True
    return Reply(200, out)


def _reconciled(ctx: Ctx, value: Any) -> set[str]:
    """`reconcileIssues`: at most 50 issue ids, all of which must exist."""
    if value is None:
        return set()
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ApiError(400, "reconcileIssues must be a list of issue ids (numbers).")
    if len(value) > RECONCILE_LIMIT:
        raise ApiError(400, f"reconcileIssues accepts at most {RECONCILE_LIMIT} issue ids.")
    known = {issue_id for issue_id, _ in _with_ids(ctx.store)}
    missing = [str(v) for v in value if str(v) not in known]
    if missing:
        raise ApiError(400, f"Issues to reconcile do not exist: {', '.join(missing)}.")
    return {str(v) for v in value}


def _render_found(store: Store, issue: Record, fields: list[str], issue_id: str) -> dict[str, Any]:
    """A search hit (possibly the index's stale copy): with Jira's default (`id`) only the id."""
    if fields == ["id"]:
        return {"id": issue_id}
    return _render(store, issue, fields, issue_id)


def get_issue(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    fields = [f for f in (ctx.arg("fields") or "").split(",") if f] or ["*all"]
    return Reply(200, _render(ctx.store, issue, fields))


def issue_comments(ctx: Ctx, site: str, key: str) -> Reply:
    """`GET /issue/{key}/comment`: a page of comments (PageOfComments), oldest first."""
    _site(ctx, site)
    return Reply(200, jira_history.page(ctx, _issue_or_404(ctx.store, key), "comments"))


def issue_worklogs(ctx: Ctx, site: str, key: str) -> Reply:
    """`GET /issue/{key}/worklog`: a page of worklogs (PageOfWorklogs), oldest first."""
    _site(ctx, site)
    return Reply(200, jira_history.page(ctx, _issue_or_404(ctx.store, key), "worklogs"))


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
            _refuse_locked(issue)
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
    _write(ctx, issue, changes)
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
        issue = _find_issue(ctx.store, str(key))
        if issue is None:
            raise ApiError(
                400, f"Issue {key} does not exist or you do not have permission to see it."
            )
        issues.append(issue)
    processed: list[int] = []
    failed: dict[str, list[str]] = {}
    for issue in issues:
        reason = _bulk_failure(issue)
        if reason is not None:
            failed[_issue_id(ctx.store, issue)] = [reason]
            continue
        _write(ctx, issue, dict(values))
        processed.append(int(_issue_id(ctx.store, issue)))
    task_id = str(10000 + len(ctx.runtime.bulk_tasks))
    now = ctx.store.now().isoformat()
    ctx.runtime.bulk_tasks[task_id] = {
        "taskId": task_id,
        "status": "COMPLETE",
        "progressPercent": 100,
        "processedAccessibleIssues": processed,
        "failedAccessibleIssues": failed,
        "invalidOrInaccessibleIssueCount": 0,
        "totalIssueCount": len(issues),
        "created": now,
        "updated": now,
        "polled": 0,
    }
    return Reply(201, {"taskId": task_id})


def _bulk_failure(issue: Record) -> str | None:
    """Why a bulk edit fails this issue: its `edit_error` always, or one of its remaining
    `bulk_failures` (transient: Jira reports such issues in failedAccessibleIssues)."""
    if issue.get("edit_error"):
        return str(issue["edit_error"])
    remaining = int(issue.get("bulk_failures") or 0)
    if remaining > 0:
        issue["bulk_failures"] = remaining - 1
        return "The issue could not be updated at this time. Try again later."
    return None


def bulk_status(ctx: Ctx, site: str, task_id: str) -> Reply:
    """The first poll reports ENQUEUED, the second RUNNING, later ones COMPLETE (Jira's task
    states), so clients must really poll and must not read results before the end."""
    _site(ctx, site)
    task = ctx.runtime.bulk_tasks.get(task_id)
    if task is None:
        raise ApiError(404, f"Task {task_id} not found.")
    task["polled"] += 1
    out = {k: v for k, v in task.items() if k != "polled"}
    if task["polled"] <= 2:
        out.update(
            status="ENQUEUED" if task["polled"] == 1 else "RUNNING",
            progressPercent=0 if task["polled"] == 1 else 50,
            processedAccessibleIssues=[],
            failedAccessibleIssues={},
        )
    return Reply(200, out)


# -- JSM participants -------------------------------------------------------------------------


#: JSM pages participants 50 at a time by default (getRequestParticipants: `limit` "Default: 50").
PARTICIPANTS_PAGE = 50


def _participants_reply(store: Store, issue: Record, start: int = 0, limit: int = 0) -> Reply:
    limit = min(limit or PARTICIPANTS_PAGE, PARTICIPANTS_PAGE)
    everyone = list(issue.get("participants") or [])
    values = [
        {"accountId": a, "displayName": (store.account(a) or {}).get("name")}
        for a in everyone[start : start + limit]
    ]
    last = start + limit >= len(everyone)
    body = {"size": len(values), "start": start, "limit": limit, "isLastPage": last}
    return Reply(200, {**body, "values": values})


def _account_ids(ctx: Ctx) -> list[str]:
    ids = json_object(ctx.request).get("accountIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "accountIds must be a list of account ids.")
    unknown = [i for i in ids if ctx.store.account(i) is None]
    if unknown:
        raise ApiError(400, f"The following users do not exist: {', '.join(unknown)}")
    return ids


def get_participants(ctx: Ctx, site: str, key: str) -> Reply:
    """One page of the request's participants (`start`, `limit`), as JSM pages them."""
    _site(ctx, site)
    try:
        start, limit = int(ctx.arg("start") or 0), int(ctx.arg("limit") or 0)
    except ValueError:
        raise ApiError(400, "start and limit must be integers.") from None
    return _participants_reply(ctx.store, _issue_or_404(ctx.store, key), max(start, 0), limit)


def add_participants(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    current = list(issue.get("participants") or [])
    _write(
        ctx, issue, {"participants": current + [i for i in _account_ids(ctx) if i not in current]}
    )
    return _participants_reply(ctx.store, issue)


def remove_participants(ctx: Ctx, site: str, key: str) -> Reply:
    _site(ctx, site)
    issue = _issue_or_404(ctx.store, key)
    drop = set(_account_ids(ctx))
    _write(
        ctx, issue, {"participants": [a for a in issue.get("participants") or [] if a not in drop]}
    )
    return _participants_reply(ctx.store, issue)
