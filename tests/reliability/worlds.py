"""Worlds for the reliability suites, and the facts two worlds are compared by.

A generated world (scimrecon.sim.generate) has the messiness of a real org, but the playbook's
cost grows with the org (every page of org users is read several times per run). So the crash
and fault suites keep the generator's targets, a slice of everyone else, and every record that
points at them: the same people and tickets, a fraction of the requests.
"""

from __future__ import annotations

import copy
from typing import Any

from scimrecon.sim.generate import generate_world, ungroup

#: Enough generated accounts that at least 50 are eligible reprovision targets (about 2.3 %).
GENERATED_ACCOUNTS = 2600


def _eligible(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Managed, active people whose only product is Trello, linked over SCIM, assigned in the IdP.

    Exactly the accounts the reprovision playbook's lookup accepts, so none of them is skipped.
    """
    linked = {u["account_id"] for u in world["scim_users"] if u.get("account_id") and u["active"]}
    assigned = {u["userName"].lower() for u in world["idp"]["users"] if u.get("assigned")}
    reporters = {i["reporter"] for i in world["jira"]["issues"]}
    return [
        a
        for a in world["accounts"]
        if a["managed"]
        and a["status"] == "active"
        and a["account_type"] == "atlassian"
        and a.get("org_role") != "admin"
        and [p["key"] for p in a["product_access"]] == ["trello"]
        and a["account_id"] in linked
        and a["account_id"] in reporters
        and a["email"].lower() in assigned
    ]


MEMBERS = 3  # targets that keep a group membership (see reprovision_world)


def reprovision_world(
    targets: int = 50, others: int = 60, *, seed: int = 7, cycle_seconds: float = 0.001
) -> tuple[dict[str, Any], list[str]]:
    """A generated world cut down to `targets` eligible people plus `others` bystanders.

    Returns the world and the target emails in world order. `cycle_seconds` is small so that the
    IdP's own cycle re-pushes users right after provisioning resumes: Entra's provisionOnDemand
    allows 5 calls per 10 s, which would otherwise make a 50-target run last 100 s.
    """
    world = generate_world(GENERATED_ACCOUNTS, seed)
    chosen = _eligible(world)[:targets]
    if len(chosen) < targets:
        raise AssertionError(f"the generated world has only {len(chosen)} eligible targets")
    chosen_ids = {a["account_id"] for a in chosen}
    bystanders = [a for a in world["accounts"] if a["account_id"] not in chosen_ids][:others]
    keep_ids = chosen_ids | {a["account_id"] for a in bystanders}
    accounts = [a for a in world["accounts"] if a["account_id"] in keep_ids]
    emails = {a["email"].lower() for a in accounts}
    scim_users = [
        u for u in world["scim_users"] if u.get("account_id") in keep_ids or u["userName"] in emails
    ]
    scim_ids = {u["id"] for u in scim_users}
    # Entra pushes a target's groups back on demand, 5 calls per 10 s: only the first few
    # targets keep their membership, so every run covers the group steps without minutes of
    # waiting; the others are in no group, in SCIM and in Entra alike
    ungroup(world, [a["email"] for a in chosen[MEMBERS:]])
    for group in world["groups"]:
        group["members"] = [m for m in group["members"] if m in scim_ids]
    issues = []
    for issue in world["jira"]["issues"]:
        if issue["reporter"] not in keep_ids:
            continue
        if issue.get("assignee") not in keep_ids:
            issue["assignee"] = None
        issues.append(issue)
    world["accounts"] = accounts
    world["scim_users"] = scim_users
    world["jira"]["issues"] = issues
    admin = next(a for a in bystanders if a["managed"] and a["status"] == "active")
    world["jira"]["email"] = admin["email"]
    world["idp"]["users"] = [u for u in world["idp"]["users"] if u["userName"].lower() in emails]
    world["idp"]["cycle_seconds"] = cycle_seconds
    return world, [a["email"] for a in chosen]


def plant_secrets(world: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """The same world with the four credentials replaced (keys: org, scim, jira, entra)."""
    doc = copy.deepcopy(world)
    doc["org"]["api_key"] = secrets["org"]
    for directory in doc["directories"]:
        directory["api_key"] = secrets["scim"]
    doc["jira"]["api_token"] = secrets["jira"]
    doc["idp"]["client_secret"] = secrets["entra"]
    return doc


def facts(world: dict[str, Any]) -> dict[str, Any]:
    """What must be equal after an interrupted and an uninterrupted run, keyed by email.

    Generated ids (new account ids, SCIM ids) and timestamps differ between two runs by design;
    who holds which email, in which state, linked to what and reporting which ticket must not.
    """
    email_of = {a["account_id"]: a["email"].lower() for a in world["accounts"]}
    accounts = {
        a["email"].lower(): {
            "status": a["status"],
            "managed": a["managed"],
            "products": sorted(p["key"] for p in a.get("product_access") or []),
        }
        for a in world["accounts"]
    }
    scim = {
        u["userName"].lower(): {
            "account": email_of.get(u.get("account_id") or "", u.get("account_id")),
            "active": u["active"],
        }
        for u in world["scim_users"]
    }
    issues = {
        i["key"]: {
            "reporter": email_of.get(i["reporter"], i["reporter"]),
            "assignee": email_of.get(i.get("assignee") or "", i.get("assignee")),
            "participants": sorted(email_of.get(p, p) for p in i.get("participants") or []),
        }
        for i in world["jira"]["issues"]
    }
    return {
        "accounts": accounts,
        "account_count": len(world["accounts"]),
        "scim": scim,
        "scim_count": len(world["scim_users"]),
        "issues": issues,
        "idp_job": world["idp"]["job"]["state"],
    }


def without_groups(world: dict[str, Any]) -> dict[str, Any]:
    """A world with nobody in a group: with Okta, pushing groups back is a person's job
    (tests/playbooks/test_okta.py), and runs in a subprocess have no person at a terminal."""
    return ungroup(world)
