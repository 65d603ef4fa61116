"""Control endpoints, credentials per API, the request log, snapshots, profile and secrets."""

from __future__ import annotations

import base64
import json

import pytest

from scimrecon.sim import scim_api
from scimrecon.sim.app import SimApp
from tests.sim.conftest import ENTRA_SECRET, JIRA, JIRA_AUTH, ORG, ORG_KEY, SCIM, SCIM_KEY
from tests.simharness import client, make_sim

SECRETS = [SCIM_KEY, ORG_KEY, JIRA_AUTH[1], ENTRA_SECRET]
ENDPOINTS = [
    ("GET", f"{SCIM}/Users"),
    ("GET", f"{ORG}/users"),
    ("GET", "/atlassian/users/aaa000000000000000000001/manage/profile"),
    ("POST", f"{JIRA}/search/jql"),
    ("GET", "/graph/servicePrincipals/sp-1/synchronization/jobs"),
]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_missing_credentials_are_401(api, method, path):
    assert api.request(method, path, json={"jql": "project = HELP"}).status_code == 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_unknown_credential_is_401(api, method, path):
    r = api.request(
        method, path, headers={"Authorization": "Bearer made-up"}, json={"jql": "project = X"}
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "auth"),
    [
        ("GET", f"{SCIM}/Users", f"Bearer {ORG_KEY}"),
        ("GET", f"{ORG}/users", f"Bearer {SCIM_KEY}"),
        ("POST", f"{JIRA}/search/jql", basic("admin@acme.example", ORG_KEY)),
        ("GET", "/graph/servicePrincipals/sp-1/synchronization/jobs", f"Bearer {SCIM_KEY}"),
    ],
)
def test_another_apis_valid_key_is_403(api, method, path, auth):
    r = api.request(method, path, headers={"Authorization": auth}, json={"jql": "project = HELP"})
    assert r.status_code == 403


def test_jira_token_with_the_wrong_email_is_401(api):
    r = api.post(
        f"{JIRA}/search/jql",
        auth=("someone@acme.example", JIRA_AUTH[1]),
        json={"jql": "project = X"},
    )
    assert r.status_code == 401


def test_log_records_every_request_without_secrets(sim, api, scim_h, org_h, graph_h):
    api.get(f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "ada@acme.example"'})
    api.put(
        "/atlassian/users/aaa000000000000000000001/manage/email",
        headers=org_h,
        json={"email": "z@acme.example"},
    )
    api.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = HELP"})
    api.get("/graph/users/oid-ada", headers=graph_h)
    api.get(f"{ORG}/users", headers=org_h, params={"api_key": ORG_KEY})
    log = api.get("/_sim/log").json()
    assert log == sim.log[: len(log)]
    assert [e["prefix"] for e in log] == [
        "/login",
        "/atlassian",
        "/atlassian",
        "/jira",
        "/graph",
        "/atlassian",
    ]
    assert log[1]["path"] == f"{SCIM}/Users?filter=userName+eq+%22ada%40acme.example%22"
    assert log[1]["status"] == 200 and log[1]["method"] == "GET"
    assert log[-1]["path"].endswith("api_key=REDACTED")
    text = json.dumps(log)
    token = graph_h["Authorization"].split()[1]
    for secret in [*SECRETS, token, "z@acme.example"]:
        assert secret not in text
    assert all(set(e) == {"t", "method", "path", "status", "prefix"} for e in log)


def test_world_snapshot_round_trips_through_the_loader(sim, api, scim_h, tmp_path):
    from scimrecon.sim.world import load_world

    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "zoe@acme.example",
        "emails": [{"value": "zoe@acme.example", "primary": True, "display": "Zoe"}],
        "phoneNumbers": [{"value": "+1 555", "type": "work"}],
        "title": "Engineer",
    }
    assert api.post(f"{SCIM}/Users", headers=scim_h, json=body).status_code == 201
    api.post(
        "/atlassian/admin/v2/orgs/org-1/directories/-/users/aaa000000000000000000001/suspend",
        headers={"Authorization": f"Bearer {ORG_KEY}"},
    )
    snapshot = api.get("/_sim/world").json()
    assert snapshot == sim.world_snapshot()
    path = tmp_path / "world.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    again = make_sim(load_world(path))
    with client(again) as c:
        zoe = c.get(
            f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "zoe@acme.example"'}
        )
    (user,) = zoe.json()["Resources"]
    assert user["phoneNumbers"] == [{"value": "+1 555", "type": "work"}]
    assert user["emails"][0]["display"] == "Zoe" and user["title"] == "Engineer"


def test_an_unexpected_exception_is_a_500_in_the_apis_shape(api, scim_h, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(scim_api.sm, "user_payload", boom)
    r = api.get(f"{SCIM}/Users/scim-ada", headers=scim_h)
    assert r.status_code == 500
    assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "Traceback" not in r.text and "kaboom" not in r.text


def test_unknown_prefix_is_a_json_404(api):
    r = api.get("/nowhere")
    assert r.status_code == 404 and r.json()["status"] == 404


def test_profile_points_every_connector_here(sim):
    profile = sim.profile("http://127.0.0.1:8765/")
    assert profile["atlassian"] == {
        "base_url": "http://127.0.0.1:8765/atlassian",
        "org_id": "org-1",
        # The org's one user directory, as GET /v2/orgs/org-1/directories lists it.
        "directory_id": sim_directory_id(sim),
        "domains": ["acme.example"],
        "sites": ["acme", "trello"],
    }
    assert profile["scim"] == {
        "base_url": "http://127.0.0.1:8765/atlassian/scim/directory/dir-1",
        "directory_id": "dir-1",
    }
    assert profile["jira"] == {
        "base_url": "http://127.0.0.1:8765/jira/acme",
        "email": "admin@acme.example",
    }
    assert profile["idp"]["graph_url"] == "http://127.0.0.1:8765/graph"
    assert profile["idp"]["login_url"] == "http://127.0.0.1:8765/login"
    assert profile["idp"]["job_id"] == "job-1" and profile["idp"]["rule_id"] == "rule-1"
    assert profile["billing"] == {"tier": 2000, "price_per_user_month": 8.0, "cycle_day": 1}
    assert not any(secret in json.dumps(profile) for secret in SECRETS)


def test_secrets_map_the_documented_variables(sim: SimApp):
    assert sim.secrets() == {
        "SCIMRECON_SCIM_TOKEN": SCIM_KEY,
        "SCIMRECON_ORG_API_KEY": ORG_KEY,
        "SCIMRECON_JIRA_TOKEN": JIRA_AUTH[1],
        "SCIMRECON_ENTRA_CLIENT_SECRET": ENTRA_SECRET,
    }


def test_tick_method(sim, api, scim_h):
    api.delete(f"{SCIM}/Users/scim-bob", headers=scim_h)
    assert sim.tick() == []  # incremental: Bob did not change in the IdP
    pushed = sim.tick(full=True)
    assert [p["userName"] for p in pushed] == ["bob@acme.example"]


def test_a_world_without_jira_or_idp_stays_valid_after_requests_to_them(world):
    from scimrecon.sim.validate import validate_world

    del world["jira"], world["idp"]
    sim = make_sim(world)
    with client(sim) as c:
        assert (
            c.post(f"{JIRA}/search/jql", auth=JIRA_AUTH, json={"jql": "project = X"}).status_code
            == 401
        )
        assert c.get("/graph/users/x").status_code == 401
        assert (
            c.post(
                "/login/t/oauth2/v2.0/token", data={"grant_type": "client_credentials"}
            ).status_code
            == 400
        )
        assert c.post("/_sim/tick").json() == {"pushed": []}
    snapshot = sim.world_snapshot()
    assert "jira" not in snapshot and "idp" not in snapshot
    assert validate_world(snapshot) == []


def test_invalid_json_bodies_are_400_in_each_apis_shape(api, org_h, graph_h):
    jira = api.post(
        f"{JIRA}/search/jql",
        auth=JIRA_AUTH,
        content=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert jira.status_code == 400 and jira.json()["errorMessages"]
    jobs = "/graph/servicePrincipals/sp-1/synchronization/jobs/job-1/provisionOnDemand"
    graph = api.post(jobs, headers={**graph_h, "Content-Type": "application/json"}, content=b"[")
    assert graph.status_code == 400 and graph.json()["error"]["message"]
    faults = api.put("/_sim/faults", content=b"nope")
    assert faults.status_code == 400 and faults.json()["error"]


def sim_directory_id(sim: SimApp) -> str:
    with client(sim, headers={"Authorization": "Bearer org-key-SECRET-1"}) as c:
        (directory,) = c.get("/atlassian/admin/v2/orgs/org-1/directories").json()["data"]
    return str(directory["directoryId"])
