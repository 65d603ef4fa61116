"""Roles from platformRoles: which count as admin, how live reads carry them, and what
reconcile says about an admin in a situation a playbook would fix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scimrecon.recon.live import accounts_from_org_users, admin_roles_of, records_from_org_users
from scimrecon.recon.reconcile import reconcile
from scimrecon.recon.roles import ADMIN_ROLES, admin_role, platform_roles_of

OTHER_ROLES = ["atlassian/ai-access", "atlassian/user", "atlassian/guest", "x/custom-admin"]


@given(st.lists(st.sampled_from([*ADMIN_ROLES, *OTHER_ROLES]), max_size=6))
def test_admin_role_is_the_most_powerful_admin_role_held(roles: list[str]) -> None:
    held = [label for role, label in ADMIN_ROLES.items() if role in roles]
    assert admin_role(roles) == (held[0] if held else None)


def test_world_org_role_maps_to_platform_roles() -> None:
    assert platform_roles_of("admin") == ["atlassian/org-admin"]
    assert platform_roles_of("member", ["atlassian/site-admin"]) == ["atlassian/site-admin"]
    assert platform_roles_of(None) == []


def test_live_records_and_accounts_carry_the_role() -> None:
    directory = [
        {"accountId": "a1", "platformRoles": ["atlassian/org-admin"]},
        {"accountId": "a2", "platformRoles": ["atlassian/ai-access"]},
        {"accountId": "a3", "platformRoles": ["atlassian/user-access-admin"]},
    ]
    roles = admin_roles_of(directory)
    assert roles == {"a1": "org admin", "a3": "user-access admin"}
    users = [
        {"account_id": a, "email": f"{a}@x.example", "account_status": "active"}
        for a in ("a1", "a2", "a3")
    ]
    records = {r.account_id: r for r in records_from_org_users(users, roles=roles)}
    assert [records[a].is_admin for a in ("a1", "a2", "a3")] == [True, False, True]
    accounts = {a["account_id"]: a for a in accounts_from_org_users(users, roles)}
    assert [accounts[a]["org_role"] for a in ("a1", "a2", "a3")] == ["admin", "member", "admin"]


def test_reconcile_says_an_orphaned_admin_is_left_alone_by_playbooks() -> None:
    scim = [{"id": "s1", "userName": "a1@x.example", "account_id": "a1",
             "emails": [{"value": "a1@x.example"}], "active": True}]  # fmt: skip
    account = {"account_id": "a1", "email": "a1@x.example", "name": "A", "status": "active",
               "managed": True, "org_role": "admin", "product_access": []}  # fmt: skip
    (identity,) = reconcile([], scim, [account])
    assert identity.situation == "orphaned"
    assert identity.reason.endswith("; an admin: playbooks leave admins alone, fix it by hand")
