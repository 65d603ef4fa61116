"""Services: lazy connectors, secrets asked for only when used, shared rate budget."""

from __future__ import annotations

import pytest

from scimrecon.connectors.idp import ManualAdapter
from scimrecon.errors import InputError
from tests.connectors.conftest import make_sim

PRIYA = "priya.raman@acme.example"


def test_nothing_is_built_or_sent_until_used() -> None:
    sim = make_sim(secrets={})  # no secret at all
    services = sim.services
    assert sim.app.log == [] and "built=[]" in repr(services)
    with pytest.raises(InputError) as err:
        services.scim  # noqa: B018
    assert str(err.value).startswith("SCIMRECON_SCIM_TOKEN is not set (SCIM directory API key")
    assert sim.app.log == []


def test_a_missing_secret_only_blocks_its_own_api() -> None:
    base = make_sim()
    secrets = base.app.secrets()
    del secrets["SCIMRECON_JIRA_TOKEN"]
    sim = make_sim(world=base.world, secrets=secrets)
    assert sim.services.scim.find_by_username(PRIYA) is not None
    assert sim.services.admin.scim_links_for_email(PRIYA)
    with pytest.raises(InputError, match=r"^SCIMRECON_JIRA_TOKEN is not set"):
        sim.services.jira  # noqa: B018


def test_a_missing_section_is_named() -> None:
    base = make_sim()
    profile = base.app.profile("http://sim.localhost")
    del profile["jira"], profile["idp"]
    sim = make_sim(world=base.world, profile=profile)
    with pytest.raises(InputError) as err:
        sim.services.jira  # noqa: B018
    assert str(err.value) == (
        "the profile has no [jira] section, needed for Jira ticket reassignment"
    )
    assert isinstance(sim.services.idp, ManualAdapter)  # no [idp]: a person does it


def test_scim_and_org_api_share_one_rate_budget() -> None:
    base = make_sim()
    profile = base.app.profile("http://sim.localhost")
    profile["limits"] = {"atlassian": 2.0}
    sim = make_sim(world=base.world, profile=profile)
    assert sim.services.scim.http.limiter is sim.services.admin.http.limiter
    for _ in range(5):
        sim.services.scim.find_by_username(PRIYA)
        sim.services.admin.scim_links_for_email(PRIYA)
    # 10 requests evenly spaced at 2/s: the last one leaves 4.5 s after the first
    assert sum(sim.time.sleeps) == pytest.approx(4.5)
    assert 429 not in [s for _, _, s in sim.requests()]


def test_connectors_are_built_once_and_closed() -> None:
    sim = make_sim()
    assert sim.services.scim is sim.services.scim
    sim.services.admin.get_profile(
        next(a["account_id"] for a in sim.world["accounts"] if a["email"] == PRIYA)
    )
    http = sim.services.admin.http
    sim.services.close()
    assert http.httpx_client.is_closed
    assert "built=[]" in repr(sim.services)
