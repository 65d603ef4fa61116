"""`GET /users/{id | userPrincipalName}/appRoleAssignments`: a user's app role assignments,
those granted to groups the user is a direct member of included, `$filter=resourceId eq {guid}`
the one filter served (https://learn.microsoft.com/en-us/graph/api/user-list-approleassignments).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from scimrecon.sim.app import SimApp
from scimrecon.sim.provisioning import group_object_id

SP = "8e881353-1735-45af-af21-ee1344582a4d"
OTHER = "00000000-1111-2222-3333-444444444444"


@pytest.fixture
def users(sim: SimApp) -> dict[str, dict[str, Any]]:
    sim.world["idp"]["service_principal"] = SP
    return {u["object_id"]: u for u in sim.world["idp"]["users"]}


def _get(api: httpx.Client, h: dict[str, str], who: str, query: str = "") -> httpx.Response:
    return api.get(f"/graph/users/{who}/appRoleAssignments{query}", headers=h)


def test_a_direct_assignment_is_the_users_own(
    users: dict[str, Any], api: httpx.Client, graph_h: dict[str, str]
) -> None:
    r = _get(api, graph_h, "oid-ada", f"?$filter=resourceId eq {SP}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#appRoleAssignments")
    [item] = body["value"]
    assert (item["principalType"], item["principalId"], item["resourceId"]) == (
        "User",
        "oid-ada",
        SP,
    )
    assert item["principalDisplayName"] == "Ada Lovelace"
    # the same assignment the app's listing shows (its id is what DELETE takes)
    listed = api.get(f"/graph/servicePrincipals/{SP}/appRoleAssignedTo", headers=graph_h).json()
    assert item in listed["value"]
    by_upn = _get(api, graph_h, "ada@acme.example", f"?$filter=resourceId eq {SP}").json()
    assert by_upn["value"] == [item]


def test_an_assignment_through_a_group_names_the_group(
    users: dict[str, Any], api: httpx.Client, graph_h: dict[str, str]
) -> None:
    users["oid-bob"]["assigned_via"] = "Atlassian users"
    [item] = _get(api, graph_h, "oid-bob", f"?$filter=resourceId eq {SP}").json()["value"]
    assert (item["principalType"], item["principalId"], item["principalDisplayName"]) == (
        "Group",
        group_object_id("Atlassian users"),
        "Atlassian users",
    )


def test_an_unassigned_user_or_another_resource_has_none(
    users: dict[str, Any], api: httpx.Client, graph_h: dict[str, str]
) -> None:
    users["oid-ada"]["assigned"] = False
    assert _get(api, graph_h, "oid-ada", f"?$filter=resourceId eq {SP}").json()["value"] == []
    assert _get(api, graph_h, "oid-bob", f"?$filter=resourceId eq {OTHER}").json()["value"] == []
    assert len(_get(api, graph_h, "oid-bob").json()["value"]) == 1  # no filter: all of them


@pytest.mark.parametrize(
    "clause",
    [
        f"resourceId eq '{SP}'",  # an Edm.Guid is not quoted
        "principalId eq oid-bob",  # principalId does not support $filter
        f"appRoleId eq {SP}",
        f"resourceId ne {SP}",  # eq only
        "principalDisplayName eq 'Bob'",  # documented, not served here: refused, not ignored
    ],
)
def test_other_filters_are_refused_not_ignored(
    users: dict[str, Any], api: httpx.Client, graph_h: dict[str, str], clause: str
) -> None:
    r = _get(api, graph_h, "oid-bob", f"?$filter={clause}")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "Request_BadRequest"
    assert r.json()["error"]["message"] == "Invalid filter clause"


def test_an_unknown_user_is_404(
    users: dict[str, Any], api: httpx.Client, graph_h: dict[str, str]
) -> None:
    r = _get(api, graph_h, "nobody@acme.example")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "Request_ResourceNotFound")
