"""What a run changed in a world: the comparison of two snapshots (`rehearse` prints it).

The rehearsal's prediction is read off the simulator's world, not off the run's own report: a
step that says "done" but changed the wrong account shows up here as what it really did. The
same function, applied to a real run on the source world, gives the outcome the prediction is
checked against (tests), so "predicted equals real" compares like with like.

People are named by email (created accounts have ids the simulator makes up); account ids are
kept beside them for the ones that existed before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimrecon.recon.billable import world_billable

_TICKET_FIELDS = ("reporter", "assignee")


def _by(items: Any, key: str) -> dict[str, Mapping[str, Any]]:
    return {str(i[key]): i for i in items or []}


def _accounts(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    old, new = _by(before.get("accounts"), "account_id"), _by(after.get("accounts"), "account_id")
    created = [
        {"account_id": k, "email": a["email"], "status": a["status"]}
        for k, a in new.items()
        if k not in old
    ]
    disabled, enabled, emails, suspended, restored = [], [], [], [], []
    for k, a in new.items():
        b = old.get(k)
        if b is None:
            continue
        if b["status"] == "active" and a["status"] != "active":
            disabled.append({"account_id": k, "email": a["email"], "status": a["status"]})
        elif b["status"] != "active" and a["status"] == "active":
            enabled.append({"account_id": k, "email": a["email"]})
        if b["email"] != a["email"]:
            emails.append({"account_id": k, "from": b["email"], "to": a["email"]})
        if "suspended_access" not in b and "suspended_access" in a:
            suspended.append({"account_id": k, "email": a["email"]})
        elif "suspended_access" in b and "suspended_access" not in a:
            restored.append({"account_id": k, "email": a["email"]})
    return {
        "accounts_created": created,
        "accounts_disabled": disabled,
        "accounts_enabled": enabled,
        "emails_moved": emails,
        "access_suspended": suspended,
        "access_restored": restored,
    }


def _email_of(*worlds: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for world in worlds:
        for a in world.get("accounts") or []:
            out.setdefault(str(a["account_id"]), str(a["email"]))
    return out


def _tickets(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    email = _email_of(after, before)
    old = _by((before.get("jira") or {}).get("issues"), "key")
    moved = []
    for key, issue in _by((after.get("jira") or {}).get("issues"), "key").items():
        was = old.get(key) or {}
        for field in _TICKET_FIELDS:
            if was.get(field) != issue.get(field):
                moved.append(
                    {
                        "key": key,
                        "field": field,
                        "from": email.get(str(was.get(field)), was.get(field)),
                        "to": email.get(str(issue.get(field)), issue.get(field)),
                    }
                )
        gone = set(was.get("participants") or []) - set(issue.get("participants") or [])
        came = set(issue.get("participants") or []) - set(was.get("participants") or [])
        if gone or came:
            moved.append(
                {
                    "key": key,
                    "field": "participants",
                    "from": sorted(email.get(i, i) for i in gone),
                    "to": sorted(email.get(i, i) for i in came),
                }
            )
    return moved


def _memberships(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """SCIM entries created or removed (by userName) and group members added or removed."""
    old_users, new_users = _by(before.get("scim_users"), "id"), _by(after.get("scim_users"), "id")
    name = {k: str(u["userName"]) for k, u in {**old_users, **new_users}.items()}
    email = _email_of(after, before)
    links = []
    for k in set(old_users) | set(new_users):
        was, now = old_users.get(k), new_users.get(k)
        if was is None or now is None or was.get("account_id") != now.get("account_id"):
            links.append(
                {
                    "userName": name[k],
                    "from": email.get(str((was or {}).get("account_id"))) if was else None,
                    "to": email.get(str((now or {}).get("account_id"))) if now else None,
                }
            )
    # by userName, then what was there before what came (new SCIM ids are made up)
    links.sort(key=lambda x: (str(x["userName"]).lower(), x["from"] is None, str(x["to"])))
    groups = []
    old_groups = _by(before.get("groups"), "id")
    for k, group in _by(after.get("groups"), "id").items():
        was = set((old_groups.get(k) or {}).get("members") or [])
        now = set(group.get("members") or [])
        if was != now:
            groups.append(
                {
                    "group": group["displayName"],
                    "added": sorted(name.get(m, m) for m in now - was),
                    "removed": sorted(name.get(m, m) for m in was - now),
                }
            )
    return {"scim_links": links, "groups": groups}


def billable(world: Mapping[str, Any]) -> int:
    return world_billable(world)


def world_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Everything a run changed between two snapshots of one world (JSON-ready)."""
    job_before = ((before.get("idp") or {}).get("job") or {}).get("state")
    job_after = ((after.get("idp") or {}).get("job") or {}).get("state")
    return {
        **_accounts(before, after),
        "tickets_moved": _tickets(before, after),
        **_memberships(before, after),
        "idp_job": {"before": job_before, "after": job_after},
        "billable": {"before": billable(before), "after": billable(after)},
    }


__all__ = ["billable", "world_changes"]
