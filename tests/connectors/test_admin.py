"""AdminApi against the simulator: provisioning links, user management, organization."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimrecon.connectors.admin import seg
from scimrecon.connectors.admin_records import LastActive, ProductAccess, ScimLink
from scimrecon.http import HttpError
from scimrecon.retry import RetryPolicy
from scimrecon.sim.world import load_world
from tests.connectors.conftest import Sim, make_sim

PRIYA = "priya.raman@acme.example"


def account(sim: Sim, email: str) -> dict[str, Any]:
    return next(a for a in sim.world["accounts"] if a["email"] == email)


def priya(sim: Sim) -> tuple[dict[str, Any], dict[str, Any]]:
    acc = account(sim, PRIYA)
    scim = next(u for u in sim.world["scim_users"] if u["account_id"] == acc["account_id"])
    return acc, scim


def test_scim_links_for_email_and_account(sim: Sim) -> None:
    acc, scim = priya(sim)
    expected = [ScimLink(scim["id"], acc["account_id"], sim.world["org"]["id"], scim["directory"])]
    assert sim.services.admin.scim_links_for_email(PRIYA) == expected
    assert sim.services.admin.scim_links_for_account(acc["account_id"]) == expected
    assert sim.services.admin.scim_links_for_email("nobody@acme.example") == []


def test_delete_scim_record_only_keeps_the_account(sim: Sim) -> None:
    acc, scim = priya(sim)
    sim.services.admin.delete_scim_record_only(acc["account_id"])
    assert all(u["id"] != scim["id"] for u in sim.world["scim_users"])
    assert account(sim, PRIYA)["status"] == "active"
    assert sim.services.admin.scim_links_for_account(acc["account_id"]) == []
    method, path, status = sim.requests("/atlassian/admin")[0]
    assert (method, status) == ("DELETE", 204)
    assert path.endswith(f"/user/{acc['account_id']}/onlyDeleteUserInDB")


def test_get_profile_and_errors(sim: Sim) -> None:
    acc, _ = priya(sim)
    profile = sim.services.admin.get_profile(acc["account_id"])
    assert (profile.email, profile.name, profile.account_status, profile.account_type) == (
        PRIYA,
        "Priya Raman",
        "active",
        "atlassian",
    )
    with pytest.raises(HttpError) as err:
        sim.services.admin.get_profile("no-such-account")
    assert err.value.status == 404
    assert str(err.value).startswith(
        "Atlassian org API: GET /users/no-such-account/manage/profile → 404: "
    )
    unmanaged = next(a for a in sim.world["accounts"] if not a["managed"])
    with pytest.raises(HttpError) as err:
        sim.services.admin.get_profile(unmanaged["account_id"])
    assert err.value.status == 403
    # A refusal says which account and why, from errorKey/errorDetail and context.reason.
    assert str(err.value) == (
        f"Atlassian org API: GET /users/{unmanaged['account_id']}/manage/profile → 403: "
        f"forbidden.action: account {unmanaged['account_id']} is not a managed account of "
        "this organization: only managed accounts can be changed (reason: managedAccount)"
    )


def _unlinked(sim: Sim, account_id: str) -> None:
    """Remove the account's SCIM entry: only then may the organization change it itself
    (the user management API's reason `externalDirectory.scim`, docs/fidelity.md UM-4)."""
    sim.services.admin.delete_scim_record_only(account_id)


def test_a_scim_linked_account_is_refused_with_the_reason(sim: Sim) -> None:
    acc, _ = priya(sim)
    with pytest.raises(HttpError) as err:
        sim.services.admin.disable(acc["account_id"], "left")
    assert err.value.status == 403
    assert str(err.value) == (
        f"Atlassian org API: POST /users/{acc['account_id']}/manage/lifecycle/disable → 403: "
        f"forbidden.action: account {acc['account_id']} is managed by an external SCIM "
        "directory: change it in the identity provider, or remove its SCIM entry first "
        "(reason: externalDirectory.scim)"
    )
    assert account(sim, PRIYA)["status"] == "active"


def test_set_email_and_the_unverified_domain_error(sim: Sim) -> None:
    acc, _ = priya(sim)
    _unlinked(sim, acc["account_id"])
    sim.services.admin.set_email(acc["account_id"], "priya.old@acme.example")
    assert account(sim, "priya.old@acme.example")["account_id"] == acc["account_id"]
    with pytest.raises(HttpError) as err:
        sim.services.admin.set_email(acc["account_id"], "priya@gmail.example")
    assert str(err.value) == (
        f"Atlassian org API: PUT /users/{acc['account_id']}/manage/email → 400: "
        "domain_not_verified: gmail.example is not a verified domain of this organization"
    )


def test_disable_and_enable(sim: Sim) -> None:
    acc, _ = priya(sim)
    _unlinked(sim, acc["account_id"])
    sim.services.admin.disable(acc["account_id"], "moved to a new account (run 7)")
    assert account(sim, PRIYA)["status"] == "inactive"
    sim.services.admin.enable(acc["account_id"])
    assert account(sim, PRIYA)["status"] == "active"
    assert [(m, s) for m, _, s in sim.requests("/atlassian/users")] == [
        ("POST", 204),
        ("POST", 204),
    ]


def _with_extra_accounts(count: int) -> dict[str, Any]:
    """acme-trello with `count` more managed accounts: a listing of several pages."""
    world = load_world("acme-trello")
    template = next(a for a in world["accounts"] if a["managed"])
    for n in range(count):
        extra = copy.deepcopy(template)
        extra.update(account_id=f"712020:extra-{n:03d}", email=f"extra{n}@acme.example")
        world["accounts"].append(extra)
    return world


def test_iter_org_users_follows_cursors() -> None:
    sim = make_sim(world=_with_extra_accounts(180))
    users = list(sim.services.admin.iter_org_users())
    managed = [a["account_id"] for a in sim.world["accounts"] if a["managed"]]
    assert [u.account_id for u in users] == managed
    pages = [p for _, p, _ in sim.requests("/atlassian/admin/v1")]
    assert len(pages) == (len(managed) + 99) // 100
    assert "cursor=" not in pages[0] and all("cursor=" in p for p in pages[1:])
    first = users[0]
    assert first.access_billable is True and first.product_access[0].name


def test_a_listing_outlasts_429s_that_say_nothing_and_punish_early_retries() -> None:
    """A limit of 1 request/s (burst 1) far under the profile's pace; each 429 carries no
    header at all and a retry inside the wait makes it longer (`hints: false`, `penalty`,
    Jira's documented behaviour). The default retry policy still reads all three pages: every
    hint-less 429 waits at least half of a doubling delay from one second, never at once."""
    sim = make_sim(world=_with_extra_accounts(250), retry=RetryPolicy())
    sim.faults({"/atlassian": {"rate_per_s": 1, "burst": 1, "hints": False, "penalty": True}})
    users = list(sim.services.admin.iter_org_users())
    assert len(users) == len([a for a in sim.world["accounts"] if a["managed"]])
    statuses = [s for _, _, s in sim.requests("/atlassian/admin/v1")]
    assert statuses.count(200) == 3 and 429 in statuses
    assert min(sim.time.sleeps) >= 0.5  # no hint-less 429 was retried at once


def test_find_org_user_by_email_is_cached_until_refresh(sim: Sim) -> None:
    admin = sim.services.admin
    found = admin.find_org_user_by_email("PRIYA.RAMAN@acme.example")
    assert found is not None and found.email == PRIYA
    assert admin.find_org_user_by_email("nobody@acme.example") is None
    assert len(sim.requests("/atlassian/admin/v1")) == 1
    admin.refresh()
    admin.find_org_user_by_email(PRIYA)
    assert len(sim.requests("/atlassian/admin/v1")) == 2


def test_last_active_dates(sim: Sim) -> None:
    acc, _ = priya(sim)
    got = sim.services.admin.last_active_dates(acc["account_id"])
    assert got == LastActive(
        products=[ProductAccess(p["key"], p["last_active"]) for p in acc["product_access"]],
        added_to_org=acc["added_to_org"],
    )


def test_suspend_and_restore_access(sim: Sim) -> None:
    acc, _ = priya(sim)
    keys = sorted(p["key"] for p in acc["product_access"])
    sim.services.admin.suspend_access(acc["account_id"])
    assert account(sim, PRIYA)["product_access"] == []
    sim.services.admin.restore_access(acc["account_id"])
    assert sorted(p["key"] for p in account(sim, PRIYA)["product_access"]) == keys


def test_wrong_key_is_401_with_the_exact_line() -> None:
    sim = make_sim(secrets={"SCIMRECON_ORG_API_KEY": "wrong-key-123"})
    with pytest.raises(HttpError) as err:
        sim.services.admin.scim_links_for_email(PRIYA)
    assert str(err.value) == (
        f"Atlassian org API: POST /admin/user-provisioning/v1/org/{sim.world['org']['id']}"
        "/get-scim-links-for-email → 401: invalid credentials for the organization APIs"
    )
    assert err.value.status == 401 and "wrong-key-123" not in str(err.value)


def test_read_post_and_same_twice_posts_are_retried_on_503() -> None:
    sim = make_sim(retry=RetryPolicy(attempts=10))
    acc, _ = priya(sim)
    _unlinked(sim, acc["account_id"])
    sim.faults({"/atlassian": {"error_rate": 0.5}, "seed": 11})
    for _ in range(3):
        sim.services.admin.scim_links_for_email(PRIYA)
        sim.services.admin.disable(acc["account_id"])
    assert account(sim, PRIYA)["status"] == "inactive"
    statuses = [s for _, _, s in sim.requests("/atlassian")]
    assert any(s in (502, 503) for s in statuses)


def test_429_on_post_is_retried(sim: Sim) -> None:
    acc, _ = priya(sim)
    _unlinked(sim, acc["account_id"])
    sim.faults({"/atlassian": {"rate_per_s": 1}})
    sim.services.admin.disable(acc["account_id"])
    sim.services.admin.enable(acc["account_id"])
    assert [s for _, _, s in sim.requests("/atlassian/users")] == [204, 429, 204]
    assert sim.time.sleeps == [1.0]


def test_ids_are_single_escaped_path_segments() -> None:
    assert seg("712020:abc") == "712020:abc"
    assert seg("a/../b?x#y") == "a%2F..%2Fb%3Fx%23y"
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError):
            seg(bad)


def test_our_own_writes_keep_the_cached_user_list_true_without_rereading(sim: Sim) -> None:
    admin = sim.services.admin
    ada = admin.find_org_user_by_email("ada.lovelace@acme.example")
    assert ada is not None
    _unlinked(sim, ada.account_id)
    ada = admin.find_org_user_by_email("ada.lovelace@acme.example")
    assert ada is not None
    pages = len(sim.requests("/atlassian/admin/v1/orgs"))
    admin.set_email(ada.account_id, "ada.lovelace+old-9@acme.example")
    admin.disable(ada.account_id, "test")
    assert admin.find_org_user_by_email("ada.lovelace@acme.example") is None
    moved = admin.find_org_user_by_email("ADA.LOVELACE+old-9@acme.example")
    assert moved is not None and moved.account_id == ada.account_id
    assert moved.account_status == "inactive"
    assert len(sim.requests("/atlassian/admin/v1/orgs")) == pages  # no page read again
