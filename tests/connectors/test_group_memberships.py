"""Memberships through the connectors: SCIM groups read page by page, an Entra group pushed on
demand with its member, and the exact groups a person is asked to push elsewhere."""

from __future__ import annotations

import pytest

from scimrecon.sim.provisioning import group_object_id
from tests.connectors.conftest import Sim, make_sim

PRIYA = "priya.raman@acme.example"  # an admin of the fixture: in atlassian-users and -admins


def test_groups_of_reads_the_users_groups_in_one_request_whatever_the_directory_holds(
    sim: Sim,
) -> None:
    directory = sim.world["directories"][0]["id"]
    priya = sim.services.scim.find_by_username(PRIYA)
    assert priya is not None
    sim.world["groups"] += [  # 150 more groups; Priya is in the very last one
        {"id": f"g-{i:03d}", "directory": directory, "displayName": f"team-{i:03d}", "members": []}
        for i in range(150)
    ]
    sim.world["groups"][-1]["members"] = [priya.id]
    before = len(sim.app.log)
    groups = sim.services.scim.groups_of(priya.id)
    assert [g.display_name for g in groups] == ["atlassian-admins", "atlassian-users", "team-149"]
    assert [r["path"].rsplit("/", 1)[-1] for r in sim.app.log[before:]] == [priya.id]
    # the IdP's id for a group (its externalId) is read from the group itself
    users = next(g for g in groups if g.display_name == "atlassian-users")
    assert sim.services.scim.group(users.id).external_id == group_object_id("atlassian-users")


def test_entra_pushes_a_group_on_demand_with_its_member(sim: Sim) -> None:
    scim, idp = sim.services.scim, sim.services.idp
    account = next(a for a in sim.world["accounts"] if a["email"] == PRIYA)
    idp.pause()
    sim.services.admin.delete_scim_record_only(account["account_id"])
    idp.provision_user(PRIYA)
    back = scim.find_by_username(PRIYA)
    assert back is not None and scim.groups_of(back.id) == []

    member = idp.object_id(PRIYA)
    result = idp.push_group(group_object_id("atlassian-users"), [member])
    assert result.ok and result.result == "Success"
    assert [g.display_name for g in scim.groups_of(back.id)] == ["atlassian-users"]
    # the object id was read once, for the user's push, and remembered for the group's
    assert [p for _, p, _ in sim.requests("/graph") if p.startswith("/graph/users/")] == [
        f"/graph/users/{PRIYA}"
    ]
    with pytest.raises(ValueError, match="1 to 5 members"):
        idp.push_group(group_object_id("atlassian-users"), [member] * 6)


def test_a_group_push_entra_refuses_reads_as_a_failure_with_its_reason(sim: Sim) -> None:
    idp = sim.services.idp
    outsider = next(u for u in sim.world["idp"]["users"] if "atlassian-admins" not in u["groups"])
    result = idp.push_group(group_object_id("atlassian-admins"), [outsider["object_id"]])
    assert not result.ok
    assert result.describe() == (
        f"Failure (Update) - MembersNotProvisioned: {outsider['userName']}: not a member of "
        "atlassian-admins in the IdP"
    )


@pytest.mark.parametrize("kind", ["okta", "manual"])
def test_other_idps_list_the_exact_groups_for_a_person(kind: str) -> None:
    idp = make_sim(kind).services.idp
    assert idp.capabilities["push_groups"] == "manual"
    text = idp.instructions("push_groups", user=PRIYA, groups="atlassian-users\njira, the team")
    assert f"{PRIYA} must be back" in text.replace("\n", " ")
    assert "\n    - atlassian-users\n    - jira, the team\n" in text
