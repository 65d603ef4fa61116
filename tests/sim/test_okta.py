"""The simulator's Okta API: Okta's shapes on the wire, and what Okta does with each call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scimrecon.sim.app import SimApp
from tests.simharness import FakeClock, client, make_sim

ADA = "ada.lovelace@acme.example"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def okta(clock: FakeClock) -> SimApp:
    return make_sim("okta", clock=clock, sleep=clock.sleep)


@pytest.fixture
def api(okta: SimApp) -> Iterator[httpx.Client]:
    token = okta.world["idp"]["okta"]["api_token"]
    with client(okta, headers={"Authorization": f"SSWS {token}"}) as c:
        yield c


def app(okta: SimApp) -> str:
    return f"/okta/api/v1/apps/{okta.world['idp']['okta']['app_id']}"


def user(okta: SimApp, login: str) -> dict[str, Any]:
    return next(u for u in okta.world["idp"]["users"] if u["userName"] == login)


def scim_entry(okta: SimApp, login: str) -> dict[str, Any] | None:
    return next((u for u in okta.world["scim_users"] if u["userName"] == login), None)


def account(okta: SimApp, email: str) -> dict[str, Any]:
    return next(a for a in okta.world["accounts"] if a["email"] == email)


def set_caps(api: httpx.Client, okta: SimApp, **caps: str) -> httpx.Response:
    groups = {"create": ("create", "lifecycleCreate"), "profile": ("update", "profile"),
              "deactivate": ("update", "lifecycleDeactivate")}  # fmt: skip
    body: dict[str, Any] = {}
    for name, status in caps.items():
        group, key = groups[name]
        body.setdefault(group, {})[key] = {"status": status}
    return api.put(f"{app(okta)}/features/USER_PROVISIONING", json=body)


def test_the_feature_has_oktas_shape(api: httpx.Client, okta: SimApp) -> None:
    listed = api.get(f"{app(okta)}/features")
    assert listed.status_code == 200 and [f["name"] for f in listed.json()] == ["USER_PROVISIONING"]
    doc = api.get(f"{app(okta)}/features/USER_PROVISIONING").json()
    assert doc["status"] == "ENABLED"
    assert doc["capabilities"] == {
        "create": {"lifecycleCreate": {"status": "ENABLED"}},
        "update": {
            "profile": {"status": "ENABLED"},
            "lifecycleDeactivate": {"status": "ENABLED"},
            "password": {"status": "DISABLED", "seed": "RANDOM", "change": "KEEP_EXISTING"},
        },
    }
    assert doc["_links"]["self"]["hints"]["allow"] == ["GET", "PUT"]


def test_auth_is_ssws_and_errors_are_oktas(okta: SimApp) -> None:
    with client(okta) as anonymous:
        r = anonymous.get(f"{app(okta)}/features")
        assert r.status_code == 401
        body = r.json()
        assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
        assert body["errorCode"] == "E0000011" and body["errorSummary"] == "Invalid token provided"
        token = okta.world["idp"]["okta"]["api_token"]
        bearer = anonymous.get(
            f"{app(okta)}/features", headers={"Authorization": f"Bearer {token}"}
        )
        assert bearer.status_code == 401  # Okta's scheme is SSWS, not Bearer
        read_only = {"Authorization": f"SSWS {okta.world['idp']['okta']['read_only_token']}"}
        assert anonymous.get(f"{app(okta)}/features", headers=read_only).status_code == 200
        put = anonymous.put(f"{app(okta)}/features/USER_PROVISIONING", headers=read_only, json={})
        assert put.status_code == 403 and put.json()["errorCode"] == "E0000006"


def test_a_bad_capability_is_400_with_causes(api: httpx.Client, okta: SimApp) -> None:
    r = api.put(
        f"{app(okta)}/features/USER_PROVISIONING",
        json={"create": {"lifecycleCreate": {"status": "OFF"}}},
    )
    assert r.status_code == 400
    assert r.json()["errorCode"] == "E0000001"
    assert r.json()["errorCauses"] == [
        {"errorSummary": "create.lifecycleCreate.status: must be ENABLED or DISABLED"}
    ]
    assert okta.world["idp"]["okta"]["features"]["create"] == "ENABLED"


def test_no_tick_pushes_for_okta(api: httpx.Client, okta: SimApp) -> None:
    """Okta pushes on events: a user whose SCIM entry vanished is not pushed back by time."""
    entry = scim_entry(okta, ADA)
    okta.store.remove_scim_user(entry)
    assert okta.tick() == []
    assert scim_entry(okta, ADA) is None


def test_assignments_while_create_is_off_wait_and_come_when_it_is_on(
    api: httpx.Client, okta: SimApp
) -> None:
    ada = user(okta, ADA)
    okta.store.remove_scim_user(scim_entry(okta, ADA))
    ada["assigned"] = False
    assert set_caps(api, okta, create="DISABLED", profile="DISABLED").status_code == 200
    r = api.post(f"{app(okta)}/users", json={"id": ada["object_id"], "scope": "USER"})
    assert r.status_code == 200 and r.json()["status"] == "STAGED"
    assert scim_entry(okta, ADA) is None and ada["okta_pending"] is True
    assert set_caps(api, okta, profile="ENABLED").status_code == 200
    assert scim_entry(okta, ADA) is None  # profile updates do not create anyone
    assert set_caps(api, okta, create="ENABLED").status_code == 200
    entry = scim_entry(okta, ADA)
    assert entry is not None and "okta_pending" not in ada
    assert entry["account_id"] == account(okta, ADA)["account_id"]  # linked by email
    got = api.get(f"{app(okta)}/users/{ada['object_id']}").json()
    assert got["status"] == "PROVISIONED" and got["externalId"] == entry["id"]


def test_unassigning_with_deactivate_on_deactivates_the_linked_account(
    api: httpx.Client, okta: SimApp
) -> None:
    ada = user(okta, ADA)
    r = api.delete(f"{app(okta)}/users/{ada['object_id']}", params={"sendEmail": "false"})
    assert r.status_code == 204 and ada["assigned"] is False
    assert scim_entry(okta, ADA)["active"] is False
    assert account(okta, ADA)["status"] == "inactive"
    again = api.delete(f"{app(okta)}/users/{ada['object_id']}")
    assert again.status_code == 404 and again.json()["errorCode"] == "E0000007"


def test_unassigning_with_deactivate_off_changes_nothing_in_atlassian(
    api: httpx.Client, okta: SimApp
) -> None:
    set_caps(api, okta, deactivate="DISABLED")
    ada = user(okta, ADA)
    assert api.delete(f"{app(okta)}/users/{ada['object_id']}").status_code == 204
    assert scim_entry(okta, ADA)["active"] is True
    assert account(okta, ADA)["status"] == "active"


def test_users_search_and_paging(api: httpx.Client, okta: SimApp) -> None:
    r = api.get("/okta/api/v1/users", params={"search": f'profile.login eq "{ADA.upper()}"'})
    assert [u["profile"]["login"] for u in r.json()] == [ADA]
    bad = api.get("/okta/api/v1/users", params={"search": 'profile.login sw "ada"'})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "E0000031"
    first = api.get("/okta/api/v1/users", params={"limit": "40"})
    assert len(first.json()) == 40
    nxt = [p for p in first.headers["Link"].split(", ") if p.endswith('rel="next"')]
    url = nxt[0].split(">")[0].lstrip("<")
    second = api.get(url.removeprefix("http://sim"))
    assert len(second.json()) == 2 and 'rel="next"' not in second.headers["Link"]


def test_a_429_carries_oktas_rate_headers(
    api: httpx.Client, okta: SimApp, clock: FakeClock
) -> None:
    okta.set_faults({"/okta": {"rate_per_s": 0.5, "burst": 1}, "seed": 1})
    assert api.get(f"{app(okta)}/features").status_code == 200
    r = api.get(f"{app(okta)}/features")
    assert r.status_code == 429
    assert r.json()["errorCode"] == "E0000047"
    assert r.headers["X-Rate-Limit-Limit"] == "0.5" and r.headers["X-Rate-Limit-Remaining"] == "0"
    assert int(r.headers["X-Rate-Limit-Reset"]) == int(clock.now) + 2  # epoch seconds
    assert "Retry-After" not in r.headers and "X-RateLimit-Reset" not in r.headers
