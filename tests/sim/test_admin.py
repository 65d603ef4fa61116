"""Org-level APIs: provisioning admin, user management and organizations."""

from __future__ import annotations

from typing import Any

from scimrecon.sim.app import SimApp
from tests.sim.conftest import ADA, BOB, CAROL, EXT, ORG, PROV, SCIM
from tests.simharness import client, make_sim

MANAGE = "/atlassian/users/{}/manage"


def account(sim: SimApp, account_id: str) -> dict[str, Any]:
    return next(a for a in sim.world["accounts"] if a["account_id"] == account_id)


def assert_admin_error(r, status: int, code: str) -> None:
    assert r.status_code == status
    (err,) = r.json()["errors"]
    assert err["status"] == str(status) and err["code"] == code and err["title"]


def assert_um_error(r, status: int, key: str) -> dict[str, Any]:
    """The user management API's own shape: {key, context, errorKey, errorDetail}."""
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"key", "context", "errorKey", "errorDetail"}, body
    assert body["key"] == key and body["errorKey"] and body["errorDetail"]
    return body


def test_scim_links_for_email(api, org_h):
    r = api.post(
        f"{PROV}/get-scim-links-for-email", headers=org_h, json={"email": "ADA@acme.example"}
    )
    assert r.status_code == 200
    assert r.json() == {
        "scimLinks": [
            {
                "scimUserId": "scim-ada",
                "atlassianAccountId": ADA,
                "orgId": "org-1",
                "directoryId": "dir-1",
            }
        ]
    }
    none = api.post(
        f"{PROV}/get-scim-links-for-email", headers=org_h, json={"email": "x@acme.example"}
    )
    assert none.json() == {"scimLinks": []}


def test_scim_links_for_account(api, org_h):
    r = api.get(f"{PROV}/user/{BOB}/get-scim-links", headers=org_h)
    assert [link["scimUserId"] for link in r.json()["scimLinks"]] == ["scim-bob"]
    assert api.get(f"{PROV}/user/nobody/get-scim-links", headers=org_h).status_code == 404


def test_only_delete_in_db_keeps_the_account_active(sim, api, org_h, scim_h):
    r = api.delete(f"{PROV}/user/{ADA}/onlyDeleteUserInDB", headers=org_h)
    assert r.status_code == 204
    assert account(sim, ADA)["status"] == "active"
    assert api.get(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 404
    again = api.delete(f"{PROV}/user/{ADA}/onlyDeleteUserInDB", headers=org_h)
    assert_admin_error(again, 404, "NOT_FOUND")


def test_profile(api, org_h):
    r = api.get(MANAGE.format(ADA) + "/profile", headers=org_h)
    assert r.json() == {
        "account": {
            "account_id": ADA,
            "name": "Ada Lovelace",
            "email": "ada@acme.example",
            "account_type": "atlassian",
            "account_status": "active",
        }
    }


def test_unmanaged_account_cannot_be_managed(api, org_h):
    body = assert_um_error(
        api.get(MANAGE.format(EXT) + "/profile", headers=org_h), 403, "forbidden.action"
    )
    assert body["errorKey"] == "forbidden.action"
    assert body["context"] == {"allowed": False, "reason": {"key": "managedAccount"}}
    assert EXT in body["errorDetail"] and "not a managed account" in body["errorDetail"]


def _unlink(api, org_h, account_id: str) -> None:
    """Remove the account's SCIM entry: only then may the organization change it itself."""
    r = api.delete(f"{PROV}/user/{account_id}/onlyDeleteUserInDB", headers=org_h)
    assert r.status_code in (200, 204), r.text


def test_a_scim_linked_account_is_changed_only_through_its_directory(sim, api, org_h):
    """UM-4's reason `externalDirectory.scim`: email and lifecycle writes refuse an account a
    SCIM directory holds (nothing changes); once its entry is removed they go through."""
    for method, path, body in (
        ("PUT", "/email", {"email": "bob.old@acme.example"}),
        ("POST", "/lifecycle/disable", {"message": "bye"}),
        ("POST", "/lifecycle/enable", None),
    ):
        r = api.request(method, MANAGE.format(BOB) + path, headers=org_h, json=body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["context"] == {
            "allowed": False,
            "reason": {"key": "externalDirectory.scim"},
        }
    assert account(sim, BOB)["email"] == "bob@acme.example"
    assert account(sim, BOB)["status"] == "active"
    _unlink(api, org_h, BOB)
    r = api.post(MANAGE.format(BOB) + "/lifecycle/disable", headers=org_h)
    assert r.status_code == 204 and account(sim, BOB)["status"] == "inactive"


def test_change_email_on_a_verified_domain(sim, api, org_h):
    _unlink(api, org_h, ADA)
    r = api.put(
        MANAGE.format(ADA) + "/email", headers=org_h, json={"email": "ada.old@acme.example"}
    )
    assert r.status_code == 204
    assert account(sim, ADA)["email"] == "ada.old@acme.example"


def test_change_email_refusals(sim, api, org_h):
    _unlink(api, org_h, ADA)
    url = MANAGE.format(ADA) + "/email"
    assert_um_error(
        api.put(url, headers=org_h, json={"email": "ada@gmail.example"}), 400, "domain_not_verified"
    )
    assert_um_error(
        api.put(url, headers=org_h, json={"email": "bob@acme.example"}), 400, "email_in_use"
    )
    assert_um_error(
        api.put(url, headers=org_h, json={"email": "not-an-email"}), 400, "invalid_email"
    )
    bad = api.put(url, headers={**org_h, "Content-Type": "application/json"}, content=b"{")
    assert_um_error(bad, 400, "bad.request")
    assert account(sim, ADA)["email"] == "ada@acme.example"


def test_disable_and_enable(sim, api, org_h):
    _unlink(api, org_h, BOB)
    r = api.post(MANAGE.format(BOB) + "/lifecycle/disable", headers=org_h, json={"message": "bye"})
    assert r.status_code == 204 and account(sim, BOB)["status"] == "inactive"
    r = api.post(MANAGE.format(BOB) + "/lifecycle/enable", headers=org_h)
    assert r.status_code == 204 and account(sim, BOB)["status"] == "active"


def test_org_users_have_billable_flags_and_product_access(api, org_h):
    body = api.get(f"{ORG}/users", headers=org_h).json()
    assert "next" not in body["links"]
    by_id = {u["account_id"]: u for u in body["data"]}
    assert EXT not in by_id  # only managed accounts
    assert by_id[ADA]["access_billable"] is True
    assert by_id[ADA]["last_active"] == "2025-04-01"
    assert [p["key"] for p in by_id[ADA]["product_access"]] == ["trello", "jira-software"]
    assert by_id[ADA]["product_access"][0]["name"] == "Trello"
    assert by_id[CAROL]["access_billable"] is False and by_id[CAROL]["account_status"] == "inactive"


def test_org_users_page_by_cursor(world):
    for i in range(250):
        world["accounts"].append(
            {
                "account_id": f"bulk{i:04d}",
                "email": f"b{i}@acme.example",
                "name": f"B {i}",
                "status": "active",
                "managed": True,
                "product_access": [],
            }
        )
    sim = make_sim(world)
    seen: list[str] = []
    with client(sim, headers={"Authorization": "Bearer org-key-SECRET-1"}) as c:
        url: str | None = f"{ORG}/users"
        pages = 0
        while url:
            body = c.get(url).json()
            assert len(body["data"]) <= 100
            seen += [u["account_id"] for u in body["data"]]
            url = body["links"].get("next")
            pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 253
    with client(sim, headers={"Authorization": "Bearer org-key-SECRET-1"}) as c:
        assert c.get(f"{ORG}/users", params={"cursor": "garbage!"}).status_code == 400


def test_last_active_dates(api, org_h):
    r = api.get(f"{ORG}/directory/users/{ADA}/last-active-dates", headers=org_h)
    assert r.json()["data"] == {
        "product_access": [
            {"key": "trello", "last_active": "2025-03-02"},
            {"key": "jira-software", "last_active": "2025-04-01"},
        ],
        "added_to_org": "2024-01-31",
    }


def test_suspend_removes_billable_access_and_restore_gives_it_back(sim, api, org_h):
    before = list(account(sim, ADA)["product_access"])
    v2 = "/atlassian/admin/v2/orgs/org-1/directories/-/users"
    assert api.post(f"{v2}/{ADA}/suspend", headers=org_h).status_code == 200
    users = {u["account_id"]: u for u in api.get(f"{ORG}/users", headers=org_h).json()["data"]}
    assert users[ADA]["access_billable"] is False and users[ADA]["product_access"] == []
    assert api.get(f"{v2}/{ADA}", headers=org_h).json()["data"]["membershipStatus"] == "suspended"
    assert api.post(f"{v2}/{ADA}/restore", headers=org_h).status_code == 200
    assert account(sim, ADA)["product_access"] == before
    assert "suspended_access" not in account(sim, ADA)


def test_unknown_org_is_404(api, org_h):
    assert_admin_error(
        api.get("/atlassian/admin/v1/orgs/other/users", headers=org_h), 404, "NOT_FOUND"
    )
