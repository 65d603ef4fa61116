"""Microsoft Entra ID: the client-credentials token endpoint and the Graph calls the adapter uses.

Pausing and resuming the provisioning job here changes what the simulator's provisioning cycle
does, which is the point: a playbook that deletes a SCIM user while the job is Active gets it
back on the next cycle, exactly as with the real Entra service.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from scimrecon.sim.context import Ctx
from scimrecon.sim.provisioning import push_idp_user
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
    router.add("POST", f"{SP}/{{job_id}}/pause", pause)
    router.add("POST", f"{SP}/{{job_id}}/start", start)
    router.add("POST", f"{SP}/{{job_id}}/restart", restart)
    router.add("POST", f"{SP}/{{job_id}}/provisionOnDemand", provision_on_demand)
    router.add("GET", "/graph/users/{id_or_upn}", get_user)


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
    idp = ctx.store.idp
    if sp_id != idp.get("service_principal"):
        raise ApiError(
            404,
            f"Resource '{sp_id}' does not exist or one of its queried reference-property objects "
            "are not present.",
            code="Request_ResourceNotFound",
        )
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
    return Reply(204)


def provision_on_demand(ctx: Ctx, sp_id: str, job_id: str) -> Reply:
    """Push one user now; at most 5 calls per 10 s per job (429 + Retry-After beyond)."""
    job = _job(ctx, sp_id, job_id)
    now = ctx.store.clock()
    window = ctx.runtime.on_demand.setdefault(str(job.get("id")), deque())
    while window and now - window[0] >= ON_DEMAND_WINDOW:
        window.popleft()
    if len(window) >= ON_DEMAND_LIMIT:
        retry = max(1, int(ON_DEMAND_WINDOW - (now - window[0]) + 0.999))
        raise ApiError(
            429,
            "Too many provision on demand requests.",
            code="TooManyRequests",
            headers={"Retry-After": str(retry)},
        )
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
    user = next(
        (u for u in ctx.store.idp.get("users") or [] if u.get("object_id") == object_id), None
    )
    if user is None:
        raise ApiError(
            404, f"Resource '{object_id}' does not exist.", code="Request_ResourceNotFound"
        )
    if not user.get("assigned", True):
        details = {"status": "Skipped", "reason": "The user is not assigned to the application."}
    else:
        outcome = push_idp_user(ctx.store, user)
        if outcome is None:
            details = {
                "status": "Success",
                "action": "None",
                "reason": "The user already exists in the target.",
            }
        elif "error" in outcome:
            details = {"status": "Failure", "reason": outcome["error"]}
        else:
            details = {"status": "Success", "action": "Create", "targetId": outcome["scim_id"]}
    return Reply(
        200,
        {
            "@odata.type": "#microsoft.graph.stringKeyStringValuePair",
            "key": "microsoft.graph.synchronization.provisionOnDemand",
            "value": json.dumps({"objectId": object_id, **details}),
        },
    )


def get_user(ctx: Ctx, id_or_upn: str) -> Reply:
    user = ctx.store.idp_user(id_or_upn)
    if user is None:
        raise ApiError(
            404,
            f"Resource '{id_or_upn}' does not exist or one of its queried reference-property "
            "objects are not present.",
            code="Request_ResourceNotFound",
        )
    return Reply(
        200,
        {
            "id": user.get("object_id"),
            "userPrincipalName": user.get("userName"),
            "mail": user.get("mail"),
            "displayName": user.get("displayName"),
            "accountEnabled": bool(user.get("accountEnabled", True)),
        },
    )
