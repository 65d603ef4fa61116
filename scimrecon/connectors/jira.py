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


@dataclass(frozen=True)
class JiraIssue:
    key: str
    reporter: str | None
    assignee: str | None


@dataclass(frozen=True)
class BulkResult:
    """What a bulk move did, summed over its chunks."""

    requested: int
    processed: int
    failed: int
    invalid: int
    tasks: tuple[str, ...]


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
        self, jql: str, fields: Sequence[str] = ("reporter", "assignee")
    ) -> Iterator[JiraIssue]:
        """Every issue matching `jql`, following nextPageToken until the last page."""
        path = f"{API}/search/jql"
        token: str | None = None
        seen: set[str] = set()
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": SEARCH_PAGE}
            if token:
                body["nextPageToken"] = token
            page = self.http.post(path, json=body, retry_unsafe=True)  # a read
            if not isinstance(page, dict) or not isinstance(page.get("issues"), list):
                raise HttpError(
                    f"{self.http.api}: POST {path} → 200: unexpected response (no issues list)",
                    api=self.http.api,
                    method="POST",
                    path=path,
                    status=200,
                )
            for issue in page["issues"]:
                got = issue.get("fields") or {}
                yield JiraIssue(
                    key=str(issue.get("key")),
                    reporter=_account(got.get("reporter")),
                    assignee=_account(got.get("assignee")),
                )
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

    def _set(self, key: str, field: str, account_id: str | None) -> None:
        value = {"accountId": account_id} if account_id else None
        self.http.put(
            f"{API}/issue/{seg(key)}",
            params={"notifyUsers": "false"},
            json={"fields": {field: value}},
        )

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
        for chunk in _chunks(list(keys), BULK_LIMIT):
            task_id = self._submit(chunk, field, account_id)
            tasks.append(task_id)
            status = self._wait(task_id, poll_interval, timeout)
            processed += len(status.get("processedAccessibleIssues") or [])
            failed += len(status.get("failedAccessibleIssues") or {})
            invalid += int(status.get("invalidOrInaccessibleIssueCount") or 0)
        return BulkResult(len(keys), processed, failed, invalid, tuple(tasks))

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
        body = self.http.get(self._participants_path(key))
        values = body.get("values") if isinstance(body, dict) else None
        return [str(v["accountId"]) for v in values or [] if v.get("accountId")]

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


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = ["BulkResult", "JiraApi", "JiraIssue", "jql_quote", "jql_user"]
