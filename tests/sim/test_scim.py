"""The SCIM directory: happy paths, paging, Atlassian's restrictions and error bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimrecon.sim.app import SimApp
from scimrecon.sim.scim_filter import quote
from tests.sim.conftest import ADA, BOB, SCIM
from tests.simharness import client, make_sim

EXT = "urn:scim:schemas:extension:atlassian-external:1.0"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(name: str, email: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER], "userName": name}
    body["emails"] = [{"value": email or name, "type": "work", "primary": True}]
    body.update(extra)
    return body


def account(sim: SimApp, account_id: str) -> dict[str, Any]:
    return next(a for a in sim.world["accounts"] if a["account_id"] == account_id)


def assert_scim_error(r: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type


def test_filter_by_username_returns_the_linked_user_with_the_atlassian_extension(api, scim_h):
    r = api.get(
        f"{SCIM}/Users", headers=scim_h, params={"filter": 'userName eq "ADA@acme.example"'}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["totalResults"] == 1 and body["startIndex"] == 1
    (user,) = body["Resources"]
    assert user["id"] == "scim-ada"
    assert user[EXT] == {"atlassianAccountId": ADA}
    assert user["groups"][0]["value"] == "grp-1"


def test_filter_by_external_id_is_case_exact(api, scim_h):
    found = api.get(f"{SCIM}/Users", headers=scim_h, params={"filter": 'externalId eq "oid-bob"'})
    assert [u["id"] for u in found.json()["Resources"]] == ["scim-bob"]
    upper = api.get(f"{SCIM}/Users", headers=scim_h, params={"filter": 'externalId eq "OID-BOB"'})
    assert upper.json()["totalResults"] == 0


@pytest.mark.parametrize(
    "text",
    [
        'userName sw "ada"',
        'userName co "ada"',
        'emails.value eq "ada@acme.example"',
        'userName eq "a" or userName eq "b"',
        'userName eq "a" and externalId eq "b"',
        "userName pr",
        "userName eq",
        "userName eq 42",
        'displayName eq "Ada Lovelace"',
        'not (userName eq "a")',
    ],
)
def test_every_other_filter_is_rejected_as_invalid_filter(api, scim_h, text):
    r = api.get(f"{SCIM}/Users", headers=scim_h, params={"filter": text})
    assert_scim_error(r, 400, "invalidFilter")


def test_paging_is_one_based_and_capped_at_100(sim, api, scim_h):
    for i in range(230):
        r = api.post(f"{SCIM}/Users", headers=scim_h, json=new_user(f"p{i:03d}@acme.example"))
        assert r.status_code == 201
    first = api.get(f"{SCIM}/Users", headers=scim_h, params={"count": 500}).json()
    assert first["totalResults"] == 232
    assert first["itemsPerPage"] == 100 and len(first["Resources"]) == 100
    ids: list[str] = []
    start = 1
    while True:
        page = api.get(f"{SCIM}/Users", headers=scim_h, params={"startIndex": start, "count": 100})
        items = page.json()["Resources"]
        if not items:
            break
        ids += [u["id"] for u in items]
        start += len(items)
    assert len(ids) == len(set(ids)) == 232
    last = api.get(f"{SCIM}/Users", headers=scim_h, params={"startIndex": 231}).json()
    assert last["startIndex"] == 231 and last["itemsPerPage"] == 2


def test_get_unknown_user_is_a_scim_404(api, scim_h):
    assert_scim_error(api.get(f"{SCIM}/Users/nope", headers=scim_h), 404)


def test_unknown_directory_is_404(api, scim_h):
    assert_scim_error(api.get("/atlassian/scim/directory/other/Users", headers=scim_h), 404)


def test_post_links_to_the_account_holding_the_email(sim, api, scim_h):
    # carol's account is inactive and has no SCIM entry: the push links and reactivates it.
    r = api.post(f"{SCIM}/Users", headers=scim_h, json=new_user("carol.new", "carol@acme.example"))
    assert r.status_code == 201
    assert r.headers["location"].endswith(f"/Users/{r.json()['id']}")
    assert r.json()[EXT]["atlassianAccountId"] == "aaa000000000000000000003"
    assert account(sim, "aaa000000000000000000003")["status"] == "active"


def test_post_with_a_new_email_creates_a_new_managed_account(sim, api, scim_h):
    before = len(sim.world["accounts"])
    r = api.post(
        f"{SCIM}/Users", headers=scim_h, json=new_user("zoe@acme.example", displayName="Zoe")
    )
    assert r.status_code == 201
    new_id = r.json()[EXT]["atlassianAccountId"]
    assert len(sim.world["accounts"]) == before + 1
    created = account(sim, new_id)
    assert created["managed"] is True and created["status"] == "active"
    assert created["email"] == "zoe@acme.example" and created["name"] == "Zoe"
    assert created["product_access"] == []


def test_new_ids_are_reproducible_from_the_seed(world):
    ids = []
    for _ in range(2):
        sim = make_sim(world, seed=42)
        with client(sim) as c:
            r = c.post(
                f"{SCIM}/Users",
                headers={"Authorization": "Bearer scim-key-SECRET-1"},
                json=new_user("zoe@acme.example"),
            )
        ids.append((r.json()["id"], r.json()[EXT]["atlassianAccountId"]))
    assert ids[0] == ids[1]


def test_duplicate_username_is_409_uniqueness_case_insensitively(api, scim_h):
    r = api.post(
        f"{SCIM}/Users", headers=scim_h, json=new_user("Ada@Acme.example", "x@acme.example")
    )
    assert_scim_error(r, 409, "uniqueness")


def test_email_of_an_already_linked_account_is_409(api, scim_h):
    r = api.post(f"{SCIM}/Users", headers=scim_h, json=new_user("other-ada", "ada@acme.example"))
    assert_scim_error(r, 409, "uniqueness")


def test_post_without_any_email_is_400(api, scim_h):
    r = api.post(f"{SCIM}/Users", headers=scim_h, json={"schemas": [USER], "userName": "noemail"})
    assert_scim_error(r, 400, "invalidValue")


def test_invalid_json_body_is_400_invalid_syntax(api, scim_h):
    r = api.post(
        f"{SCIM}/Users",
        headers={**scim_h, "Content-Type": "application/scim+json"},
        content=b'{"userName": ',
    )
    assert_scim_error(r, 400, "invalidSyntax")


def test_missing_username_is_400(api, scim_h):
    r = api.post(f"{SCIM}/Users", headers=scim_h, json={"schemas": [USER], "displayName": "x"})
    assert r.status_code == 400 and r.json()["schemas"] == [ERROR]


def test_put_replaces_and_carries_email_and_name_to_the_account(sim, api, scim_h):
    body = new_user(
        "ada@acme.example", "ada.l@acme.example", displayName="Ada L.", title="Countess"
    )
    r = api.put(f"{SCIM}/Users/scim-ada", headers=scim_h, json=body)
    assert r.status_code == 200
    assert r.json()["title"] == "Countess"
    assert "externalId" not in r.json()  # PUT replaces: what was not sent is gone
    assert account(sim, ADA)["email"] == "ada.l@acme.example"
    assert account(sim, ADA)["name"] == "Ada L."
    again = api.get(f"{SCIM}/Users/scim-ada", headers=scim_h).json()
    assert again["title"] == "Countess" and again["emails"][0]["value"] == "ada.l@acme.example"


def test_put_with_an_email_held_by_another_account_is_409(sim, api, scim_h):
    r = api.put(
        f"{SCIM}/Users/scim-ada",
        headers=scim_h,
        json=new_user("ada@acme.example", "bob@acme.example"),
    )
    assert_scim_error(r, 409, "uniqueness")
    assert account(sim, ADA)["email"] == "ada@acme.example"


def test_patch_active_false_deactivates_the_account(sim, api, scim_h):
    op = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    r = api.patch(f"{SCIM}/Users/scim-bob", headers=scim_h, json=op)
    assert r.status_code == 200 and r.json()["active"] is False
    assert account(sim, BOB)["status"] == "inactive"


def test_patch_with_an_unknown_operation_is_400(api, scim_h):
    op = {"schemas": [PATCH], "Operations": [{"op": "explode", "path": "active", "value": False}]}
    r = api.patch(f"{SCIM}/Users/scim-bob", headers=scim_h, json=op)
    assert_scim_error(r, 400, "invalidValue")


def test_extension_attribute_path_patch_is_refused_as_read_only(api, scim_h):
    op = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": f"{EXT}:atlassianAccountId", "value": "x"}],
    }
    r = api.patch(f"{SCIM}/Users/scim-bob", headers=scim_h, json=op)
    assert r.status_code == 400
    assert (
        api.get(f"{SCIM}/Users/scim-bob", headers=scim_h).json()[EXT]["atlassianAccountId"] == BOB
    )


def test_delete_unlinks_and_deactivates_the_account(sim, api, scim_h):
    r = api.delete(f"{SCIM}/Users/scim-ada", headers=scim_h)
    assert r.status_code == 204 and r.content == b""
    assert api.get(f"{SCIM}/Users/scim-ada", headers=scim_h).status_code == 404
    assert account(sim, ADA)["status"] == "inactive"
    assert account(sim, ADA)["product_access"]  # access stays; the account is only inactive
    assert sim.world["groups"][0]["members"] == []


def test_groups_lifecycle(sim, api, scim_h):
    r = api.post(
        f"{SCIM}/Groups",
        headers=scim_h,
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "admins"},
    )
    assert r.status_code == 201
    gid = r.json()["id"]
    dup = api.post(
        f"{SCIM}/Groups",
        headers=scim_h,
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "ADMINS"},
    )
    assert_scim_error(dup, 409, "uniqueness")
    add = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "scim-bob"}]}],
    }
    r = api.patch(f"{SCIM}/Groups/{gid}", headers=scim_h, json=add)
    assert r.status_code == 200 and [m["value"] for m in r.json()["members"]] == ["scim-bob"]
    bob = api.get(f"{SCIM}/Users/scim-bob", headers=scim_h).json()
    assert [g["display"] for g in bob["groups"]] == ["admins"]
    remove = {
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": 'members[value eq "scim-bob"]'}],
    }
    r = api.patch(f"{SCIM}/Groups/{gid}", headers=scim_h, json=remove)
    assert r.status_code == 200 and "members" not in r.json()
    found = api.get(f"{SCIM}/Groups", headers=scim_h, params={"filter": 'displayName eq "admins"'})
    assert [g["id"] for g in found.json()["Resources"]] == [gid]
    assert api.delete(f"{SCIM}/Groups/{gid}", headers=scim_h).status_code == 204
    assert api.get(f"{SCIM}/Groups/{gid}", headers=scim_h).status_code == 404


def test_group_with_an_unknown_member_is_400(api, scim_h):
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "x",
        "members": [{"value": "ghost"}],
    }
    assert_scim_error(api.post(f"{SCIM}/Groups", headers=scim_h, json=body), 400, "invalidValue")


def test_discovery_endpoints_describe_the_atlassian_extension(api, scim_h):
    config = api.get(f"{SCIM}/ServiceProviderConfig", headers=scim_h).json()
    assert config["patch"]["supported"] is True and config["filter"]["maxResults"] == 100
    types = api.get(f"{SCIM}/ResourceTypes", headers=scim_h).json()["Resources"]
    user_type = next(t for t in types if t["id"] == "User")
    assert EXT in [e["schema"] for e in user_type["schemaExtensions"]]
    schema = api.get(f"{SCIM}/Schemas/{EXT}", headers=scim_h).json()
    assert [a["name"] for a in schema["attributes"]] == ["atlassianAccountId"]
    assert api.get(f"{SCIM}/Schemas/urn:nope", headers=scim_h).status_code == 404


def test_attributes_parameter_selects_what_is_returned(api, scim_h):
    r = api.get(f"{SCIM}/Users/scim-ada", headers=scim_h, params={"attributes": "userName"})
    assert set(r.json()) == {"schemas", "id", "userName"}


def test_unknown_path_under_scim_is_a_scim_404(api, scim_h):
    assert_scim_error(api.get(f"{SCIM}/Nothing", headers=scim_h), 404)


def test_wrong_method_is_405(api, scim_h):
    r = api.post(f"{SCIM}/ServiceProviderConfig", headers=scim_h, json={})
    assert r.status_code == 405 and r.json()["schemas"] == [ERROR]


user_names = st.lists(
    st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s),
    min_size=1,
    max_size=8,
    unique_by=str.casefold,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=user_names)
def test_any_username_round_trips_through_an_escaped_filter(world, names):
    sim = make_sim(world, seed=3)
    headers = {"Authorization": "Bearer scim-key-SECRET-1"}
    with client(sim) as c:
        ids = {}
        for i, name in enumerate(names):
            r = c.post(f"{SCIM}/Users", headers=headers, json=new_user(name, f"h{i}@acme.example"))
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        for name, scim_id in ids.items():
            r = c.get(
                f"{SCIM}/Users", headers=headers, params={"filter": f"userName eq {quote(name)}"}
            )
            assert r.status_code == 200, r.text
            assert [u["id"] for u in r.json()["Resources"]] == [scim_id]
            assert r.json()["Resources"][0]["userName"] == name
