"""Microsoft Entra ID's directory in Graph: users, the app's role assignments (the app's and a
user's own), assigned groups' members, and adding or removing a user's assignment.

Split from entra_api (the token, the synchronization job and provisioning on demand) so each
module keeps one job; the job's calls find the service principal through `service_principal`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from scimrecon.sim.context import Ctx
from scimrecon.sim.provisioning import group_object_id
from scimrecon.sim.store import Record
from scimrecon.sim.web import ApiError, Reply, Router, json_object


def register(router: Router) -> None:
    router.add("GET", "/graph/users", list_users)
    router.add("GET", "/graph/users/{id_or_upn}", get_user)
    router.add("GET", "/graph/users/{id_or_upn}/appRoleAssignments", user_app_role_assignments)
    assigned = "/graph/servicePrincipals/{sp_id}/appRoleAssignedTo"
    router.add("GET", assigned, app_role_assigned_to)
    router.add("POST", assigned, add_assignment)
    router.add("DELETE", f"{assigned}/{{assignment_id}}", remove_assignment)
    router.add("GET", "/graph/groups/{group_id}/members", group_members)


def not_found(resource: str) -> ApiError:
    """Graph's 404 for a directory object that does not exist."""
    return ApiError(
        404,
        f"Resource '{resource}' does not exist or one of its queried reference-property objects "
        "are not present.",
        code="Request_ResourceNotFound",
    )


def service_principal(ctx: Ctx, sp_id: str) -> Record:
    """The IdP section, when `sp_id` is its service principal (Graph's 404 otherwise)."""
    idp = ctx.store.idp
    if sp_id != idp.get("service_principal"):
        raise not_found(sp_id)
    return idp


def idp_user(ctx: Ctx, id_or_upn: str) -> Record:
    """The IdP user with this object id or userPrincipalName (Graph's 404 otherwise)."""
    user = ctx.store.idp_user(id_or_upn)
    if user is None:
        raise not_found(id_or_upn)
    return user


def get_user(ctx: Ctx, id_or_upn: str) -> Reply:
    user = idp_user(ctx, id_or_upn)
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


@functools.lru_cache(maxsize=65536)
def _assignment_id(sp_id: str, principal_id: str) -> str:
    """A stable id per (app, principal); remembered, because a DELETE finds its assignment by
    computing the ids of the app's assignments in turn (a uuid5 each: 9 % of a bench run)."""
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
    idp = service_principal(ctx, sp_id)
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
    user = idp_user(ctx, id_or_upn)
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
    idp = service_principal(ctx, sp_id)
    row = next(
        (r for r in _assignment_rows(idp) if _assignment_id(sp_id, r["id"]) == assignment_id), None
    )
    if row is None:
        raise not_found(assignment_id)
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
    idp = service_principal(ctx, sp_id)
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
        raise not_found(group_id)
    options = _options(ctx)
    fields = _selected(options, "user", USER_FIELDS, USER_DEFAULT)
    project = _user_projector(fields, odata_type=True)
    context = _context("directoryObjects", options, fields)
    return _page(ctx, options, f"members:{group_id}", members, project, context)
