"""EntraAdapter.reassign_user against the simulator's Graph: the user's own assignment removed
and added again (a change Entra's incremental cycle processes), never a group's."""

from __future__ import annotations

import pytest

from scimrecon.connectors.idp.base import ReassignRefused
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
