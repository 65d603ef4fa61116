"""The handful of numbers that tell a person which world they are looking at.

`sim check` prints them, and the fixture tests pin them, so a fixture that drifts from its
story (one Trello-only user too many) fails loudly. Billable comes from the one rule in
`scimrecon.recon.billable`, never a local copy, so these numbers match `analyze`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimrecon.recon.billable import world_billable

# The keys of `sim check --format json`, in this order; add keys, never rename or drop one.
SUMMARY_KEYS = (
    "accounts",
    "managed",
    "active",
    "billable",
    "scim_users",
    "linked_scim_users",
    "idp_users",
    "issues",
    "directories",
    "idp_kind",
    "tier",
)


def summarize(world: Mapping[str, Any]) -> dict[str, Any]:
    """Counts over a (valid) world: accounts, managed, active, billable, SCIM, IdP, issues.

    `idp_users` counts users *assigned* to the Atlassian app (the ones provisioning pushes);
    `linked_scim_users` counts SCIM entries that point at an account.
    """
    accounts = world.get("accounts") or []
    scim_users = world.get("scim_users") or []
    idp = world.get("idp") or {}
    jira = world.get("jira") or {}
    billing = world.get("billing") or {}
    return {
        "accounts": len(accounts),
        "managed": sum(1 for a in accounts if a.get("managed") is True),
        "active": sum(1 for a in accounts if a.get("status") == "active"),
        "billable": world_billable(world),
        "scim_users": len(scim_users),
        "linked_scim_users": sum(1 for u in scim_users if u.get("account_id")),
        "idp_users": sum(1 for u in idp.get("users") or [] if u.get("assigned") is True),
        "issues": len(jira.get("issues") or []),
        "directories": len(world.get("directories") or []),
        "idp_kind": idp.get("kind"),
        "tier": billing.get("tier"),
    }


__all__ = ["SUMMARY_KEYS", "summarize"]
