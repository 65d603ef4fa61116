"""SCIM resources of the Atlassian directory, built and checked with scim2-models.

The world stores SCIM users in the compact fixture shape; this module turns a record into a
validated SCIM resource (with the Atlassian extension carrying `atlassianAccountId`) and a
request payload back into record fields. Everything a request may carry that the fixture shape
has no slot for (phone numbers, addresses...) is kept verbatim under `x-scim` (the world schema
leaves `x-` keys free), so a PUT followed by a GET returns what was sent, as Atlassian does.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import ValidationError
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    Error,
    ETag,
    Extension,
    Filter,
    Group,
    Mutability,
    Patch,
    ResourceType,
    ResponseParameters,
    ServiceProviderConfig,
    Sort,
    User,
)

from scimrecon.sim.store import Record
from scimrecon.sim.value_formats import is_email
from scimrecon.sim.web import ApiError

ATLASSIAN_EXT = "urn:scim:schemas:extension:atlassian-external:1.0"
ENTERPRISE_EXT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
EXTRA = "x-scim"  # where attributes the fixture shape has no slot for are kept verbatim
MAX_PAGE = 100


class AtlassianExternal(Extension):
    """The Atlassian extension: which Atlassian account a SCIM user is linked to."""

    __schema__ = URN(ATLASSIAN_EXT)

    atlassian_account_id: Annotated[str | None, Mutability.read_only] = None


UserModel = User[EnterpriseUser | AtlassianExternal]
GroupModel = Group

# Flat string slots of the fixture shape (world.schema.json "scim_user").
_USER_STRINGS = ("externalId", "displayName", "nickName", "title", "preferredLanguage", "timezone")
_ENTERPRISE_SLOTS = ("department", "organization")
_NEVER_STORED = {"schemas", "id", "meta", "groups", "password", ATLASSIAN_EXT}


def scim_error(exc: ValidationError | Exception) -> ApiError:
    """The first pydantic/scim2-models validation error as a SCIM 400."""
    if isinstance(exc, ValidationError):
        errors = Error.from_validation_errors(exc)
        first = errors[0] if errors else Error(status=400, detail=str(exc))
        return ApiError(
            int(first.status or 400), first.detail or "invalid payload", code=first.scim_type
        )
    status = getattr(exc, "status", 400)
    return ApiError(int(status), str(exc), code=getattr(exc, "scim_type", None) or None)


# -- users ------------------------------------------------------------------------------------


def user_payload(
    record: Record, *, account_id: str | None, base_url: str, groups: list[Record]
) -> dict[str, Any]:
    """A record as a SCIM payload dict (not yet validated)."""
    payload: dict[str, Any] = copy.deepcopy(record.get(EXTRA) or {})
    for key in ("userName", *_USER_STRINGS, "name"):
        if record.get(key) is not None:
            payload[key] = record[key]
    if "emails" not in (record.get(EXTRA) or {}) and record.get("emails"):
        payload["emails"] = record["emails"]
    enterprise = {k: record[k] for k in _ENTERPRISE_SLOTS if record.get(k) is not None}
    if enterprise:
        payload[ENTERPRISE_EXT] = {**payload.get(ENTERPRISE_EXT, {}), **enterprise}
    meta = {"resourceType": "User", "location": f"{base_url}/Users/{record['id']}"}
    meta.update({k: v for k, v in (record.get("meta") or {}).items() if v})
    schemas = [USER_SCHEMA]
    if ENTERPRISE_EXT in payload:
        schemas.append(ENTERPRISE_EXT)
    if account_id:
        schemas.append(ATLASSIAN_EXT)
        payload[ATLASSIAN_EXT] = {"atlassianAccountId": account_id}
    payload.update(
        schemas=schemas, id=record["id"], active=bool(record.get("active", True)), meta=meta
    )
    if groups:
        payload["groups"] = [
            {
                "value": g["id"],
                "display": g.get("displayName"),
                "$ref": f"{base_url}/Groups/{g['id']}",
            }
            for g in groups
        ]
    return payload


def user_resource(payload: dict[str, Any]) -> Any:
    return UserModel.model_validate(payload, scim_ctx=Context.DEFAULT)


def dump(
    resource: Any, *, attributes: list[str] | None = None, excluded: list[str] | None = None
) -> dict[str, Any]:
    """A resource as the response body of a query, honouring attributes/excludedAttributes."""
    if attributes or excluded:
        params = ResponseParameters(
            attributes=attributes or None, excluded_attributes=excluded or None
        )
        return resource.model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params
        )
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def parse_user(body: Any, ctx: Context) -> Any:
    """Validate a creation/replacement body; answer 400 the way a SCIM server does."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalidSyntax")
    try:
        return UserModel.model_validate(body, scim_ctx=ctx)
    except ValidationError as exc:
        raise scim_error(exc) from exc


def _slot_email(entry: dict[str, Any]) -> dict[str, Any] | None:
    """An email entry as the fixture shape holds it (value/type/primary), if it fits."""
    if not is_email(entry.get("value")):
        return None
    out: dict[str, Any] = {"value": entry["value"]}
    if isinstance(entry.get("type"), str):
        out["type"] = entry["type"]
    if isinstance(entry.get("primary"), bool):
        out["primary"] = entry["primary"]
    return out


def user_fields(resource: Any) -> dict[str, Any]:
    """Record fields from a validated resource: the fixture slots, and `x-scim` for the rest.

    Nothing is lost: whatever does not fit a slot exactly (an email entry with a `display`, an
    enterprise `manager`, phone numbers...) is kept under `x-scim` and returned as sent.
    """
    data = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    fields: dict[str, Any] = {"userName": data["userName"], "active": data.get("active", True)}
    extra: dict[str, Any] = {}
    for key in _USER_STRINGS:
        if isinstance(data.get(key), str):
            fields[key] = data[key]
    if isinstance(data.get("name"), dict):
        fields["name"] = data["name"]
    emails = data.get("emails") or []
    slots = [_slot_email(e) for e in emails]
    fields["emails"] = [e for e in slots if e is not None]
    if any(s != e for s, e in zip(slots, emails, strict=True)):
        extra["emails"] = emails
    enterprise = dict(data.get(ENTERPRISE_EXT) or {})
    for key in _ENTERPRISE_SLOTS:
        if isinstance(enterprise.get(key), str):
            fields[key] = enterprise.pop(key)
    if enterprise:
        extra[ENTERPRISE_EXT] = enterprise
    skip = {"userName", "active", "name", "emails", ENTERPRISE_EXT, *_USER_STRINGS, *_NEVER_STORED}
    extra.update({k: v for k, v in data.items() if k not in skip})
    if extra:
        fields[EXTRA] = extra
    return fields


# -- groups -----------------------------------------------------------------------------------


def group_payload(record: Record, *, base_url: str, display_of: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(record.get(EXTRA) or {})
    payload.update(
        {
            "schemas": [GROUP_SCHEMA],
            "id": record["id"],
            "displayName": record.get("displayName"),
            "meta": {"resourceType": "Group", "location": f"{base_url}/Groups/{record['id']}"},
        }
    )
    if record.get("externalId") is not None:
        payload["externalId"] = record["externalId"]
    members = record.get("members") or []
    if members:
        payload["members"] = [
            {
                "value": m,
                "display": display_of.get(m),
                "$ref": f"{base_url}/Users/{m}",
                "type": "User",
            }
            for m in members
        ]
    return payload


def group_resource(payload: dict[str, Any]) -> Any:
    return GroupModel.model_validate(payload, scim_ctx=Context.DEFAULT)


def parse_group(body: Any, ctx: Context) -> Any:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalidSyntax")
    try:
        return GroupModel.model_validate(body, scim_ctx=ctx)
    except ValidationError as exc:
        raise scim_error(exc) from exc


def group_fields(resource: Any) -> dict[str, Any]:
    data = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    members = [m.get("value") for m in data.get("members") or [] if m.get("value")]
    fields: dict[str, Any] = {"displayName": data.get("displayName"), "members": members}
    if isinstance(data.get("externalId"), str):
        fields["externalId"] = data["externalId"]
    skip = {"displayName", "members", "externalId", *_NEVER_STORED}
    extra = {k: v for k, v in data.items() if k not in skip}
    if extra:
        fields[EXTRA] = extra
    return fields


# -- discovery --------------------------------------------------------------------------------


def service_provider_config(base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri="https://developer.atlassian.com/cloud/admin/user-provisioning/rest/",
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_PAGE),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="The directory API key as a bearer token.",
                primary=True,
            )
        ],
    )
    data = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    data["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base_url}/ServiceProviderConfig",
    }
    return data


def resource_types(base_url: str) -> list[dict[str, Any]]:
    out = []
    for model in (UserModel, GroupModel):
        data = ResourceType.from_resource(model).model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE
        )
        data["meta"] = {
            "resourceType": "ResourceType",
            "location": f"{base_url}/ResourceTypes/{data['id']}",
        }
        out.append(data)
    return out


def schemas(base_url: str) -> list[dict[str, Any]]:
    out = []
    for model in (UserModel, GroupModel, EnterpriseUser, AtlassianExternal):
        data = model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        if model is UserModel:  # Atlassian links accounts by email: a user without one is refused
            for attribute in data["attributes"]:
                if attribute["name"] == "emails":
                    attribute["required"] = True
                    for sub in attribute.get("subAttributes") or []:
                        if sub["name"] == "value":
                            sub["required"] = True
        data["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{data['id']}"}
        out.append(data)
    return out
