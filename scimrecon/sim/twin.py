"""A fixture world from a capture of a live org (`sim capture`): the org's *twin*.

A rehearsal is only evidence if the twin answers every read a playbook makes the way the live
org did, so the twin keeps every id the APIs showed (org, directories, accounts, SCIM users and
groups, IdP objects, the synchronization job and its rule, issue keys): a plan made on the twin
then fingerprints exactly like a plan made on the org at capture time. Only the keys are made up
(`world_parts`): a twin never holds a real secret.

What the APIs do not show is inferred cautiously and listed in `inferred`, like
`world-from-export` does, so nobody trusts a replay more than it deserves.
"""

from __future__ import annotations

from typing import Any

from scimrecon.recon.billable import account_is_billable, world_billable
from scimrecon.recon.live import external_access_entries, workspace_sites
from scimrecon.recon.roles import ORG_ADMIN
from scimrecon.sim.from_export import BuiltWorld
from scimrecon.sim.world_parts import fake_idp, fake_key, sites_of, smallest_tier, uid

#: The policy a captured account gets when Atlassian says it is not billable though it has
#: product access (a non-billable authentication policy the APIs do not name).
NOT_BILLABLE_POLICY = {"name": "not billable (as captured)", "billable": False}
_STATUS = {"deactivated": "inactive", "suspended": "active"}


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _account(
    user: dict[str, Any],
    v1: dict[str, Any] | None,
    several: bool,
    sites: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One world account from its v2 directory user and (managed accounts) its v1 entry; an
    unmanaged account's products from the directory user's own, placed on sites through the
    captured workspaces (`sites`; None for a capture made before they were read)."""
    status = str(user.get("account_status") or (v1 or {}).get("status") or "active").lower()
    roles = [str(r) for r in user.get("platform_roles") or ()]
    account: dict[str, Any] = {
        "account_id": str(user["account_id"]),
        "email": user.get("email") or (v1 or {}).get("email") or "",
        "name": user.get("name") or (v1 or {}).get("name") or "",
        "status": _STATUS.get(status, status),
        "managed": user.get("claim_status") == "managed" or v1 is not None,
        "account_type": user.get("account_type") or (v1 or {}).get("account_type") or "atlassian",
        "org_role": "admin" if ORG_ADMIN in roles else "member",
        "product_access": [dict(p) for p in (v1 or {}).get("product_access") or []],
    }
    if not account["managed"] and sites is not None:
        # the v2 search's own answer, as `analyze --live` reads it (decision 115: an
        # unmanaged account with access to the org's apps is an external user)
        account["external"] = True
        account["product_access"] = external_access_entries(user, sites)
    extra = [r for r in roles if r != ORG_ADMIN]
    if extra:
        account["platform_roles"] = extra
    if user.get("added_to_org"):
        account["added_to_org"] = str(user["added_to_org"])[:10]
    if several:
        account["user_directory"] = str(user["directory"])
    if user.get("membership_status") == "suspended":
        account["suspended_access"] = []  # what it had is not readable: present = suspended
    if v1 is not None and v1.get("last_active"):
        account["last_active"] = v1["last_active"]
    if v1 is not None and v1.get("access_billable") is False and account_is_billable(account):
        account["policy"] = dict(NOT_BILLABLE_POLICY)
    return account


def _accounts(capture: dict[str, Any], inferred: list[str]) -> list[dict[str, Any]]:
    v1 = {str(a["account_id"]): a for a in capture["org_users"]}
    listed = capture["directory"]["users"]
    several = len(capture["directory"]["directories"]) > 1
    captured = capture.get("workspaces")
    sites = workspace_sites(captured) if captured is not None else None
    accounts: dict[str, dict[str, Any]] = {}
    for user in listed:
        account_id = str(user["account_id"])
        if account_id not in accounts:
            accounts[account_id] = _account(user, v1.get(account_id), several, sites)
    for account_id, entry in v1.items():  # managed, but in no directory the key can list
        if account_id not in accounts:
            accounts[account_id] = _account({"account_id": account_id}, entry, False)
    unmanaged = sum(1 for a in accounts.values() if not a["managed"])
    if unmanaged and sites is None:
        inferred.append(
            f"{unmanaged} unmanaged account(s) without product access: the capture holds no "
            "workspaces to place an unmanaged account's products on sites (capture it again)"
        )
    return list(accounts.values())


def _placeholder(account_id: str, why: str) -> dict[str, Any]:
    """An account an issue or SCIM entry names but no org API lists (a JSM customer, someone
    outside the org): unmanaged, so it is never billable and never a target."""
    return {
        "account_id": account_id,
        "email": f"{uid('placeholder', account_id)[:13]}@placeholder.invalid",
        "name": f"(not in the org: {why})",
        "status": "active",
        "managed": False,
        "account_type": "customer" if why == "Jira" else "atlassian",
        "product_access": [],
    }


def _idp_users_from_scim(scim_users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An IdP without a user API (manual) or read through its app only (Okta): its people are
    the SCIM directory's, each assigned while its entry is active."""
    return [
        {
            "object_id": str(u.get("externalId") or uid("idp", u["id"])),
            "userName": u["userName"],
            "mail": next((e["value"] for e in u.get("emails") or []), u["userName"]),
            "displayName": u.get("displayName") or u["userName"],
            "assigned": bool(u.get("active")),
        }
        for u in scim_users
    ]


def _idp(capture: dict[str, Any], seed: str, scim_users: list[dict[str, Any]]) -> dict[str, Any]:
    read = capture["idp"]
    if read["kind"] == "entra":
        idp = fake_idp("entra", seed, read["users"])
        idp.update(
            tenant=read["tenant"] or idp["tenant"],
            client_id=read["client_id"] or idp["client_id"],
            service_principal=read["service_principal"],
        )
        job = {k: v for k, v in read["job"].items() if v}
        idp["job"] = {**idp["job"], **job}
        return idp
    idp = fake_idp(read["kind"], seed, _idp_users_from_scim(scim_users))
    if read["kind"] == "okta":
        host = str(read.get("url") or "").split("//", 1)[-1].split("/", 1)[0]
        features = {k: v for k, v in read["features"].items() if v}
        idp["okta"].update(app_id=read["app_id"], features=features)
        if host:
            idp["okta"]["domain"] = idp["tenant"] = host
    return idp


def _idp_memberships(world: dict[str, Any]) -> int:
    """Give IdP users the groups (`groups`) their SCIM entries are in, for the groups the IdP
    pushes: with Entra only those carrying its objectId as externalId (a group made in
    Atlassian is not Entra's to push back); how many memberships that made."""
    idp = world["idp"]
    entra = idp.get("kind") == "entra"
    by_id = {u["object_id"]: u for u in idp.get("users") or []}
    by_name = {str(u["userName"]).lower(): u for u in idp.get("users") or []}
    entries = {u["id"]: u for u in world["scim_users"]}
    count = 0
    for group in world["groups"]:
        if entra and not group.get("externalId"):
            continue
        for member in group["members"]:
            entry = entries.get(member) or {}
            user = by_id.get(str(entry.get("externalId"))) or by_name.get(
                str(entry.get("userName")).lower()
            )
            if user is not None and group["displayName"] not in user.setdefault("groups", []):
                user["groups"].append(group["displayName"])
                count += 1
    return count


def world_from_capture(capture: dict[str, Any]) -> BuiltWorld:
    """The twin (valid under world.schema.json) and the list of what was inferred."""
    inferred: list[str] = []
    org_read = capture["org"]
    accounts = _accounts(capture, inferred)
    known = {a["account_id"] for a in accounts}
    managed = {_domain(a["email"]) for a in accounts if a["managed"] and a["email"]}
    domains = sorted({d.lower() for d in org_read["domains"]} | managed) or ["example.invalid"]
    seed = str(org_read["id"])
    scim = capture.get("scim")
    scim_users: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    directories: list[dict[str, Any]] = []
    if scim is not None:
        directory = str(scim["directory_id"])
        directories.append(
            {"id": directory, "name": "SCIM directory", "api_key": fake_key(seed, "scim-key")}
        )
        for entry in scim["users"]:
            linked = entry.get("account_id")
            if linked and linked not in known:
                accounts.append(_placeholder(linked, "SCIM"))
                known.add(linked)
            scim_users.append({**entry, "directory": directory})
        ids = {u["id"] for u in scim_users}
        for group in scim["groups"]:
            members = [m for m in group["members"] if m in ids]
            kept = {k: v for k, v in group.items() if v is not None and k != "members"}
            groups.append({**kept, "directory": directory, "members": members})
    world: dict[str, Any] = {
        "description": f"twin of org {seed}, captured {capture['captured_at']}",
        "as_of": str(capture["captured_at"])[:10],
        # when the reads were made: a plan made on the twin was made, in effect, then
        "x-captured-at": capture["captured_at"],
        # whose Jira issues the twin holds: a rehearsal for anyone else predicts no tickets
        "x-captured-issues": {
            "query": capture.get("issues_query"),
            "accounts": capture.get("issues_for"),
        },
        "org": {
            "id": seed,
            "name": f"twin of {seed}",
            "domains": domains,
            "api_key": fake_key(seed, "org-key"),
            "user_directories": [
                {"id": d["directory_id"], "name": d["name"] or d["directory_id"]}
                for d in capture["directory"]["directories"]
            ],
        },
        "directories": directories,
        "accounts": accounts,
        "scim_users": scim_users,
        "groups": groups,
        "faults": {"seed": 1},
    }
    if capture.get("idp") is not None:
        world["idp"] = _idp(capture, seed, scim_users)
        if directories:
            world["idp"]["directory"] = directories[0]["id"]
        held = _idp_memberships(world)
        if held:
            inferred.append(
                f"{held} IdP group membership(s): the IdP is taken to hold every member of the "
                "SCIM groups it pushes (Entra: those with an externalId), so a reprovision's "
                "group push brings them back; IdP group members are not read"
            )
    jira = capture.get("jira")
    if jira is not None:
        issues = [dict(i) for i in capture.get("issues") or []]
        for issue in issues:
            for who in [issue.get("reporter"), issue.get("assignee"), *issue["participants"]]:
                if who and who not in known:
                    accounts.append(_placeholder(who, "Jira"))
                    known.add(who)
        world["jira"] = {
            "site": jira["site"],
            "email": jira["email"],
            "api_token": fake_key(seed, "jira-token"),
            "issues": issues,
        }
    placeholders = sum(1 for a in accounts if a["email"].endswith("@placeholder.invalid"))
    if placeholders:
        inferred.append(
            f"{placeholders} account(s) named by a SCIM entry or an issue but listed by no org "
            "API: added as unmanaged placeholders"
        )
    world["sites"] = _sites(accounts, org_read["sites"])
    billable = world_billable(world)
    billing = dict(capture.get("billing") or {})
    if "tier" not in billing:
        billing["tier"] = smallest_tier(billable)
        inferred.append(
            f"billing tier {billing['tier']} (the smallest standard tier over {billable} "
            "billable; set [billing].tier in the profile to say otherwise)"
        )
    world["billing"] = {"price_per_user_month": 8.0, "cycle_day": 1, **billing}
    return BuiltWorld(world=world, inferred=inferred)


def _sites(accounts: list[dict[str, Any]], managed_sites: list[str]) -> list[dict[str, Any]]:
    """The profile's sites (those the org manages) with the products seen on them; without a
    list in the profile, every site seen (as `world-from-export` does)."""
    seen = sites_of(accounts)
    if not managed_sites:
        return seen
    products = {s["name"]: s["products"] for s in seen}
    return [{"name": s, "products": products.get(s, [])} for s in managed_sites]


__all__ = ["NOT_BILLABLE_POLICY", "world_from_capture"]
