"""Fixtures for the simulator's tests: a small world, a hand-moved clock, an in-process client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scimrecon.sim.app import SimApp
from tests.simharness import DATA, FakeClock, client, make_sim

SCIM = "/atlassian/scim/directory/dir-1"
ORG = "/atlassian/admin/v1/orgs/org-1"
PROV = "/atlassian/admin/user-provisioning/v1/org/org-1"
JIRA = "/jira/acme/rest/api/3"
SCIM_KEY = "scim-key-SECRET-1"
ORG_KEY = "org-key-SECRET-1"
JIRA_AUTH = ("admin@acme.example", "jira-token-SECRET-1")
ENTRA_SECRET = "entra-secret-SECRET-1"
ADA, BOB, CAROL, EXT = (f"aaa00000000000000000000{i}" for i in range(1, 5))


@pytest.fixture
def world() -> dict[str, Any]:
    return json.loads((DATA / "world.json").read_text(encoding="utf-8"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(world: dict[str, Any], clock: FakeClock) -> SimApp:
    return make_sim(world, seed=7, clock=clock, sleep=clock.sleep)


@pytest.fixture
def api(sim: SimApp) -> Iterator[httpx.Client]:
    with client(sim) as c:
        yield c


@pytest.fixture
def scim_h() -> dict[str, str]:
    return {"Authorization": f"Bearer {SCIM_KEY}"}


@pytest.fixture
def org_h() -> dict[str, str]:
    return {"Authorization": f"Bearer {ORG_KEY}"}


@pytest.fixture
def graph_h(api: httpx.Client) -> dict[str, str]:
    r = api.post(
        "/login/tenant-1/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "client-1",
            "client_secret": ENTRA_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
