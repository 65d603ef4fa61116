"""Microsoft Entra ID: the client-credentials token endpoint and the Graph calls the adapter uses.

Pausing and resuming the provisioning job here changes what the simulator's provisioning cycle
does, which is the point: a playbook that deletes a SCIM user while the job is Active gets it
back on the next cycle, exactly as with the real Entra service.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from scimrecon.sim import entra_directory
from scimrecon.sim.context import Ctx
from scimrecon.sim.entra_directory import service_principal
from scimrecon.sim.provisioning import (
    deactivate_scim_user,
    idp_groups,
    in_scope,
    push_group,
    push_idp_user,
)
from scimrecon.sim.store import Record
from scimrecon.sim.web import ApiError, Reply, Router, json_object

TOKEN_TTL = 3599
ON_DEMAND_LIMIT = 5
ON_DEMAND_WINDOW = 10.0
SP = "/graph/servicePrincipals/{sp_id}/synchronization/jobs"


def register(router: Router) -> None:
    router.add("POST", "/login/{tenant}/oauth2/v2.0/token", token)
    router.add("GET", SP, list_jobs)
    router.add("GET", f"{SP}/{{job_id}}", get_job)
    router.add("GET", f"{SP}/{{job_id}}/schema", get_schema)
    router.add("POST", f"{SP}/{{job_id}}/pause", pause)
    router.add("POST", f"{SP}/{{job_id}}/start", start)
    router.add("POST", f"{SP}/{{job_id}}/restart", restart)
    router.add("POST", f"{SP}/{{job_id}}/provisionOnDemand", provision_on_demand)
    entra_directory.register(router)


# -- login ------------------------------------------------------------------------------------


def token(ctx: Ctx, tenant: str) -> Reply:
    """Client credentials: tenant, client id and secret must match the world's IdP."""
    idp = ctx.store.idp
    form = ctx.request.form
    if form.get("grant_type") != "client_credentials":
        raise ApiError(
            400,
            "AADSTS70003: The app requested an unsupported grant type.",
            code="unsupported_grant_type",
        )
    if tenant != idp.get("tenant"):
        raise ApiError(400, f"AADSTS90002: Tenant '{tenant}' not found.", code="invalid_request")
    if not form.get("client_id") or form.get("client_id") != idp.get("client_id"):
        raise ApiError(
            400,
            f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found.",
            code="unauthorized_client",
        )
    secret = idp.get("client_secret")
    if not secret or form.get("client_secret") != secret:
        raise ApiError(401, "AADSTS7000215: Invalid client secret provided.", code="invalid_client")
    ctx.runtime.token_counter += 1
    access = f"sim-graph-{ctx.runtime.token_counter:06d}-{ctx.store.new_uuid()}"
    ctx.runtime.tokens[access] = ctx.store.clock() + TOKEN_TTL
    return Reply(
        200,
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "ext_expires_in": TOKEN_TTL,
            "access_token": access,
        },
    )


# -- synchronization jobs ---------------------------------------------------------------------


def _job(ctx: Ctx, sp_id: str, job_id: str | None = None) -> Record:
    idp = service_principal(ctx, sp_id)
    job = idp.get("job")
    if not job or (job_id is not None and job_id != job.get("id")):
        raise ApiError(
            404, f"The synchronization job '{job_id}' was not found.", code="ResourceNotFound"
        )
    return job


def _job_body(ctx: Ctx, job: Record) -> dict[str, Any]:
    state = job.get("state", "NotRun")
    return {
        "id": job.get("id"),
        "templateId": job.get("template_id", "atlassianCloud"),
        "schedule": {
            "interval": f"PT{int(ctx.store.idp.get('cycle_seconds', 2400))}S",
            "state": "Disabled" if state == "Paused" else "Active",
        },
        "status": {
            "code": state,
            "quarantine": {"reason": "EncounteredQuarantineException"}
            if state == "Quarantine"
            else None,
        },
        "synchronizationJobSettings": [],
    }


def list_jobs(ctx: Ctx, sp_id: str) -> Reply:
    idp = ctx.store.idp
    if sp_id != idp.get("service_principal"):
        _job(ctx, sp_id)
    jobs = [_job_body(ctx, idp["job"])] if idp.get("job") else []
    return Reply(
        200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata", "value": jobs}
    )


def get_job(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    return Reply(200, _job_body(ctx, _job(ctx, sp_id, job_id)))


AZURE_AD = "Azure Active Directory"  # the name Graph's schemas still give Entra's directory
APP_DIRECTORY = "customappsso"  # the target directory of a SCIM provisioning app


def _rule(
    rule_id: object, name: object = None, source: object = None, target: object = None
) -> dict[str, Any]:
    """One synchronizationRule in Graph's shape, with a single user object mapping: enough
    for a client to tell which rule pushes users from Entra to the app."""
    source = str(source or AZURE_AD)
    target = str(target or APP_DIRECTORY)
    return {
        "id": str(rule_id),
        "name": str(name or "USER_TO_USER"),
        "editable": True,
        "priority": 1,
        "metadata": [],
        "sourceDirectoryName": source,
        "targetDirectoryName": target,
        "objectMappings": [
            {
                "name": f"Provision {source} Users",
                "enabled": True,
                "flowTypes": "Add, Update, Delete",
                "sourceObjectName": "User",
                "targetObjectName": "User",
                "attributeMappings": [],
                "metadata": [],
                "scope": None,
            }
        ],
    }


def get_schema(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    """The job's synchronizationSchema: its rule (`rule_id`) first, then any `extra_rules`.

    A job without `rule_id` has no rule to serve, and `extra_rules` let a world hold a job with
    several, so a client that picks "the" rule on its own can be caught choosing blindly.
    """
    job = _job(ctx, sp_id, job_id)
    rules = [_rule(job["rule_id"])] if job.get("rule_id") else []
    rules += [
        _rule(r.get("id"), r.get("name"), r.get("source"), r.get("target"))
        for r in job.get("extra_rules") or []
    ]
    directories = sorted(
        {d for r in rules for d in (r["sourceDirectoryName"], r["targetDirectoryName"])}
    )
    return Reply(
        200,
        {
            "id": job.get("id"),
            "version": "Date:2024-01-01T00:00:00Z",
            "synchronizationRules": rules,
            "directories": [{"id": name, "name": name, "objects": []} for name in directories],
        },
    )


def pause(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    job = _job(ctx, sp_id, job_id)
    if job.get("state") == "NotConfigured":
        raise ApiError(400, "The job is not configured.", code="BadRequest")
    job["state"] = "Paused"
    return Reply(204)


def start(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    """Resume: Paused/NotRun/Quarantine -> Active; the next cycle is due a full interval later."""
    job = _job(ctx, sp_id, job_id)
    if job.get("state") == "NotConfigured":
        raise ApiError(400, "The job is not configured.", code="BadRequest")
    job["state"] = "Active"
    return Reply(204)


def restart(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    """Restart is accepted, except with ForceDeletes (mass deprovisioning is never simulated)."""
    job = _job(ctx, sp_id, job_id)
    body = json_object(ctx.request) if ctx.request.get_data(cache=True) else {}
    scope = str((body.get("criteria") or {}).get("resetScope") or "")
    if "forcedeletes" in scope.lower().replace(" ", ""):
        raise ApiError(
            400, "restart with ForceDeletes is refused by this simulator.", code="BadRequest"
        )
    job["state"] = "Active"
    ctx.runtime.idp_full_cycle = True  # a restart's next cycle processes everyone
    return Reply(204)


def provision_on_demand(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    """Push one user now; at most 5 calls per 10 s per job, beyond that 429.

    Microsoft states the limit and nothing more (docs/fidelity.md GRAPH-8): not what the 429
    carries, nor whether a refused call counts. The simulator takes the harder reading of
    both: no Retry-After (Graph's throttling guide says it is not always sent, GRAPH-14), and
    a refused call stays in the window like any other, so a client that retries at once is
    refused again until it waits a whole window.
    """
    job = _job(ctx, sp_id, job_id)
    now = ctx.store.clock()
    window = ctx.runtime.on_demand.setdefault(str(job.get("id")), deque())
    while window and now - window[0] >= ON_DEMAND_WINDOW:
        window.popleft()
    if len(window) >= ON_DEMAND_LIMIT:
        window.append(now)
        raise ApiError(429, "Too many provision on demand requests.", code="TooManyRequests")
    body = json_object(ctx.request)
    params = body.get("parameters")
    if not isinstance(params, list) or not params or not isinstance(params[0], dict):
        raise ApiError(400, "parameters is required.", code="BadRequest")
    param = params[0]
    if param.get("ruleId") != job.get("rule_id"):
        raise ApiError(
            400,
            f"The rule id '{param.get('ruleId')}' is not valid for this job.",
            code="BadRequest",
        )
    subjects = param.get("subjects") or []
    if not subjects or not isinstance(subjects[0], dict) or not subjects[0].get("objectId"):
        raise ApiError(400, "subjects[0].objectId is required.", code="BadRequest")
    window.append(now)
    object_id = str(subjects[0]["objectId"])
    if subjects[0].get("objectTypeName") == "Group":
        return _group_on_demand(ctx, object_id, subjects[0], ctx.store.now().isoformat())
    user = next(
        (u for u in ctx.store.idp.get("users") or [] if u.get("object_id") == object_id), None
    )
    if user is None:
        raise ApiError(
            404, f"Resource '{object_id}' does not exist.", code="Request_ResourceNotFound"
        )
    return Reply(200, on_demand_result(ctx.store, user, ctx.store.now().isoformat()))


def on_demand_result(store: Any, user: dict[str, Any], at: str) -> dict[str, Any]:
    """Push one user and answer as Graph does: 200 whatever happened, with the outcome in `key`
    (`{"result": Success|Failure|Skipped, "details": {errorCode, errorMessage}}`) and the
    steps in `value`, both JSON *strings* (Graph docs, synchronizationJob: provisionOnDemand).

    An unassigned user is out of scope: Entra disables an entry it finds in the target (and
    Atlassian deactivates a SCIM user's account), and skips a user it does not find.
    """
    user_name = str(user.get("userName") or "")
    directory_id = store.idp_directory_id()
    existing = (
        store.scim_user_by_name(directory_id, user_name) if directory_id and user_name else None
    )
    action, target_id, code, message = "Other", None, None, None
    if not in_scope(user):
        if existing is not None and existing.get("active", True):
            deactivate_scim_user(store, existing)
            result, action, target_id = "Success", "Disable", existing["id"]
        else:
            result, code = "Skipped", "NotEffectivelyEntitled"
            message = (
                "The User will be skipped: this object does not have required entitlement for "
                "provisioning (not assigned to the application, disabled, or outside the "
                "scoping filter)."
            )
    elif existing is not None:
        result, code, target_id = "Skipped", "RedundantExport", existing["id"]
        message = "The state of the user in both the source and target systems already match."
    else:
        outcome = push_idp_user(store, user) or {}
        if "error" in outcome or "scim_id" not in outcome:
            result, code = "Failure", "SystemForCrossDomainIdentityManagementServiceIncompatible"
            message = str(outcome.get("error") or "The target did not create the user.")
        else:
            result, action, target_id = "Success", "Create", outcome["scim_id"]
    status = {"Success": "Success", "Skipped": "Skipped", "Failure": "Failed"}[result]
    steps = [
        {
            "name": "EntryImport",
            "type": "Import",
            "status": "Success",
            "timestamp": at,
            "description": f"Retrieved User '{user_name}' from Microsoft Entra ID",
        },
        {
            "name": "EntrySynchronizationScoping",
            "type": "Scoping",
            "timestamp": at,
            "status": "Success" if in_scope(user) else "Skipped",
            "description": "Determine if User in scope by evaluating against each scoping filter",
            "details": {"Assigned": str(bool(user.get("assigned", True)))},
        },
        {
            "name": "EntryExport",
            "type": "Export",
            "status": status,
            "timestamp": at,
            "description": message or f"{action} User '{user_name}' in the target",
            "details": {"SkipReason": code} if result == "Skipped" else {},
        },
    ]
    details = {} if code is None else {"errorCode": code, "errorMessage": message}
    value = {
        "action": action,
        "reportableIdentifier": user_name,
        "provisioningSteps": steps,
        "statusInfo": {"status": status, "errorCode": code, "reason": message},
        "sourceIdentity": {"id": user.get("object_id"), "type": "User"},
        "targetIdentity": {"id": target_id, "type": "User"},
    }
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair",
        "key": json.dumps({"result": result, "details": details}),
        "value": json.dumps(value),
    }


GROUP_MEMBER_LIMIT = 5  # "a single group with up to 5 members at a time"


def _group_on_demand(ctx: Ctx, object_id: str, subject: dict[str, Any], at: str) -> Reply:
    """A group pushed on demand with up to five of its members (`links.members`): the group is
    matched by displayName (created if missing) and each listed member who is in the group in
    Entra, in scope and already provisioned is added. Members are never added on their own:
    "members aren't automatically provisioned", only those listed."""
    name = idp_groups(ctx.store).get(object_id)
    if name is None:
        raise ApiError(
            404,
            f"Resource '{object_id}' does not exist or is not a group assigned to the application.",
            code="Request_ResourceNotFound",
        )
    links = subject.get("links") if isinstance(subject.get("links"), dict) else {}
    listed = links.get("members") or []
    if not isinstance(listed, list) or len(listed) > GROUP_MEMBER_LIMIT:
        raise ApiError(
            400,
            f"On-demand provisioning of a group accepts up to {GROUP_MEMBER_LIMIT} members.",
            code="BadRequest",
        )
    members = [
        str(m.get("objectId"))
        for m in listed
        if isinstance(m, dict) and m.get("objectTypeName") == "User" and m.get("objectId")
    ]
    outcome = push_group(ctx.store, name, members)
    missing = outcome["not_added"]
    result = "Failure" if missing else "Success"
    message = "; ".join(f"{who}: {why}" for who, why in missing.items()) or None
    details = {"errorCode": "MembersNotProvisioned", "errorMessage": message} if missing else {}
    group = ctx.store.group_by_name(str(ctx.store.idp_directory_id()), name) or {}
    value = {
        "action": "Update",
        "reportableIdentifier": name,
        "provisioningSteps": [
            {
                "name": "EntryExportUpdate",
                "type": "Export",
                "status": "Success" if not missing else "Failed",
                "timestamp": at,
                "description": f"Group '{name}' was updated in the target"
                + (f"; not added: {message}" if message else ""),
                "details": {"MembersAdded": ", ".join(outcome["added"])},
            }
        ],
        "statusInfo": {
            "status": "Success" if not missing else "Failed",
            "errorCode": details.get("errorCode"),
            "reason": message,
        },
        "sourceIdentity": {"id": object_id, "type": "Group"},
        "targetIdentity": {"id": group.get("id"), "type": "Group"},
    }
    return Reply(
        200,
        {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.stringKeyStringValuePair",
            "key": json.dumps({"result": result, "details": details}),
            "value": json.dumps(value),
        },
    )
