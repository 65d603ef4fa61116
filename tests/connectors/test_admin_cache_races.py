"""The org user cache under concurrency: a run's workers look addresses up and change emails
while a listing of hundreds of pages is still being read.

A gate in the transport holds the listing after its first page, so the interleavings are
exact rather than left to timing: our own write lands while the listing is in flight, or many
first look-ups arrive together, or a refresh comes in the middle.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.sim.app import SimApp
from scimrecon.sim.generate import generate_world

URL = "http://sim.localhost"


class GatedTransport(httpx.BaseTransport):
    """The simulator in-process, except that the org listing's later pages wait for `open`."""

    def __init__(self, app: SimApp) -> None:
        self._inner = httpx.WSGITransport(app=app)
        self.first_page_read = threading.Event()
        self.open = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        listing = request.method == "GET" and request.url.path.endswith("/users")
        if listing and "/orgs/" in request.url.path and "cursor" in request.url.params:
            self.first_page_read.set()
            assert self.open.wait(10), "the test never opened the gate"
        return self._inner.handle_request(request)


Gated = tuple[SimApp, Services, GatedTransport]


@pytest.fixture
def gated() -> Iterator[Gated]:
    app = SimApp(generate_world(250, seed=3), seed=1)  # three pages of org users
    transport = GatedTransport(app)
    profile = Profile.from_dict(app.profile(URL))
    factory = ApiClientFactory(
        settings=HttpSettings(transport=transport),
        rates={name: profile.rate_for(name) for name in ("atlassian", "jira", "graph")},
    )
    services = Services(profile, Secrets(app.secrets(), keyring_lookup=None), factory=factory)
    yield app, services, transport
    transport.open.set()
    services.close()


def _listings(app: SimApp) -> int:
    """How many listings started (first pages: no cursor)."""
    return sum(
        1
        for r in app.log
        if r["method"] == "GET"
        and r["path"].split("?")[0].endswith("/users")
        and "/orgs/" in r["path"]
        and "cursor=" not in r["path"]
    )


def _managed_on_first_page(app: SimApp) -> dict[str, Any]:
    """An active managed account no SCIM entry holds: the organization may change it itself."""
    linked = {u.get("account_id") for u in app.world["scim_users"]}
    return next(
        a
        for a in app.world["accounts"][:50]
        if a["managed"] and a["status"] == "active" and a["account_id"] not in linked
    )


def test_our_email_change_made_during_a_listing_is_not_undone_by_it(gated: Gated) -> None:
    app, services, transport = gated
    admin = services.admin
    account = _managed_on_first_page(app)
    old = account["email"]
    local, domain = old.split("@")
    new = f"{local}+old-7@{domain}"
    looker = threading.Thread(target=admin.find_org_user_by_email, args=(old,))
    looker.start()
    assert transport.first_page_read.wait(10)  # the listing has read the old address
    admin.set_email(account["account_id"], new)
    transport.open.set()
    looker.join(10)
    assert admin.find_org_user_by_email(old) is None
    moved = admin.find_org_user_by_email(new)
    assert moved is not None and moved.account_id == account["account_id"]
    assert _listings(app) == 1


def test_concurrent_first_lookups_share_one_listing(gated: Gated) -> None:
    app, services, transport = gated
    emails = [a["email"] for a in app.world["accounts"] if a["managed"]][:8]
    found: dict[str, object] = {}

    def look(email: str) -> None:
        found[email] = services.admin.find_org_user_by_email(email)

    workers = [threading.Thread(target=look, args=(e,)) for e in emails]
    for worker in workers:
        worker.start()
    assert transport.first_page_read.wait(10)
    transport.open.set()
    for worker in workers:
        worker.join(10)
    assert all(found[e] is not None for e in emails)
    assert _listings(app) == 1


def test_a_refresh_during_a_listing_discards_it_but_still_answers(gated: Gated) -> None:
    app, services, transport = gated
    admin = services.admin
    account = _managed_on_first_page(app)
    answers: list[object] = []
    looker = threading.Thread(
        target=lambda: answers.append(admin.find_org_user_by_email(account["email"]))
    )
    looker.start()
    assert transport.first_page_read.wait(10)
    admin.refresh()  # e.g. restore_access: others may have changed things
    transport.open.set()
    looker.join(10)
    assert getattr(answers[0], "account_id", None) == account["account_id"]
    admin.find_org_user_by_email(account["email"])
    assert _listings(app) == 2  # the discarded listing was not kept as the cache
