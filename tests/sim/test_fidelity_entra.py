"""Graph provisionOnDemand's answer as Microsoft documents it (docs/fidelity.md, Graph rows).

"synchronizationJob: provisionOnDemand" (Graph v1.0): "If successful, this method returns a
200 OK response code and a stringKeyStringValuePair"; the documented example's `key` is the
JSON string {"result": "Skipped", "details": {"errorCode": "RedundantExport", ...}} and its
`value` a JSON string with `action`, `provisioningSteps` and `statusInfo`. So the HTTP status
says nothing about whether the user was provisioned: only the body does.
"""

from __future__ import annotations

import json

from tests.sim.conftest import SCIM

JOBS = "/graph/servicePrincipals/sp-1/synchronization/jobs/job-1/provisionOnDemand"


def on_demand(object_id: str) -> dict:
    return {
        "parameters": [
            {"subjects": [{"objectId": object_id, "objectTypeName": "User"}], "ruleId": "rule-1"}
        ]
    }


def decoded(r) -> tuple[dict, dict]:
    body = r.json()
    assert r.status_code == 200
    assert body["@odata.context"].endswith("#microsoft.graph.stringKeyStringValuePair")
    return json.loads(body["key"]), json.loads(body["value"])


def test_a_push_that_creates_the_user_reports_success(api, graph_h, scim_h):
    assert api.delete(f"{SCIM}/Users/scim-bob", headers=scim_h).status_code == 204
    key, value = decoded(api.post(JOBS, headers=graph_h, json=on_demand("oid-bob")))
    assert key == {"result": "Success", "details": {}}
    assert value["action"] == "Create" and value["statusInfo"]["status"] == "Success"
    created = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "bob@acme.example"'}
    ).json()["Resources"][0]
    assert value["targetIdentity"]["id"] == created["id"]
    assert [s["type"] for s in value["provisioningSteps"]] == ["Import", "Scoping", "Export"]


def test_a_push_of_a_user_already_in_the_target_is_skipped_with_200(api, graph_h):
    key, value = decoded(api.post(JOBS, headers=graph_h, json=on_demand("oid-ada")))
    assert key["result"] == "Skipped" and key["details"]["errorCode"] == "RedundantExport"
    assert value["statusInfo"]["status"] == "Skipped"
    assert value["provisioningSteps"][-1]["details"] == {"SkipReason": "RedundantExport"}


def test_a_push_of_an_unassigned_user_is_skipped_with_200_and_creates_nothing(api, graph_h, scim_h):
    key, value = decoded(api.post(JOBS, headers=graph_h, json=on_demand("oid-dave")))
    assert key["result"] == "Skipped"
    assert key["details"]["errorCode"] == "NotEffectivelyEntitled"
    assert "not assigned to the application" in value["statusInfo"]["reason"]
    found = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "dave@acme.example"'}
    )
    assert found.json()["totalResults"] == 0
