"""A fixture world built from a customer's user export, for `scimrecon sim world-from-export`.

A support engineer who receives an export wants to replay the customer's playbook on the
simulator without writing a world by hand. The export says who exists, their status and product
access; it does not say what the SCIM directory or the IdP hold. So this module *infers* the
rest the way a typical SCIM-provisioned org looks — every active managed account is linked to a
SCIM entry and assigned in the IdP — and returns the list of inferences with the world, so the
engineer can see (and edit) every assumption before trusting a replay.

Everything generated (ids, fake keys) is derived from the export's own values with uuid5, so the
same export gives the same world byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scimrecon.recon.billable import account_is_billable
from scimrecon.recon.model import NEVER, UserRecord
from scimrecon.sim.world_parts import IDP_KINDS, fake_idp, fake_key, sites_of, smallest_tier
from scimrecon.sim.world_parts import uid as _uid

_JIRA_PRODUCTS = ("jira-software", "jira-servicedesk", "jira-core")


@dataclass
class BuiltWorld:
    world: dict[str, Any]
    inferred: list[str] = field(default_factory=list)


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _status(record: UserRecord) -> tuple[str, bool]:
    """World status, and whether the export's product access is suspended."""
    if record.status == "suspended":
        return "active", True
    if record.status in ("inactive", "closed"):
        return record.status, False
    return "active", False


def _access(record: UserRecord) -> list[dict[str, Any]]:
    out = []
    for p in record.products:
        entry: dict[str, Any] = {"key": p.key, "site": p.site or "unknown"}
        if p.last_seen is not None and p.last_seen != NEVER:
            entry["last_active"] = p.last_seen.isoformat()  # type: ignore[union-attr]
        out.append(entry)
    return out


def world_from_records(
    records: Iterable[UserRecord],
    *,
    domains: Sequence[str] = (),
    idp_kind: str = "entra",
    issues: Sequence[Mapping[str, Any]] = (),
    org_name: str | None = None,
    price: float = 8.0,
) -> BuiltWorld:
    """Build a world (valid under world.schema.json) and say what was inferred."""
    users = list(records)
    inferred: list[str] = []
    doms = sorted({d.lower() for d in domains})
    if not doms:
        managed_domains = sorted({_domain(u.email) for u in users if u.managed and u.email})
        doms = managed_domains or ["example.invalid"]
        inferred.append(
            f"verified domains: {', '.join(doms)} (the domains of managed accounts; "
            "pass --domain to say otherwise)"
        )
    seed = doms[0]
    directory_id = _uid(seed, "directory")
    accounts: list[dict[str, Any]] = []
    scim_users: list[dict[str, Any]] = []
    idp_users: list[dict[str, Any]] = []
    for n, u in enumerate(users, start=1):
        account_id = u.account_id or _uid(seed, "account", u.email.lower())
        status, suspended = _status(u)
        access = _access(u)
        account: dict[str, Any] = {
            "account_id": account_id,
            "email": u.email,
            "name": u.name or u.email.partition("@")[0],
            "status": status,
            "managed": bool(u.managed),
            "account_type": u.account_type
            if u.account_type in ("app", "customer")
            else "atlassian",
            "org_role": "admin" if u.is_admin else "member",
            "product_access": [] if suspended else access,
        }
        if suspended:
            account["suspended_access"] = access
        if u.added_to_org is not None:
            account["added_to_org"] = u.added_to_org.isoformat()
        accounts.append(account)
        # Inferred: an active managed person (not a bot) is provisioned by the IdP.
        if u.managed and status == "active" and account["account_type"] == "atlassian":
            object_id = _uid(seed, "idp", u.email.lower())
            scim_users.append(
                {
                    "id": _uid(seed, "scim", u.email.lower()),
                    "directory": directory_id,
                    "userName": u.email,
                    "externalId": object_id,
                    "emails": [{"value": u.email, "type": "work", "primary": True}],
                    "displayName": account["name"],
                    "active": True,
                    "account_id": account_id,
                }
            )
            idp_users.append(
                {
                    "object_id": object_id,
                    "userName": u.email,
                    "mail": u.email,
                    "displayName": account["name"],
                    "assigned": True,
                }
            )
        if not u.account_id:
            inferred.append(f"line {u.line or n}: no account id; generated {account_id}")
    if scim_users:
        inferred.append(
            f"{len(scim_users)} active managed accounts linked to SCIM entries and assigned "
            f"to the app in the IdP ({idp_kind}); the export does not say who the IdP provisions"
        )
    billable = sum(1 for a in accounts if account_is_billable(a))
    tier = smallest_tier(billable)
    sites = sites_of(accounts)
    inferred.append(f"billing tier {tier} (the smallest standard tier over {billable} billable)")
    jira_site = next((s["name"] for s in sites if set(s["products"]) & set(_JIRA_PRODUCTS)), None)
    world: dict[str, Any] = {
        "org": {
            "id": _uid(seed, "org"),
            "name": org_name or seed,
            "domains": doms,
            "api_key": fake_key(seed, "org-key"),
        },
        "directories": [
            {
                "id": directory_id,
                "name": idp_kind.capitalize(),
                "api_key": fake_key(seed, "scim-key"),
            }
        ],
        "sites": sites,
        "accounts": accounts,
        "scim_users": scim_users,
        "groups": [],
        "idp": fake_idp(idp_kind, seed, idp_users),
        "billing": {"tier": tier, "price_per_user_month": price, "cycle_day": 1},
        "faults": {"seed": 1},
    }
    if jira_site is not None or issues:
        admin = next((a["email"] for a in accounts if a["org_role"] == "admin"), None)
        world["jira"] = {
            "site": jira_site or "jira",
            "email": admin or f"admin@{seed}",
            "api_token": f"sim-jira-token-{_uid(seed, 'jira')[:8]}",
            "issues": [dict(i) for i in issues],
        }
        if not issues:
            inferred.append(f"Jira site {jira_site!r} with no issues (pass --issues FILE)")
    return BuiltWorld(world=world, inferred=inferred)


__all__ = ["IDP_KINDS", "BuiltWorld", "world_from_records"]
