"""Admin Control API v1 authentication policies: the simulator and the connector together.

The simulator is strict where the documentation is silent (docs/fidelity.md CTRL rows): the
change happens only when the task completes, so a client that trusts the 202 ends wrong.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimrecon.recon.billable import account_is_billable
from scimrecon.sim.world import load_world
from tests.connectors.conftest import make_sim

CONTROL = "/atlassian/admin/control/v1/orgs/{org}"
POLICY = {"id": "pol-nb", "name": "Trello only", "billable": False}


def _world() -> dict[str, Any]:
    world = copy.deepcopy(load_world("acme-trello"))
    world["org"]["auth_policies"] = [POLICY]
    return world


def _trello_only(world: dict[str, Any]) -> dict[str, Any]:
    return next(
        a
        for a in world["accounts"]
        if [p["key"] for p in a["product_access"]] == ["trello"] and a["org_role"] == "member"
    )


def _account(world: dict[str, Any], account_id: str) -> dict[str, Any]:
    return next(a for a in world["accounts"] if a["account_id"] == account_id)


def test_add_users_is_a_task_that_changes_membership_only_when_it_completes() -> None:
    sim = make_sim(world=_world())
    org = sim.world["org"]["id"]
    user = _trello_only(sim.world)
    base = CONTROL.format(org=org)
    with sim.services as services:
        policies = services.auth_policies
        assert account_is_billable(user)
        task_id = policies.add_users("pol-nb", [user["email"].upper()])
        first = policies.task(task_id)
        assert first.status == "IN_PROGRESS"
        assert "policy" not in _account(sim.world, user["account_id"])  # not yet
        done = policies.wait(task_id)
        assert (done.status, done.errors) == ("COMPLETED", [])
        moved = _account(sim.world, user["account_id"])
        assert moved["policy"] == POLICY
        assert not account_is_billable(moved)
        found = policies.policy_of(user["account_id"])
        assert found is not None and (found.policy_id, found.billable) == ("pol-nb", False)
    seen = [(m, p, s) for m, p, s in sim.requests("/atlassian/admin/control")]
    assert seen[0] == ("POST", f"{base}/auth-policy/pol-nb/add-users", 202)
    assert seen[1] == ("GET", f"{base}/auth-policy/task/{task_id}", 200)
    assert seen[-1] == ("POST", f"{base}/users/auth-policies/bulk-fetch", 200)


def test_a_user_without_a_policy_is_in_the_default_policy() -> None:
    sim = make_sim(world=_world())
    user = _trello_only(sim.world)
    with sim.services as services:
        found = services.auth_policies.policy_of(user["account_id"])
    assert found is not None
    assert (found.policy_name, found.billable) == ("Default policy", True)


def test_an_address_that_is_not_a_managed_account_fails_in_the_task() -> None:
    sim = make_sim(world=_world())
    with sim.services as services:
        policies = services.auth_policies
        task = policies.wait(policies.add_users("pol-nb", ["nobody@acme.example"]))
    assert task.status == "FAILED"
    assert task.errors == [
        {"user": "nobody@acme.example", "detail": "not a managed account of the organization"}
    ]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("auth-policy/pol-nb/add-users", {"users": []}, 400),
        ("auth-policy/pol-nb/add-users", {"users": ["a@acme.example"], "extra": 1}, 400),
        ("auth-policy/nope/add-users", {"users": ["a@acme.example"]}, 404),
        ("users/auth-policies/bulk-fetch", {"accountIds": ["x"]}, 400),
    ],
)
def test_bad_requests_are_refused(path: str, body: dict[str, Any], status: int) -> None:
    sim = make_sim(world=_world())
    org = sim.world["org"]["id"]
    with sim.services as services:
        http = services.auth_policies.http
        response = http.send(
            "POST", f"/admin/control/v1/orgs/{org}/{path}", json=body, raise_for_status=False
        )
    assert response.status_code == status


def test_a_task_that_does_not_finish_in_time_is_an_error_naming_it() -> None:
    from scimrecon.http import HttpError

    sim = make_sim(world=_world())
    user = _trello_only(sim.world)
    with sim.services as services:
        policies = services.auth_policies
        task_id = policies.add_users("pol-nb", [user["email"]])
        with pytest.raises(HttpError) as failed:
            policies.wait(task_id, interval=1.0, timeout=0.5)
    assert f"policy task {task_id} still IN_PROGRESS after 0.5 s" in str(failed.value)
    assert "policy" not in _account(sim.world, user["account_id"])
