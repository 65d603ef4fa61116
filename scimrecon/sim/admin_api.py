"""Atlassian org-level APIs (org API key): provisioning admin, user management, organizations.

These are the calls a remediation playbook makes around the SCIM ones: find SCIM links for an
email, drop only the SCIM record, change an account's email (verified domain, unused address),
disable/enable an account, list org users with their billable state and last-active dates.
Suspend and restore are v2 directory calls (sim/orgs_v2_api.py); the v1 endpoints Atlassian
retired after 30 June 2026 answer 404 here, as they do there.
Billability comes from `recon.billable`, the one rule both the product and the simulator use.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from scimrecon.identity import email_syntax_problem
from scimrecon.recon.billable import account_is_billable
from scimrecon.recon.model import product_name  # the one table: pure recon
from scimrecon.sim.context import Ctx
from scimrecon.sim.store import Record, Store
from scimrecon.sim.web import ApiError, Reply, Router, json_object

PAGE = 100
PROVISIONING = "/atlassian/admin/user-provisioning/v1/org/{org_id}"
ORGS = "/atlassian/admin/v1/orgs/{org_id}"
MANAGE = "/atlassian/users/{account_id}/manage"


def register(router: Router) -> None:
    router.add("POST", f"{PROVISIONING}/get-scim-links-for-email", scim_links_for_email)
    router.add("GET", f"{PROVISIONING}/user/{{account_id}}/get-scim-links", scim_links_for_account)
    router.add(
        "DELETE", f"{PROVISIONING}/user/{{account_id}}/onlyDeleteUserInDB", only_delete_in_db
    )
    router.add("GET", f"{MANAGE}/profile", get_profile)
    router.add("PUT", f"{MANAGE}/email", put_email)
    router.add("POST", f"{MANAGE}/lifecycle/disable", disable)
    router.add("POST", f"{MANAGE}/lifecycle/enable", enable)
    router.add("GET", f"{ORGS}/users", list_org_users)
    router.add("GET", f"{ORGS}/directory/users/{{account_id}}/last-active-dates", last_active_dates)
    for method, path in RETIRED_V1:
        router.add(method, f"{ORGS}{path}", retired)


# Cloud Admin changelog (developer.atlassian.com/cloud/admin/changelog): these v1 APIs "will
# stop working after June 30, 2026"; the v2 directory APIs replace them (sim/orgs_v2_api.py).
RETIRED_V1: tuple[tuple[str, str], ...] = (
    ("POST", "/users/search"),
    ("POST", "/directory/users/{account_id}/suspend-access"),
    ("POST", "/directory/users/{account_id}/restore-access"),
    ("DELETE", "/directory/users/{account_id}"),
    ("POST", "/groups/search"),
    ("POST", "/directory/groups"),
    ("DELETE", "/directory/groups/{group_id}"),
    ("POST", "/directory/groups/{group_id}/roles/assign"),
    ("POST", "/directory/groups/{group_id}/roles/revoke"),
    ("POST", "/directory/groups/{group_id}/memberships"),
    ("DELETE", "/directory/groups/{group_id}/memberships/{account_id}"),
)


def retired(ctx: Ctx, **_: str) -> Reply:
    """A retired endpoint answers as a missing one does: 404 in the API's error shape."""
    raise ApiError(
        404,
        f"{ctx.request.method} {ctx.request.path.removeprefix('/atlassian/admin')} was retired "
        "after 30 June 2026; use the v2 directory APIs (/v2/orgs/{orgId}/directories/...)",
        code="NOT_FOUND",
    )


def _org(ctx: Ctx, org_id: str) -> None:
    if ctx.store.org.get("id") != org_id:
        raise ApiError(404, f"organization {org_id} not found", code="NOT_FOUND")


def _account_or_404(store: Store, account_id: str) -> Record:
    account = store.account(account_id)
    if account is None:
        raise ApiError(404, f"account {account_id} not found", code="NOT_FOUND")
    return account


def _managed_or_403(store: Store, account_id: str) -> Record:
    """The user management API changes managed accounts only; anything else is refused with
    which account and why (`forbidden.action`, reason `managedAccount`)."""
    account = _account_or_404(store, account_id)
    if not account.get("managed"):
        raise _forbidden(
            f"account {account_id} is not a managed account of this organization: "
            "only managed accounts can be changed",
            "managedAccount",
        )
    return account


def _forbidden(detail: str, reason: str) -> ApiError:
    """The user management API's refusal: `forbidden.action` with why (docs/fidelity.md UM-4)."""
    return ApiError(
        403, detail, code="forbidden.action", context={"allowed": False, "reason": {"key": reason}}
    )


# -- provisioning admin -----------------------------------------------------------------------


def _link(store: Store, record: Record) -> dict[str, Any]:
    return {
        "scimUserId": record["id"],
        "atlassianAccountId": record.get("account_id"),
        "orgId": store.org.get("id"),
        "directoryId": record.get("directory"),
    }


def scim_links_for_email(ctx: Ctx, org_id: str) -> Reply:
    """Links of the account holding the email, plus SCIM entries whose email is that address."""
    _org(ctx, org_id)
    email = json_object(ctx.request).get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ApiError(400, "email is required", code="INVALID_EMAIL")
    found: list[Record] = []
    holder = ctx.store.account_by_email(email)
    if holder is not None:
        found.extend(ctx.store.scim_links(holder["account_id"]))
    for record in ctx.store.scim_users_with_email(email):
        if record not in found:
            found.append(record)
    return Reply(200, {"scimLinks": [_link(ctx.store, r) for r in found]})


def scim_links_for_account(ctx: Ctx, org_id: str, account_id: str) -> Reply:
    _org(ctx, org_id)
    _account_or_404(ctx.store, account_id)
    return Reply(
        200, {"scimLinks": [_link(ctx.store, r) for r in ctx.store.scim_links(account_id)]}
    )


def only_delete_in_db(ctx: Ctx, org_id: str, account_id: str) -> Reply:
    """Remove only the SCIM record(s): the account keeps its status and access. Documented as
    working "only ... for managed users"; for any other account the status of the refusal is
    docs silent, so the simulator answers 403 and removes nothing (the cautious reading)."""
    _org(ctx, org_id)
    account = _account_or_404(ctx.store, account_id)
    if not account.get("managed"):
        raise ApiError(
            403,
            f"account {account_id} is not a managed account of this organization: "
            "onlyDeleteUserInDB works for managed users only",
            code="FORBIDDEN",
        )
    links = ctx.store.scim_links(account_id)
    if not links:
        raise ApiError(404, f"account {account_id} has no SCIM link", code="NOT_FOUND")
    for record in links:
        ctx.store.remove_scim_user(record)
    return Reply(204)


# -- user management --------------------------------------------------------------------------


def _local_or_403(store: Store, account_id: str) -> Record:
    """A managed account the organization may change itself: one no SCIM directory holds.

    Atlassian's user management errors name the reason `externalDirectory.scim` ("restricted
    because the user is managed by an external SCIM directory", docs/fidelity.md UM-4), and
    removing the SCIM entry is what lets an account be "managed locally" (UM-6). The documents
    do not list which calls refuse a linked account, so every write here does (the cautious
    reading). The directory's own way is SCIM (`PATCH active`), or removing the entry first.
    """
    account = _managed_or_403(store, account_id)
    if store.scim_links(account_id):
        raise _forbidden(
            f"account {account_id} is managed by an external SCIM directory: change it in the "
            "identity provider, or remove its SCIM entry first",
            "externalDirectory.scim",
        )
    return account


def get_profile(ctx: Ctx, account_id: str) -> Reply:
    account = _managed_or_403(ctx.store, account_id)
    return Reply(
        200,
        {
            "account": {
                "account_id": account["account_id"],
                "name": account.get("name"),
                "email": account.get("email"),
                "account_type": account.get("account_type", "atlassian"),
                "account_status": account.get("status"),
            }
        },
    )


def put_email(ctx: Ctx, account_id: str) -> Reply:
    """Change the address: verified domain, not used by anyone else; ends the user's sessions."""
    account = _local_or_403(ctx.store, account_id)
    email = json_object(ctx.request).get("email")
    # The real API answers 400 "a field violated its constraints" for a malformed address
    # (`<class 'str'>@acme.example` among them); the syntax rule is scimrecon.identity's.
    problem = email_syntax_problem(email) if isinstance(email, str) else "not a string"
    if problem is not None:
        raise ApiError(400, f"email must be a valid email address: {problem}", code="INVALID_EMAIL")
    if not ctx.store.is_verified_email(email):
        raise ApiError(
            400,
            f"{email.split('@')[1]} is not a verified domain of this organization",
            code="DOMAIN_NOT_VERIFIED",
        )
    holder = ctx.store.account_by_email(email)
    if holder is not None and holder is not account:
        raise ApiError(400, f"{email} is already used by another account", code="EMAIL_IN_USE")
    with ctx.store.editing("accounts", account):
        account["email"] = email
    return Reply(204)


def disable(ctx: Ctx, account_id: str) -> Reply:
    account = _local_or_403(ctx.store, account_id)
    body = ctx.request.get_data(cache=True)
    if body:
        message = json_object(ctx.request).get("message")
        if message is not None and not isinstance(message, str):
            raise ApiError(400, "message must be a string", code="INVALID_REQUEST")
    if account.get("status") == "closed":
        raise ApiError(400, f"account {account_id} is closed", code="ACCOUNT_CLOSED")
    account["status"] = "inactive"
    return Reply(204)


def enable(ctx: Ctx, account_id: str) -> Reply:
    account = _local_or_403(ctx.store, account_id)
    if account.get("status") == "closed":
        raise ApiError(400, f"account {account_id} is closed", code="ACCOUNT_CLOSED")
    account["status"] = "active"
    return Reply(204)


# -- organizations ----------------------------------------------------------------------------


def reported_last_active(store: Store, entry: dict[str, Any]) -> Any:
    """`last_active` as the API reports it: "the data for the last activity may be delayed by
    up to 24 hours" (Organizations REST API, User's last active dates). With
    `org.activity_lag_hours` set, a use newer than that is not visible yet: the entry shows its
    `previous_last_active` (null when there was none: a first use not seen yet)."""
    value = entry.get("last_active")
    lag = float(store.org.get("activity_lag_hours") or 0)
    if not value or lag <= 0:
        return value
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if when > store.now() - dt.timedelta(hours=lag):
        return entry.get("previous_last_active")
    return value


def _product(entry: dict[str, Any], store: Store) -> dict[str, Any]:
    key = str(entry.get("key"))
    site = entry.get("site")
    url = (
        "https://trello.com"
        if key == "trello"
        else (f"https://{site}.atlassian.net" if site else None)
    )
    out: dict[str, Any] = {"key": key, "name": product_name(key)}
    if url:
        out["url"] = url
    out["last_active"] = reported_last_active(store, entry)
    return out


def org_user(account: Record, store: Store) -> dict[str, Any]:
    """An account as an item of GET /admin/v1/orgs/{orgId}/users."""
    access = account.get("product_access") or []
    products = [_product(p, store) for p in access]
    dates = [str(p["last_active"]) for p in products if p.get("last_active")]
    return {
        "account_id": account["account_id"],
        "account_type": account.get("account_type", "atlassian"),
        "account_status": account.get("status"),
        "name": account.get("name"),
        "email": account.get("email"),
        "access_billable": account_is_billable(account),
        "last_active": max(dates) if dates else None,
        "product_access": products,
    }


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "offset":
            raise ValueError(cursor)
        return max(int(number), 0)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, f"invalid cursor {cursor!r}", code="INVALID_CURSOR") from exc


def list_org_users(ctx: Ctx, org_id: str) -> Reply:
    """Managed accounts, 100 a page; `links.next` is absent on the last page."""
    _org(ctx, org_id)
    cursor = ctx.arg("cursor")
    offset = _offset(cursor) if cursor else 0
    managed = [a for a in ctx.store.accounts() if a.get("managed")]
    page = managed[offset : offset + PAGE]
    links: dict[str, str] = {
        "self": f"{ctx.request.host_url.rstrip('/')}/atlassian/admin/v1/orgs/{org_id}/users"
        + (f"?cursor={cursor}" if cursor else "")
    }
    if offset + PAGE < len(managed):
        base = f"{ctx.request.host_url.rstrip('/')}/atlassian/admin/v1/orgs/{org_id}/users"
        links["next"] = f"{base}?cursor={_cursor(offset + PAGE)}"
    return Reply(200, {"data": [org_user(a, ctx.store) for a in page], "links": links})


def last_active_dates(ctx: Ctx, org_id: str, account_id: str) -> Reply:
    _org(ctx, org_id)
    account = _managed_or_403(ctx.store, account_id)
    access = [
        {"key": p.get("key"), "last_active": reported_last_active(ctx.store, p)}
        for p in account.get("product_access") or []
    ]
    return Reply(
        200,
        {
            "data": {"product_access": access, "added_to_org": account.get("added_to_org")},
            "links": {},
        },
    )
