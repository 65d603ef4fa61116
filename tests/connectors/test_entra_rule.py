"""Entra provision on demand without `[idp].rule_id`: the rule is found in the job's schema.

Driven against the simulator's Graph (in-process, and once through the CLI on a socket), and
judged by what the simulator logged and did: one schema read however many users are pushed,
none when the profile names the rule, and a refusal naming the rules when there is no single
one to choose.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from scimrecon.errors import InputError
from tests.connectors.conftest import Sim, make_sim
from tests.connectors.test_cli import Served, serve, to_toml

PRIYA = "priya.raman@acme.example"
INBOUND = {
    "id": "rule-hr-in",
    "name": "HR_INBOUND",
    "source": "Workday",
    "target": "Azure Active Directory",
}


def sim_without_rule(extra_rules: list[dict[str, Any]] | None = None) -> Sim:
    """The acme-trello world behind a profile whose [idp] names no rule."""
    base = make_sim()
    world = base.world
    if extra_rules is not None:
        world["idp"]["job"]["extra_rules"] = extra_rules
    profile = base.app.profile("http://sim.localhost")
    del profile["idp"]["rule_id"]
    base.services.close()
    return make_sim(world=world, profile=profile)


@pytest.fixture
def no_rule() -> Iterator[Sim]:
    s = sim_without_rule([INBOUND])
    yield s
    s.services.close()


def schema_reads(sim: Sim) -> list[tuple[str, str, int]]:
    return [r for r in sim.requests("/graph") if r[1].endswith("/schema")]


def on_demand(sim: Sim) -> list[int]:
    return [s for _, p, s in sim.requests("/graph") if p.endswith("/provisionOnDemand")]


def test_the_rule_is_read_once_from_the_schema(no_rule: Sim) -> None:
    sim = no_rule
    account = next(a for a in sim.world["accounts"] if a["email"] == PRIYA)
    sim.services.idp.pause()
    sim.services.admin.delete_scim_record_only(account["account_id"])
    upns = [
        PRIYA,
        *(u["userName"] for u in sim.world["idp"]["users"][:3] if u["userName"] != PRIYA),
    ]
    for upn in upns:
        sim.services.idp.provision_user(upn)
    # the simulator refuses any ruleId but the job's own, so four 200s mean the right rule
    assert on_demand(sim) == [200] * len(upns)
    job = sim.world["idp"]["job"]["id"]
    sp = sim.world["idp"]["service_principal"]
    assert schema_reads(sim) == [
        ("GET", f"/graph/servicePrincipals/{sp}/synchronization/jobs/{job}/schema", 200)
    ]
    paths = [p for _, p, _ in sim.requests("/graph")]
    assert paths.index(schema_reads(sim)[0][1]) < paths.index(
        next(p for p in paths if p.endswith("/provisionOnDemand"))
    )
    user = sim.services.scim.find_by_username(PRIYA)
    assert user is not None and user.account_id == account["account_id"]


def test_workers_share_one_schema_read(no_rule: Sim) -> None:
    # Graph answers after a real 50 ms, so workers that did not wait for the first one's
    # schema read would each send their own.
    no_rule.app.sleep = time.sleep
    no_rule.faults({"/graph": {"latency_ms": 50}})
    upns = [u["userName"] for u in no_rule.world["idp"]["users"][:5]]
    start = threading.Barrier(len(upns))

    def push(upn: str) -> None:
        start.wait()
        no_rule.services.idp.provision_user(upn)

    with ThreadPoolExecutor(max_workers=len(upns)) as pool:
        list(pool.map(push, upns))
    assert on_demand(no_rule) == [200] * len(upns)
    assert len(schema_reads(no_rule)) == 1


def test_a_configured_rule_wins_without_a_schema_read(sim: Sim) -> None:
    sim.services.idp.provision_user(PRIYA)
    sim.services.idp.provision_user(PRIYA)
    assert on_demand(sim) == [200, 200]
    assert schema_reads(sim) == []


def test_several_rules_to_the_app_are_refused_naming_them() -> None:
    sim = sim_without_rule([INBOUND, {"id": "rule-2", "name": "GROUPS"}])
    try:
        rule = sim.world["idp"]["job"]["rule_id"]
        job = sim.world["idp"]["job"]["id"]
        for _ in range(2):
            with pytest.raises(InputError) as err:
                sim.services.idp.provision_user(PRIYA)
            assert str(err.value) == (
                "set [idp].rule_id in the profile: provision on demand needs one rule, and "
                f"synchronization job {job} has 2 rules from Microsoft Entra ID to the app "
                f"({rule}, rule-2)"
            )
        assert len(schema_reads(sim)) == 1  # the refusal is remembered, not re-read per user
        assert on_demand(sim) == []
        assert not any("/users/" in p for _, p, _ in sim.requests("/graph"))
    finally:
        sim.services.close()


def test_no_rule_to_the_app_is_refused() -> None:
    base = make_sim()
    world = base.world
    del world["idp"]["job"]["rule_id"]
    world["idp"]["job"]["extra_rules"] = [INBOUND]
    profile = base.app.profile("http://sim.localhost")
    base.services.close()
    sim = make_sim(world=world, profile=profile)
    try:
        with pytest.raises(InputError) as err:
            sim.services.idp.provision_user(PRIYA)
        job = world["idp"]["job"]["id"]
        assert str(err.value) == (
            "set [idp].rule_id in the profile: provision on demand needs one rule, and "
            f"synchronization job {job} has 0 rules from Microsoft Entra ID to the app (none)"
        )
    finally:
        sim.services.close()


@pytest.fixture
def served_without_rule(tmp_path: Path) -> Iterator[Served]:
    for served in serve("acme-trello", tmp_path):
        profile = served.app.profile(served.url)
        del profile["idp"]["rule_id"]
        served.profile.write_text(to_toml(profile), encoding="utf-8")
        yield served


def test_cli_idp_provision_finds_the_rule(served_without_rule: Served) -> None:
    sim = served_without_rule
    assert "rule_id" not in sim.profile.read_text(encoding="utf-8")
    result = sim.run("idp", "provision", PRIYA)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Microsoft Entra ID provisioned {PRIYA}: Skipped")
    graph = [
        (r["method"], r["path"].rsplit("/", 1)[-1], r["status"])
        for r in sim.app.log
        if r["prefix"] == "/graph"
    ]
    assert ("GET", "schema", 200) in graph and ("POST", "provisionOnDemand", 200) in graph
