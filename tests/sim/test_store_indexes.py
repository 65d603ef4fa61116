"""The simulator's indexes are kept in step by its writes instead of rebuilt after each one.

The property: after any sequence of the store's own writes (new accounts, email changes, SCIM
users created, renamed, re-addressed and removed), every lookup answers exactly what a plain
scan of the world answers. A stale index would make the simulator link a re-provisioned user
to the wrong account, which is the very failure the playbooks are tested against.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.sim.store import Store, fold

NAMES = ["ann", "bob", "cy", "Dee", "ANN"]
DIRS = ["d1", "d2"]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("account"), st.sampled_from(NAMES)),
        st.tuples(st.just("email"), st.integers(0, 20), st.sampled_from(NAMES)),
        st.tuples(
            st.just("scim"), st.sampled_from(DIRS), st.sampled_from(NAMES), st.integers(0, 20)
        ),
        st.tuples(st.just("rename"), st.integers(0, 20), st.sampled_from(NAMES)),
        st.tuples(st.just("readdress"), st.integers(0, 20), st.sampled_from(NAMES)),
        st.tuples(st.just("remove"), st.integers(0, 20)),
        st.tuples(st.just("look"), st.sampled_from(NAMES)),
    ),
    max_size=40,
)


def _mail(name: str) -> str:
    return f"{name}@acme.example"


def _apply(store: Store, op: tuple[Any, ...], counter: list[int]) -> None:
    kind = op[0]
    accounts, scim = store.world["accounts"], store.world["scim_users"]
    counter[0] += 1
    if kind == "account":
        store.add("accounts", {"account_id": f"a{counter[0]}", "email": _mail(op[1])})
    elif kind == "email" and accounts:
        with store.editing("accounts", accounts[op[1] % len(accounts)]) as account:
            account["email"] = _mail(op[2])
    elif kind == "scim" and accounts:
        account = accounts[op[3] % len(accounts)]
        record = {
            "id": f"s{counter[0]}",
            "directory": op[1],
            "userName": _mail(op[2]),
            "emails": [{"value": _mail(op[2])}],
            "account_id": account["account_id"],
        }
        store.add("scim_users", record)
    elif kind == "rename" and scim:
        with store.editing("scim_users", scim[op[1] % len(scim)]) as record:
            record["userName"] = _mail(op[2])
    elif kind == "readdress" and scim:
        with store.editing("scim_users", scim[op[1] % len(scim)]) as record:
            record["emails"] = [{"value": _mail(op[2])}, {"value": "x@acme.example"}]
    elif kind == "remove" and scim:
        store.remove_scim_user(scim[op[1] % len(scim)])
    elif kind == "look":  # lookups in between build the indexes the next writes must keep
        store.account_by_email(_mail(op[1]))
        store.scim_user_by_name("d1", _mail(op[1]))
        store.scim_users_with_email(_mail(op[1]))
        store.account("a1")
        store.scim_user("d1", "s1")
        store.scim_links("a1")


def _assert_agrees_with_scan(store: Store) -> None:
    accounts, scim = store.world["accounts"], store.world["scim_users"]
    for account in accounts:
        assert store.account(account["account_id"]) is account
    for name in [*NAMES, "x", "nobody"]:
        email = _mail(name)
        assert store.account_by_email(email) is next(
            (a for a in accounts if fold(a["email"]) == fold(email)), None
        )
        for directory in DIRS:
            assert store.scim_user_by_name(directory, email) is next(
                (
                    u
                    for u in scim
                    if u["directory"] == directory and fold(u["userName"]) == fold(email)
                ),
                None,
            )
        with_email = [u for u in scim if fold(email) in {fold(e["value"]) for e in u["emails"]}]
        assert sorted(map(id, store.scim_users_with_email(email))) == sorted(map(id, with_email))
    for account in accounts:
        links = [u for u in scim if u["account_id"] == account["account_id"]]
        assert sorted(map(id, store.scim_links(account["account_id"]))) == sorted(map(id, links))
    for record in scim:
        assert store.scim_user(record["directory"], record["id"]) is record


@settings(max_examples=300, deadline=None)
@given(ops)
def test_indexes_answer_like_a_scan_after_any_writes(sequence: list[tuple[Any, ...]]) -> None:
    store = Store({"accounts": [], "scim_users": []}, seed=1, clock=lambda: 0.0)
    counter = [0]
    for op in sequence:
        _apply(store, op, counter)
    _assert_agrees_with_scan(store)


def test_a_removed_scim_user_is_gone_from_every_lookup() -> None:
    record = {
        "id": "s1",
        "directory": "d1",
        "userName": "ann@acme.example",
        "emails": [{"value": "ann@acme.example"}],
        "account_id": "a1",
    }
    store = Store({"accounts": [], "scim_users": [record]}, seed=1, clock=lambda: 0.0)
    assert store.scim_links("a1") == [record]  # builds the indexes
    store.remove_scim_user(record)
    assert store.world["scim_users"] == []
    assert store.scim_links("a1") == []
    assert store.scim_user("d1", "s1") is None
    assert store.scim_user_by_name("d1", "ann@acme.example") is None
    assert store.scim_users_with_email("ann@acme.example") == []


def test_an_edit_behind_the_stores_back_is_not_found_under_the_old_key() -> None:
    account = {"account_id": "a1", "email": "ann@acme.example"}
    store = Store({"accounts": [account], "scim_users": []}, seed=1, clock=lambda: 0.0)
    assert store.account_by_email("ann@acme.example") is account
    account["email"] = "bob@acme.example"  # not through store.editing
    assert store.account_by_email("ann@acme.example") is None
    store.touch()
    assert store.account_by_email("bob@acme.example") is account
