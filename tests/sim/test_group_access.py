"""Product access through SCIM groups, and the IdP's pushes that put memberships back.

Atlassian grants product access through groups (a SCIM-synced group given a product role), and
a SCIM entry's memberships go with it: "If reprovisioning a user after it has been deleted, you
will need to reprovision its group memberships separately". Entra pushes a group on demand with
up to five of its members (Graph provisionOnDemand, a `Group` subject with `links.members`);
an incremental cycle processes only what changed since its watermark.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from scimrecon.sim.app import SimApp
from scimrecon.sim.provisioning import group_object_id
from scimrecon.sim.validate import validate_world
from tests.sim.conftest import ADA, PROV, SCIM
from tests.simharness import FakeClock, client, make_sim

JOB = "/graph/servicePrincipals/sp-1/synchronization/jobs/job-1"
JIRA = {"key": "jira-software", "site": "acme"}


@pytest.fixture
def world(world: dict[str, Any]) -> dict[str, Any]:
    """The small world, with jira-users granting Jira and held by Ada in Entra too."""
    world["groups"][0]["products"] = [JIRA]
    world["groups"][0]["externalId"] = group_object_id("jira-users")
    world["idp"]["users"][0]["groups"] = ["jira-users"]
    assert validate_world(world) == []
    return world


def products(sim: SimApp, account_id: str) -> list[str]:
    account = next(a for a in sim.world["accounts"] if a["account_id"] == account_id)
    return sorted(p["key"] for p in account.get("product_access") or [])


def members(api: httpx.Client, scim_h: dict[str, str]) -> list[str]:
    group = api.get(f"{SCIM}/Groups/grp-1", headers=scim_h).json()
    return [m["value"] for m in group.get("members") or []]


def on_demand(api: httpx.Client, graph_h: dict[str, str], subject: dict[str, Any]) -> Any:
    body = {"parameters": [{"ruleId": "rule-1", "subjects": [subject]}]}
    return api.post(f"{JOB}/provisionOnDemand", headers=graph_h, json=body)


def group_subject(*object_ids: str) -> dict[str, Any]:
    listed = [{"objectId": o, "objectTypeName": "User"} for o in object_ids]
    return {
        "objectId": group_object_id("jira-users"),
        "objectTypeName": "Group",
        "links": {"members": listed},
    }


def put_members(api: httpx.Client, scim_h: dict[str, str], ids: list[str]) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "jira-users",
        "members": [{"value": i} for i in ids],
    }
    assert api.put(f"{SCIM}/Groups/grp-1", headers=scim_h, json=body).status_code == 200


def test_a_user_lists_the_groups_that_hold_it(api, scim_h):
    user = api.get(f"{SCIM}/Users/scim-ada", headers=scim_h).json()
    assert [(g["value"], g["display"]) for g in user["groups"]] == [("grp-1", "jira-users")]
    put_members(api, scim_h, [])
    assert "groups" not in api.get(f"{SCIM}/Users/scim-ada", headers=scim_h).json()


def test_a_groups_product_access_goes_and_comes_with_the_membership(sim, api, scim_h):
    assert products(sim, ADA) == ["jira-software", "trello"]
    put_members(api, scim_h, [])
    assert products(sim, ADA) == ["trello"]  # Trello comes from no group: untouched
    put_members(api, scim_h, ["scim-ada"])
    assert products(sim, ADA) == ["jira-software", "trello"]


def test_removing_the_entry_takes_the_access_its_groups_gave(sim, api, org_h):
    assert api.delete(f"{PROV}/user/{ADA}/onlyDeleteUserInDB", headers=org_h).status_code == 204
    assert products(sim, ADA) == ["trello"]
    ada = next(a for a in sim.world["accounts"] if a["account_id"] == ADA)
    assert ada["status"] == "active"  # onlyDeleteUserInDB: the account itself keeps working


def test_a_group_that_grants_nothing_takes_nothing(org_h, world):
    del world["groups"][0]["products"]
    sim = make_sim(world)
    with client(sim) as plain:
        assert plain.delete(f"{PROV}/user/{ADA}/onlyDeleteUserInDB", headers=org_h).status_code
    assert products(sim, ADA) == ["jira-software", "trello"]


def test_a_group_pushed_on_demand_with_its_member_puts_membership_and_access_back(
    sim, api, scim_h, graph_h
):
    assert api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 204
    user = on_demand(api, graph_h, {"objectId": "oid-ada", "objectTypeName": "User"})
    assert json.loads(user.json()["key"])["result"] == "Success"
    new = json.loads(user.json()["value"])["targetIdentity"]["id"]
    # the push links Ada's account again (its email was not moved): it has no group, no Jira
    assert next(u for u in sim.world["scim_users"] if u["id"] == new)["account_id"] == ADA
    assert members(api, scim_h) == [] and products(sim, ADA) == ["trello"]

    pushed = on_demand(api, graph_h, group_subject("oid-ada"))
    assert pushed.status_code == 200
    assert json.loads(pushed.json()["key"]) == {"result": "Success", "details": {}}
    assert members(api, scim_h) == [new]
    assert products(sim, ADA) == ["jira-software", "trello"]


def test_a_group_push_adds_only_members_of_the_group_in_the_idp(sim, api, scim_h, graph_h):
    pushed = on_demand(api, graph_h, group_subject("oid-bob"))
    assert pushed.status_code == 200  # 200 whatever happened: the result is in the body
    key = json.loads(pushed.json()["key"])
    assert key["result"] == "Failure"
    assert key["details"]["errorMessage"] == (
        "bob@acme.example: not a member of jira-users in the IdP"
    )
    assert members(api, scim_h) == ["scim-ada"]


def test_a_group_push_takes_at_most_five_members_and_only_groups_assigned(api, graph_h):
    too_many = on_demand(api, graph_h, group_subject(*[f"oid-{i}" for i in range(6)]))
    assert too_many.status_code == 400
    assert "up to 5 members" in too_many.json()["error"]["message"]
    unknown = dict(group_subject("oid-ada"), objectId=group_object_id("nobody"))
    assert on_demand(api, graph_h, unknown).status_code == 404


def test_an_incremental_cycle_does_not_put_memberships_back_and_a_full_one_does(world):
    clock = FakeClock()
    sim = make_sim(world, clock=clock, sleep=clock.sleep)
    sim.store.remove_scim_user(next(u for u in sim.world["scim_users"] if u["id"] == "scim-ada"))
    sim.runtime.idp_change("oid-ada")  # reassigned: a change the next cycle processes
    [pushed] = sim.tick()
    assert pushed["userName"] == "ada@acme.example"
    group = sim.world["groups"][0]
    assert group["members"] == []  # the group did not change: its memberships are not re-sent
    sim.tick(full=True)
    assert group["members"] == [pushed["scim_id"]]
    assert products(sim, pushed["account_id"]) == ["jira-software", "trello"]


def test_an_admins_push_pushes_the_users_groups_too(sim):
    sim.store.remove_scim_user(next(u for u in sim.world["scim_users"] if u["id"] == "scim-ada"))
    answer = sim.push("ada@acme.example")
    assert answer["pushed"] is True
    assert answer["groups"] == [{"group": "jira-users", "added": True}]
    assert sim.world["groups"][0]["members"] == [answer["scim_id"]]
    again = sim.push("ada@acme.example")
    assert again["pushed"] is False and again["groups"] == [{"group": "jira-users", "added": True}]


def test_a_world_whose_groups_point_nowhere_is_refused(world):
    world["idp"]["users"][1]["groups"] = ["no-such-group"]
    world["groups"][0]["products"] = [{"key": "confluence", "site": "acme"}]
    assert validate_world(world) == [
        "groups[0].products[0].key: site 'acme' has no product 'confluence'",
        "idp.users[1].groups[0]: no group named 'no-such-group' in directory 'dir-1', the one "
        "the IdP pushes into",
    ]
