"""Organizations REST API v2: the user search and the workspaces listing (org API key).

`POST /v2/orgs/{orgId}/directories/{directoryId}/users/search` is the documented successor of
`GET .../users` (which "will no longer work after June 30, 2027"): the filters travel in the
JSON body (`claimStatus` managed/unmanaged, `accountIds`, `accountStatus`, `membershipStatus`,
`emails`, `emailDomains`, `searchTerm` — `emails` and `searchTerm` together are a 400), and the
answer carries `platformRoles`, `counts.resources` and `productAccess` only when `expand`
names them. A product access is `{id, key, lastActiveTimestamp}`, `id` being the workspace.

`POST /v2/orgs/{orgId}/workspaces` lists the org's workspaces (one per product instance):
`{id, type, attributes: {name, typeKey, hostUrl, ...}}`. A product access whose workspace is
not in that list is on a site the org does not manage.

Filters the documentation names but the simulator does not implement (`groupIds`, `roleIds`,
`resourceIds`, `mfaEnabled`, `directoryIds`, `expand: groups`) are refused with a 400 rather
than ignored: ignoring one would hand the caller users it did not ask for.
"""

from __future__ import annotations

import uuid
from typing import Any

from scimrecon.sim.context import Ctx
from scimrecon.sim.orgs_v2_api import (
    USERS,
    V2,
    directory_members,
    directory_of,
    directory_scope,
    directory_user,
    page_of,
    require_org,
)
from scimrecon.sim.store import Record, Store
from scimrecon.sim.web import ApiError, Reply, Router, json_object

_LIST_FILTERS = {"accountIds", "accountStatus", "membershipStatus", "emails", "emailDomains"}
_SEARCH_KEYS = {*_LIST_FILTERS, "claimStatus", "searchTerm", "expand", "limit", "cursor"}
_EXPANDS = {"platformRoles", "counts.resources", "productAccess"}


def register(router: Router) -> None:
    router.add("POST", f"{USERS}/search", search_users)
    router.add("POST", f"{V2}/workspaces", list_workspaces)


# -- workspaces ------------------------------------------------------------------------------


def workspace_id(site: str, key: str) -> str:
    """A stable id for the product `key` on `site` (real ones are opaque ids too)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"atlassian-workspace:{site}:{key}"))


def host_url(site: str, key: str) -> str:
    return "https://trello.com" if key == "trello" else f"https://{site}.atlassian.net"


def org_workspaces(store: Store) -> list[tuple[str, str]]:
    """(site, product key) of every workspace the org manages: the world's `sites`, or, for a
    world that lists none, every site its accounts have access on."""
    listed = store.world.get("sites")
    if isinstance(listed, list) and listed:
        return sorted(
            (str(s["name"]), str(p))
            for s in listed
            for p in s.get("products") or []
            if s.get("name")
        )
    pairs: set[tuple[str, str]] = set()
    for account in store.accounts():
        for access in [
            *(account.get("product_access") or []),
            *(account.get("suspended_access") or []),
        ]:
            pairs.add((str(access.get("site") or ""), str(access.get("key") or "")))
    return sorted(pairs)


def list_workspaces(ctx: Ctx, org_id: str) -> Reply:
    require_org(ctx, org_id)
    body = json_object(ctx.request) if ctx.request.get_data(cache=True) else {}
    unknown = sorted(set(body) - {"limit", "cursor"})
    if unknown:
        raise ApiError(400, f"{unknown[0]} is not supported here", code="INVALID")
    items = [
        {
            "id": workspace_id(site, key),
            "type": "workspace",
            "attributes": {
                "name": site,
                "typeKey": key,
                "type": key,
                "owner": org_id,
                "status": "online",
                "hostUrl": host_url(site, key),
            },
        }
        for site, key in org_workspaces(ctx.store)
    ]
    page, links = page_of(items, "workspaces", body.get("cursor"), body.get("limit", 20))
    return Reply(200, {"data": page, "links": links, "meta": {"total": len(items)}})


# -- users -----------------------------------------------------------------------------------


def _strings(body: dict[str, Any], name: str) -> set[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"{name} must be a list of strings", code="INVALID")
    return set(value)


def _matches(store: Store, account: Record, body: dict[str, Any]) -> bool:
    user = directory_user(store, account)
    email = str(user.get("email") or "")
    checks = {
        "accountIds": str(user["accountId"]),
        "accountStatus": str(user["accountStatus"]),
        "membershipStatus": str(user["membershipStatus"]),
        "emails": email.lower(),
        "emailDomains": email.rpartition("@")[2].lower(),
    }
    for name, value in checks.items():
        wanted = _strings(body, name)
        if name in ("emails", "emailDomains") and wanted is not None:
            wanted = {w.lower() for w in wanted}
        if wanted is not None and value not in wanted:
            return False
    claim = body.get("claimStatus")
    if claim is not None and claim != user["claimStatus"]:
        return False
    term = body.get("searchTerm")
    if term is not None:
        text = str(term).lower()
        return text in email.lower() or text in str(user.get("name") or "").lower()
    return True


def _shown(store: Store, account: Record, expand: set[str]) -> dict[str, Any]:
    user = directory_user(store, account)
    if "platformRoles" not in expand:
        user.pop("platformRoles", None)
    if "counts.resources" not in expand:
        user.pop("counts", None)
    if "productAccess" in expand:
        user["productAccess"] = [
            {
                "id": workspace_id(str(p.get("site") or ""), str(p.get("key") or "")),
                "key": p.get("key"),
                **(
                    {"lastActiveTimestamp": f"{p['last_active']}T00:00:00Z"}
                    if p.get("last_active")
                    else {}
                ),
            }
            for p in account.get("product_access") or []
        ]
    return user


def _candidates(ctx: Ctx, scope: set[str], body: dict[str, Any]) -> list[Record]:
    """The accounts a search may match: with `accountIds`, only those (by id, in id order),
    so a look-up by id does not walk a 45,000-account directory; else every member."""
    ids = _strings(body, "accountIds")
    if ids is None:
        return directory_members(ctx, scope)
    found = (ctx.store.account(i) for i in sorted(ids))
    return [a for a in found if a is not None and directory_of(ctx.store, a) in scope]


def search_users(ctx: Ctx, org_id: str, directory_id: str) -> Reply:
    scope = directory_scope(ctx, org_id, directory_id)
    body = json_object(ctx.request, invalid_code="INVALID")
    unknown = sorted(set(body) - _SEARCH_KEYS)
    if unknown:
        raise ApiError(400, f"{unknown[0]} is not supported here", code="INVALID")
    if "emails" in body and "searchTerm" in body:
        raise ApiError(400, "searchTerm and emails are mutually exclusive", code="INVALID")
    if body.get("claimStatus") not in (None, "managed", "unmanaged"):
        raise ApiError(400, "claimStatus must be managed or unmanaged", code="INVALID")
    expand = _strings(body, "expand") or set()
    if expand - _EXPANDS:
        raise ApiError(
            400, f"expand {sorted(expand - _EXPANDS)[0]} is not supported here", code="INVALID"
        )
    found = [a for a in _candidates(ctx, scope, body) if _matches(ctx.store, a, body)]
    page, links = page_of(found, f"search.{directory_id}", body.get("cursor"), body.get("limit"))
    return Reply(200, {"data": [_shown(ctx.store, a, expand) for a in page], "links": links})
