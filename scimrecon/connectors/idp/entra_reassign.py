"""Put a user's own assignment to the Atlassian Cloud app back: the re-push by reassignment.

The one Entra write that leaves a person worse off if it stops half-way (unassigned from the
app), so it lives apart from the job controls and reads of the adapter: what it refuses (an
assignment through a group, an unclear app role), how it survives a crash between its DELETE
and its POST, and how hard it retries the POST are all here, in one place to read.
"""

from __future__ import annotations

from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.connectors.idp.base import ReassignRefused
from scimrecon.connectors.idp.entra_assignments import split_assignments
from scimrecon.connectors.idp.graph_pages import (
    PAGE_SIZE,
    READ_ASSIGNMENTS,
    READ_OWN_ASSIGNMENTS,
    graph_pages,
)
from scimrecon.http import HttpClient, HttpError

#: Rounds of the client's retries for putting a user's assignment back (see _assign_again).
REASSIGN_ROUNDS = 3


def reassign(graph: HttpClient, service_principal: str, object_id: str, user_name: str) -> None:
    """Remove the user's own assignment to the Atlassian Cloud app and add it again.

    Atlassian's documented way to re-provision a user after their SCIM entry was deleted
    ("unassign and reassign the user via the Atlassian Cloud app"): Entra sees a change, so
    its next (incremental) cycle, or an on-demand push, creates them. Only a *direct*
    assignment is touched: removing a group's assignment would unassign every member.
    Idempotent across a crash between the two calls: a user with no assignment left but
    still found by name gets the app's role again (from the app's other assignments).
    The caller must make sure the user has no SCIM entry first: unassigning someone who
    has one makes Entra disable it, and Atlassian deactivates that account.
    """
    path = f"/servicePrincipals/{seg(service_principal)}/appRoleAssignedTo"
    own, granted = _assignments_of(graph, service_principal, object_id)
    if not own and granted:
        grant = granted[0]
        kind = "group" if grant.get("principalType") == "Group" else "assignment of"
        via = grant.get("principalDisplayName") or grant.get("principalId")
        raise ReassignRefused(
            f"{user_name} is assigned to the app through the {kind} {via}, not directly: "
            "reassigning would touch every member (use provision_mode=on-demand)"
        )
    if own:
        roles = {str(r["appRoleId"]) for r in own if r.get("appRoleId")}
    else:  # a crash between the DELETE and the POST: the role the app gives everyone
        rows = graph_pages(graph, path, f"$select=appRoleId&$top={PAGE_SIZE}", READ_ASSIGNMENTS)
        roles = {str(r["appRoleId"]) for r in rows if r.get("appRoleId")}
    if len(roles) != 1:
        raise ReassignRefused(
            f"cannot tell which app role to give {user_name} back "
            f"({len(roles)} roles among the {'user' if own else 'app'}'s assignments): "
            "assign them by hand"
        )
    for row in own:
        try:
            graph.request_json("DELETE", f"{path}/{seg(str(row['id']))}")
        except HttpError as exc:
            if exc.status != 404:  # gone already: a retried DELETE whose answer was lost
                raise
    body = {
        "principalId": object_id,
        "resourceId": service_principal,
        "appRoleId": roles.pop(),
    }
    _assign_again(graph, path, body, user_name)


def _assign_again(graph: HttpClient, path: str, body: dict[str, str], user_name: str) -> None:
    """POST the assignment back, harder than any other call: the user is unassigned until
    it lands. Safe to repeat (a second POST of the same assignment is refused as a
    duplicate, which means done), so a throttled or failing Graph gets a few more rounds of
    the client's own retries before the target fails with what to do."""
    for rounds_left in range(REASSIGN_ROUNDS - 1, -1, -1):
        try:
            graph.post(path, json=body, retry_unsafe=True)
            return
        except HttpError as exc:
            if exc.status == 400 and "already exists" in (exc.detail or exc.message):
                return
            transient = exc.timed_out or exc.status in (None, 429, 500, 502, 503, 504)
            if transient and rounds_left:
                continue
            raise ReassignRefused(
                f"{user_name} was unassigned from the Atlassian Cloud app but could not be "
                f"assigned again ({exc.message}): they stay unassigned until this step is "
                "retried (resume --retry-failed) or they are assigned by hand"
            ) from None


def _assignments_of(
    graph: HttpClient, service_principal: str, object_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The user's assignments to this app: (their own, those granted otherwise).

    One request where listing the app's assignments took a page per 999 of them: Graph
    filters a *user's* assignments by `resourceId` (Edm.Guid, unquoted), and "also returns
    app role assignments granted to groups that the user is a direct member of". Only a
    `User` row naming this very object id is the user's own; anything else (a `Group`, or
    a principal that is not them) is a grant that unassigning the user would not undo.
    """
    rows = graph_pages(
        graph,
        f"/users/{seg(object_id)}/appRoleAssignments",
        f"$filter=resourceId eq {service_principal}",
        READ_OWN_ASSIGNMENTS,
    )
    return split_assignments(rows, object_id, service_principal)
