"""What Atlassian's admin APIs answer, read into frozen records.

The API client (admin.py) makes the calls; these records are what it hands back, so no caller
handles raw JSON. A `from_json` reads its item defensively (a missing or null field is None,
an id a string), so an answer that leaves a field out reads the same everywhere. The v1
records keep v1's field names; DirectoryUser and Workspace read v2's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ScimLink:
    scim_user_id: str
    account_id: str
    org_id: str | None
    directory_id: str | None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> ScimLink:
        return cls(
            scim_user_id=str(item.get("scimUserId") or ""),
            account_id=str(item.get("atlassianAccountId") or ""),
            org_id=item.get("orgId"),
            directory_id=item.get("directoryId"),
        )


@dataclass(frozen=True)
class AccountProfile:
    account_id: str
    email: str | None
    name: str | None
    account_status: str | None
    account_type: str | None


@dataclass(frozen=True)
class ProductAccess:
    key: str
    last_active: str | None
    name: str | None = None
    url: str | None = None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> ProductAccess:
        return cls(
            key=str(item.get("key") or ""),
            last_active=item.get("last_active"),
            name=item.get("name"),
            url=item.get("url"),
        )


@dataclass(frozen=True)
class OrgUser:
    account_id: str
    email: str | None
    name: str | None
    account_status: str | None
    account_type: str | None
    access_billable: bool | None
    last_active: str | None
    product_access: list[ProductAccess] = field(default_factory=list)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> OrgUser:
        billable = item.get("access_billable")
        return cls(
            account_id=str(item.get("account_id") or ""),
            email=item.get("email"),
            name=item.get("name"),
            account_status=item.get("account_status"),
            account_type=item.get("account_type"),
            access_billable=bool(billable) if billable is not None else None,
            last_active=item.get("last_active"),
            product_access=[ProductAccess.from_json(p) for p in item.get("product_access") or []],
        )


@dataclass(frozen=True)
class DirectoryUser:
    """A user of the org's directory as the v2 organizations API describes it."""

    account_id: str
    email: str | None
    name: str | None
    account_status: str | None
    account_type: str | None
    claim_status: str | None
    management_source: str | None
    membership_status: str | None
    platform_roles: tuple[str, ...]
    added_to_org: str | None
    #: (workspace id, product key, last active or None), when the search expanded it
    product_access: tuple[tuple[str, str, str | None], ...] = ()

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> DirectoryUser:
        roles = item.get("platformRoles")
        access = [a for a in item.get("productAccess") or [] if isinstance(a, dict)]
        return cls(
            account_id=str(item.get("accountId") or ""),
            email=item.get("email"),
            name=item.get("name"),
            account_status=item.get("accountStatus"),
            account_type=item.get("accountType"),
            claim_status=item.get("claimStatus"),
            management_source=item.get("managementSource"),
            membership_status=item.get("membershipStatus"),
            platform_roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            added_to_org=item.get("addedToOrg"),
            product_access=tuple(
                (str(a.get("id") or ""), str(a.get("key") or ""), a.get("lastActiveTimestamp"))
                for a in access
            ),
        )


@dataclass(frozen=True)
class Workspace:
    """One product instance of the org (`POST /v2/orgs/{orgId}/workspaces`)."""

    workspace_id: str
    key: str
    host_url: str | None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Workspace:
        attributes = item.get("attributes") or {}
        return cls(
            workspace_id=str(item.get("id") or ""),
            key=str(attributes.get("typeKey") or attributes.get("type") or ""),
            host_url=attributes.get("hostUrl"),
        )


@dataclass(frozen=True)
class Directory:
    directory_id: str
    name: str | None


@dataclass(frozen=True)
class LastActive:
    products: list[ProductAccess]
    added_to_org: str | None
