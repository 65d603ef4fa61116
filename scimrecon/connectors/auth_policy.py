"""Atlassian Admin Control API v1: move managed users between authentication policies.

The three calls the maintained atlassian-python-api client makes (`CloudAdmin.
add_users_to_auth_policy`, `get_auth_policy_task`, `get_users_auth_policies`) and Atlassian
documents (developer.atlassian.com/cloud/admin/control/rest/api-group-authentication-policies/):
`POST /admin/control/v1/orgs/{orgId}/auth-policy/{policyId}/add-users` `{"users": [email]}` ->
202 `{taskId, taskLink}`; `GET .../auth-policy/task/{taskId}`; `POST
.../users/auth-policies/bulk-fetch`. Adding is asynchronous: the task is polled to its end, and
the caller reads the membership back with the bulk fetch before believing it (the task's body
is not documented, so it is never the only proof).

Same org API key, base URL and rate budget as connectors.admin.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.http import HttpClient, HttpError

_RUNNING = {"IN_PROGRESS", "PENDING", "QUEUED", "RUNNING", "ENQUEUED"}
#: the documentation gives no limit per request; the simulator's cautious one
BATCH = 100


@dataclass(frozen=True)
class PolicyTask:
    task_id: str
    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class UserPolicy:
    account_id: str
    policy_id: str
    policy_name: str | None
    billable: bool | None


class AuthPolicies:
    """Authentication policy membership for one org."""

    def __init__(
        self,
        http: HttpClient,
        org_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self._base = f"/admin/control/v1/orgs/{seg(org_id)}"
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return f"AuthPolicies({self.http!r})"

    def add_users(self, policy_id: str, emails: Sequence[str]) -> str:
        """Start the task that moves these managed accounts (by email) into the policy."""
        path = f"{self._base}/auth-policy/{seg(policy_id)}/add-users"
        body = self.http.post(path, json={"users": list(emails)})
        task = body.get("taskId") if isinstance(body, dict) else None
        if not task:
            raise self.http.unexpected("POST", path, "no taskId")
        return str(task)

    def task(self, task_id: str) -> PolicyTask:
        path = f"{self._base}/auth-policy/task/{seg(task_id)}"
        body = self.http.get(path)
        if not isinstance(body, dict) or not body.get("status"):
            raise self.http.unexpected("GET", path, "no task status")
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        return PolicyTask(str(body.get("taskId") or task_id), str(body["status"]).upper(), errors)

    def wait(self, task_id: str, *, interval: float = 1.0, timeout: float = 120.0) -> PolicyTask:
        """Poll the task until it is no longer running; a timeout is an error naming it."""
        deadline = self._clock() + timeout
        while True:
            task = self.task(task_id)
            if task.status not in _RUNNING:
                return task
            if self._clock() + interval > deadline:
                path = f"{self._base}/auth-policy/task/{task_id}"
                raise HttpError(
                    f"{self.http.api}: policy task {task_id} still {task.status} after "
                    f"{timeout:g} s",
                    api=self.http.api,
                    method="GET",
                    path=path,
                    timed_out=True,
                )
            self._sleep(interval)

    def policies_of(self, account_ids: Sequence[str]) -> dict[str, UserPolicy]:
        """Account id -> its policy, for the listed managed accounts (others are left out)."""
        path = f"{self._base}/users/auth-policies/bulk-fetch"
        found: dict[str, UserPolicy] = {}
        ids = list(account_ids)
        for start in range(0, len(ids), BATCH):
            # a read: safe to send again after a lost answer
            body = self.http.post(path, json={"userIds": ids[start : start + BATCH]},
                                  retry_unsafe=True)  # fmt: skip
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise self.http.unexpected("POST", path, "no data list")
            for item in data:
                if not isinstance(item, dict) or not item.get("userId") or not item.get("policyId"):
                    raise self.http.unexpected("POST", path, "an entry without userId/policyId")
                billable = item.get("billable")
                found[str(item["userId"])] = UserPolicy(
                    account_id=str(item["userId"]),
                    policy_id=str(item["policyId"]),
                    policy_name=item.get("policyName"),
                    billable=billable if isinstance(billable, bool) else None,
                )
        return found

    def policy_of(self, account_id: str) -> UserPolicy | None:
        return self.policies_of([account_id]).get(account_id)

    def close(self) -> None:
        self.http.close()
