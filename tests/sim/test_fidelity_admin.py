"""Provisioning admin API behaviours the fidelity ledger (docs/fidelity.md) relies on.

Atlassian, user provisioning REST API, "Delete user in SCIM DB" (onlyDeleteUserInDB): "This will
apply to all directories in your organization matching that AAID and only works for managed
users. You will have to completely reprovision the user to their respective groups after
deletion."
"""

from __future__ import annotations

import copy
from typing import Any

from tests.sim.conftest import ADA, EXT, PROV, SCIM
from tests.simharness import FakeClock, client, make_sim

SCIM_2 = "/atlassian/scim/directory/dir-2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def two_directories(world: dict[str, Any]) -> dict[str, Any]:
    """The test world with a second directory holding another entry for Ada's account."""
    world = copy.deepcopy(world)
    world["directories"].append({"id": "dir-2", "name": "Okta", "api_key": "scim-key-SECRET-2"})
    second = copy.deepcopy(world["scim_users"][0])
    second.update(id="scim-ada-2", directory="dir-2", externalId="okta-ada")
    world["scim_users"].append(second)
    return world


def test_only_delete_in_db_removes_the_entry_in_every_directory(world, org_h):
    sim = make_sim(two_directories(world), seed=7, clock=FakeClock())
    with client(sim) as api:
        scim_1 = {"Authorization": "Bearer scim-key-SECRET-1"}
        scim_2 = {"Authorization": "Bearer scim-key-SECRET-2"}
        links = api.get(f"{PROV}/user/{ADA}/get-scim-links", headers=org_h).json()["scimLinks"]
        assert sorted(link["directoryId"] for link in links) == ["dir-1", "dir-2"]

        assert api.delete(f"{PROV}/user/{ADA}/onlyDeleteUserInDB", headers=org_h).status_code == 204

        assert api.get(f"{SCIM}/Users/scim-ada", headers=scim_1).status_code == 404
        assert api.get(f"{SCIM_2}/Users/scim-ada-2", headers=scim_2).status_code == 404
        ada = next(a for a in sim.world["accounts"] if a["account_id"] == ADA)
        assert ada["status"] == "active"


def test_only_delete_in_db_drops_group_memberships_to_be_reprovisioned(sim, api, org_h, scim_h):
    assert api.delete(f"{PROV}/user/{ADA}/onlyDeleteUserInDB", headers=org_h).status_code == 204
    group = api.get(f"{SCIM}/Groups/grp-1", headers=scim_h).json()
    assert group.get("members") in (None, [])


def test_only_delete_in_db_refuses_an_account_the_org_does_not_manage(sim, api, org_h, scim_h):
    body = {
        "schemas": [USER],
        "userName": "ext@gmail.example",
        "emails": [{"value": "ext@gmail.example", "type": "work", "primary": True}],
    }
    assert api.post(f"{SCIM}/Users", headers=scim_h, json=body).status_code == 201
    r = api.delete(f"{PROV}/user/{EXT}/onlyDeleteUserInDB", headers=org_h)
    assert r.status_code == 403
    assert "works for managed users only" in r.text
    still = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "ext@gmail.example"'}
    )
    assert still.json()["totalResults"] == 1  # nothing removed
