"""Every shipped fixture world is served as-is: credentials, listings, cycles, round-trip."""

from __future__ import annotations

import pytest

from scimrecon.config import Profile
from scimrecon.sim.validate import validate_world
from scimrecon.sim.world import fixture_names
from tests.simharness import FakeClock, client, make_sim


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_world_is_served_and_round_trips(name):
    clock = FakeClock()
    sim = make_sim(name, clock=clock, sleep=clock.sleep)
    sim.set_faults({})  # fixtures may carry faults; this test is about the data
    profile = Profile.from_dict(sim.profile("http://127.0.0.1:1"))
    secrets = sim.secrets()
    assert profile.atlassian is not None and "SCIMRECON_ORG_API_KEY" in secrets
    with client(sim) as c:
        org = {"Authorization": f"Bearer {secrets['SCIMRECON_ORG_API_KEY']}"}
        users = c.get(f"/atlassian/admin/v1/orgs/{profile.atlassian.org_id}/users", headers=org)
        assert users.status_code == 200
        managed = [a for a in sim.world["accounts"] if a.get("managed")]
        assert len(users.json()["data"]) == min(len(managed), 100)
        if profile.scim is not None:
            scim = {"Authorization": f"Bearer {secrets['SCIMRECON_SCIM_TOKEN']}"}
            listing = c.get(
                "/atlassian/scim/directory/" + str(profile.scim.directory_id) + "/Users",
                headers=scim,
            )
            assert listing.status_code == 200
            assert listing.json()["totalResults"] == sum(
                1 for u in sim.world["scim_users"] if u["directory"] == profile.scim.directory_id
            )
        c.post("/_sim/tick")
    assert validate_world(sim.world_snapshot()) == []
