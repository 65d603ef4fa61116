"""Which Atlassian platform roles make a person an administrator, and how we name them.

The organization API's v2 directory users carry `platformRoles` (Organizations REST API,
"Get users in an organization" / "Get user details", developer.atlassian.com/cloud/admin/
organization/rest/api-group-users/): `atlassian/org-admin`, `atlassian/site-admin`,
`atlassian/user-access-admin`, and roles that are not administration (`atlassian/ai-access`,
product roles). Pure: the product and the simulator both use it, so a role means the same on
both sides.
"""

from __future__ import annotations

from collections.abc import Iterable

ORG_ADMIN = "atlassian/org-admin"
SITE_ADMIN = "atlassian/site-admin"
USER_ACCESS_ADMIN = "atlassian/user-access-admin"

#: Administration roles, most powerful first, with the words people use for them.
ADMIN_ROLES: dict[str, str] = {
    ORG_ADMIN: "org admin",
    SITE_ADMIN: "site admin",
    USER_ACCESS_ADMIN: "user-access admin",
}


def admin_role(platform_roles: Iterable[str] | None) -> str | None:
    """The most powerful administration role among `platform_roles` ("org admin", ...), or
    None for someone who administers nothing."""
    held = {str(role).strip().lower() for role in platform_roles or ()}
    for role, label in ADMIN_ROLES.items():
        if role in held:
            return label
    return None


def org_role_of(platform_roles: Iterable[str] | None) -> str:
    """The `org_role` value records carry ("admin" words or "member"), from platform roles."""
    return admin_role(platform_roles) or "member"


def platform_roles_of(org_role: str | None, extra: Iterable[str] | None = None) -> list[str]:
    """A fixture world's `org_role` (and its optional `platform_roles`) as `platformRoles`."""
    roles = [str(r) for r in extra or ()]
    if str(org_role or "").lower() == "admin" and ORG_ADMIN not in roles:
        roles.insert(0, ORG_ADMIN)
    return roles
