"""Entra ID: the token endpoint and the Graph synchronization calls."""

from __future__ import annotations

import json

import httpx

from scimrecon.sim.validate import validate_world
from tests.sim.conftest import ENTRA_SECRET, SCIM
from tests.simharness import client, make_sim

JOBS = "/graph/servicePrincipals/sp-1/synchronization/jobs"


def token_form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": "client-1",
        "client_secret": ENTRA_SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }
    form.update(overrides)
    return form


def graph_headers(c: httpx.Client) -> dict[str, str]:
    token = c.post("/login/tenant-1/oauth2/v2.0/token", data=token_form()).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def on_demand(object_id: str, rule: str = "rule-1") -> dict:
    return {
        "parameters": [
            {"subjects": [{"objectId": object_id, "objectTypeName": "User"}], "ruleId": rule}
        ]
    }


def test_token_with_a_wrong_secret_is_401_invalid_client(api):
    r = api.post("/login/tenant-1/oauth2/v2.0/token", data=token_form(client_secret="nope"))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "nope" not in r.text


def test_token_for_an_unknown_tenant_or_client_is_400(api):
    assert api.post("/login/other/oauth2/v2.0/token", data=token_form()).status_code == 400
    assert (
        api.post("/login/tenant-1/oauth2/v2.0/token", data=token_form(client_id="x")).status_code
        == 400
    )


def test_graph_token_expires(api, graph_h, clock):
    assert api.get(JOBS, headers=graph_h).status_code == 200
    clock.advance(3600)
    r = api.get(JOBS, headers=graph_h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_pause_and_start_change_the_job_status(sim, api, graph_h):
    assert api.get(f"{JOBS}/job-1", headers=graph_h).json()["status"]["code"] == "Active"
    assert api.post(f"{JOBS}/job-1/pause", headers=graph_h).status_code == 204
    assert api.get(f"{JOBS}/job-1", headers=graph_h).json()["status"]["code"] == "Paused"
    assert sim.world["idp"]["job"]["state"] == "Paused"
    assert api.post(f"{JOBS}/job-1/start", headers=graph_h).status_code == 204
    assert api.get(JOBS, headers=graph_h).json()["value"][0]["status"]["code"] == "Active"


def test_restart_with_force_deletes_is_refused(sim, api, graph_h):
    body = {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState, ForceDeletes"}}
    r = api.post(f"{JOBS}/job-1/restart", headers=graph_h, json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    ok = api.post(
        f"{JOBS}/job-1/restart", headers=graph_h, json={"criteria": {"resetScope": "Watermark"}}
    )
    assert ok.status_code == 204


def test_unknown_job_is_404(api, graph_h):
    assert api.get(f"{JOBS}/nope", headers=graph_h).status_code == 404
    assert (
        api.get("/graph/servicePrincipals/other/synchronization/jobs", headers=graph_h).status_code
        == 404
    )


def test_provision_on_demand_pushes_the_user_now(sim, api, graph_h, scim_h):
    api.delete(f"{SCIM}/Users/scim-bob", headers=scim_h)
    r = api.post(f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-bob"))
    assert r.status_code == 200
    key, value = json.loads(r.json()["key"]), json.loads(r.json()["value"])
    assert key == {"result": "Success", "details": {}}
    assert value["action"] == "Create" and value["statusInfo"]["status"] == "Success"
    assert [s["type"] for s in value["provisioningSteps"]] == ["Import", "Scoping", "Export"]
    found = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "bob@acme.example"'}
    )
    assert found.json()["totalResults"] == 1


def test_provision_on_demand_with_a_wrong_rule_is_400(api, graph_h):
    r = api.post(
        f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-bob", "bad")
    )
    assert r.status_code == 400


def test_provision_on_demand_is_limited_to_5_per_10_seconds(api, graph_h, clock):
    statuses = [
        api.post(
            f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-ada")
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    # no Retry-After, and a refused call counts: 9.9 s on, the window is still full
    clock.advance(9.9)
    r = api.post(f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-ada"))
    assert r.status_code == 429 and "Retry-After" not in r.headers
    clock.advance(9.9)  # the calls at 0 s have left; the one refused at 9.9 s holds a place
    statuses = [
        api.post(
            f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-ada")
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    clock.advance(10)
    assert (
        api.post(
            f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-ada")
        ).status_code
        == 200
    )


def test_unassigned_user_is_skipped_with_a_200(api, graph_h, scim_h):
    """Graph answers 200 even when nothing was provisioned: the result is in `key`."""
    r = api.post(f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-dave"))
    assert r.status_code == 200
    key = json.loads(r.json()["key"])
    assert key["result"] == "Skipped"
    assert key["details"]["errorCode"] == "NotEffectivelyEntitled"
    found = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "dave@acme.example"'}
    )
    assert found.json()["totalResults"] == 0


def test_graph_user_by_id_or_upn(api, graph_h):
    by_upn = api.get("/graph/users/ada@acme.example", headers=graph_h).json()
    by_id = api.get("/graph/users/oid-ada", headers=graph_h).json()
    assert (
        by_upn
        == by_id
        == {
            "id": "oid-ada",
            "userPrincipalName": "ada@acme.example",
            "mail": "ada@acme.example",
            "displayName": "Ada Lovelace",
            "accountEnabled": True,
        }
    )
    missing = api.get("/graph/users/nobody", headers=graph_h)
    assert (
        missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"
    )


def test_job_schema_lists_the_jobs_rule_in_graphs_shape(api, graph_h):
    r = api.get(f"{JOBS}/job-1/schema", headers=graph_h)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "job-1"
    assert [d["name"] for d in body["directories"]] == ["Azure Active Directory", "customappsso"]
    [rule] = body["synchronizationRules"]
    assert {k: rule[k] for k in ("id", "sourceDirectoryName", "targetDirectoryName")} == {
        "id": "rule-1",
        "sourceDirectoryName": "Azure Active Directory",
        "targetDirectoryName": "customappsso",
    }
    [mapping] = rule["objectMappings"]
    assert (mapping["sourceObjectName"], mapping["targetObjectName"]) == ("User", "User")
    # the rule the schema names is the one provisionOnDemand accepts
    ok = api.post(
        f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-bob", rule["id"])
    )
    assert ok.status_code == 200


def test_job_schema_with_extra_rules_and_without_a_rule(world, clock):
    world["idp"]["job"]["extra_rules"] = [
        {"id": "rule-in", "name": "HR_INBOUND", "source": "Workday", "target": "Microsoft Entra ID"}
    ]
    assert validate_world(world) == []  # extra_rules is part of the world's contract
    with client(make_sim(world, clock=clock)) as c:
        rules = c.get(f"{JOBS}/job-1/schema", headers=graph_headers(c)).json()[
            "synchronizationRules"
        ]
    assert [(r["id"], r["sourceDirectoryName"], r["targetDirectoryName"]) for r in rules] == [
        ("rule-1", "Azure Active Directory", "customappsso"),
        ("rule-in", "Workday", "Microsoft Entra ID"),
    ]
    del world["idp"]["job"]["rule_id"], world["idp"]["job"]["extra_rules"]
    with client(make_sim(world, clock=clock)) as c:
        body = c.get(f"{JOBS}/job-1/schema", headers=graph_headers(c)).json()
    assert body["synchronizationRules"] == [] and body["directories"] == []


def test_job_schema_needs_a_token_and_a_known_job(api, graph_h):
    r = api.get(f"{JOBS}/job-1/schema")
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    r = api.get(f"{JOBS}/nope/schema", headers=graph_h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "ResourceNotFound"
    r = api.get("/graph/servicePrincipals/other/synchronization/jobs/job-1/schema", headers=graph_h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "Request_ResourceNotFound"


def test_a_user_already_in_the_target_is_skipped_as_redundant(api, graph_h):
    r = api.post(f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-bob"))
    key = json.loads(r.json()["key"])
    assert key["result"] == "Skipped" and key["details"]["errorCode"] == "RedundantExport"
    assert json.loads(r.json()["value"])["targetIdentity"]["id"] == "scim-bob"


def test_pushing_an_unassigned_user_with_an_entry_disables_it(sim, api, graph_h, scim_h):
    """Entra docs: an out-of-scope user pushed on demand is disabled in the target; Atlassian
    deactivates a SCIM user's account with it."""
    sim.world["idp"]["users"][1]["assigned"] = False  # Bob, who has a SCIM entry
    r = api.post(f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-bob"))
    assert json.loads(r.json()["key"])["result"] == "Success"
    assert json.loads(r.json()["value"])["action"] == "Disable"
    bob = api.get(f"{SCIM}/Users/scim-bob", headers=scim_h).json()
    assert bob["active"] is False


def test_a_user_outside_the_scoping_filter_is_skipped_and_not_pushed_by_cycles(
    sim, api, graph_h, scim_h, clock
):
    api.delete(f"{SCIM}/Users/scim-bob", headers=scim_h)
    sim.world["idp"]["users"][1]["in_scope"] = False
    r = api.post(f"{JOBS}/job-1/provisionOnDemand", headers=graph_h, json=on_demand("oid-bob"))
    assert json.loads(r.json()["key"])["details"]["errorCode"] == "NotEffectivelyEntitled"
    api.post("/_sim/tick")
    found = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "bob@acme.example"'}
    )
    assert found.json()["totalResults"] == 0
