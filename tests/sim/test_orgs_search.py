"""The v2 user search and workspaces as the simulator serves them, over HTTP (WSGITransport):
filters in the body, fields only when expanded, the documented 400s, cursor paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from scimrecon.sim.app import SimApp
from scimrecon.sim.world import load_world

WORLD = "guard-billing"


@pytest.fixture()
def client() -> httpx.Client:
    world = load_world(WORLD)
    app = SimApp(world)
    key = world["org"]["api_key"]
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sim/atlassian/admin/v2/orgs/" + world["org"]["id"],
        headers={"Authorization": f"Bearer {key}"},
    )


def _search(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/directories/-/users/search", json=body)


def _world_accounts() -> list[dict[str, Any]]:
    return load_world(WORLD)["accounts"]


def test_claim_status_unmanaged_gives_the_external_users_only(client: httpx.Client) -> None:
    reply = _search(client, {"claimStatus": "unmanaged"})
    assert reply.status_code == 200
    got = {u["email"] for u in reply.json()["data"]}
    assert got == {a["email"] for a in _world_accounts() if not a.get("managed")}
    assert all(u["claimStatus"] == "unmanaged" for u in reply.json()["data"])


def test_fields_come_only_when_expanded(client: httpx.Client) -> None:
    plain = _search(client, {"emails": ["kim@partner.example"]}).json()["data"][0]
    assert "productAccess" not in plain and "platformRoles" not in plain
    full = _search(
        client, {"emails": ["kim@partner.example"], "expand": ["productAccess", "platformRoles"]}
    ).json()["data"][0]
    kim = next(a for a in _world_accounts() if a["email"] == "kim@partner.example")
    assert sorted(p["key"] for p in full["productAccess"]) == sorted(
        p["key"] for p in kim["product_access"]
    )
    assert all(set(p) <= {"id", "key", "lastActiveTimestamp"} for p in full["productAccess"])


def test_workspaces_are_the_org_sites_products(client: httpx.Client) -> None:
    reply = client.post("/workspaces", json={"limit": 100})
    assert reply.status_code == 200
    got = {(w["attributes"]["hostUrl"], w["attributes"]["typeKey"]) for w in reply.json()["data"]}
    world = load_world(WORLD)
    want = {
        ("https://trello.com" if k == "trello" else f"https://{s['name']}.atlassian.net", k)
        for s in world["sites"]
        for k in s["products"]
    }
    assert got == want
    ids = {w["id"] for w in reply.json()["data"]}
    kim = _search(client, {"emails": ["kim@partner.example"], "expand": ["productAccess"]})
    access = kim.json()["data"][0]["productAccess"]
    # kim's globex access is on a workspace the org does not list
    assert sorted(p["id"] in ids for p in access) == [False, True]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"emails": ["a@b.c"], "searchTerm": "a"}, "searchTerm and emails are mutually exclusive"),
        ({"groupIds": ["g"]}, "groupIds is not supported here"),
        ({"expand": ["groups"]}, "expand groups is not supported here"),
        ({"claimStatus": "both"}, "claimStatus must be managed or unmanaged"),
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"emails": "a@b.c"}, "emails must be a list of strings"),
    ],
)
def test_bad_searches_are_400(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    reply = _search(client, body)
    assert reply.status_code == 400
    assert message in reply.text


def test_search_pages_with_a_cursor_in_the_body(client: httpx.Client) -> None:
    seen: list[str] = []
    body: dict[str, Any] = {"limit": 4}
    while True:
        page = _search(client, body).json()
        seen += [u["accountId"] for u in page["data"]]
        following = page["links"].get("next")
        if not following:
            break
        body = {"limit": 4, "cursor": following}
    assert sorted(seen) == sorted(a["account_id"] for a in _world_accounts())
