"""What stays on a Jira account when its tickets move: comments and worklogs, in Jira's shapes.

Jira's API reassigns reporter and assignee, but a comment's or a worklog's author, an
approver's decision and a watch stay with the account that made them (Atlassian's most-voted
identity request, jira.atlassian.com/browse/ID-240, asks for exactly that migration). The
simulator serves them read-only, the way a client has to count them:

- an issue's `comment` and `worklog` fields (in a search or `GET /issue`) carry only the first
  `EMBEDDED` entries with the `total`; Atlassian does not say how many a search embeds, so the
  simulator embeds few, and a client that trusts the embedded list without comparing `total`
  miscounts here as it would on a busy issue in Jira;
- `GET /issue/{key}/comment` and `/worklog` page by `startAt`/`maxResults` with `total`
  (PageOfComments, PageOfWorklogs), at most `PAGE` a page (Jira allows 5000: smaller pages make
  every client page).

World shape (an issue): `comments[]` and `worklogs[]` of `{id, author, created?}` (worklogs also
`time_spent_seconds?`), `watchers[]` (account ids) and `approvals[]` of `{id, approvers[],
final_decision?}`.
"""

from __future__ import annotations

from typing import Any

from scimrecon.sim.context import Ctx
from scimrecon.sim.store import Record, Store
from scimrecon.sim.web import ApiError

#: Entries embedded in an issue's comment / worklog field (docs silent: kept small on purpose).
EMBEDDED = 20
#: Largest page of GET /issue/{key}/comment or /worklog (Jira's is 5000).
PAGE = 100
_LIST_KEY = {"comments": "comments", "worklogs": "worklogs"}


def user_json(store: Store, account_id: Any) -> dict[str, Any] | None:
    """An account as Jira shows a user in an issue (`accountId`, `displayName`, `active`)."""
    if not isinstance(account_id, str) or not account_id:
        return None
    account = store.account(account_id)
    out: dict[str, Any] = {"accountId": account_id}
    if account is not None:
        out["displayName"] = account.get("name")
        out["active"] = account.get("status") == "active"
    return out


def _entry(store: Store, kind: str, item: Record) -> dict[str, Any]:
    author = user_json(store, item.get("author"))
    created = item.get("created") or "2026-01-05T09:00:00.000+0000"
    out: dict[str, Any] = {
        "id": str(item.get("id")),
        "author": author,
        "updateAuthor": author,
        "created": created,
        "updated": created,
    }
    if kind == "comments":
        text = str(item.get("body") or "")
        out["body"] = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }
    else:
        seconds = int(item.get("time_spent_seconds") or 3600)
        out.update(started=created, timeSpentSeconds=seconds, timeSpent=f"{seconds // 60}m")
    return out


def embedded(store: Store, issue: Record, kind: str) -> dict[str, Any]:
    """The issue's `comment` / `worklog` field: the first EMBEDDED entries and the total."""
    items = list(issue.get(kind) or [])
    shown = [_entry(store, kind, i) for i in items[:EMBEDDED]]
    return {_LIST_KEY[kind]: shown, "startAt": 0, "maxResults": EMBEDDED, "total": len(items)}


def _int_arg(ctx: Ctx, name: str, default: int) -> int:
    raw = ctx.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an integer.") from exc
    if value < 0:
        raise ApiError(400, f"{name} must not be negative.")
    return value


def page(ctx: Ctx, issue: Record, kind: str) -> dict[str, Any]:
    """One page of the issue's comments or worklogs, oldest first."""
    start = _int_arg(ctx, "startAt", 0)
    limit = min(max(_int_arg(ctx, "maxResults", PAGE), 1), PAGE)
    items = list(issue.get(kind) or [])
    shown = [_entry(ctx.store, kind, i) for i in items[start : start + limit]]
    return {"startAt": start, "maxResults": limit, "total": len(items), _LIST_KEY[kind]: shown}


__all__ = ["EMBEDDED", "PAGE", "embedded", "page"]
