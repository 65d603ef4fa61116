"""Organizations REST API v2: directories and their users (org API key).

As documented (developer.atlassian.com/cloud/admin/organization/rest/api-group-users/ and the
community announcement "New Organization APIs to power admin automation"): `GET
/v2/orgs/{orgId}/directories`; `GET .../directories/{directoryId}/users` (cursor paged: the
`links.next` of a page is an opaque cursor, not a URL), `/count`, `/{accountId}`,
`/{accountId}/role-assignments`; `POST .../users/{accountId}/suspend` and `/restore`. A
`directoryId` of `-` means every directory the key can manage. Users carry `accountId`,
`accountStatus`, `claimStatus`, `managementSource`, `membershipStatus`, `platformRoles`,
`addedToOrg` and more.

The world's accounts are the directory users: `org.user_directories` lists the org's user
directories (default: one, as in the centralized user management experience), an account's
`user_directory` says which one it is in (default: the first). Roles come from `org_role`
and `platform_roles` through `recon.roles`. A suspended account keeps its access in
`suspended_access` (the key present means suspended) so `restore` gives it back.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from scimrecon.recon.roles import platform_roles_of
from scimrecon.sim.context import Ctx
from scimrecon.sim.store import Record, Store
from scimrecon.sim.web import ApiError, Reply, Router

V2 = "/atlassian/admin/v2/orgs/{org_id}"
USERS = V2 + "/directories/{directory_id}/users"
PAGE = 100
ALL = "-"
_LIST_ARGS = {"cursor", "limit"}


def register(router: Router) -> None:
    router.add("GET", f"{V2}/directories", list_directories)
    router.add("GET", USERS, list_users)
    router.add("GET", f"{USERS}/count", count_users)
    router.add("GET", f"{USERS}/{{account_id}}", get_user)
    router.add("GET", f"{USERS}/{{account_id}}/role-assignments", role_assignments)
    router.add("POST", f"{USERS}/{{account_id}}/suspend", suspend)
    router.add("POST", f"{USERS}/{{account_id}}/restore", restore)


# -- the world as directories ------------------------------------------------------------------


def user_directories(store: Store) -> list[dict[str, str]]:
    """The org's user directories: `org.user_directories`, else one derived from the org id."""
    listed = store.org.get("user_directories")
    if listed:
        return [{"id": str(d["id"]), "name": str(d.get("name") or d["id"])} for d in listed]
    org_id = str(store.org.get("id") or "")
    derived = str(uuid.uuid5(uuid.NAMESPACE_URL, f"atlassian-org-directory:{org_id}"))
    return [{"id": derived, "name": str(store.org.get("name") or "Directory")}]


def directory_of(store: Store, account: Record) -> str:
    return str(account.get("user_directory") or user_directories(store)[0]["id"])


def require_org(ctx: Ctx, org_id: str) -> None:
    """404 unless the path's org id is the simulated org (every org-scoped endpoint starts here)."""
    if ctx.store.org.get("id") != org_id:
        raise ApiError(404, f"organization {org_id} not found", code="NOT_FOUND")


def directory_scope(ctx: Ctx, org_id: str, directory_id: str, *, write: bool = False) -> set[str]:
    """The directory ids a request covers. `-` is every directory; a change through `-` in an
    org with several would be ambiguous and is refused (the documentation only promises `-`
    for widening a read)."""
    require_org(ctx, org_id)
    ids = [d["id"] for d in user_directories(ctx.store)]
    if directory_id == ALL:
        if write and len(ids) > 1:
            raise ApiError(
                400,
                f"directoryId '-' is ambiguous here: the organization has {len(ids)} "
                "directories; use one directory's id",
                code="INVALID_DIRECTORY",
            )
        return set(ids)
    if directory_id not in ids:
        raise ApiError(404, f"directory {directory_id} not found", code="DIRECTORY_NOT_FOUND")
    return {directory_id}


def directory_members(ctx: Ctx, scope: set[str]) -> list[Record]:
    """The org's accounts in the directories of `scope` (directory_scope's answer)."""
    return [a for a in ctx.store.accounts() if directory_of(ctx.store, a) in scope]


def _member(ctx: Ctx, scope: set[str], account_id: str) -> Record:
    account = ctx.store.account(account_id)
    if account is None or directory_of(ctx.store, account) not in scope:
        raise ApiError(404, f"user {account_id} not found in the directory", code="NOT_FOUND")
    return account


def membership_status(account: Record) -> str:
    return "suspended" if "suspended_access" in account else "active"


def directory_user(store: Store, account: Record) -> dict[str, Any]:
    """An account as a v2 directory user (the documented fields the world can fill)."""
    status = str(account.get("status") or "active")
    membership = membership_status(account)
    if status != "active":
        shown = "deactivated"
    else:
        shown = "suspended" if membership == "suspended" else "active"
    managed = bool(account.get("managed"))
    synced = bool(store.scim_links(str(account["account_id"])))
    return {
        "accountId": account["account_id"],
        "accountType": account.get("account_type", "atlassian"),
        "status": shown,
        "accountStatus": status,
        "membershipStatus": membership,
        "addedToOrg": account.get("added_to_org"),
        "name": account.get("name"),
        "email": account.get("email"),
        "emailVerified": True,
        "claimStatus": "managed" if managed else "unmanaged",
        "managementSource": ("synced" if synced else "invited") if managed else None,
        "platformRoles": platform_roles_of(account.get("org_role"), account.get("platform_roles")),
        "counts": {"resources": len(account.get("product_access") or [])},
        "links": {"self": _token(f"user:{account['account_id']}")},
    }


# -- cursors -----------------------------------------------------------------------------------


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _offset(cursor: str, kind: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != kind:
            raise ValueError(cursor)
        return max(int(number), 0)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, f"invalid cursor {cursor!r}", code="INVALID_CURSOR") from exc


def _page(ctx: Ctx, items: list[Any], kind: str) -> tuple[list[Any], dict[str, str]]:
    """One page and its `links` (opaque cursors; no `next` on the last page). Filters the
    simulator does not implement are refused rather than ignored: ignoring one would hand the
    caller users it did not ask for."""
    unknown = sorted(set(ctx.request.args) - _LIST_ARGS)
    if unknown:
        raise ApiError(400, f"query parameter {unknown[0]} is not supported here", code="INVALID")
    return page_of(items, kind, ctx.arg("cursor"), ctx.arg("limit"))


def page_of(
    items: list[Any], kind: str, cursor: object, raw_limit: object
) -> tuple[list[Any], dict[str, str]]:
    """The page at `cursor` (an opaque token of ours, or none for the first) of at most
    `raw_limit` items (1..PAGE, default PAGE), and its `links`."""
    offset = _offset(str(cursor), kind) if cursor else 0
    try:
        limit = int(str(raw_limit)) if raw_limit is not None else PAGE
    except ValueError:
        limit = 0
    if type(raw_limit) is bool or not 1 <= limit <= PAGE:
        raise ApiError(400, f"limit must be between 1 and {PAGE}", code="INVALID_LIMIT")
    links = {"self": _token(f"{kind}:{offset}")}
    if offset > 0:
        links["prev"] = _token(f"{kind}:{max(offset - limit, 0)}")
    if offset + limit < len(items):
        links["next"] = _token(f"{kind}:{offset + limit}")
    return items[offset : offset + limit], links


# -- handlers ----------------------------------------------------------------------------------


def list_directories(ctx: Ctx, org_id: str) -> Reply:
    require_org(ctx, org_id)
    dirs = [{"directoryId": d["id"], "name": d["name"]} for d in user_directories(ctx.store)]
    page, links = _page(ctx, dirs, "directories")
    return Reply(200, {"data": page, "links": links})


def list_users(ctx: Ctx, org_id: str, directory_id: str) -> Reply:
    members = directory_members(ctx, directory_scope(ctx, org_id, directory_id))
    page, links = _page(ctx, members, f"users.{directory_id}")
    return Reply(200, {"data": [directory_user(ctx.store, a) for a in page], "links": links})


def count_users(ctx: Ctx, org_id: str, directory_id: str) -> Reply:
    members = directory_members(ctx, directory_scope(ctx, org_id, directory_id))
    return Reply(200, {"count": len(members)})


def get_user(ctx: Ctx, org_id: str, directory_id: str, account_id: str) -> Reply:
    account = _member(ctx, directory_scope(ctx, org_id, directory_id), account_id)
    return Reply(200, {"data": directory_user(ctx.store, account)})


def role_assignments(ctx: Ctx, org_id: str, directory_id: str, account_id: str) -> Reply:
    """The user's platform roles as one assignment on the organization (product roles on
    sites are not modelled)."""
    account = _member(ctx, directory_scope(ctx, org_id, directory_id), account_id)
    roles = platform_roles_of(account.get("org_role"), account.get("platform_roles"))
    items = [
        {
            "directoryId": directory_of(ctx.store, account),
            "resourceId": f"ari:cloud:platform::org/{org_id}",
            "resourceOwner": "atlassian",
            "roleAssignments": [{"role": role} for role in roles],
        }
    ]
    page, links = _page(ctx, items if roles else [], f"roles.{account_id}")
    return Reply(200, {"data": page, "links": links})


def suspend(ctx: Ctx, org_id: str, directory_id: str, account_id: str) -> Reply:
    """Remove every product access (not billed while suspended), kept for `restore`."""
    account = _member(ctx, directory_scope(ctx, org_id, directory_id, write=True), account_id)
    removed = account.get("product_access") or []
    account["suspended_access"] = [*(account.get("suspended_access") or []), *removed]
    account["product_access"] = []
    return Reply(200, {"message": f"user {account_id} suspended in the directory"})


def restore(ctx: Ctx, org_id: str, directory_id: str, account_id: str) -> Reply:
    account = _member(ctx, directory_scope(ctx, org_id, directory_id, write=True), account_id)
    kept = account.pop("suspended_access", None) or []
    current = account.get("product_access") or []
    keys = {(p.get("key"), p.get("site")) for p in current}
    account["product_access"] = current + [
        p for p in kept if (p.get("key"), p.get("site")) not in keys
    ]
    return Reply(200, {"message": f"user {account_id} restored in the directory"})
