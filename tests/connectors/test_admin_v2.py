"""AdminApi over the v2 directory APIs: users and roles, cursor paging, which directory a
change goes to, suspend/restore on the v2 paths only."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from scimrecon.errors import InputError, RefusedError, RemoteError
from scimrecon.recon.roles import admin_role
from scimrecon.sim.world import load_world
from tests.connectors.conftest import SIM_URL, Sim, make_sim

PRIYA = "priya.raman@acme.example"


def test_directory_users_stream_every_user_with_roles() -> None:
    world = load_world("acme-trello")
    for i in range(230):
        world["accounts"].append(
            {"account_id": f"bulk{i:04d}", "email": f"b{i}@acme.example", "name": f"B {i}",
             "status": "active", "managed": True, "product_access": []}
        )  # fmt: skip
    sim = make_sim(world=world)
    users = list(sim.services.admin.iter_directory_users())
    assert len(users) == len({u.account_id for u in users}) == len(world["accounts"])
    admins = {u.email: admin_role(u.platform_roles) for u in users if u.platform_roles}
    assert admins == {PRIYA: "org admin", "tom.becker@acme.example": "org admin"}
    pages = [(m, p) for m, p, _ in sim.requests("/atlassian/admin/v2/") if "/users" in p]
    # through the user search (the GET list stops working after June 30, 2027), 100 a page
    assert [m for m, _ in pages] == ["POST"] * 3
    assert all(p.endswith("/users/search") for _, p in pages)
    # the search expanded what the GET list gave by default: access comes with it
    ada = next(u for u in users if u.email == "ada.lovelace@acme.example")
    world_ada = next(a for a in world["accounts"] if a["email"] == "ada.lovelace@acme.example")
    assert sorted(k for _, k, _ in ada.product_access) == sorted(
        p["key"] for p in world_ada["product_access"]
    )


def test_directory_user_reads_one_user_now(sim: Sim) -> None:
    acc = next(a for a in sim.world["accounts"] if a["email"] == PRIYA)
    user = sim.services.admin.directory_user(acc["account_id"])
    assert user.platform_roles == ("atlassian/org-admin",)
    assert (user.claim_status, user.membership_status) == ("managed", "active")
    assert user.management_source == "synced"


def test_search_directory_user_reads_roles_and_access_in_one_request(sim: Sim) -> None:
    acc = next(a for a in sim.world["accounts"] if a["email"] == "ada.lovelace@acme.example")
    user = sim.services.admin.search_directory_user(acc["account_id"])
    assert user is not None and user.account_id == acc["account_id"]
    assert (user.email, user.account_status) == (acc["email"], "active")
    assert sorted(k for _, k, _ in user.product_access) == sorted(
        p["key"] for p in acc["product_access"]
    )
    assert sim.services.admin.search_directory_user("no-such-account") is None
    sent = [(m, p) for m, p, _ in sim.requests("/atlassian/admin/")]
    assert [m for m, _ in sent] == ["POST", "POST"]
    assert all(p.endswith("/users/search") for _, p in sent)


def test_a_search_answering_for_another_account_is_refused() -> None:
    """The look-up acts on what this read says (role, status, products): an answer for anyone
    else than the account asked for is not trusted, whatever the server's reason."""
    world = load_world("acme-trello")
    ada, priya = (
        next(a for a in world["accounts"] if a["email"] == e)
        for e in ("ada.lovelace@acme.example", PRIYA)
    )

    def for_priya(app: Any) -> Any:  # a server that answers every search with Priya
        def serve(environ: dict[str, Any], start: Any) -> Any:
            if environ["PATH_INFO"].endswith("/users/search"):
                body = json.dumps({"accountIds": [priya["account_id"]]}).encode()
                environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            return app(environ, start)

        return serve

    sim = make_sim(world=world, wrap=for_priya)
    with pytest.raises(RemoteError, match="an answer for another account than"):
        sim.services.admin.search_directory_user(ada["account_id"])


def test_suspend_and_restore_use_v2_with_the_resolved_directory(sim: Sim) -> None:
    acc = next(a for a in sim.world["accounts"] if a["email"] == "ada.lovelace@acme.example")
    profile = sim.app.profile(SIM_URL)["atlassian"]
    sim.services.admin.directory_id = "-"  # as a hand-written profile would leave it
    sim.services.admin.suspend_access(acc["account_id"])
    sim.services.admin.restore_access(acc["account_id"])
    writes = [(m, p) for m, p, _ in sim.requests("/atlassian/admin") if m == "POST"]
    directory = profile["directory_id"]
    base = f"/atlassian/admin/v2/orgs/{profile['org_id']}/directories/{directory}/users"
    assert writes == [
        ("POST", f"{base}/{acc['account_id']}/suspend"),
        ("POST", f"{base}/{acc['account_id']}/restore"),
    ]
    # '-' was resolved once, by listing the directories.
    assert [p for _, p, _ in sim.requests("/atlassian/admin") if p.endswith("/directories")]


def test_several_directories_and_no_directory_id_refuses_to_change() -> None:
    world = load_world("acme-trello")
    world["org"]["user_directories"] = [{"id": "d-1"}, {"id": "d-2"}]
    sim = make_sim(world=world)
    sim.services.admin.directory_id = "-"
    acc = world["accounts"][0]
    with pytest.raises(RefusedError) as err:
        sim.services.admin.suspend_access(acc["account_id"])
    assert str(err.value) == (
        "the organization has 2 user directories (d-1, d-2): set [atlassian].directory_id "
        "in the profile to the one to change"
    )
    assert not [r for r in sim.requests() if r[0] == "POST"]


def test_config_check_names_a_directory_id_the_org_does_not_have() -> None:
    from scimrecon.cli.config_cmd import _check_admin

    base = make_sim()
    profile = base.app.profile(SIM_URL)
    assert _check_admin(base.services) == "OK"
    profile["atlassian"]["directory_id"] = "not-ours"
    sim = make_sim(profile=profile)
    with pytest.raises(InputError) as err:
        _check_admin(sim.services)
    real = base.app.profile(SIM_URL)["atlassian"]["directory_id"]
    assert str(err.value) == (
        f"[atlassian].directory_id not-ours is not one of the org's user directories ({real})"
    )
