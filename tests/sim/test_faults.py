"""Injected faults: rate limits, errors, timeouts, outages, latency; reproducible from the seed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.sim.faults import Faults, FaultSpecError, validate_spec
from tests.sim.conftest import JIRA, JIRA_AUTH, ORG, PROV
from tests.simharness import FakeClock, client, make_sim

ORG_H = {"Authorization": "Bearer org-key-SECRET-1"}


def statuses(api, n: int, url: str = f"{ORG}/users") -> list[int]:
    return [api.get(url, headers=ORG_H).status_code for _ in range(n)]


def test_rate_limit_answers_429_with_retry_after_and_reset(api, clock):
    api.put("/_sim/faults", json={"/atlassian": {"rate_per_s": 2}})
    assert statuses(api, 3) == [200, 200, 429]
    r = api.get(f"{ORG}/users", headers=ORG_H)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert r.headers["X-RateLimit-Limit"] == "2" and r.headers["X-RateLimit-Remaining"] == "0"
    assert r.headers["X-RateLimit-Reset"].endswith("Z")
    assert r.json()["errors"][0]["status"] == "429"  # the API's own error shape
    clock.advance(0.5)
    assert statuses(api, 2) == [200, 429]


def test_rate_limit_can_omit_retry_after(api):
    api.put("/_sim/faults", json={"/atlassian": {"rate_per_s": 1, "retry_after": False}})
    api.get(f"{ORG}/users", headers=ORG_H)
    r = api.get(f"{ORG}/users", headers=ORG_H)
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert "X-RateLimit-Reset" in r.headers


def test_a_rate_limit_without_hints_and_with_a_penalty(api, clock):
    """`hints: false`: a 429 with no rate-limit header at all; `penalty: true`: a retry inside
    the wait is refused and makes the wait longer (Jira: "the same or longer")."""
    spec = {"/atlassian": {"rate_per_s": 1, "burst": 1, "hints": False, "penalty": True}}
    api.put("/_sim/faults", json=spec)
    ok = api.get(f"{ORG}/users", headers=ORG_H)
    assert ok.status_code == 200 and not [h for h in ok.headers if "ratelimit" in h.lower()]
    refused = api.get(f"{ORG}/users", headers=ORG_H)
    assert refused.status_code == 429
    assert not [h for h in refused.headers if "ratelimit" in h or h.lower() == "retry-after"]
    clock.advance(1.0)  # a second after the first call: without the penalty, a token is back
    assert statuses(api, 1) == [429]
    clock.advance(2.0)  # the two refused calls paid for, and one more second earned
    assert statuses(api, 1) == [200]


def test_faults_are_per_prefix(api):
    api.put("/_sim/faults", json={"/jira": {"error_rate": 1.0}})
    assert statuses(api, 3) == [200, 200, 200]
    r = api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = HELP"})
    assert r.status_code in (500, 502, 503) and "errorMessages" in r.json()


def test_errors_are_reproducible_with_a_seed(world):
    def run() -> list[int]:
        clock = FakeClock()
        sim = make_sim(world, seed=5, clock=clock, sleep=clock.sleep)
        sim.set_faults({"/atlassian": {"error_rate": 0.4}, "seed": 99})
        with client(sim) as c:
            return statuses(c, 40)

    first, second = run(), run()
    assert first == second
    assert {500, 502, 503} & set(first) and 200 in first


def test_error_statuses_can_be_chosen(api):
    api.put("/_sim/faults", json={"/atlassian": {"error_rate": 1.0, "error_statuses": [502]}})
    assert statuses(api, 3) == [502, 502, 502]


def test_timeout_sleeps_past_the_client_timeout_and_changes_nothing(sim, api, clock):
    api.put("/_sim/faults", json={"/atlassian": {"timeout_rate": 1.0, "timeout_ms": 45000}})
    r = api.post(
        f"/atlassian/users/{'aaa000000000000000000002'}/manage/lifecycle/disable", headers=ORG_H
    )
    assert r.status_code == 504
    assert clock.slept == [45.0]
    assert (
        next(a for a in sim.world["accounts"] if a["email"] == "bob@acme.example")["status"]
        == "active"
    )


def test_timeout_that_applies_changes_the_world_anyway(sim, api, clock):
    # bob's SCIM entry removed first: the organization may then disable him itself (UM-4)
    unlinked = api.delete(f"{PROV}/user/aaa000000000000000000002/onlyDeleteUserInDB", headers=ORG_H)
    assert unlinked.status_code in (200, 204)
    api.put(
        "/_sim/faults",
        json={"/atlassian": {"timeout_rate": 1.0, "timeout_ms": 45000, "timeout_applies": True}},
    )
    api.post("/atlassian/users/aaa000000000000000000002/manage/lifecycle/disable", headers=ORG_H)
    assert (
        next(a for a in sim.world["accounts"] if a["email"] == "bob@acme.example")["status"]
        == "inactive"
    )


def test_one_api_down_for_30_seconds(api, clock):
    api.put("/_sim/faults", json={"/graph": {"down_for_s": 30}, "/atlassian": {}})
    assert statuses(api, 1) == [200]
    r = api.get("/graph/users/ada@acme.example")
    assert r.status_code == 503 and r.json()["error"]["code"] == "ServiceUnavailable"
    clock.advance(30)
    assert api.get("/graph/users/ada@acme.example").status_code == 401  # back: now auth applies


def test_latency_is_applied(api, clock):
    api.put("/_sim/faults", json={"/atlassian": {"latency_ms": 250}})
    statuses(api, 2)
    assert clock.slept == [0.25, 0.25]


def test_longest_prefix_wins(api):
    api.put("/_sim/faults", json={"/atlassian": {"error_rate": 1.0}, "/atlassian/admin": {}})
    assert statuses(api, 2) == [200, 200]
    assert (
        api.get(
            "/atlassian/users/aaa000000000000000000001/manage/profile", headers=ORG_H
        ).status_code
        >= 500
    )


def test_faults_from_the_world_apply_at_start(world):
    world["faults"] = {"/atlassian": {"error_rate": 1.0, "error_statuses": [503]}, "seed": 1}
    with client(make_sim(world)) as c:
        assert statuses(c, 1) == [503]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "faults must be a JSON object"),
        ({"atlassian": {}}, "must be a path prefix"),
        ({"/atlassian": {"error_rate": 2}}, "between 0 and 1"),
        ({"/atlassian": {"latency_ms": -1}}, "non-negative"),
        ({"/atlassian": {"explode": 1}}, "not a known fault"),
        ({"/atlassian": {"error_statuses": [404]}}, "5xx"),
        ({"seed": "x"}, "seed must be an integer"),
    ],
)
def test_bad_fault_specs_are_refused_with_the_key_named(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        validate_spec(spec)


def test_put_bad_faults_is_400_and_keeps_the_old_spec(api):
    api.put("/_sim/faults", json={"/atlassian": {"latency_ms": 1}})
    r = api.put("/_sim/faults", json={"/atlassian": {"error_rate": 5}})
    assert r.status_code == 400 and "error_rate" in r.json()["error"]
    assert api.get("/_sim/faults").json() == {"/atlassian": {"latency_ms": 1}}


def test_bucket_refills_at_the_rate():
    clock = FakeClock()
    faults = Faults({"/x": {"rate_per_s": 10, "burst": 2}}, seed=1, clock=clock)
    assert [faults.decide("/x/a").status for _ in range(3)] == [None, None, 429]
    clock.advance(0.1)
    assert faults.decide("/x/a").status is None
    assert faults.decide("/y").status is None


@given(
    rate=st.floats(min_value=0.5, max_value=50),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=60),
)
def test_token_bucket_never_admits_more_than_burst_plus_rate_times_time(rate, burst, gaps):
    clock = FakeClock()
    faults = Faults({"/x": {"rate_per_s": rate, "burst": burst}}, seed=1, clock=clock)
    admitted = 0
    for gap in gaps:
        clock.advance(gap)
        decision = faults.decide("/x")
        if decision.status is None:
            admitted += 1
        else:
            assert decision.status == 429 and int(decision.headers["Retry-After"]) >= 1
    assert admitted <= burst + rate * sum(gaps) + 1e-6
    assert admitted >= 1  # the bucket starts full


def test_down_until_is_an_absolute_end(api, clock):
    api.put("/_sim/faults", json={"/graph": {"down_until": clock.now + 10}})
    assert api.get("/graph/users/x").status_code == 503
    clock.advance(10)
    assert api.get("/graph/users/x").status_code == 401
