"""Generated worlds: reproducible to the byte, valid at every size, and as messy as real orgs."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.recon.billable import account_is_billable, billable_only_through
from scimrecon.sim.generate import generate_world
from scimrecon.sim.summary import summarize
from scimrecon.sim.validate import validate_world
from scimrecon.sim.world import world_to_json


def test_same_seed_same_bytes_different_seed_different_world() -> None:
    first = world_to_json(generate_world(400, 11))
    assert world_to_json(generate_world(400, 11)) == first
    assert world_to_json(generate_world(400, 12)) != first
    assert world_to_json(generate_world(401, 11)) != first


@settings(max_examples=40, deadline=None)
@given(accounts=st.integers(min_value=0, max_value=60), seed=st.integers(0, 2**32))
def test_generated_worlds_of_any_small_size_validate_cleanly(accounts: int, seed: int) -> None:
    world = generate_world(accounts, seed)
    assert validate_world(world) == []
    assert len(world["accounts"]) == accounts
    assert world["billing"]["tier"] >= summarize(world)["billable"]


def test_a_generated_org_has_the_messy_mix_of_a_real_one() -> None:
    world = generate_world(3000, 5)
    accounts = world["accounts"]
    status = Counter(a["status"] for a in accounts)
    assert status["active"] > 2600 and status["inactive"] > 50 and status["closed"] > 10
    unmanaged = [a for a in accounts if not a["managed"]]
    assert 100 < len(unmanaged) < 300
    assert all(not a["email"].endswith("@acme.example") for a in unmanaged)
    trello_only = [
        a
        for a in accounts
        if account_is_billable(a)
        and billable_only_through([p["key"] for p in a["product_access"]], ["trello"])
    ]
    assert 50 < len(trello_only) < 150
    reporters = Counter(i["reporter"] for i in world["jira"]["issues"])
    assert all(1 <= reporters[a["account_id"]] <= 3 for a in trello_only)
    never = [p for a in accounts for p in a["product_access"] if p["last_active"] is None]
    assert len(never) > 50
    assert sum(a["account_type"] == "app" for a in accounts) > 10
    assert sum(a["org_role"] == "admin" for a in accounts) > 3
    assert any(u["account_id"] is None for u in world["scim_users"])
    assert any(not u["assigned"] for u in world["idp"]["users"])
    linked = {u["account_id"] for u in world["scim_users"]}
    assert all(a["account_id"] not in linked for a in unmanaged)
    assert len({a["email"].lower() for a in accounts}) == len(accounts)
