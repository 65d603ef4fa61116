"""SCIM directory behaviours the fidelity ledger (docs/fidelity.md) relies on and that no other
test pins: what a DELETE does to an account the org does not manage, and to group memberships.

Atlassian, "Delete a user" (user provisioning REST API): deleting a user "will unlink the user
from your identity provider and deactivate the user within Atlassian if they are managed by your
organization"; the deleted entry's group memberships have to be reprovisioned separately.
"""

from __future__ import annotations

from typing import Any

from scimrecon.sim.app import SimApp
from tests.sim.conftest import ADA, EXT, SCIM

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def account(sim: SimApp, account_id: str) -> dict[str, Any]:
    return next(a for a in sim.world["accounts"] if a["account_id"] == account_id)


def test_delete_unlinks_an_unmanaged_account_without_deactivating_it(sim, api, scim_h):
    # An external (unmanaged) account can be linked to a SCIM entry (for SCIM groups).
    body = {
        "schemas": [USER],
        "userName": "ext@gmail.example",
        "emails": [{"value": "ext@gmail.example", "type": "work", "primary": True}],
    }
    created = api.post(f"{SCIM}/Users", headers=scim_h, json=body)
    assert created.status_code == 201
    scim_id = created.json()["id"]
    assert account(sim, EXT)["managed"] is False

    assert api.delete(f"{SCIM}/Users/{scim_id}", headers=scim_h).status_code == 204

    assert api.get(f"{SCIM}/Users/{scim_id}", headers=scim_h).status_code == 404
    assert account(sim, EXT)["status"] == "active"


def test_delete_drops_the_entrys_group_memberships(sim, api, scim_h):
    group = api.get(f"{SCIM}/Groups/grp-1", headers=scim_h).json()
    assert [m["value"] for m in group["members"]] == ["scim-ada"]

    assert api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 204

    after = api.get(f"{SCIM}/Groups/grp-1", headers=scim_h).json()
    assert after.get("members") in (None, [])
    assert account(sim, ADA)["status"] == "inactive"
