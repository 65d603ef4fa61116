"""Organizations REST API v2 in the simulator: directories, directory users (cursor paging,
documented fields, platformRoles), suspend/restore, the retired v1 paths, activity lag."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.sim.conftest import ADA, BOB, EXT, ORG
from tests.simharness import client, make_sim

V2 = "/atlassian/admin/v2/orgs/org-1"
HEADERS = {"Authorization": "Bearer org-key-SECRET-1"}


def org_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    (err,) = r.json()["errors"]
    assert err["status"] == str(status) and err["id"] and err["title"] and err["detail"]
    return err


def test_directories_lists_the_one_user_directory(api, org_h):
    body = api.get(f"{V2}/directories", headers=org_h).json()
    (directory,) = body["data"]
    assert set(directory) == {"directoryId", "name"} and directory["name"] == "Acme"
    assert "next" not in body["links"]


def test_directory_user_has_the_documented_fields(world):
    world["accounts"][0]["org_role"] = "admin"
    world["accounts"][1]["platform_roles"] = ["atlassian/site-admin"]
    sim = make_sim(world)
    with client(sim, headers=HEADERS) as c:
        ada = c.get(f"{V2}/directories/-/users/{ADA}").json()["data"]
        bob = c.get(f"{V2}/directories/-/users/{BOB}").json()["data"]
        ext = c.get(f"{V2}/directories/-/users/{EXT}").json()["data"]
        roles = c.get(f"{V2}/directories/-/users/{ADA}/role-assignments").json()["data"]
        count = c.get(f"{V2}/directories/-/users/count").json()
    assert ada["platformRoles"] == ["atlassian/org-admin"]
    assert bob["platformRoles"] == ["atlassian/site-admin"]
    assert ext["platformRoles"] == [] and ext["claimStatus"] == "unmanaged"
    assert ada["claimStatus"] == "managed" and ada["managementSource"] == "synced"
    assert ada["accountStatus"] == "active" and ada["membershipStatus"] == "active"
    assert ada["addedToOrg"] == "2024-01-31" and ada["email"] == "ada@acme.example"
    assert roles[0]["roleAssignments"] == [{"role": "atlassian/org-admin"}]
    assert count == {"count": len(world["accounts"])}


def test_directory_users_page_by_opaque_cursor(world):
    for i in range(250):
        world["accounts"].append(
            {"account_id": f"bulk{i:04d}", "email": f"b{i}@acme.example", "name": f"B {i}",
             "status": "active", "managed": True, "product_access": []}
        )  # fmt: skip
    sim = make_sim(world)
    seen: list[str] = []
    with client(sim, headers=HEADERS) as c:
        params: dict[str, str] = {}
        pages = 0
        while True:
            body = c.get(f"{V2}/directories/-/users", params=params).json()
            assert len(body["data"]) <= 100
            seen += [u["accountId"] for u in body["data"]]
            pages += 1
            following = body["links"].get("next")
            if not following:
                break
            assert "/" not in following and "?" not in following  # a cursor, not a URL
            params = {"cursor": following}
        assert pages == 3 and len(seen) == len(set(seen)) == 254
        org_error(c.get(f"{V2}/directories/-/users", params={"cursor": "garbage!"}), 400)
        org_error(c.get(f"{V2}/directories/-/users", params={"limit": "101"}), 400)
        # A filter the simulator does not implement is refused, never silently ignored.
        org_error(c.get(f"{V2}/directories/-/users", params={"accountIds": ADA}), 400)
        org_error(c.get(f"{V2}/directories/nope/users"), 404)
        org_error(c.get(f"{V2}/directories/-/users/nobody"), 404)


def test_dash_is_refused_for_a_change_in_a_multi_directory_org(world):
    world["org"]["user_directories"] = [{"id": "d-1", "name": "One"}, {"id": "d-2"}]
    world["accounts"][1]["user_directory"] = "d-2"
    sim = make_sim(world)
    with client(sim, headers=HEADERS) as c:
        org_error(c.post(f"{V2}/directories/-/users/{ADA}/suspend"), 400)
        org_error(c.post(f"{V2}/directories/d-2/users/{ADA}/suspend"), 404)  # not in d-2
        assert c.post(f"{V2}/directories/d-1/users/{ADA}/suspend").status_code == 200
        ids = [u["accountId"] for u in c.get(f"{V2}/directories/d-2/users").json()["data"]]
    assert ids == [BOB]
    assert sim.world["accounts"][0]["product_access"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/users/search"),
        ("POST", f"/directory/users/{ADA}/suspend-access"),
        ("POST", f"/directory/users/{ADA}/restore-access"),
        ("DELETE", f"/directory/users/{ADA}"),
        ("POST", "/groups/search"),
        ("POST", "/directory/groups"),
        ("DELETE", "/directory/groups/g-1"),
        ("POST", "/directory/groups/g-1/roles/assign"),
        ("POST", "/directory/groups/g-1/roles/revoke"),
        ("POST", "/directory/groups/g-1/memberships"),
        ("DELETE", f"/directory/groups/g-1/memberships/{ADA}"),
    ],
)
def test_retired_v1_endpoints_answer_404_and_change_nothing(sim, api, org_h, method, path):
    before = sim.world_snapshot()
    err = org_error(api.request(method, f"{ORG}{path}", headers=org_h, json={}), 404)
    assert err["code"] == "NOT_FOUND" and "retired" in err["detail"]
    assert sim.world_snapshot() == before


def test_activity_lag_hides_recent_use(world, clock):
    now = dt.datetime.fromtimestamp(clock(), tz=dt.UTC)
    access = world["accounts"][0]["product_access"][0]
    access["previous_last_active"] = "2025-01-01"
    access["last_active"] = (now - dt.timedelta(hours=3)).isoformat()
    world["org"]["activity_lag_hours"] = 24
    sim = make_sim(world, clock=clock, sleep=clock.sleep)
    with client(sim, headers=HEADERS) as c:
        dates = c.get(f"{ORG}/directory/users/{ADA}/last-active-dates").json()["data"]
        users = {u["account_id"]: u for u in c.get(f"{ORG}/users").json()["data"]}
    assert dates["product_access"][0]["last_active"] == "2025-01-01"
    assert users[ADA]["product_access"][0]["last_active"] == "2025-01-01"
    clock.advance(22 * 3600)  # 25 h after the use: it shows now
    with client(sim, headers=HEADERS) as c:
        dates = c.get(f"{ORG}/directory/users/{ADA}/last-active-dates").json()["data"]
    assert dates["product_access"][0]["last_active"] == access["last_active"]
