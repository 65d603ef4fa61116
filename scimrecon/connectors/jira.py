"""Jira Cloud and JSM: find a person's tickets and move them to another account.

Edits are sent with notifyUsers=false (a migration must not mail every watcher), large moves go
through the bulk API in chunks of at most 1000, and every value interpolated into JQL is a
quoted, escaped JQL string so an odd account id cannot widen a query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.http import HttpClient, HttpError

API = "/rest/api/3"
SEARCH_PAGE = 100
BULK_LIMIT = 1000
USER_FIELDS = ("reporter", "assignee")
_DONE = {"COMPLETE"}
_FAILED = {"FAILED", "CANCELLED", "CANCEL_REQUESTED", "DEAD"}


def jql_quote(value: str) -> str:
    """A JQL string literal: `"` and `\\` escaped, so the value stays one value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jql_user(field: str, account_id: str) -> str:
    """`reporter = "<id>"`-style clause for a user field."""
    if field not in USER_FIELDS:
        raise ValueError(f"not a user field: {field}")
    return f"{field} = {jql_quote(account_id)}"


#: Jira's limit on `reconcileIssues` (issue ids made consistent in one search).
RECONCILE_LIMIT = 50


@dataclass(frozen=True)
class JiraIssue:
    key: str
    reporter: str | None
    assignee: str | None
    id: str = ""


@dataclass(frozen=True)
class BulkResult:
    """What a bulk move did, summed over its chunks; `failures` maps issue id -> errors."""

    requested: int
    processed: int
    failed: int
    invalid: int
    tasks: tuple[str, ...]
    failures: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _account(value: Any) -> str | None:
    return value.get("accountId") if isinstance(value, dict) else None


class JiraApi:
    """One Jira Cloud site, Basic auth (email + API token)."""

    def __init__(
        self,
        http: HttpClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return f"JiraApi({self.http!r})"

    def myself(self) -> dict[str, Any]:
        """The API token's own user: a harmless read for `config check`."""
        body = self.http.get(f"{API}/myself")
        return body if isinstance(body, dict) else {}

    def search(
        self,
        jql: str,
        fields: Sequence[str] = ("reporter", "assignee"),
        *,
        reconcile: Sequence[str] = (),
    ) -> Iterator[JiraIssue]:
        """Every issue matching `jql`, following nextPageToken until the last page.

        Jira's search is eventually consistent ("recent updates might not be immediately
        visible"): only the issue ids in `reconcile` (at most 50) are answered as they are now.
        Use `matching_now` to ask about issues this run has just changed.
        """
        for issue in self.search_raw(jql, fields, reconcile=reconcile):
            got = issue.get("fields") or {}
            yield JiraIssue(
                key=str(issue.get("key")),
                reporter=_account(got.get("reporter")),
                assignee=_account(got.get("assignee")),
                id=str(issue.get("id") or ""),
            )

    def search_raw(
        self, jql: str, fields: Sequence[str], *, reconcile: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every issue matching `jql` as Jira answers it (`id`, `key`, `fields`), all pages."""
        if len(reconcile) > RECONCILE_LIMIT:
            raise ValueError(f"reconcileIssues takes at most {RECONCILE_LIMIT} ids")
        path = f"{API}/search/jql"
        token: str | None = None
        seen: set[str] = set()
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": SEARCH_PAGE}
            if reconcile:
                body["reconcileIssues"] = [int(i) for i in reconcile]
            if token:
                body["nextPageToken"] = token
            page = self.http.post(path, json=body, retry_unsafe=True)  # a read
            if not isinstance(page, dict) or not isinstance(page.get("issues"), list):
                raise self.http.unexpected("POST", path, "no issues list")
            yield from (i for i in page["issues"] if isinstance(i, dict))
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True:
                return
            if token in seen:
                raise HttpError(
                    f"{self.http.api}: POST {path}: the same nextPageToken came back twice",
                    api=self.http.api,
                    method="POST",
                    path=path,
                )
            seen.add(token)

    def matching_now(self, clause: str, issues: Sequence[JiraIssue]) -> list[JiraIssue]:
        """Which of `issues` match `clause` now: read consistently (reconcileIssues), 50 at a
        time, so an index that lags our own writes can neither hide a ticket left behind nor
        show one already moved."""
        out: list[JiraIssue] = []
        with_ids = [i for i in issues if i.id]
        if len(with_ids) != len(issues):
            raise ValueError("matching_now needs issue ids (ask the search for them)")
        for chunk in _chunks(with_ids, RECONCILE_LIMIT):
            keys = ", ".join(jql_quote(i.key) for i in chunk)
            jql = f"key in ({keys}) AND ({clause})"
            out.extend(self.search(jql, fields=USER_FIELDS, reconcile=[i.id for i in chunk]))
        return out

    def _set(self, key: str, field: str, account_id: str | None) -> None:
        value = {"accountId": account_id} if account_id else None
        self.http.put(
            f"{API}/issue/{seg(key)}",
            params={"notifyUsers": "false"},
            json={"fields": {field: value}},
        )

    def try_set(self, key: str, field: str, account_id: str) -> str | None:
        """Set one user field; None when done, else the reason Jira refused this issue (4xx:
        a closed issue, a screen without the field, no permission). Other failures raise."""
        try:
            self._set(key, field, account_id)
        except HttpError as exc:
            if exc.status in (400, 403, 404, 409):
                return exc.detail or exc.message
            raise
        return None

    def set_reporter(self, key: str, account_id: str) -> None:
        self._set(key, "reporter", account_id)

    def set_assignee(self, key: str, account_id: str | None) -> None:
        self._set(key, "assignee", account_id)

    def bulk_set(
        self,
        keys: Sequence[str],
        field: str,
        account_id: str,
        *,
        poll_interval: float = 1.0,
        timeout: float = 600.0,
    ) -> BulkResult:
        """Set `field` on every issue, ≤ 1000 issues per request, polling each task to its end."""
        if field not in USER_FIELDS:
            raise ValueError(f"bulk_set supports {', '.join(USER_FIELDS)}, not {field}")
        processed = failed = invalid = 0
        tasks: list[str] = []
        failures: list[tuple[str, tuple[str, ...]]] = []
        for chunk in _chunks(list(keys), BULK_LIMIT):
            task_id = self._submit(chunk, field, account_id)
            tasks.append(task_id)
            status = self._wait(task_id, poll_interval, timeout)
            processed += len(status.get("processedAccessibleIssues") or [])
            per_issue = status.get("failedAccessibleIssues") or {}
            failed += len(per_issue)
            for issue_id, errors in per_issue.items():
                listed = errors if isinstance(errors, list) else [errors]
                failures.append((str(issue_id), tuple(str(e) for e in listed)))
            invalid += int(status.get("invalidOrInaccessibleIssueCount") or 0)
        return BulkResult(len(keys), processed, failed, invalid, tuple(tasks), tuple(failures))

    def _submit(self, keys: Sequence[str], field: str, account_id: str) -> str:
        path = f"{API}/bulk/issues/fields"
        body = {
            "selectedIssueIdsOrKeys": list(keys),
            "selectedActions": [field],
            "editedFieldsInput": {
                "singleSelectClearableUserPickerFields": [
                    {"fieldId": field, "user": {"accountId": account_id}}
                ]
            },
            "sendBulkNotification": False,
        }
        answer = self.http.post(path, json=body)  # never repeated: a second task would run
        task_id = answer.get("taskId") if isinstance(answer, dict) else None
        if not task_id:
            raise HttpError(
                f"{self.http.api}: POST {path}: no taskId in the response",
                api=self.http.api,
                method="POST",
                path=path,
            )
        return str(task_id)

    def _wait(self, task_id: str, interval: float, timeout: float) -> dict[str, Any]:
        path = f"{API}/bulk/queue/{seg(task_id)}"
        deadline = self._clock() + timeout
        while True:
            status = self.http.get(path)
            state = str((status or {}).get("status", "")).upper()
            if state in _DONE:
                return dict(status)
            if state in _FAILED:
                raise HttpError(
                    f"{self.http.api}: bulk edit task {task_id} ended {state}",
                    api=self.http.api,
                    method="GET",
                    path=path,
                    body=status,
                )
            if self._clock() + interval > deadline:
                raise HttpError(
                    f"{self.http.api}: bulk edit task {task_id} still {state or 'unknown'} "
                    f"after {timeout:g} s",
                    api=self.http.api,
                    method="GET",
                    path=path,
                    timed_out=True,
                )
            self._sleep(interval)

    # -- JSM request participants ---------------------------------------------------------------

    def _participants_path(self, key: str) -> str:
        return f"/rest/servicedeskapi/request/{seg(key)}/participant"

    def participants(self, key: str) -> list[str]:
        """Every participant of the request, page after page (JSM pages them, 50 by default)."""
        path = self._participants_path(key)
        out: list[str] = []
        start = 0
        while True:
            body = self.http.get(path, params={"start": start} if start else None)
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise self.http.unexpected("GET", path, "no values list")
            out += [str(v["accountId"]) for v in values if v.get("accountId")]
            start += len(values)
            if not values or body.get("isLastPage", True):
                return out

    def add_participants(self, key: str, ids: Iterable[str]) -> None:
        # adding someone already there changes nothing, so a retry is safe
        self.http.post(
            self._participants_path(key), json={"accountIds": list(ids)}, retry_unsafe=True
        )

    def remove_participants(self, key: str, ids: Iterable[str]) -> None:
        self.http.request_json(
            "DELETE", self._participants_path(key), json={"accountIds": list(ids)}
        )

    def close(self) -> None:
        self.http.close()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = ["RECONCILE_LIMIT", "BulkResult", "JiraApi", "JiraIssue", "jql_quote", "jql_user"]
