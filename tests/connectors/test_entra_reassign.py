"""EntraAdapter.reassign_user against the simulator's Graph: the user's own assignment removed
and added again (a change Entra's incremental cycle processes), never a group's."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from scimrecon.connectors.idp.base import ReassignRefused
from scimrecon.connectors.idp.entra_assignments import split_assignments
from tests.connectors.conftest import Sim, make_sim

SAMIR = "samir.khan@acme.example"


def _idp_user(sim: Sim, name: str) -> dict:
    return next(u for u in sim.world["idp"]["users"] if u["userName"] == name)


def _calls(sim: Sim) -> list[tuple[str, str]]:
    return [
        (m, p.split("?")[0].rsplit("/", 2)[-1 if m == "POST" else -2])
        for m, p, _ in sim.requests("/graph/servicePrincipals")
        if "appRoleAssignedTo" in p and m in ("POST", "DELETE")
    ]


def test_reassign_removes_and_adds_the_users_own_assignment(sim: Sim) -> None:
    sim.services.idp.reassign_user(SAMIR)
    assert _calls(sim) == [("DELETE", "appRoleAssignedTo"), ("POST", "appRoleAssignedTo")]
    user = _idp_user(sim, SAMIR)
    assert user["assigned"] is True
    assert sim.app.runtime.idp_changed == {user["object_id"]}  # the next cycle takes Samir


def test_reassign_after_a_crash_between_the_two_calls_assigns_again(sim: Sim) -> None:
    _idp_user(sim, SAMIR)["assigned"] = False  # the DELETE happened, the POST did not
    sim.services.idp.reassign_user(SAMIR)
    assert _calls(sim) == [("POST", "appRoleAssignedTo")]
    assert _idp_user(sim, SAMIR)["assigned"] is True


def test_a_group_assignment_is_refused_and_nothing_is_changed() -> None:
    sim = make_sim()
    _idp_user(sim, SAMIR)["assigned_via"] = "Atlassian users"
    with pytest.raises(ReassignRefused, match="through the group Atlassian users"):
        sim.services.idp.reassign_user(SAMIR)
    assert _calls(sim) == []
    assert _idp_user(sim, SAMIR)["assigned"] is True


def _reads(sim: Sim) -> list[str]:
    """The Graph GETs sent, paths without their query."""
    return [p.split("?")[0] for m, p, _ in sim.requests("/graph") if m == "GET"]


def test_reassign_reads_the_users_own_assignments_not_the_apps(sim: Sim) -> None:
    """One filtered read of the user's assignments: the app's listing (a page per 999
    assignments) is never read for a user who has their own assignment."""
    object_id = _idp_user(sim, SAMIR)["object_id"]
    sim.services.idp.reassign_user(SAMIR)
    assert _reads(sim) == [f"/graph/users/{SAMIR}", f"/graph/users/{object_id}/appRoleAssignments"]
    own = next(p for m, p, _ in sim.requests("/graph/users/") if "appRoleAssignments" in p)
    sp = sim.world["idp"]["service_principal"]
    assert parse_qs(own.split("?", 1)[1]) == {"$filter": [f"resourceId eq {sp}"]}


def test_after_a_crash_the_role_comes_from_the_apps_listing(sim: Sim) -> None:
    _idp_user(sim, SAMIR)["assigned"] = False  # the DELETE happened, the POST did not
    sim.services.idp.reassign_user(SAMIR)
    sp = sim.world["idp"]["service_principal"]
    assert _reads(sim)[-1] == f"/graph/servicePrincipals/{sp}/appRoleAssignedTo"


def test_the_directory_read_gives_the_object_ids_a_run_needs(sim: Sim) -> None:
    """The look-up reads the directory anyway: the reassignment and the push that follow do
    not read the user again (decision 100)."""
    idp = sim.services.idp
    idp.find_users(names=[SAMIR])
    before = len(sim.requests("/graph"))
    idp.reassign_user(SAMIR)
    idp.provision_user(SAMIR)
    after = [p.split("?")[0] for _, p, _ in sim.requests("/graph")[before:]]
    assert f"/graph/users/{SAMIR}" not in after
    assert idp.object_id(SAMIR) == _idp_user(sim, SAMIR)["object_id"]


def test_a_upn_two_users_share_is_read_from_graph_not_the_directory() -> None:
    sim = make_sim()
    twin = dict(_idp_user(sim, SAMIR), object_id="oid-twin", userName=SAMIR.upper())
    sim.world["idp"]["users"].append(twin)
    sim.services.idp.find_users(names=[SAMIR])
    sim.services.idp.object_id(SAMIR)
    assert _reads(sim)[-1] == f"/graph/users/{SAMIR}"


def test_own_assignments_are_a_user_principal_with_the_users_id() -> None:
    sp = "8E881353-1735-45AF-AF21-EE1344582A4D"
    mine = {"principalType": "User", "principalId": "CDB5", "resourceId": sp.lower()}
    group = {"principalType": "Group", "principalId": "g-1", "resourceId": sp}
    somebody = {"principalType": "User", "principalId": "other", "resourceId": sp}
    elsewhere = {"principalType": "User", "principalId": "cdb5", "resourceId": "another-app"}
    own, granted = split_assignments([mine, group, somebody, elsewhere], "cdb5", sp)
    assert own == [mine]
    assert granted == [group, somebody]
