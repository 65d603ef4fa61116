"""Provisioning cycles: why a playbook must pause the job and change the old email first."""

from __future__ import annotations

from tests.sim.conftest import ADA, ORG_KEY, SCIM

EXT = "urn:scim:schemas:extension:atlassian-external:1.0"
ADA_FILTER = {"filter": 'userName eq "ada@acme.example"'}


def ada_entries(api, scim_h) -> list[dict]:
    return api.get(f"{SCIM}/Users", headers=scim_h, params=ADA_FILTER).json()["Resources"]


def test_deleted_entry_comes_back_on_the_next_tick_linked_to_the_old_account(sim, api, scim_h):
    assert api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 204
    assert ada_entries(api, scim_h) == []
    r = api.post("/_sim/tick")
    assert r.status_code == 200
    (pushed,) = r.json()["pushed"]
    assert pushed["account_id"] == ADA and pushed["new_account"] is False
    (entry,) = ada_entries(api, scim_h)
    assert entry[EXT]["atlassianAccountId"] == ADA
    assert next(a for a in sim.world["accounts"] if a["account_id"] == ADA)["status"] == "active"


def test_a_cycle_also_runs_by_itself_when_cycle_seconds_have_passed(api, scim_h, clock):
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    clock.advance(29)
    assert ada_entries(api, scim_h) == []
    clock.advance(1)
    assert len(ada_entries(api, scim_h)) == 1


def test_with_the_job_paused_the_entry_does_not_come_back(sim, api, scim_h, clock):
    sim.world["idp"]["job"]["state"] = "Paused"
    api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    assert api.post("/_sim/tick").json() == {"pushed": []}
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
    clock.advance(600)
    api.post(f"{jobs}/start", headers=graph_h)
    assert ada_entries(api, scim_h) == []  # not pushed at once on resume
    clock.advance(30)
    assert len(ada_entries(api, scim_h)) == 1
