"""IdP adapters: Entra over the simulator's Graph; Okta and manual give instructions."""

from __future__ import annotations

import pytest

from scimrecon.connectors.idp import ManualAdapter, ManualOperation
from scimrecon.errors import InputError
from scimrecon.http import HttpError
from tests.connectors.conftest import Sim, another_process, make_sim

PRIYA = "priya.raman@acme.example"


def test_entra_status_pause_resume_change_the_job(sim: Sim) -> None:
    idp = sim.services.idp
    assert idp.kind == "entra" and idp.capabilities["pause"] == "api"
    assert idp.status() == "Active"
    idp.pause()
    assert sim.world["idp"]["job"]["state"] == "Paused" and idp.status() == "Paused"
    idp.resume()
    assert sim.world["idp"]["job"]["state"] == "Active" and idp.status() == "Active"
    paths = [(m, p.rsplit("/", 1)[-1], s) for m, p, s in sim.requests("/graph")]
    job = sim.world["idp"]["job"]["id"]
    assert paths == [
        ("GET", job, 200),
        ("POST", "pause", 204),
        ("GET", job, 200),
        ("POST", "start", 204),
        ("GET", job, 200),
    ]
    assert len(sim.requests("/login")) == 1  # one token for the whole session
    assert not any(p.endswith("/restart") for _, p, _ in sim.requests())


def test_entra_provision_on_demand_pushes_the_user_back(sim: Sim) -> None:
    account = next(a for a in sim.world["accounts"] if a["email"] == PRIYA)
    sim.services.idp.pause()
    sim.services.admin.delete_scim_record_only(account["account_id"])
    assert sim.services.scim.find_by_username(PRIYA) is None
    sim.services.idp.provision_user(PRIYA)
    user = sim.services.scim.find_by_username(PRIYA)
    assert user is not None and user.account_id == account["account_id"]
    graph = [(m, p, s) for m, p, s in sim.requests("/graph") if "users" in p or "Demand" in p]
    assert graph[0] == ("GET", f"/graph/users/{PRIYA}", 200)
    assert graph[1][0] == "POST" and graph[1][1].endswith("/provisionOnDemand")


def test_provision_on_demand_stays_under_5_per_10_seconds(sim: Sim) -> None:
    upns = [u["userName"] for u in sim.world["idp"]["users"][:12]]
    for upn in upns:
        sim.services.idp.provision_user(upn)
    statuses = [s for _, p, s in sim.requests("/graph") if p.endswith("provisionOnDemand")]
    assert statuses == [200] * 12  # the simulator never had to answer 429
    assert sum(sim.time.sleeps) == pytest.approx(20.0)  # calls 6-10 wait 10 s, 11-12 another 10


def test_a_second_process_meeting_a_full_window_waits_it_out(sim: Sim) -> None:
    """One process pushed 5 users this instant; a second, whose own window is empty, pushes
    12. The simulator refuses its first call (no Retry-After, and the refused call counts:
    docs/fidelity.md GRAPH-8); the client shuts its window for the whole 10 s, then keeps
    under the limit, its retry included: one 429 in all, every push made, in 30 s."""
    upns = [u["userName"] for u in sim.world["idp"]["users"][:17]]
    for upn in upns[:5]:
        sim.services.idp.provision_user(upn)
    second = another_process(sim)
    try:
        started = sim.time.clock()
        for upn in upns[5:]:
            second.idp.provision_user(upn)
        took = sim.time.clock() - started
    finally:
        second.close()
    statuses = [s for _, p, s in sim.requests("/graph") if p.endswith("provisionOnDemand")]
    assert statuses == [200] * 5 + [429] + [200] * 12
    assert took == pytest.approx(30.0)  # pushes at 10 s (5), 20 s (5) and 30 s (2)


def test_entra_job_id_is_discovered_when_not_configured() -> None:
    base = make_sim()
    profile = base.app.profile("http://sim.localhost")
    profile["idp"].pop("job_id")
    sim = make_sim(world=base.world, profile=profile)
    assert sim.services.idp.status() == "Active"
    assert sim.requests("/graph")[0][1].endswith("/synchronization/jobs")


def test_entra_wrong_client_secret_is_one_line() -> None:
    sim = make_sim(secrets={"SCIMRECON_ENTRA_CLIENT_SECRET": "wrong-secret-42"})
    with pytest.raises(HttpError) as err:
        sim.services.idp.status()
    tenant = sim.world["idp"]["tenant"]
    assert str(err.value) == (
        f"Entra login: POST /{tenant}/oauth2/v2.0/token → 401: "
        "AADSTS7000215: Invalid client secret provided."
    )


def test_entra_unknown_user_is_404(sim: Sim) -> None:
    with pytest.raises(HttpError) as err:
        sim.services.idp.provision_user("ghost@acme.example")
    assert err.value.status == 404
    assert str(err.value).startswith("Microsoft Graph: GET /users/ghost@acme.example → 404: ")


def test_entra_profile_missing_settings_names_them() -> None:
    base = make_sim()
    profile = base.app.profile("http://sim.localhost")
    del profile["idp"]["graph_url"], profile["idp"]["tenant"]
    sim = make_sim(world=base.world, profile=profile)
    with pytest.raises(InputError) as err:
        sim.services.idp  # noqa: B018
    assert str(err.value) == 'the profile: [idp] kind = "entra" needs idp.graph_url, idp.tenant'


def test_a_manual_world_gets_the_manual_adapter(manual_sim: Sim) -> None:
    idp = manual_sim.services.idp
    assert type(idp) is ManualAdapter
    assert dict(idp.capabilities) == {
        "pause": "manual",
        "resume": "manual",
        "status": "none",
        "provision_user": "manual",
        "reassign_user": "manual",
        "push_groups": "manual",
    }
    assert idp.status() == "unknown"
    with pytest.raises(ManualOperation, match="your identity provider has no API scimrecon"):
        idp.pause()
    push = idp.instructions("provision_user", user="ada@acme.example")
    assert "find ada@acme.example" in push and "unassign and reassign the user instead" in push
    again = idp.instructions("reassign_user", user="ada@acme.example")
    assert "Unassign and reassign ada@acme.example" in again and "already removed" in again
    assert manual_sim.app.log == []  # nothing was sent anywhere


def test_manual_adapter_and_unknown_operation() -> None:
    idp = ManualAdapter()
    assert idp.status() == "unknown" and idp.capabilities["resume"] == "manual"
    assert "Turn automatic provisioning back on" in idp.instructions("resume")
    with pytest.raises(ManualOperation):
        idp.provision_user("x")
    with pytest.raises(ValueError, match="unknown IdP operation 'restart'"):
        idp.instructions("restart")
