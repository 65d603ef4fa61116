"""EntraAdapter.read_users: every tenant user with assigned true/false, over the simulator's Graph.

Paging, retries and rate limits go through the product's HTTP layer on a fake clock; the
assignment rules (direct, through a group, nested groups, apps) are also checked on
Graph-shaped data through the pure `resolve_assignments`.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimrecon.connectors.idp import EntraAdapter, ManualAdapter
from scimrecon.connectors.idp.base import IdpUser, UserDirectory
from scimrecon.connectors.idp.entra import resolve_assignments
from scimrecon.connectors.idp.graph_pages import link_under
from scimrecon.retry import RetryPolicy
from scimrecon.sim.provisioning import group_object_id
from scimrecon.sim.world import load_world
from tests.connectors.conftest import Sim, make_sim

GROUP = "#microsoft.graph.group"
USER = "#microsoft.graph.user"


def drift(**changes: dict[str, Any]) -> dict[str, Any]:
    """The drift world, with some IdP users changed (by userName)."""
    world = copy.deepcopy(load_world("drift"))
    for user in world["idp"]["users"]:
        user.update(changes.get(user["userName"], {}))
    return world


def adapter(sim: Sim) -> EntraAdapter:
    idp = sim.services.idp
    assert isinstance(idp, EntraAdapter)
    return idp


def graph(sim: Sim, what: str) -> list[tuple[bool, int]]:
    """(is a follow-up page, status) of each request for one collection."""
    return [("skiptoken" in p, s) for _, p, s in sim.requests("/graph") if what in p.split("?")[0]]


def test_every_user_comes_with_the_world_assignment() -> None:
    sim = make_sim("drift")
    found = adapter(sim).read_users()

    world_users = sim.world["idp"]["users"]
    assert found.warnings == ()
    assert [u.object_id for u in found.users] == [u["object_id"] for u in world_users]
    assert {u.user_name: u.assigned for u in found.users} == {
        u["userName"]: u["assigned"] for u in world_users
    }
    ada = found.users[0]
    assert ada == IdpUser(
        object_id="b4d66a3a-4746-4a4d-8cdb-305fdd2e1609",
        user_name="ada.lovelace@acme.example",
        mail="ada.lovelace@acme.example",
        display_name="Ada Lovelace",
        account_enabled=True,
        assigned=True,
        assigned_via=None,
    )
    paths = [p for _, p, _ in sim.requests("/graph")]
    assert len(paths) == 2 and "appRoleAssignedTo" in paths[0]
    assert paths[1].startswith("/graph/users?") and "%24top=999" in paths[1]
    assert "accountEnabled" in paths[1]  # not a default property: it must be asked for
    assert all(s == 200 for _, _, s in sim.requests("/graph"))


def test_small_pages_are_followed_to_the_end() -> None:
    sim = make_sim("drift")
    found = adapter(sim).read_users(page_size=5)

    assert len(found.users) == 12
    assert graph(sim, "/users") == [(False, 200), (True, 200), (True, 200)]
    assert graph(sim, "appRoleAssignedTo") == [(False, 200), (True, 200), (True, 200)]


def test_a_429_mid_paging_waits_for_retry_after_and_goes_on() -> None:
    sim = make_sim("drift")
    sim.faults({"/graph/users": {"rate_per_s": 1, "burst": 1}})
    found = adapter(sim).read_users(page_size=5)

    assert len(found.users) == 12
    assert graph(sim, "/users") == [
        (False, 200),
        (True, 429),
        (True, 200),
        (True, 429),
        (True, 200),
    ]
    assert sim.time.sleeps == [1.0, 1.0]  # Retry-After, not a guess


def test_a_503_mid_paging_is_retried() -> None:
    sim = make_sim("drift", retry=RetryPolicy(attempts=3))
    # seed 22's draws: the first page passes, the second meets a 503, then all pass
    sim.faults({"seed": 22, "/graph/users": {"error_rate": 0.35, "error_statuses": [503]}})
    found = adapter(sim).read_users(page_size=5)

    assert [u.user_name for u in found.users] == [u["userName"] for u in sim.world["idp"]["users"]]
    assert graph(sim, "/users") == [(False, 200), (True, 503), (True, 200), (True, 200)]


def test_users_assigned_through_a_group_are_assigned() -> None:
    via = {"assigned_via": "Atlassian users"}
    sim = make_sim(
        world=drift(**{"ada.lovelace@acme.example": via, "alan.turing@acme.example": via})
    )
    found = {u.user_name: u for u in adapter(sim).read_users().users}

    for name in ("ada.lovelace@acme.example", "alan.turing@acme.example"):
        assert found[name].assigned and found[name].assigned_via == "Atlassian users"
    assert found["grace.hopper@acme.example"].assigned
    assert found["grace.hopper@acme.example"].assigned_via is None
    assert not found["paula.costa@acme.example"].assigned
    members = f"/graph/groups/{group_object_id('Atlassian users')}/members"
    assert [s for _, p, s in sim.requests(members)] == [200]


def test_entra_and_okta_read_users_manual_does_not() -> None:
    sim = make_sim("drift")
    assert isinstance(sim.services.idp, UserDirectory)
    assert isinstance(make_sim("okta").services.idp, UserDirectory)
    assert not isinstance(ManualAdapter(), UserDirectory)


def test_page_size_outside_graphs_limits_is_refused_before_any_request() -> None:
    sim = make_sim("drift")
    with pytest.raises(ValueError, match=r"page_size must be 1\.\.999, not 1000"):
        adapter(sim).read_users(page_size=1000)
    assert sim.requests("/graph") == []


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://graph.microsoft.com/v1.0/users?$skiptoken=a", "users?$skiptoken=a"),
        ("https://GRAPH.microsoft.com/v1.0/users", "users"),
        ("https://evil.example/v1.0/users?$skiptoken=a", None),
        ("http://graph.microsoft.com/v1.0/users", None),
        ("https://graph.microsoft.com:8443/v1.0/users", None),
        ("https://graph.microsoft.com/beta/users", None),
        ("https://graph.microsoft.com/v1.0", None),
    ],
)
def test_a_next_link_is_followed_only_under_the_graph_base_url(
    link: str, expected: str | None
) -> None:
    assert link_under("https://graph.microsoft.com/v1.0", link) == expected


# -- the assignment rules on Graph-shaped data ---------------------------------------------------


def _user(object_id: str) -> dict[str, Any]:
    return {"id": object_id, "userPrincipalName": f"{object_id}@acme.example"}


def _assignment(kind: str, principal: str, name: str = "") -> dict[str, Any]:
    return {"principalType": kind, "principalId": principal, "principalDisplayName": name}


def test_nested_groups_are_warned_about_and_assign_nobody() -> None:
    found = resolve_assignments(
        [_user("u1"), _user("u2"), _user("u3")],
        [_assignment("Group", "g1", "Atlassian users")],
        {
            "g1": [
                {"@odata.type": USER, **_user("u1")},
                {"@odata.type": GROUP, "id": "g2", "displayName": "Contractors"},
            ]
        },
    )
    assert {u.object_id: u.assigned for u in found.users} == {"u1": True, "u2": False, "u3": False}
    assert found.warnings == (
        "group 'Atlassian users' is assigned to the Atlassian app and holds nested groups "
        "(Contractors): Entra provisions only direct members of an assigned group, so members "
        "of the nested groups count as unassigned",
    )


def test_apps_and_devices_are_not_people_and_a_late_member_is_still_reported() -> None:
    found = resolve_assignments(
        [_user("u1")],
        [
            _assignment("ServicePrincipal", "sp-x", "Some app"),
            _assignment("User", "u1"),
            _assignment("Group", "g1", "Team"),
        ],
        {
            "g1": [
                {"@odata.type": "#microsoft.graph.device", "id": "d1"},
                {"@odata.type": USER, **_user("u1")},
                {"@odata.type": USER, **_user("u9")},  # created after the user list was read
            ]
        },
    )
    assert [(u.object_id, u.assigned, u.assigned_via) for u in found.users] == [
        ("u1", True, None),  # assigned directly: the direct assignment is the one to name
        ("u9", True, "Team"),
    ]
    assert found.warnings == ()
