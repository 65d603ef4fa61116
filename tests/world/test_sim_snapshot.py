"""A world the simulator has changed is still a valid world (DESIGN: same format as the fixture).

Bug reports attach `--save` worlds and `GET /_sim/world` snapshots, and a regression test loads
them again; if the simulator wrote a field the schema does not know, that would fail only on
the day someone needs it. So drive the simulator through every kind of write and validate.
"""

from __future__ import annotations

import json
from pathlib import Path

from scimrecon.sim.validate import validate_world
from scimrecon.sim.world import load_world
from tests.simharness import FakeClock, client, make_sim


def test_a_simulated_world_after_every_kind_of_write_still_validates(tmp_path: Path) -> None:
    world = load_world("acme-trello")
    org, directory, idp = world["org"], world["directories"][0], world["idp"]
    by_email = {a["email"]: a for a in world["accounts"]}
    ada = by_email["ada.lovelace@acme.example"]["account_id"]  # SCIM-deleted, then disabled
    kenji = by_email["kenji.watanabe@acme.example"]["account_id"]
    priya = by_email["priya.raman@acme.example"]["account_id"]
    scim_ada = next(u["id"] for u in world["scim_users"] if u["account_id"] == ada)
    scim = f"/atlassian/scim/directory/{directory['id']}"
    orgs_v2 = f"/atlassian/admin/v2/orgs/{org['id']}"
    manage = "/atlassian/users/{}/manage"
    prov = f"/atlassian/admin/user-provisioning/v1/org/{org['id']}"
    org_h = {"Authorization": f"Bearer {org['api_key']}"}
    scim_h = {"Authorization": f"Bearer {directory['api_key']}"}
    jira_auth = (world["jira"]["email"], world["jira"]["api_token"])
    clock = FakeClock()
    sim = make_sim(world, seed=3, clock=clock, sleep=clock.sleep)

    with client(sim) as api:
        token = api.post(
            f"/login/{idp['tenant']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": idp["client_id"],
                "client_secret": idp["client_secret"],
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        graph_h = {"Authorization": f"Bearer {token}"}
        jobs = f"/graph/servicePrincipals/{idp['service_principal']}/synchronization/jobs"
        statuses = [
            api.post(f"{jobs}/{idp['job']['id']}/pause", headers=graph_h).status_code,
            api.delete(f"{scim}/Users/{scim_ada}", headers=scim_h).status_code,
            # Kenji's SCIM entry removed, so the organization may change his email (UM-6)
            api.delete(f"{prov}/user/{kenji}/onlyDeleteUserInDB", headers=org_h).status_code,
            api.put(
                manage.format(kenji) + "/email",
                headers=org_h,
                json={"email": "kenji.watanabe+old@acme.example"},
            ).status_code,
            api.post(
                f"{scim}/Users",
                headers=scim_h,
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "new.hire@acme.example",
                    "emails": [{"value": "new.hire@acme.example", "primary": True}],
                    "displayName": "New Hire",
                    "title": "Engineer",
                    "active": True,
                },
            ).status_code,
            api.post(f"{orgs_v2}/directories/-/users/{priya}/suspend", headers=org_h).status_code,
            api.post(
                manage.format(ada) + "/lifecycle/disable", headers=org_h, json={"message": "x"}
            ).status_code,
            api.put(
                "/jira/acme/rest/api/3/issue/HELP-1?notifyUsers=false",
                auth=jira_auth,
                json={"fields": {"reporter": {"accountId": priya}}},
            ).status_code,
            api.post(f"{jobs}/{idp['job']['id']}/start", headers=graph_h).status_code,
            api.post("/_sim/tick?full=1").status_code,  # a full cycle: Ada did not change
            api.put(
                "/_sim/faults",
                json={"seed": 2, "/graph": {"down_for_s": 5, "error_statuses": [503]}},
            ).status_code,
        ]
        snapshot = api.get("/_sim/world").json()

    assert statuses == [204, 204, 204, 204, 201, 200, 204, 204, 204, 200, 200]
    changed = {a["account_id"]: a for a in snapshot["accounts"]}
    assert changed[kenji]["email"] == "kenji.watanabe+old@acme.example"
    assert changed[priya]["suspended_access"] and not changed[priya]["product_access"]
    emails = {a["email"] for a in snapshot["accounts"]}
    assert "new.hire@acme.example" in emails
    repushed = [u for u in snapshot["scim_users"] if u["userName"] == "ada.lovelace@acme.example"]
    assert [u["id"] != scim_ada for u in repushed] == [True]  # the tick pushed Ada again
    assert snapshot["jira"]["issues"][0]["reporter"] == priya
    assert snapshot["idp"]["job"]["state"] == "Active"
    assert snapshot["faults"]["/graph"]["error_statuses"] == [503]
    assert validate_world(snapshot) == []
    saved = tmp_path / "after.json"
    saved.write_text(json.dumps(snapshot), encoding="utf-8")
    assert load_world(saved) == snapshot
