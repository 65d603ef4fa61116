"""Live API reads as the records `analyze` and `reconcile` take (for `--live`).

The org admin API's user list becomes UserRecords or fixture-world accounts, the SCIM directory
fixture-world SCIM entries, and the IdP's users (Entra) fixture-world `idp.users`. Who is an
admin comes from the v2 directory users' `platformRoles` (the v1 list has no roles). External
users (directory users the org does not manage: `claimStatus` unmanaged) are not in the v1
list at all; they come from the same v2 directory users, with their `productAccess` placed on
sites through the org's workspaces (an access on a workspace the org does not list is on a site
it does not manage). Their external user policy is not in any answer read here, so a member
of a non-billable external user policy counts as billable live (said in docs/fidelity.md).

Pure: it takes the users (and a lookup for `added to org`) as arguments, so the connectors do
the HTTP and this module only translates. The org user list has no join date; asking for it
costs one request a user, so it is asked only for users whose classification depends on it
(those who never used any product: "inactive" needs to know they were not just added).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from scimrecon.recon.model import NEVER, LastSeen, ProductAccess, UserRecord, product_name
from scimrecon.recon.roles import admin_role

_STATUS = {"active": "active", "inactive": "inactive", "closed": "closed", "suspended": "suspended"}


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _day(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def site_of(url: object, key: str) -> str:
    """`https://acme.atlassian.net` -> `acme`; Trello's own site is `trello`."""
    if key == "trello":
        return "trello"
    host = urlsplit(str(url or "")).hostname or ""
    return host.removesuffix(".atlassian.net") if host.endswith(".atlassian.net") else host


def admin_roles_of(directory_users: Iterable[Any]) -> dict[str, str]:
    """Account id -> admin role ("org admin", ...) for the v2 directory users that administer
    something (`platformRoles`); members are left out, so the map stays as small as the
    number of admins however large the org."""
    roles: dict[str, str] = {}
    for user in directory_users:
        role = admin_role(_get(user, "platform_roles") or _get(user, "platformRoles"))
        if role:
            roles[str(_get(user, "account_id") or _get(user, "accountId") or "")] = role
    return roles


def records_from_org_users(
    users: Iterable[Any],
    added_of: Callable[[str], date | None] | None = None,
    roles: Mapping[str, str] | None = None,
) -> Iterator[UserRecord]:
    """Org API users (OrgUser objects or their JSON dicts) as records. Every listed user is
    managed (the list holds the org's managed accounts only). `roles` (from
    `admin_roles_of`) gives admins their role; everyone else is a member."""
    for n, user in enumerate(users, start=1):
        products = []
        for access in _get(user, "product_access") or []:
            key = str(_get(access, "key") or "")
            seen: LastSeen = _day(_get(access, "last_active")) or NEVER
            name = _get(access, "name") or product_name(key)
            products.append(ProductAccess(str(name), site_of(_get(access, "url"), key), seen))
        account_id = str(_get(user, "account_id") or "")
        added = None
        if added_of is not None and products and all(p.last_seen == NEVER for p in products):
            added = added_of(account_id)
        status = str(_get(user, "account_status") or "").lower()
        yield UserRecord(
            account_id=account_id,
            name=str(_get(user, "name") or ""),
            email=str(_get(user, "email") or ""),
            status=_STATUS.get(status, status),
            managed=True,
            products=tuple(products),
            added_to_org=added,
            org_role=(roles or {}).get(account_id, "member"),
            account_type=str(_get(user, "account_type") or "atlassian"),
            last_active=_day(_get(user, "last_active")),
            reported_billable=_get(user, "access_billable"),
            line=n,
        )


def scim_entries_from_users(users: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Live SCIM users (ScimUser views) in the fixture-world shape `reconcile` joins on."""
    for user in users:
        yield {
            "id": str(_get(user, "id") or ""),
            "userName": _get(user, "user_name") or "",
            "externalId": _get(user, "external_id"),
            "emails": [{"value": e} for e in _get(user, "emails") or ()],
            "displayName": _get(user, "display_name"),
            "active": bool(_get(user, "active")),
            "account_id": _get(user, "account_id"),
        }


def idp_entries_from_users(users: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Live IdP users (IdpUser objects or dicts of the same fields) in the fixture-world
    `idp.users` shape, so a live read and a world file go through the same join."""
    for user in users:
        entry: dict[str, Any] = {
            "object_id": str(_get(user, "object_id") or ""),
            "userName": _get(user, "user_name") or "",
            "mail": _get(user, "mail"),
            "displayName": _get(user, "display_name"),
            "assigned": bool(_get(user, "assigned")),
        }
        enabled = _get(user, "account_enabled")
        if isinstance(enabled, bool):
            entry["accountEnabled"] = enabled
        via = _get(user, "assigned_via")
        if via:
            entry["assigned_via"] = str(via)
        yield entry


def accounts_from_org_users(
    users: Iterable[Any], roles: Mapping[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Org API users in the fixture-world account shape (every listed account is managed);
    `roles` (from `admin_roles_of`) marks admins `org_role` "admin"."""
    for user in users:
        account_id = str(_get(user, "account_id") or "")
        yield {
            "account_id": account_id,
            "email": _get(user, "email") or "",
            "name": _get(user, "name") or "",
            "status": str(_get(user, "account_status") or "").lower(),
            "managed": True,
            "org_role": "admin" if account_id in (roles or {}) else "member",
            "account_type": _get(user, "account_type") or "atlassian",
            "product_access": [
                {
                    "key": str(_get(p, "key") or ""),
                    "site": site_of(_get(p, "url"), str(_get(p, "key") or "")),
                    "last_active": _get(p, "last_active"),
                }
                for p in _get(user, "product_access") or []
            ],
            # Atlassian's own verdict: its "no" excludes (a policy the list does not name)
            "access_billable": _get(user, "access_billable"),
        }


def workspace_sites(workspaces: Iterable[Any]) -> dict[str, str]:
    """Workspace id -> the site it is on."""
    return {
        str(_get(w, "workspace_id") or ""): site_of(_get(w, "host_url"), str(_get(w, "key") or ""))
        for w in workspaces
    }


def _external_access(user: Any, sites: Mapping[str, str]) -> list[dict[str, Any]]:
    """A directory user's product access as fixture-world access entries: the site of a
    workspace the org lists, else `workspace <id>` (a site the org does not manage)."""
    return [
        {
            "key": key,
            "site": sites.get(workspace_id, f"workspace {workspace_id}"),
            "last_active": _day(last_active),
        }
        for workspace_id, key, last_active in _get(user, "product_access") or ()
    ]


def roles_and_externals(directory_users: Iterable[Any]) -> tuple[dict[str, str], list[Any]]:
    """One pass over the v2 directory users: the admins' roles (`admin_roles_of`) and the
    users the org does not manage (`claimStatus` unmanaged), kept whole for their access."""
    externals: list[Any] = []

    def members() -> Iterator[Any]:
        for user in directory_users:
            if _get(user, "claim_status") == "unmanaged":
                externals.append(user)
            yield user

    return admin_roles_of(members()), externals


def records_from_external_users(
    users: Iterable[Any], workspaces: Iterable[Any], *, first_line: int = 0
) -> Iterator[UserRecord]:
    """External users (from `roles_and_externals`) as records, after the managed ones."""
    sites = workspace_sites(workspaces)
    for n, user in enumerate(users, start=first_line + 1):
        products = tuple(
            ProductAccess(product_name(a["key"]), a["site"], a["last_active"] or NEVER)
            for a in _external_access(user, sites)
        )
        status = str(_get(user, "account_status") or "").lower()
        yield UserRecord(
            account_id=str(_get(user, "account_id") or ""),
            name=str(_get(user, "name") or ""),
            email=str(_get(user, "email") or ""),
            status=_STATUS.get(status, status),
            managed=False,
            products=products,
            org_role=admin_role(_get(user, "platform_roles")) or "member",
            account_type=str(_get(user, "account_type") or "atlassian"),
            line=n,
            external=True,
        )


def accounts_from_external_users(
    users: Iterable[Any], workspaces: Iterable[Any]
) -> Iterator[dict[str, Any]]:
    """External users in the fixture-world account shape (`managed` false, `external` true)."""
    sites = workspace_sites(workspaces)
    for user in users:
        yield {
            "account_id": str(_get(user, "account_id") or ""),
            "email": _get(user, "email") or "",
            "name": _get(user, "name") or "",
            "status": str(_get(user, "account_status") or "").lower(),
            "managed": False,
            "external": True,
            "org_role": "admin" if admin_role(_get(user, "platform_roles")) else "member",
            "account_type": _get(user, "account_type") or "atlassian",
            "product_access": external_access_entries(user, sites),
        }


def external_access_entries(user: Any, sites: Mapping[str, str]) -> list[dict[str, Any]]:
    """A directory user's product access as a fixture world writes it (dates as text)."""
    return [
        {**a, "last_active": a["last_active"].isoformat() if a["last_active"] else None}
        for a in _external_access(user, sites)
    ]


def external_policy_warning(count: int) -> str:
    """What a live figure cannot know about `count` billable external users."""
    return (
        f"{count} billable external user(s) read live: no Atlassian API names an external "
        "user's policy, so members of a non-billable external user policy count as billable "
        "here (the Directory export names the policy)"
    )
