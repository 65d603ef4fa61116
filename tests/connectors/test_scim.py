"""ScimDirectory against the simulator: every method, every error a user can meet."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scimrecon.connectors.scim import (
    NotFound,
    ScimDirectory,
    ScimError,
    ScimUser,
    eq_filter,
    quote_filter_value,
)
from scimrecon.http import HttpClient, HttpError, HttpSettings
from scimrecon.retry import RetryPolicy
from tests.connectors.conftest import Sim, make_sim

PRIYA = "priya.raman@acme.example"


def world_user(sim: Sim, user_name: str) -> dict[str, Any] | None:
    return next((u for u in sim.world["scim_users"] if u["userName"] == user_name), None)


def scim_path(sim: Sim) -> str:
    return f"/atlassian/scim/directory/{sim.services.profile.scim.directory_id}"  # type: ignore[union-attr]


def test_find_by_username_gives_the_full_view(sim: Sim) -> None:
    raw = world_user(sim, PRIYA)
    assert raw is not None
    user = sim.services.scim.find_by_username(PRIYA)
    assert user == ScimUser(
        id=raw["id"],
        user_name=PRIYA,
        external_id=raw["externalId"],
        emails=(PRIYA,),
        primary_email=PRIYA,
        active=True,
        account_id=raw["account_id"],
        display_name="Priya Raman",
    )
    method, path, status = sim.requests("/atlassian/scim")[-1]
    assert (method, status) == ("GET", 200)
    assert path.endswith(
        "/Users?filter=userName+eq+%22priya.raman%40acme.example%22&startIndex=1&count=100"
    )


def test_find_by_external_id_and_get(sim: Sim) -> None:
    raw = world_user(sim, PRIYA)
    assert raw is not None
    by_ext = sim.services.scim.find_by_external_id(raw["externalId"])
    assert by_ext is not None and by_ext.id == raw["id"]
    assert sim.services.scim.get(raw["id"]) == by_ext


def test_find_nothing_is_none(sim: Sim) -> None:
    assert sim.services.scim.find_by_username("nobody@acme.example") is None
    assert sim.services.scim.find_by_external_id("no-such-external-id") is None


def test_get_unknown_is_not_found_with_the_exact_message(sim: Sim) -> None:
    with pytest.raises(NotFound) as err:
        sim.services.scim.get("no-such-id")
    assert (
        str(err.value) == "SCIM directory: GET /Users/no-such-id → 404: User no-such-id not found"
    )
    assert err.value.status == 404


def test_iter_users_pages_through_everything(sim: Sim) -> None:
    directory = sim.services.profile.scim.directory_id  # type: ignore[union-attr]
    expected = sorted(u["id"] for u in sim.world["scim_users"] if u["directory"] == directory)
    got = sorted(u.id for u in sim.services.scim.iter_users(page_size=10))
    assert got == expected
    starts = [
        p.split("startIndex=")[1].split("&")[0] for _, p, _ in sim.requests("/atlassian/scim")
    ]
    assert starts == [str(1 + 10 * n) for n in range((len(expected) + 9) // 10)]


def test_create_links_to_the_managed_account_holding_the_email(sim: Sim) -> None:
    linked = {u["account_id"] for u in sim.world["scim_users"] if u.get("account_id")}
    free = next(a for a in sim.world["accounts"] if a["managed"] and a["account_id"] not in linked)
    created = sim.services.scim.create(
        ScimUser.new(free["email"], external_id="ext-new", display_name=free["name"])
    )
    assert created.account_id == free["account_id"]
    raw = world_user(sim, free["email"])
    assert raw is not None and raw["id"] == created.id and raw["externalId"] == "ext-new"
    assert ("POST", f"{scim_path(sim)}/Users", 201) in sim.requests()


def test_create_duplicate_is_409_uniqueness(sim: Sim) -> None:
    before = len(sim.world["scim_users"])
    with pytest.raises(ScimError) as err:
        sim.services.scim.create(ScimUser.new(PRIYA))
    assert str(err.value) == (
        "SCIM directory: POST /Users → 409: a user with userName 'priya.raman@acme.example' "
        "already exists (scimType uniqueness)"
    )
    assert (err.value.status, err.value.scim_type) == (409, "uniqueness")
    assert len(sim.world["scim_users"]) == before


def test_set_active_and_patch_emails_change_the_world(sim: Sim) -> None:
    raw = world_user(sim, PRIYA)
    assert raw is not None
    user = sim.services.scim.set_active(raw["id"], False)
    assert user.active is False and world_user(sim, PRIYA)["active"] is False  # type: ignore[index]
    user = sim.services.scim.patch_emails(raw["id"], "p.raman@acme.example", [PRIYA])
    assert user.primary_email == "p.raman@acme.example"
    assert world_user(sim, PRIYA)["emails"] == [  # type: ignore[index]
        {"value": "p.raman@acme.example", "type": "work", "primary": True},
        {"value": PRIYA, "type": "work", "primary": False},
    ]


def test_delete_unlinks_and_deactivates_then_404(sim: Sim) -> None:
    raw = world_user(sim, PRIYA)
    assert raw is not None
    sim.services.scim.delete(raw["id"])
    assert world_user(sim, PRIYA) is None
    account = next(a for a in sim.world["accounts"] if a["account_id"] == raw["account_id"])
    assert account["status"] == "inactive"
    with pytest.raises(NotFound) as err:
        sim.services.scim.delete(raw["id"])
    assert (
        str(err.value)
        == f"SCIM directory: DELETE /Users/{raw['id']} → 404: User {raw['id']} not found"
    )


def test_invalid_filter_is_reported_with_scim_type(sim: Sim) -> None:
    with pytest.raises(ScimError) as err:
        sim.services.scim._search('emails.value eq "x@acme.example"', 1, 100)
    assert str(err.value) == (
        "SCIM directory: GET /Users → 400: filtering on 'emails.value' is not supported "
        "(scimType invalidFilter)"
    )
    assert (err.value.status, err.value.scim_type) == (400, "invalidFilter")


def test_wrong_key_is_401_and_another_apis_key_is_403() -> None:
    bad = make_sim(secrets={"SCIMRECON_SCIM_TOKEN": "not-a-key"})
    with pytest.raises(ScimError) as err:
        bad.services.scim.find_by_username(PRIYA)
    assert (
        str(err.value)
        == "SCIM directory: GET /Users → 401: invalid credentials for the SCIM directory"
    )
    org_key = bad.app.secrets()["SCIMRECON_ORG_API_KEY"]
    other = make_sim(secrets={"SCIMRECON_SCIM_TOKEN": org_key})
    with pytest.raises(ScimError) as err:
        other.services.scim.find_by_username(PRIYA)
    assert str(err.value) == (
        "SCIM directory: GET /Users → 403: this credential is not valid for the SCIM directory"
    )
    assert org_key not in str(err.value)


def test_429_with_retry_after_is_waited_out(sim: Sim) -> None:
    sim.faults({"/atlassian": {"rate_per_s": 1}})
    for _ in range(4):
        assert sim.services.scim.find_by_username(PRIYA) is not None
    statuses = [s for _, _, s in sim.requests("/atlassian/scim")]
    assert statuses.count(200) == 4 and 429 in statuses
    assert all(s == 1.0 for s in sim.time.sleeps)  # exactly what Retry-After said


def test_429_without_retry_after_uses_the_reset_time(sim: Sim) -> None:
    sim.faults({"/atlassian": {"rate_per_s": 2, "retry_after": False}})
    for _ in range(5):
        sim.services.scim.find_by_username(PRIYA)
    assert 429 in [s for _, _, s in sim.requests("/atlassian/scim")]
    assert sim.time.sleeps and all(0 < s <= 0.5 + 1e-6 for s in sim.time.sleeps)


def test_5xx_gives_up_after_the_attempts_with_one_line() -> None:
    sim = make_sim(retry=RetryPolicy(attempts=3))
    sim.faults({"/atlassian": {"error_rate": 1.0}, "seed": 3})
    with pytest.raises(HttpError) as err:
        sim.services.scim.find_by_username(PRIYA)
    status = err.value.status
    assert status in (500, 502, 503)
    assert str(err.value) == f"SCIM directory: GET /Users → {status}: simulated server error"
    assert len(sim.requests("/atlassian/scim")) == (1 if status == 500 else 3)


def test_gateway_timeout_is_retried_then_succeeds(sim: Sim) -> None:
    sim.faults({"/atlassian/scim": {"timeout_rate": 0.5, "timeout_ms": 30000}, "seed": 2})
    for _ in range(4):
        assert sim.services.scim.find_by_username(PRIYA) is not None
    assert 504 in [s for _, _, s in sim.requests("/atlassian/scim")]


def _html_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"].endswith("/Users/html500"):
        start_response("500 Oops", [("Content-Type", "text/html")])
        return [b"<html>proxy error</html>"]
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<html>sign in</html>"]


def test_non_json_bodies_are_reported_clearly() -> None:
    http = HttpClient(
        "SCIM directory",
        "https://scim.example/scim/directory/d1",
        None,
        settings=HttpSettings(
            transport=httpx.WSGITransport(app=_html_app), retry=RetryPolicy(attempts=1)
        ),
    )
    scim = ScimDirectory(http)
    with pytest.raises(ScimError) as err:
        scim.get("html500")
    assert str(err.value) == (
        "SCIM directory: GET /Users/html500 → 500: non-JSON body (text/html): "
        "<html>proxy error</html>"
    )
    with pytest.raises(ScimError) as err:
        scim.get("login-page")
    assert str(err.value) == "SCIM directory: GET /Users/login-page → 200: the response is not JSON"


# --- filter escaping ----------------------------------------------------------------------------


@given(st.text(max_size=30))
def test_quoted_filter_round_trips_through_the_scim_parser(value: str) -> None:
    from scim2_models import ScimFilter

    node = ScimFilter(eq_filter("userName", value)).ast
    assert node.value == value
    assert quote_filter_value(value).startswith('"')


_TRICKY = st.one_of(
    st.text(min_size=1, max_size=24),
    st.sampled_from(['a" or userName eq "b', "back\\slash", 'q"uote', "x or y", "é漢😀", '\\"']),
    st.builds(
        lambda a, b: f'{a}" or userName eq "{b}',
        st.text(max_size=5),
        st.text(max_size=5),
    ),
)


@pytest.fixture(scope="module")
def shared_sim() -> Sim:
    return make_sim()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_TRICKY)
def test_any_user_name_matches_only_itself(shared_sim: Sim, name: str) -> None:
    assume(name.strip() == name and name)
    taken = {u["userName"].casefold() for u in shared_sim.world["scim_users"]}
    assume(name.casefold() not in taken)
    n = len(shared_sim.world["scim_users"])
    created = shared_sim.services.scim.create(
        ScimUser.new(name, email=f"prop{n}@acme.example", external_id=f"prop-ext-{n}")
    )
    found = shared_sim.services.scim.find_by_username(name)
    assert found is not None and found.id == created.id and found.user_name == name
    # a decoy built from the same characters is a different user (or none)
    decoy = shared_sim.services.scim.find_by_username(name + '" or userName pr "')
    assert decoy is None or decoy.id != created.id


def test_quote_is_json() -> None:
    assert quote_filter_value('a"b\\c') == json.dumps('a"b\\c')
