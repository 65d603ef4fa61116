"""Provisioning cycles: why a playbook must pause the job and change the old email first."""

from __future__ import annotations

from tests.sim.conftest import ADA, ORG_KEY, SCIM

EXT = "urn:scim:schemas:extension:atlassian-external:1.0"
ADA_FILTER = {"filter": 'userName eq "ada@acme.example"'}


def ada_entries(api, scim_h) -> list[dict]:
    return api.get(f"{SCIM}/Users", headers=scim_h, params=ADA_FILTER).json()["Resources"]


def touch_ada(api) -> None:
    """Something about Ada changes in Entra: the next incremental cycle processes her."""
    assert api.post("/_sim/touch", json={"user": "ada@acme.example"}).status_code == 200


def test_an_unchanged_user_whose_entry_was_removed_is_not_pushed_again(sim, api, scim_h):
    """Entra's cycles are incremental: nothing about Ada changed in Entra, so nothing happens."""
    assert api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 204
    assert api.post("/_sim/tick").json() == {"pushed": []}
    assert ada_entries(api, scim_h) == []


def test_a_full_cycle_pushes_every_user_without_an_entry(sim, api, scim_h):
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    (pushed,) = api.post("/_sim/tick?full=1").json()["pushed"]
    assert pushed["account_id"] == ADA


def test_deleted_entry_comes_back_linked_to_the_old_account_once_the_user_changes(sim, api, scim_h):
    assert api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 204
    assert ada_entries(api, scim_h) == []
    touch_ada(api)
    r = api.post("/_sim/tick")
    assert r.status_code == 200
    (pushed,) = r.json()["pushed"]
    assert pushed["account_id"] == ADA and pushed["new_account"] is False
    (entry,) = ada_entries(api, scim_h)
    assert entry[EXT]["atlassianAccountId"] == ADA
    assert next(a for a in sim.world["accounts"] if a["account_id"] == ADA)["status"] == "active"


def test_a_cycle_also_runs_by_itself_when_cycle_seconds_have_passed(api, scim_h, clock):
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    touch_ada(api)
    clock.advance(29)
    assert ada_entries(api, scim_h) == []
    clock.advance(1)
    assert len(ada_entries(api, scim_h)) == 1


def test_with_the_job_paused_the_entry_does_not_come_back(sim, api, scim_h, clock):
    sim.world["idp"]["job"]["state"] = "Paused"
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    touch_ada(api)
    assert api.post("/_sim/tick").json() == {"pushed": []}
    assert api.post("/_sim/tick?full=1").json() == {"pushed": []}
    clock.advance(300)
    assert ada_entries(api, scim_h) == []


def test_after_the_old_email_changes_the_push_creates_a_new_account(sim, api, scim_h, graph_h):
    org_h = {"Authorization": f"Bearer {ORG_KEY}"}
    jobs = "/graph/servicePrincipals/sp-1/synchronization/jobs/job-1"
    assert api.post(f"{jobs}/pause", headers=graph_h).status_code == 204
    assert api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 204
    r = api.put(
        f"/atlassian/users/{ADA}/manage/email",
        headers=org_h,
        json={"email": "ada.old@acme.example"},
    )
    assert r.status_code == 204
    touch_ada(api)  # a change made while paused waits for the first cycle after the resume
    assert api.post(f"{jobs}/start", headers=graph_h).status_code == 204
    (pushed,) = api.post("/_sim/tick").json()["pushed"]
    assert pushed["new_account"] is True and pushed["account_id"] != ADA
    (entry,) = ada_entries(api, scim_h)
    new = next(
        a for a in sim.world["accounts"] if a["account_id"] == entry[EXT]["atlassianAccountId"]
    )
    assert (
        new["email"] == "ada@acme.example"
        and new["managed"] is True
        and new["product_access"] == []
    )
    old = next(a for a in sim.world["accounts"] if a["account_id"] == ADA)
    assert old["email"] == "ada.old@acme.example" and old["status"] == "inactive"


def test_pushing_a_user_that_already_has_an_entry_does_nothing(sim, api):
    before = sim.world_snapshot()
    assert api.post("/_sim/tick").json() == {"pushed": []}
    assert sim.world_snapshot() == before


def test_resume_restarts_the_cycle_timer(sim, api, scim_h, clock, graph_h):
    jobs = "/graph/servicePrincipals/sp-1/synchronization/jobs/job-1"
    api.post(f"{jobs}/pause", headers=graph_h)
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    touch_ada(api)
    clock.advance(600)
    api.post(f"{jobs}/start", headers=graph_h)
    assert ada_entries(api, scim_h) == []  # not pushed at once on resume
    clock.advance(30)
    assert len(ada_entries(api, scim_h)) == 1


ASSIGNED = "/graph/servicePrincipals/sp-1/appRoleAssignedTo"


def _ada_assignment(api, graph_h) -> dict:
    rows = api.get(ASSIGNED, headers=graph_h).json()["value"]
    return next(r for r in rows if r["principalId"] == "oid-ada")


def test_unassigning_a_user_with_an_entry_disables_it_on_the_next_cycle(sim, api, scim_h, graph_h):
    """Why the re-push must come after the SCIM entry is gone: unassigning someone who still
    has an entry makes Entra disable it, and Atlassian deactivates the account."""
    row = _ada_assignment(api, graph_h)
    assert api.delete(f"{ASSIGNED}/{row['id']}", headers=graph_h).status_code == 204
    api.post("/_sim/tick")
    (entry,) = ada_entries(api, scim_h)
    assert entry["active"] is False
    assert next(a for a in sim.world["accounts"] if a["account_id"] == ADA)["status"] == "inactive"


def test_reassigning_a_user_is_a_change_the_next_cycle_pushes(sim, api, scim_h, graph_h):
    """Atlassian's advice after removing a SCIM entry: unassign and reassign the user."""
    row = _ada_assignment(api, graph_h)
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    assert api.delete(f"{ASSIGNED}/{row['id']}", headers=graph_h).status_code == 204
    body = {"principalId": "oid-ada", "resourceId": "sp-1", "appRoleId": row["appRoleId"]}
    r = api.post(ASSIGNED, headers=graph_h, json=body)
    assert r.status_code == 201 and r.json()["principalId"] == "oid-ada"
    assert api.post(ASSIGNED, headers=graph_h, json=body).status_code == 400  # already there
    (pushed,) = api.post("/_sim/tick").json()["pushed"]
    assert pushed["userName"] == "ada@acme.example"
    assert len(ada_entries(api, scim_h)) == 1
