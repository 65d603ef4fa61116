"""Atlassian Admin Control API v1: authentication policies (org API key).

Documented (developer.atlassian.com/cloud/admin/control/rest/api-group-authentication-policies/
and the "Add users to authentication policy" cookbook, developer.atlassian.com/cloud/admin/
auth-policy-cookbook): `POST /admin/control/v1/orgs/{orgId}/auth-policy/{policyId}/add-users`
with `{"users": [email, ...]}` ("use their email addresses") answers 202 `{taskId, taskLink}`
and works asynchronously; `GET .../auth-policy/task/{taskId}` reports the task ("verify that
users are assigned to the intended policy and report errors, if any"); `POST
.../users/auth-policies/bulk-fetch` gives the policy information of a list of managed users.

The documentation is silent on the task's and the bulk fetch's bodies and on the bulk fetch's
request field; the simulator chooses (docs/fidelity.md says so) and is strict: the membership
changes only when the task has completed (the first poll says IN_PROGRESS), an address that
is not a managed account of the org fails in the task's `errors`, and an unknown field is
refused. So a client that does not poll, or trusts the 202, ends wrong here.

World: `org.auth_policies` lists the policies (`id`, `name`, `billable`, `default`); an
account's `policy` names its policy (`id`, `name`, `billable`), absent means the default one.
The billable rule (recon.billable) reads `policy.billable`, so moving a user to a non-billable
policy takes them off the simulator's bill as it does off Atlassian's.
"""

from __future__ import annotations

import uuid
from typing import Any

from scimrecon.sim.context import Ctx
from scimrecon.sim.store import Record, Store, fold
from scimrecon.sim.web import ApiError, Reply, Router, json_object

CONTROL = "/atlassian/admin/control/v1/orgs/{org_id}"
#: the documentation gives no limit; a cautious one, so a client that sends thousands in one
#: request learns to split before a real org refuses it
MAX_USERS_PER_REQUEST = 100


def register(router: Router) -> None:
    router.add("POST", f"{CONTROL}/auth-policy/{{policy_id}}/add-users", add_users)
    router.add("GET", f"{CONTROL}/auth-policy/task/{{task_id}}", task_status)
    router.add("POST", f"{CONTROL}/users/auth-policies/bulk-fetch", bulk_fetch)


def policies(store: Store) -> list[dict[str, Any]]:
    """The org's authentication policies; one billable default when the world lists none."""
    listed = [dict(p) for p in store.org.get("auth_policies") or []]
    if not any(p.get("default") for p in listed):
        org_id = str(store.org.get("id") or "")
        derived = str(uuid.uuid5(uuid.NAMESPACE_URL, f"atlassian-org-auth-policy:{org_id}"))
        listed.insert(
            0, {"id": derived, "name": "Default policy", "billable": True, "default": True}
        )
    return listed


def policy_of(store: Store, account: Record) -> dict[str, Any]:
    """The account's policy: its `policy.id` if it names one the org has, else the default."""
    known = policies(store)
    own = account.get("policy") or {}
    if not own:
        return next(p for p in known if p.get("default"))
    for policy in known:
        if policy["id"] == own.get("id") or (not own.get("id") and policy["name"] == own["name"]):
            return policy
    # a policy the world names on the account only (older worlds): an id derived from its name
    org_id = str(store.org.get("id") or "")
    derived = str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"atlassian-org-auth-policy:{org_id}:{own['name']}")
    )
    return {"id": own.get("id") or derived, "name": own["name"], "billable": own["billable"]}


def _org(ctx: Ctx, org_id: str) -> None:
    if ctx.store.org.get("id") != org_id:
        raise ApiError(404, f"organization {org_id} not found", code="NOT_FOUND")


def _strings(body: dict[str, Any], field: str, allowed: set[str]) -> list[str]:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}", code="INVALID_REQUEST")
    values = body.get(field)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ApiError(400, f"{field} must be a non-empty list of strings", code="INVALID_REQUEST")
    if len(values) > MAX_USERS_PER_REQUEST:
        raise ApiError(
            400, f"at most {MAX_USERS_PER_REQUEST} {field} per request", code="INVALID_REQUEST"
        )
    return values


def add_users(ctx: Ctx, org_id: str, policy_id: str) -> Reply:
    _org(ctx, org_id)
    policy = next((p for p in policies(ctx.store) if p["id"] == policy_id), None)
    if policy is None:
        raise ApiError(404, f"policy {policy_id} not found", code="NOT_FOUND")
    users = _strings(json_object(ctx.request), "users", {"users"})
    task_id = ctx.store.new_uuid()
    ctx.runtime.auth_tasks[task_id] = {"policy": policy_id, "users": users, "polled": 0}
    link = f"{ctx.base_url}/admin/control/v1/orgs/{org_id}/auth-policy/task/{task_id}"
    return Reply(202, {"taskId": task_id, "taskLink": link})


def _run_task(store: Store, task: dict[str, Any]) -> list[dict[str, str]]:
    """Move each address's managed account into the policy; the errors of the others."""
    policy = next((p for p in policies(store) if p["id"] == task["policy"]), None)
    if policy is None:
        return [{"user": u, "detail": "the policy no longer exists"} for u in task["users"]]
    errors = []
    for email in task["users"]:
        account = store.account_by_email(email)
        if account is None or not account.get("managed") or fold(account["email"]) != fold(email):
            errors.append({"user": email, "detail": "not a managed account of the organization"})
            continue
        account["policy"] = {
            "id": policy["id"],
            "name": policy["name"],
            "billable": bool(policy.get("billable", True)),
        }
    return errors


def task_status(ctx: Ctx, org_id: str, task_id: str) -> Reply:
    """IN_PROGRESS on the first poll; the change is made on the second, which reports
    COMPLETED (or FAILED when no user could be moved) with the errors."""
    _org(ctx, org_id)
    task = ctx.runtime.auth_tasks.get(task_id)
    if task is None:
        raise ApiError(404, f"task {task_id} not found", code="NOT_FOUND")
    task["polled"] += 1
    if task["polled"] == 1:
        return Reply(200, {"taskId": task_id, "status": "IN_PROGRESS", "errors": []})
    if "errors" not in task:
        task["errors"] = _run_task(ctx.store, task)
    failed = len(task["errors"]) == len(task["users"])
    return Reply(
        200,
        {
            "taskId": task_id,
            "status": "FAILED" if failed else "COMPLETED",
            "policyId": task["policy"],
            "errors": task["errors"],
        },
    )


def bulk_fetch(ctx: Ctx, org_id: str) -> Reply:
    """Each listed managed account with its policy; unknown ids are left out of `data`."""
    _org(ctx, org_id)
    ids = _strings(json_object(ctx.request), "userIds", {"userIds"})
    data = []
    for account_id in ids:
        account = ctx.store.account(account_id)
        if account is None or not account.get("managed"):
            continue
        policy = policy_of(ctx.store, account)
        data.append(
            {
                "userId": account_id,
                "policyId": policy["id"],
                "policyName": policy["name"],
                "billable": bool(policy.get("billable", True)),
            }
        )
    return Reply(200, {"data": data})
