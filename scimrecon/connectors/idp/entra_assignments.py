"""Graph's app role assignments, read into who is assigned: pure, so every rule is tested on
Graph-shaped data (the app's assignments with its groups' members for `reconcile --live`; a
user's own assignments for the reassignment)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scimrecon.connectors.idp.base import IdpUser, IdpUsers

GRAPH_USER = "#microsoft.graph.user"
GRAPH_GROUP = "#microsoft.graph.group"


def assigned_groups(assignments: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Group object id -> display name, for every Group principal assigned to the app."""
    groups: dict[str, str] = {}
    for item in assignments:
        principal = str(item.get("principalId") or "")
        if principal and item.get("principalType") == "Group":
            groups.setdefault(principal, str(item.get("principalDisplayName") or principal))
    return groups


def split_assignments(
    rows: Iterable[dict[str, Any]], object_id: str, resource: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A user's app role assignments to `resource` -> (their own, granted otherwise).

    Own: principal type `User` and principal id the user's. Everything else the user's read
    returns for the app (a `Group` they are a direct member of, or any principal that is not
    them) is a grant that removing their own assignment would not undo. Rows of another
    resource are dropped (the `$filter` should have left none). GUIDs compare without case.
    """
    app, me = resource.lower(), object_id.lower()
    mine = [r for r in rows if str(r.get("resourceId") or app).lower() == app]
    own = [
        r
        for r in mine
        if r.get("principalType") == "User" and str(r.get("principalId") or "").lower() == me
    ]
    return own, [r for r in mine if r not in own]


def _member_type(member: Mapping[str, Any]) -> str:
    kind = str(member.get("@odata.type") or "")
    if not kind and member.get("userPrincipalName"):
        return GRAPH_USER  # a member without a type but with a UPN can only be a user
    return kind


def _enabled(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def resolve_assignments(
    users: Iterable[Mapping[str, Any]],
    assignments: Sequence[Mapping[str, Any]],
    members: Mapping[str, Sequence[Mapping[str, Any]]],
) -> IdpUsers:
    """Graph's users, app role assignments and assigned groups' members -> IdpUsers.

    Pure, so every rule is tested on Graph-shaped data: a User principal is assigned
    directly; a Group principal assigns its direct user members; a group nested in an assigned
    group assigns nobody (Entra does not provision nested members) and says so in a warning;
    ServicePrincipal principals (apps) and other member types (devices, contacts) are not
    people and are left out. A group member missing from the user list (created between the
    reads) is still reported, from the member's own fields.
    """
    direct = {
        str(a.get("principalId"))
        for a in assignments
        if a.get("principalType") == "User" and a.get("principalId")
    }
    groups = assigned_groups(assignments)
    via: dict[str, str] = {}
    late: dict[str, Mapping[str, Any]] = {}
    warnings: list[str] = []
    for group, name in groups.items():
        nested: list[str] = []
        for member in members.get(group, ()):
            kind, member_id = _member_type(member), str(member.get("id") or "")
            if kind == GRAPH_USER and member_id:
                via.setdefault(member_id, name)
                late.setdefault(member_id, member)
            elif kind == GRAPH_GROUP:
                nested.append(str(member.get("displayName") or member_id))
        if nested:
            warnings.append(
                f"group {name!r} is assigned to the Atlassian app and holds nested groups "
                f"({', '.join(nested)}): Entra provisions only direct members of an assigned "
                "group, so members of the nested groups count as unassigned"
            )
    out: list[IdpUser] = []
    seen: set[str] = set()

    def add(item: Mapping[str, Any]) -> None:
        object_id = str(item.get("id") or "")
        if not object_id or object_id in seen:
            return
        seen.add(object_id)
        out.append(
            IdpUser(
                object_id=object_id,
                user_name=str(item.get("userPrincipalName") or ""),
                mail=item.get("mail") or None,
                display_name=item.get("displayName") or None,
                account_enabled=_enabled(item.get("accountEnabled")),
                assigned=object_id in direct or object_id in via,
                assigned_via=None if object_id in direct else via.get(object_id),
            )
        )

    for user in users:
        add(user)
    for member in late.values():
        add(member)
    return IdpUsers(tuple(out), tuple(warnings))
