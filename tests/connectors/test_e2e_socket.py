"""End to end over a real localhost socket: the simulator served by werkzeug, real httpx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, HttpError, HttpSettings
from scimrecon.retry import RetryPolicy
from scimrecon.sim.app import SimApp
from scimrecon.sim.world import load_world

PRIYA = "priya.raman@acme.example"


@pytest.fixture
def served() -> Iterator[tuple[SimApp, str]]:
    app = SimApp(load_world("acme-trello"), seed=1)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def services_for(app: SimApp, url: str, **settings: Any) -> Services:
    return Services(
        Profile.from_dict(app.profile(url)),
        Secrets(app.secrets(), keyring_lookup=None),
        factory=ApiClientFactory(settings=HttpSettings(**settings)),
    )


def test_every_api_over_a_real_socket(served: tuple[SimApp, str]) -> None:
    app, url = served
    with services_for(app, url) as services:
        user = services.scim.find_by_username(PRIYA)
        assert user is not None and user.account_id
        assert services.admin.get_profile(user.account_id).email == PRIYA
        keys = [i.key for i in services.jira.search('project = "HELP"')]
        assert keys and all(k.startswith("HELP-") for k in keys)
        services.idp.pause()
        assert services.idp.status() == "Paused" == app.world["idp"]["job"]["state"]
        services.idp.resume()
    prefixes = {r["prefix"] for r in app.log}
    assert prefixes >= {"/atlassian", "/jira", "/graph", "/login"}
    assert all(r["status"] < 400 for r in app.log)


def test_a_real_read_timeout_is_one_line(served: tuple[SimApp, str]) -> None:
    app, url = served
    app.set_faults({"/atlassian/scim": {"timeout_rate": 1.0, "timeout_ms": 1500}})
    services = services_for(app, url, timeout=0.3, retry=RetryPolicy(attempts=1))
    with pytest.raises(HttpError) as err:
        services.scim.find_by_username(PRIYA)
    assert str(err.value) == "SCIM directory: GET /Users timed out after 0.3 s"
    assert err.value.timed_out
    services.close()
