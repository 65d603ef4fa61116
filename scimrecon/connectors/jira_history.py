"""What Jira cannot move to a new account, counted without changing anything.

Jira's REST API reassigns an issue's reporter and assignee (and JSM participants), but not the
author of a comment or a worklog, an approver's place on a JSM approval, or a watch: those stay
on the old account (moving them is Atlassian's most-voted identity request,
jira.atlassian.com/browse/ID-240). An admin retiring the old account must know how much.

Three searches per account, whatever its history:

1. `watcher = id` (ids only): the issues it watches.
2. `watcher = id OR worklogAuthor = id OR reporter = id OR assignee = id` with the `comment` and
   `worklog` fields: its worklogs exactly (every issue it logged work on is in the set), and its
   comments on those issues. JQL has no comment-author field, so a comment on an issue the
   account neither watches, reports, is assigned nor logged work on is not found; Jira's default
   auto-watch makes a commenter a watcher, so only a person who turned auto-watch off or
   unwatched later is missed, and the report says the count is a floor.
3. `approvals = approver(id)` (ids only): the JSM requests on which it is, or was, an approver.
   A site without Jira Service Management has no such field; its 400 is read as "not
   applicable" (None), never as zero.

An issue's embedded comment or worklog list is trusted only when it holds the whole `total`;
otherwise the issue's own comment / worklog endpoint is paged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.connectors.jira import API, JiraApi, jql_quote
from scimrecon.http import HttpError

#: The kinds counted, in the order the report shows them.
KINDS = ("comments", "worklogs", "approvals", "watchers")
PAGE = 100
_LIST = {"comment": "comments", "worklog": "worklogs"}


@dataclass
class StaysBehind:
    """Per kind, how many stay on the account (None: not applicable on this site) and on which
    issues (keys, for the JSON report)."""

    counts: dict[str, int | None] = field(default_factory=dict)
    issues: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def stays_behind(jira: JiraApi, account_id: str) -> StaysBehind:
    """Count what stays attributed to `account_id` after its tickets move (read-only)."""
    who = jql_quote(account_id)
    out = StaysBehind()
    watched = [str(i.get("key")) for i in jira.search_raw(f"watcher = {who}", ["id", "key"])]
    _put(out, "watchers", watched, [1] * len(watched))
    related = f"watcher = {who} OR worklogAuthor = {who} OR reporter = {who} OR assignee = {who}"
    keys: dict[str, list[str]] = {"comments": [], "worklogs": []}
    counts: dict[str, list[int]] = {"comments": [], "worklogs": []}
    for issue in jira.search_raw(related, ["comment", "worklog"]):
        for name, kind in _LIST.items():
            n = _authored(jira, issue, name, account_id)
            if n:
                keys[kind].append(str(issue.get("key")))
                counts[kind].append(n)
    for kind in ("comments", "worklogs"):
        _put(out, kind, keys[kind], counts[kind])
    try:
        approving = [
            str(i.get("key"))
            for i in jira.search_raw(f"approvals = approver({who})", ["id", "key"])
        ]
    except HttpError as exc:
        if exc.status != 400:
            raise
        out.counts["approvals"] = None
        out.notes.append(f"approvals not searchable on this site ({exc.detail or exc.message})")
    else:
        _put(out, "approvals", approving, [1] * len(approving))
    out.counts = {k: out.counts.get(k) for k in KINDS}
    return out


def _put(out: StaysBehind, kind: str, keys: list[str], counts: list[int]) -> None:
    out.counts[kind] = sum(counts)
    out.issues[kind] = keys


def _authored(jira: JiraApi, issue: dict[str, Any], name: str, account_id: str) -> int:
    """How many of the issue's comments (or worklogs) `account_id` wrote: from the embedded
    list when it is complete, else from the issue's own endpoint, page by page."""
    embedded = (issue.get("fields") or {}).get(name)
    entries: list[Any] = []
    total = 0
    if isinstance(embedded, dict):
        entries = list(embedded.get(_LIST[name]) or [])
        total = int(embedded.get("total") or 0)
    if total > len(entries):
        entries = list(_pages(jira, str(issue.get("id") or issue.get("key")), name))
    return sum(1 for e in entries if _author(e) == account_id)


def _author(entry: Any) -> str | None:
    author = entry.get("author") if isinstance(entry, dict) else None
    return author.get("accountId") if isinstance(author, dict) else None


def _pages(jira: JiraApi, issue: str, name: str) -> Iterator[dict[str, Any]]:
    """Every comment (or worklog) of one issue: `startAt` paging until `total` is reached."""
    path = f"{API}/issue/{seg(issue)}/{name}"
    start = 0
    while True:
        page = jira.http.get(path, params={"startAt": start, "maxResults": PAGE})
        items = page.get(_LIST[name]) if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise jira.http.unexpected("GET", path, f"no {_LIST[name]} list")
        yield from (i for i in items if isinstance(i, dict))
        start += len(items)
        if not items or start >= int(page.get("total") or 0):
            return


__all__ = ["KINDS", "StaysBehind", "stays_behind"]
