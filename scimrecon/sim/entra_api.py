"""Microsoft Entra ID: the client-credentials token endpoint and the Graph calls the adapter uses.

Pausing and resuming the provisioning job here changes what the simulator's provisioning cycle
does, which is the point: a playbook that deletes a SCIM user while the job is Active gets it
back on the next cycle, exactly as with the real Entra service.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from scimrecon.sim.context import Ctx
from scimrecon.sim.provisioning import (
    deactivate_scim_user,
    group_object_id,
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
    router.add("GET", "/graph/users", list_users)
    router.add("GET", "/graph/users/{id_or_upn}", get_user)
    router.add("GET", "/graph/users/{id_or_upn}/appRoleAssignments", user_app_role_assignments)
    assigned = "/graph/servicePrincipals/{sp_id}/appRoleAssignedTo"
    router.add("GET", assigned, app_role_assigned_to)
    router.add("POST", assigned, add_assignment)
    router.add("DELETE", f"{assigned}/{{assignment_id}}", remove_assignment)
    router.add("GET", "/graph/groups/{group_id}/members", group_members)


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


def _service_principal(ctx: Ctx, sp_id: str) -> Record:
    """The IdP section, when `sp_id` is its service principal (Graph's 404 otherwise)."""
    idp = ctx.store.idp
    if sp_id != idp.get("service_principal"):
        raise ApiError(
            404,
            f"Resource '{sp_id}' does not exist or one of its queried reference-property objects "
            "are not present.",
            code="Request_ResourceNotFound",
        )
    return idp


def _job(ctx: Ctx, sp_id: str, job_id: str | None = None) -> Record:
    idp = _service_principal(ctx, sp_id)
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


# -- directory reads: users, app role assignments, group members ------------------------------
#
# What `reconcile --live` needs to tell an assigned user from an unassigned one. Paging is
# Graph's: `$top` (1-999, default 100) and an absolute `@odata.nextLink` carrying an opaque
# `$skiptoken`, so a client that builds its own page URLs, or sends its token to whatever host
# a link names, is caught here. Query options the simulator does not implement are refused
# rather than ignored: silently ignoring a `$filter` would hand a client the wrong users.

GRAPH_METADATA = "https://graph.microsoft.com/v1.0/$metadata"
DEFAULT_PAGE = 100
MAX_PAGE = 999
SUPPORTED_OPTIONS = ("$select", "$top", "$skiptoken")
APP_NAME = "Atlassian Cloud"
ASSIGNED_AT = "2024-01-01T00:00:00Z"  # the world has no assignment dates; a fixed one
# Graph's default user properties (no $select); accountEnabled must be asked for by name.
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_FIELDS = (*USER_DEFAULT, "accountEnabled")
ASSIGNMENT_FIELDS = (
    "id",
    "deletedDateTime",
    "appRoleId",
    "createdDateTime",
    "principalDisplayName",
    "principalId",
    "principalType",
    "resourceDisplayName",
    "resourceId",
)

Projector = Callable[[Record], dict[str, Any]]


def _group_of(user: Record) -> str | None:
    """The group an *assigned* user is assigned through, or None for a direct assignment.
    `assigned_via` on an unassigned user means nothing: the user is in no assigned group."""
    via = user.get("assigned_via")
    return str(via) if via and user.get("assigned") else None


def _options(ctx: Ctx, also: tuple[str, ...] = ()) -> dict[str, str]:
    """The request's OData options by lower-case name; unsupported ones are a 400 (`also`:
    options this collection supports on top of paging and $select, e.g. its `$filter`)."""
    options: dict[str, str] = {}
    supported = (*SUPPORTED_OPTIONS, *also)
    for key, value in ctx.request.args.items(multi=True):
        low = key.lower()
        if low.startswith("$") and low not in supported:
            raise ApiError(
                400,
                f"Query option '{key}' is not supported by this simulator "
                f"(supported: {', '.join(supported)}).",
                code="Request_UnsupportedQuery",
            )
        options[low] = value
    return options


def _selected(
    options: dict[str, str], type_name: str, known: Sequence[str], default: Sequence[str]
) -> tuple[str, ...]:
    raw = options.get("$select")
    if raw is None:
        return tuple(default)
    by_low = {name.lower(): name for name in known}
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        canonical = by_low.get(name.lower())
        if canonical is None:
            raise ApiError(
                400,
                "Parsing OData Select and Expand failed: Could not find a property named "
                f"'{name}' on type 'microsoft.graph.{type_name}'.",
                code="BadRequest",
            )
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def _top(options: dict[str, str]) -> int:
    raw = options.get("$top")
    if raw is None:
        return DEFAULT_PAGE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE:
        raise ApiError(
            400,
            f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE} inclusive.",
            code="Request_UnsupportedQuery",
        )
    return size


def _skip_token(collection: str, offset: int) -> str:
    raw = f"{collection}|{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _offset(options: dict[str, str], collection: str) -> int:
    token = options.get("$skiptoken")
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        name, _, number = text.rpartition("|")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        name, offset = "", -1
    if name != collection or offset < 0:
        raise ApiError(400, "The $skiptoken is not valid for this request.", code="BadRequest")
    return offset


def _next_link(ctx: Ctx, token: str) -> str:
    """The request's own URL with a new $skiptoken: every other option carries over."""
    pairs = [(k, v) for k, v in ctx.request.args.items(multi=True) if k.lower() != "$skiptoken"]
    pairs.append(("$skiptoken", token))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='$,')}" for k, v in pairs)
    return f"{ctx.base_url}{ctx.request.path[len(ctx.prefix) :]}?{query}"


def _page(
    ctx: Ctx,
    options: dict[str, str],
    collection: str,
    items: Sequence[Record],
    project: Projector,
    context: str,
) -> Reply:
    """One page of `items`: only this page is projected, so paging a big tenant stays linear."""
    start = _offset(options, collection)
    chunk = items[start : start + _top(options)]
    body: dict[str, Any] = {"@odata.context": context}
    end = start + len(chunk)
    if end < len(items):
        body["@odata.nextLink"] = _next_link(ctx, _skip_token(collection, end))
    body["value"] = [project(item) for item in chunk]
    return Reply(200, body)


def _context(entity_set: str, options: dict[str, str], fields: Iterable[str]) -> str:
    selected = f"({','.join(fields)})" if "$select" in options else ""
    return f"{GRAPH_METADATA}#{entity_set}{selected}"


def _user_doc(user: Record) -> dict[str, Any]:
    return {
        "businessPhones": [],
        "displayName": user.get("displayName"),
        "givenName": None,
        "jobTitle": None,
        "mail": user.get("mail"),
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": None,
        "userPrincipalName": user.get("userName"),
        "id": user.get("object_id"),
        "accountEnabled": bool(user.get("accountEnabled", True)),
    }


def _user_projector(fields: tuple[str, ...], odata_type: bool = False) -> Projector:
    def project(user: Record) -> dict[str, Any]:
        doc = _user_doc(user)
        head = {"@odata.type": "#microsoft.graph.user"} if odata_type else {}
        return head | {name: doc[name] for name in fields}

    return project


def list_users(ctx: Ctx) -> Reply:
    """`GET /users`: every IdP user of the tenant, assigned to the app or not."""
    options = _options(ctx)
    fields = _selected(options, "user", USER_FIELDS, USER_DEFAULT)
    users = ctx.store.idp.get("users") or []
    context = _context("users", options, fields)
    return _page(ctx, options, "users", users, _user_projector(fields), context)


def _app_role(sp_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scimrecon-sim:{sp_id}:approle:User"))


def _assignment_id(sp_id: str, principal_id: str) -> str:
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"scimrecon-sim:{sp_id}:{principal_id}").bytes
    return base64.urlsafe_b64encode(key * 2).decode("ascii").rstrip("=")


def _assignment(sp_id: str, row: Record) -> dict[str, Any]:
    return {
        "id": _assignment_id(sp_id, row["id"]),
        "deletedDateTime": None,
        "appRoleId": _app_role(sp_id),
        "createdDateTime": ASSIGNED_AT,
        "principalDisplayName": row["name"],
        "principalId": row["id"],
        "principalType": row["type"],
        "resourceDisplayName": APP_NAME,
        "resourceId": sp_id,
    }


def _assignment_rows(idp: Record) -> list[Record]:
    """Each directly assigned user, and each group through which users are assigned, once."""
    rows: list[Record] = []
    groups: set[str] = set()
    for user in idp.get("users") or []:
        if not user.get("assigned"):
            continue
        group = _group_of(user)
        if group is None:
            principal = str(user.get("object_id"))
            name = user.get("displayName") or user.get("userName")
            rows.append({"type": "User", "id": principal, "name": name})
        elif group not in groups:
            groups.add(group)
            rows.append({"type": "Group", "id": group_object_id(group), "name": group})
    return rows


def app_role_assigned_to(ctx: Ctx, sp_id: str) -> Reply:
    """Who is assigned to the enterprise app: each directly assigned user, and each group
    through which users are assigned (`assigned_via`), once."""
    idp = _service_principal(ctx, sp_id)
    options = _options(ctx)
    fields = _selected(options, "appRoleAssignment", ASSIGNMENT_FIELDS, ASSIGNMENT_FIELDS)

    def project(row: Record) -> dict[str, Any]:
        doc = _assignment(sp_id, row)
        return {name: doc[name] for name in fields}

    context = _context(f"servicePrincipals('{sp_id}')/appRoleAssignedTo", options, fields)
    return _page(ctx, options, f"assigned:{sp_id}", _assignment_rows(idp), project, context)


#: The one `$filter` a user's appRoleAssignments take here: `resourceId eq {guid}`, the GUID
#: unquoted (an Edm.Guid literal; quoted, Graph answers "Invalid filter clause"). Graph also
#: documents `principalDisplayName` (eq, startswith); nothing here needs it, so it is refused
#: like every other filter rather than ignored.
RESOURCE_FILTER = re.compile(
    r"resourceId eq ([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)


def _resource_filter(options: dict[str, str]) -> str | None:
    """The resourceId a `$filter` names, None without one; any other filter is Graph's 400."""
    raw = options.get("$filter")
    if raw is None:
        return None
    match = RESOURCE_FILTER.fullmatch(raw.strip())
    if match is None:
        raise ApiError(400, "Invalid filter clause", code="Request_BadRequest")
    return match.group(1).lower()


def user_app_role_assignments(ctx: Ctx, id_or_upn: str) -> Reply:
    """`GET /users/{id | userPrincipalName}/appRoleAssignments`: the user's own assignment to
    the app, or, for a user assigned through a group they are a direct member of, the group's
    (principalType `Group`, principalId the group's: Graph "also returns app role assignments
    granted to groups that the user is a direct member of")."""
    user = ctx.store.idp_user(id_or_upn)
    if user is None:
        raise ApiError(
            404,
            f"Resource '{id_or_upn}' does not exist or one of its queried reference-property "
            "objects are not present.",
            code="Request_ResourceNotFound",
        )
    options = _options(ctx, also=("$filter",))
    resource = _resource_filter(options)
    fields = _selected(options, "appRoleAssignment", ASSIGNMENT_FIELDS, ASSIGNMENT_FIELDS)
    sp_id = str(ctx.store.idp.get("service_principal") or "")
    rows: list[Record] = []
    if user.get("assigned") and resource in (None, sp_id.lower()):
        group = _group_of(user)
        if group is None:
            name = user.get("displayName") or user.get("userName")
            rows.append({"type": "User", "id": str(user.get("object_id")), "name": name})
        else:
            rows.append({"type": "Group", "id": group_object_id(group), "name": group})

    def project(row: Record) -> dict[str, Any]:
        doc = _assignment(sp_id, row)
        return {name: doc[name] for name in fields}

    context = _context("appRoleAssignments", options, fields)
    collection = f"user-assigned:{user.get('object_id')}"
    return _page(ctx, options, collection, rows, project, context)


def remove_assignment(ctx: Ctx, sp_id: str, assignment_id: str) -> Reply:
    """`DELETE .../appRoleAssignedTo/{id}`: the principal is unassigned (a group's members with
    it); each affected user is a change the next incremental cycle processes (and a user who
    still has a SCIM entry is then disabled in Atlassian)."""
    idp = _service_principal(ctx, sp_id)
    row = next(
        (r for r in _assignment_rows(idp) if _assignment_id(sp_id, r["id"]) == assignment_id), None
    )
    if row is None:
        raise ApiError(
            404,
            f"Resource '{assignment_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
            code="Request_ResourceNotFound",
        )
    for user in idp.get("users") or []:
        direct = row["type"] == "User" and user.get("object_id") == row["id"]
        via = row["type"] == "Group" and _group_of(user) == row["name"]
        if direct or via:
            user["assigned"] = False
            ctx.runtime.idp_change(str(user.get("object_id")))
    return Reply(204)


def add_assignment(ctx: Ctx, sp_id: str) -> Reply:
    """`POST .../appRoleAssignedTo {principalId, resourceId, appRoleId}` for a user: assigned
    directly again, and a change for the next cycle. Graph refuses a duplicate assignment."""
    idp = _service_principal(ctx, sp_id)
    body = json_object(ctx.request)
    if body.get("resourceId") != sp_id or body.get("appRoleId") != _app_role(sp_id):
        raise ApiError(
            400,
            "resourceId and appRoleId must name this app and its role.",
            code="Request_BadRequest",
        )
    principal = str(body.get("principalId") or "")
    user = next((u for u in idp.get("users") or [] if u.get("object_id") == principal), None)
    if user is None:
        raise ApiError(
            404, f"Resource '{principal}' does not exist.", code="Request_ResourceNotFound"
        )
    if user.get("assigned") and _group_of(user) is None:
        raise ApiError(
            400, "Permission being assigned already exists on the object", code="Request_BadRequest"
        )
    user["assigned"] = True
    user.pop("assigned_via", None)
    ctx.runtime.idp_change(principal)
    name = user.get("displayName") or user.get("userName")
    return Reply(201, _assignment(sp_id, {"type": "User", "id": principal, "name": name}))


def group_members(ctx: Ctx, group_id: str) -> Reply:
    """`GET /groups/{id}/members`: the direct members of a group users are assigned through."""
    members = [
        u
        for u in ctx.store.idp.get("users") or []
        if (group := _group_of(u)) is not None and group_object_id(group) == group_id
    ]
    if not members:
        raise ApiError(
            404,
            f"Resource '{group_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
            code="Request_ResourceNotFound",
        )
    options = _options(ctx)
    fields = _selected(options, "user", USER_FIELDS, USER_DEFAULT)
    project = _user_projector(fields, odata_type=True)
    context = _context("directoryObjects", options, fields)
    return _page(ctx, options, f"members:{group_id}", members, project, context)
