"""Large, realistic, reproducible worlds for load tests and benchmarks.

Hand-written fixtures tell one story each; performance questions (does `analyze` stay fast at
100,000 users? does a playbook page through SCIM correctly?) need volume with the same messiness
as a real org: unmanaged accounts, leavers, never-used licences, Trello-only signups, unlinked
SCIM entries, unassigned IdP users. Everything comes from one `random.Random(seed)`, consumed in a
fixed order, so the same arguments always give byte-identical JSON and a failing run can be
reproduced from its command line alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random
from typing import Any

from scimrecon.recon.billable import world_billable
from scimrecon.sim.provisioning import group_object_id
from scimrecon.sim.world import gc_paused

AS_OF = date(2026, 11, 23)
DOMAIN = "acme.example"
OUTSIDE_DOMAINS = ("gmail.example", "outlook.example", "contractor.example")
LICENSED = ("jira-software", "confluence", "jira-servicedesk")
TIERS = (10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000, 35000, 50000, 100000, 150000)
FIRST = [
    "ada", "alan", "anna", "ben", "carla", "chen", "dana", "diego", "elif", "emma", "farah",
    "felix", "gina", "grace", "hana", "hugo", "ines", "ivan", "jana", "jonas", "kai",
    "kenji", "lara", "leila", "liam", "lucia", "maja", "mateo", "mei", "nils", "nora",
    "oscar", "paula", "pedro", "priya", "quinn", "rhea", "rosa", "sam", "sara", "sven",
    "tariq", "tessa", "uma", "vera", "wei", "xenia", "yara", "yusuf", "zoe"
]  # fmt: skip
LAST = [
    "alvarez", "becker", "berg", "brown", "chen", "clarke", "costa", "demir", "dubois",
    "ferri", "garcia", "haddad", "hansen", "hopper", "ivanova", "jimenez", "kapoor", "khan",
    "kowalski", "lambert", "larsen", "lindqvist", "martin", "mendes", "mensah", "moreau",
    "nilsson", "novak", "okafor", "petrov", "popova", "raman", "rossi", "santos", "schmidt",
    "sokolova", "tanaka", "torres", "turing", "wagner", "watanabe", "weber", "yilmaz",
    "zhang"
]  # fmt: skip
TOPICS = (
    "Cannot log in", "Laptop replacement", "Access request", "Password reset", "VPN drops",
    "New starter setup", "Licence request", "Printer offline",
)  # fmt: skip


class _Ids:
    """Opaque ids in the shapes the real systems use, all drawn from the one seeded stream."""

    def __init__(self, rng: Random) -> None:
        self._bits = rng.getrandbits

    def uuid(self) -> str:
        # A version-4, RFC 4122-variant UUID from 122 random bits, like Atlassian and Entra ids.
        n = self._bits(122)
        return "%08x-%04x-4%03x-%04x-%012x" % (  # noqa: UP031 - twice as fast as f-strings here
            n >> 90,
            (n >> 74) & 0xFFFF,
            (n >> 62) & 0xFFF,
            0x8000 | ((n >> 48) & 0x3FFF),
            n & 0xFFFFFFFFFFFF,
        )

    def account_id(self) -> str:
        if self._bits(2):
            return f"712020:{self.uuid()}"
        return f"{self._bits(96):024x}"


def _tier_for(billable: int) -> int:
    return next((t for t in TIERS if t >= billable), TIERS[-1])


def generate_world(accounts: int, seed: int) -> dict[str, Any]:
    """A valid world with `accounts` accounts; the same (accounts, seed) gives the same world."""
    if accounts < 0:
        raise ValueError("accounts must be >= 0")
    with gc_paused():
        return _generate(accounts, seed)


def _generate(accounts: int, seed: int) -> dict[str, Any]:
    rng = Random(seed)
    ids = _Ids(rng)
    rand = rng.random

    def below(n: int) -> int:
        # Random.randint dominated the profile at 100,000 accounts; this is 4x cheaper.
        return int(rand() * n)

    days = [(AS_OF - timedelta(days=d)).isoformat() for d in range(0, 8 * 366)]

    directory = ids.uuid()
    world: dict[str, Any] = {
        "description": f"generated: scimrecon sim generate --accounts {accounts} --seed {seed}",
        "org": {
            "id": ids.uuid(),
            "name": "Acme Corporation",
            "domains": [DOMAIN],
            "api_key": f"ATCTT3xFfGN0-sim-org-key-gen{seed}",
        },
        "directories": [
            {"id": directory, "name": "Entra ID", "api_key": f"ATCTT3xFfGN0-sim-scim-key-gen{seed}"}
        ],
        "sites": [
            {"name": "acme", "products": list(LICENSED)},
            {"name": "trello", "products": ["trello"]},
        ],
    }

    account_list: list[dict[str, Any]] = []
    scim_users: list[dict[str, Any]] = []
    idp_users: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    taken: dict[str, int] = {}
    trello_only: list[str] = []
    agents: list[str] = []
    reporters: list[str] = []

    for _ in range(accounts):
        first, last = FIRST[below(len(FIRST))], LAST[below(len(LAST))]
        app = rand() < 0.01
        local = f"svc-{last}-{first}" if app else f"{first}.{last}"
        count = taken.get(local, 0)
        taken[local] = count + 1
        if count:
            local = f"{local}{count + 1}"
        managed = app or rand() >= 0.06
        domain = DOMAIN if managed else OUTSIDE_DOMAINS[below(3)]
        roll = rand()
        status = "active" if roll < 0.93 else ("inactive" if roll < 0.98 else "closed")
        added_days = below(7 * 365 + 1)

        roll = rand()
        products: list[dict[str, Any]] = []
        if roll < 0.03 and managed and not app:
            kind = "trello-only"
            products.append({"key": "trello", "site": "trello", "last_active": days[below(201)]})
        elif roll < 0.11:
            kind = "none"
        else:
            kind = "licensed"
            for key in LICENSED:
                if key == "jira-software" or rand() < (0.7 if key == "confluence" else 0.15):
                    never = rand() < 0.05 or added_days == 0
                    last_seen = None if never else days[below(min(added_days, 500) + 1)]
                    products.append({"key": key, "site": "acme", "last_active": last_seen})
            if rand() < 0.08:
                products.append(
                    {"key": "trello", "site": "trello", "last_active": days[below(121)]}
                )

        name = f"{first.title()} {last.title()}"
        account = {
            "account_id": ids.account_id(),
            "email": f"{local}@{domain}",
            "name": f"svc-{last}-{first}" if app else name,
            "status": status,
            "managed": managed,
            "account_type": "app" if app else "atlassian",
            "added_to_org": days[added_days],
            "org_role": "admin" if rand() < 0.005 else "member",
            "product_access": products,
        }
        account_list.append(account)
        aid = account["account_id"]
        if kind == "trello-only" and status == "active":
            trello_only.append(aid)
        elif kind == "licensed" and status == "active" and not app:
            if any(p["key"] == "jira-servicedesk" for p in products):
                agents.append(aid)
            elif rand() < 0.1:
                reporters.append(aid)

        if not managed or app or status == "closed":
            continue
        # Managed people come from the IdP: active ones linked over SCIM, leavers mostly gone.
        roll = rand()
        object_id = ids.uuid()
        if status == "active" or roll < 0.2:
            unlinked = rand() < 0.003
            scim_users.append(
                {
                    "id": ids.uuid(),
                    "directory": directory,
                    "userName": account["email"],
                    "externalId": object_id,
                    "emails": [{"value": account["email"], "type": "work", "primary": True}],
                    "displayName": name,
                    "active": status == "active",
                    "account_id": None if unlinked else aid,
                }
            )
        if status == "active" or roll < 0.5:
            idp_users.append(
                {
                    "object_id": object_id,
                    "userName": account["email"],
                    "mail": account["email"],
                    "displayName": name,
                    "assigned": status == "active" and rand() >= 0.01,
                }
            )

    key = 0
    for aid in trello_only:
        for _ in range(1 + below(3)):
            key += 1
            assignee = agents[below(len(agents))] if agents else None
            issues.append(_issue(f"HELP-{key}", TOPICS[key % len(TOPICS)], aid, assignee))
    for aid in reporters:
        key += 1
        assignee = agents[below(len(agents))] if agents else None
        issues.append(_issue(f"HELP-{key}", TOPICS[key % len(TOPICS)], aid, assignee))

    world["accounts"] = account_list
    world["scim_users"] = scim_users
    world["groups"] = [
        {
            "id": ids.uuid(),
            "directory": directory,
            "displayName": "atlassian-users",
            "externalId": group_object_id("atlassian-users"),  # Entra pushes it
            "members": [u["id"] for u in scim_users if u["active"]],
        }
    ]
    # ... so its members hold it in Entra too
    in_group = {u["externalId"] for u in scim_users if u["active"]}
    for idp_user in idp_users:
        if idp_user["object_id"] in in_group:
            idp_user["groups"] = ["atlassian-users"]
    admin = next((a for a in account_list if a["managed"] and a["status"] == "active"), None)
    world["jira"] = {
        "site": "acme",
        "email": admin["email"] if admin else f"jira-admin@{DOMAIN}",
        "api_token": f"ATATT3xFfGF0-sim-jira-token-gen{seed}",
        "issues": issues,
    }
    world["idp"] = {
        "kind": "entra",
        "tenant": ids.uuid(),
        "client_id": ids.uuid(),
        "client_secret": f"sim~EntraClientSecret-gen{seed}",
        "service_principal": ids.uuid(),
        "job": {
            "id": f"AtlassianCloud.{ids.uuid().replace('-', '')}.{ids.uuid().replace('-', '')}",
            "state": "Active",
            "rule_id": ids.uuid(),
        },
        "cycle_seconds": 30,
        "users": idp_users,
    }
    billable = world_billable(world)
    world["billing"] = {"tier": _tier_for(billable), "price_per_user_month": 8.0, "cycle_day": 1}
    world["faults"] = {"seed": seed}
    return world


def ungroup(world: dict[str, Any], emails: Any = None) -> dict[str, Any]:
    """Take these people (all, when `emails` is None) out of every group, in the SCIM directory
    and in the IdP alike. Entra pushes a reprovisioned person's groups back on demand, 5 calls
    per 10 s: runs that measure or torture something else leave most targets in no group."""
    chosen = None if emails is None else {str(e).lower() for e in emails}

    def picked(name: Any) -> bool:
        return chosen is None or str(name).lower() in chosen

    out = {u["id"] for u in world["scim_users"] if picked(u["userName"])}
    for group in world["groups"]:
        group["members"] = [m for m in group["members"] if m not in out]
    for user in (world.get("idp") or {}).get("users") or []:
        if picked(user["userName"]):
            user.pop("groups", None)
    return world


def _issue(key: str, summary: str, reporter: str, assignee: str | None) -> dict[str, Any]:
    return {
        "key": key,
        "project": "HELP",
        "summary": summary,
        "reporter": reporter,
        "assignee": assignee,
        "participants": [],
    }


__all__ = ["AS_OF", "generate_world", "ungroup"]
