"""Graph directory reads: users, the app's role assignments and assigned groups' members.

The shapes follow Microsoft Graph v1.0: `value` pages of at most `$top` (1-999, default 100),
an absolute `@odata.nextLink` with an opaque `$skiptoken`, `$select` honoured, and
appRoleAssignment items naming a User or Group principal.
"""

from __future__ import annotations

from typing import Any

import httpx

from scimrecon.sim.app import SimApp
from scimrecon.sim.provisioning import group_object_id

USERS = "/graph/users"
ASSIGNED = "/graph/servicePrincipals/sp-1/appRoleAssignedTo"


def collect(api: httpx.Client, url: str, headers: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Every page of a collection, following nextLink exactly as given."""
    pages = []
    while url:
        r = api.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body["value"])
        url = body.get("@odata.nextLink", "")
    return pages


def error_code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_users_come_in_pages_linked_by_an_absolute_next_link(
    api: httpx.Client, graph_h: dict[str, str]
) -> None:
    first = api.get(f"{USERS}?$top=2&$select=id,userPrincipalName", headers=graph_h).json()
    link = first["@odata.nextLink"]
    assert link.startswith("http://sim/graph/users?$top=2&$select=id,userPrincipalName&$skiptoken=")
    assert first["@odata.context"].endswith("$metadata#users(id,userPrincipalName)")

    pages = collect(api, f"{USERS}?$top=2&$select=id,userPrincipalName", graph_h)
    assert [len(p) for p in pages] == [2, 1]
    assert [u for p in pages for u in p] == [
        {"id": "oid-ada", "userPrincipalName": "ada@acme.example"},
        {"id": "oid-bob", "userPrincipalName": "bob@acme.example"},
        {"id": "oid-dave", "userPrincipalName": "dave@acme.example"},
    ]


def test_users_default_properties_leave_account_enabled_out_and_select_brings_it(
    api: httpx.Client, graph_h: dict[str, str]
) -> None:
    body = api.get(USERS, headers=graph_h).json()
    assert "@odata.nextLink" not in body  # 3 users, default page of 100
    ada = body["value"][0]
    assert ada["id"] == "oid-ada" and ada["mail"] == "ada@acme.example"
    assert ada["displayName"] == "Ada Lovelace" and ada["businessPhones"] == []
    assert "accountEnabled" not in ada
    chosen = api.get(f"{USERS}?$select=ID,accountEnabled", headers=graph_h).json()["value"]
    assert chosen[0] == {"id": "oid-ada", "accountEnabled": True}


def test_bad_paging_and_unsupported_options_are_400_not_ignored(
    api: httpx.Client, graph_h: dict[str, str]
) -> None:
    assert error_code(api.get(f"{USERS}?$top=1000", headers=graph_h)) == (
        400,
        "Request_UnsupportedQuery",
    )
    assert api.get(f"{USERS}?$top=0", headers=graph_h).status_code == 400
    assert error_code(api.get(f"{USERS}?$filter=accountEnabled eq true", headers=graph_h)) == (
        400,
        "Request_UnsupportedQuery",
    )
    r = api.get(f"{USERS}?$select=id,shoeSize", headers=graph_h)
    assert r.status_code == 400 and "'shoeSize'" in r.json()["error"]["message"]
    assert api.get(f"{USERS}?$skiptoken=garbage", headers=graph_h).status_code == 400
    # a page token of another collection is no token for this one
    other = api.get(f"{ASSIGNED}?$top=1", headers=graph_h).json()["@odata.nextLink"]
    token = other.split("$skiptoken=")[1]
    assert api.get(f"{USERS}?$skiptoken={token}", headers=graph_h).status_code == 400


def test_directory_reads_need_the_graph_token(
    api: httpx.Client, graph_h: dict[str, str], scim_h: dict[str, str]
) -> None:
    for path in (USERS, ASSIGNED, f"/graph/groups/{group_object_id('x')}/members"):
        assert api.get(path).status_code == 401
        assert api.get(path, headers=scim_h).status_code == 403


def test_assignments_list_each_direct_user_and_each_group_once(
    sim: SimApp, api: httpx.Client, graph_h: dict[str, str]
) -> None:
    users = {u["object_id"]: u for u in sim.world["idp"]["users"]}
    users["oid-bob"]["assigned_via"] = "Atlassian users"
    users["oid-dave"]["assigned_via"] = "Atlassian users"  # unassigned: in no assigned group

    pages = collect(api, f"{ASSIGNED}?$top=1", graph_h)
    items = [i for p in pages for i in p]
    assert len(pages) == 2
    assert [(i["principalType"], i["principalId"], i["principalDisplayName"]) for i in items] == [
        ("User", "oid-ada", "Ada Lovelace"),
        ("Group", group_object_id("Atlassian users"), "Atlassian users"),
    ]
    assert {i["resourceId"] for i in items} == {"sp-1"}
    assert len({i["appRoleId"] for i in items}) == 1
    assert len({i["id"] for i in items}) == 2
    picked = api.get(f"{ASSIGNED}?$select=principalId,principalType", headers=graph_h).json()
    assert picked["value"][0] == {"principalId": "oid-ada", "principalType": "User"}


def test_assignments_of_another_service_principal_are_404(
    api: httpx.Client, graph_h: dict[str, str]
) -> None:
    r = api.get("/graph/servicePrincipals/other/appRoleAssignedTo", headers=graph_h)
    assert error_code(r) == (404, "Request_ResourceNotFound")


def test_group_members_are_the_assigned_users_of_that_group(
    sim: SimApp, api: httpx.Client, graph_h: dict[str, str]
) -> None:
    users = {u["object_id"]: u for u in sim.world["idp"]["users"]}
    for object_id in ("oid-ada", "oid-bob", "oid-dave"):
        users[object_id]["assigned_via"] = "Atlassian users"
    group = group_object_id("Atlassian users")

    pages = collect(api, f"/graph/groups/{group}/members?$select=id,mail&$top=1", graph_h)
    assert [m for p in pages for m in p] == [
        {"@odata.type": "#microsoft.graph.user", "id": "oid-ada", "mail": "ada@acme.example"},
        {"@odata.type": "#microsoft.graph.user", "id": "oid-bob", "mail": "bob@acme.example"},
    ]
    unknown = api.get(f"/graph/groups/{group_object_id('nobody')}/members", headers=graph_h)
    assert error_code(unknown) == (404, "Request_ResourceNotFound")


def test_reads_change_nothing(sim: SimApp, api: httpx.Client, graph_h: dict[str, str]) -> None:
    before = sim.world_snapshot()
    collect(api, f"{USERS}?$top=1", graph_h)
    collect(api, f"{ASSIGNED}?$top=1", graph_h)
    assert sim.world_snapshot() == before
