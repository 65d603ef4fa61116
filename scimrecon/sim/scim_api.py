"""The Atlassian SCIM directory: /atlassian/scim/directory/{directoryId}/...

Atlassian-specific behaviour reproduced here, because playbooks depend on it: only `eq` filters
on userName/externalId; at most 100 results a page; POST links to the account that holds the
email; a change of email, name or `active` reaches the linked Atlassian account; DELETE unlinks
the entry *and* deactivates a managed account, and cannot be undone.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, ListResponse, PatchOp, SCIMException

from scimrecon.sim import scim_model as sm
from scimrecon.sim.context import Ctx
from scimrecon.sim.provisioning import EXTRA, primary_email, provision, write_slots
from scimrecon.sim.scim_filter import parse_filter
from scimrecon.sim.store import Record, Store, fold
from scimrecon.sim.web import ApiError, Reply, Router, json_body

SCIM_JSON = "application/scim+json"
PREFIX = "/atlassian/scim/directory/{directory_id}"


def register(router: Router) -> None:
    add = router.add
    add("GET", f"{PREFIX}/Users", list_users)
    add("POST", f"{PREFIX}/Users", create_user)
    add("GET", f"{PREFIX}/Users/{{scim_id}}", get_user)
    add("PUT", f"{PREFIX}/Users/{{scim_id}}", replace_user)
    add("PATCH", f"{PREFIX}/Users/{{scim_id}}", patch_user)
    add("DELETE", f"{PREFIX}/Users/{{scim_id}}", delete_user)
    add("GET", f"{PREFIX}/Groups", list_groups)
    add("POST", f"{PREFIX}/Groups", create_group)
    add("GET", f"{PREFIX}/Groups/{{group_id}}", get_group)
    add("PUT", f"{PREFIX}/Groups/{{group_id}}", replace_group)
    add("PATCH", f"{PREFIX}/Groups/{{group_id}}", patch_group)
    add("DELETE", f"{PREFIX}/Groups/{{group_id}}", delete_group)
    add("GET", f"{PREFIX}/ServiceProviderConfig", get_config)
    add("GET", f"{PREFIX}/ResourceTypes", list_resource_types)
    add("GET", f"{PREFIX}/ResourceTypes/{{name}}", get_resource_type)
    add("GET", f"{PREFIX}/Schemas", list_schemas)
    add("GET", f"{PREFIX}/Schemas/{{schema_id}}", get_schema)


def _reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, body, headers or {}, SCIM_JSON)


def _directory(ctx: Ctx, directory_id: str) -> str:
    if ctx.store.directory(directory_id) is None:
        raise ApiError(404, f"directory {directory_id} not found")
    return directory_id


def _base(ctx: Ctx, directory_id: str) -> str:
    return f"{ctx.request.host_url.rstrip('/')}/atlassian/scim/directory/{directory_id}"


def _csv_arg(ctx: Ctx, name: str) -> list[str]:
    raw = ctx.arg(name) or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def _paging(ctx: Ctx) -> tuple[int, int]:
    """startIndex (1-based, <1 read as 1) and count (capped at 100, as Atlassian does)."""
    try:
        start = int(ctx.arg("startIndex") or 1)
        count = int(ctx.arg("count") or sm.MAX_PAGE)
    except ValueError as exc:
        raise ApiError(400, "startIndex and count must be integers", code="invalidValue") from exc
    return max(start, 1), min(max(count, 0), sm.MAX_PAGE)


def _list(ctx: Ctx, total: int, start: int, page: list[Any], model: Any) -> Reply:
    """A ListResponse over one page; `total` counts every match, as SCIM paging requires."""
    response = ListResponse[model](  # type: ignore[valid-type]
        total_results=total, start_index=start, items_per_page=len(page)
    )
    body = response.model_dump(scim_ctx=Context.SEARCH_RESPONSE)
    attributes, excluded = _csv_arg(ctx, "attributes"), _csv_arg(ctx, "excludedAttributes")
    body["Resources"] = [sm.dump(r, attributes=attributes, excluded=excluded) for r in page]
    return _reply(200, body)


# -- users ------------------------------------------------------------------------------------


def _user_resource(ctx: Ctx, directory_id: str, record: Record) -> Any:
    groups = [g for g in ctx.store.groups(directory_id) if record["id"] in (g.get("members") or [])]
    payload = sm.user_payload(
        record,
        account_id=record.get("account_id"),
        base_url=_base(ctx, directory_id),
        groups=groups,
    )
    return sm.user_resource(payload)


def _user_or_404(store: Store, directory_id: str, scim_id: str) -> Record:
    record = store.scim_user(directory_id, scim_id)
    if record is None:
        raise ApiError(404, f"User {scim_id} not found")
    return record


def _one_user(ctx: Ctx, directory_id: str, record: Record, status: int = 200) -> Reply:
    resource = _user_resource(ctx, directory_id, record)
    body = sm.dump(
        resource,
        attributes=_csv_arg(ctx, "attributes"),
        excluded=_csv_arg(ctx, "excludedAttributes"),
    )
    headers = {"Location": body.get("meta", {}).get("location", "")} if status == 201 else {}
    return _reply(status, body, headers)


def list_users(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    text = ctx.arg("filter")
    if not text:
        records = list(ctx.store.scim_users(directory_id))
    elif (flt := parse_filter(text)).attribute == "userName":
        # userName is caseExact false (RFC 7643): matched case-insensitively, through the index
        found = ctx.store.scim_user_by_name(directory_id, flt.value)
        records = [found] if found is not None else []
    else:  # externalId is caseExact
        records = [
            r for r in ctx.store.scim_users(directory_id) if r.get("externalId") == flt.value
        ]
    start, count = _paging(ctx)
    page = records[start - 1 : start - 1 + count]
    resources = [_user_resource(ctx, directory_id, r) for r in page]
    return _list(ctx, len(records), start, resources, sm.UserModel)


def create_user(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    resource = sm.parse_user(
        json_body(ctx.request, invalid_code="invalidSyntax"), Context.RESOURCE_CREATION_REQUEST
    )
    record = provision(ctx.store, directory_id, sm.user_fields(resource))
    return _one_user(ctx, directory_id, record, 201)


def get_user(ctx: Ctx, directory_id: str, scim_id: str) -> Reply:
    _directory(ctx, directory_id)
    return _one_user(ctx, directory_id, _user_or_404(ctx.store, directory_id, scim_id))


def _write_user(store: Store, directory_id: str, record: Record, fields: dict[str, Any]) -> None:
    """Store new user fields and carry email, name and active over to the linked account."""
    name = fields["userName"]
    if fold(name) != fold(record.get("userName")):
        clash = store.scim_user_by_name(directory_id, name)
        if clash is not None and clash is not record:
            raise ApiError(409, f"a user with userName {name!r} already exists", code="uniqueness")
    account = store.account(record.get("account_id"))
    new_email = primary_email(fields.get("emails"))
    if account is not None and new_email and fold(new_email) != fold(account.get("email")):
        holder = store.account_by_email(new_email)
        if holder is not None and holder is not account:
            raise ApiError(
                409, f"email {new_email!r} is used by another account", code="uniqueness"
            )
        if account.get("managed") and not store.is_verified_email(new_email):
            raise ApiError(
                400,
                f"{new_email!r} is not on a verified domain; a managed account cannot use it",
                code="invalidValue",
            )
    now = store.timestamp()
    with store.editing("scim_users", record):
        write_slots(record, fields)
    if fields.get(EXTRA):
        record[EXTRA] = fields[EXTRA]
    else:
        record.pop(EXTRA, None)
    record["meta"] = {**(record.get("meta") or {}), "lastModified": now}
    if account is not None:
        if new_email:
            with store.editing("accounts", account):
                account["email"] = new_email
        if fields.get("displayName"):
            account["name"] = fields["displayName"]
        if account.get("status") != "closed":
            account["status"] = "active" if record["active"] else "inactive"


def replace_user(ctx: Ctx, directory_id: str, scim_id: str) -> Reply:
    _directory(ctx, directory_id)
    record = _user_or_404(ctx.store, directory_id, scim_id)
    resource = sm.parse_user(
        json_body(ctx.request, invalid_code="invalidSyntax"), Context.RESOURCE_REPLACEMENT_REQUEST
    )
    original = _user_resource(ctx, directory_id, record)
    try:
        resource.replace(original)
    except SCIMException as exc:
        raise sm.scim_error(exc) from exc
    _write_user(ctx.store, directory_id, record, sm.user_fields(resource))
    return _one_user(ctx, directory_id, record)


def patch_user(ctx: Ctx, directory_id: str, scim_id: str) -> Reply:
    _directory(ctx, directory_id)
    record = _user_or_404(ctx.store, directory_id, scim_id)
    body = json_body(ctx.request, invalid_code="invalidSyntax")
    resource = _user_resource(ctx, directory_id, record)
    _apply_patch(sm.UserModel, body, resource)
    _write_user(ctx.store, directory_id, record, sm.user_fields(resource))
    return _one_user(ctx, directory_id, record)


def _apply_patch(model: Any, body: Any, resource: Any) -> None:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalidSyntax")
    try:
        patch = PatchOp[model].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        patch.patch(resource)
    except ValidationError as exc:
        raise sm.scim_error(exc) from exc
    except SCIMException as exc:
        raise sm.scim_error(exc) from exc


def delete_user(ctx: Ctx, directory_id: str, scim_id: str) -> Reply:
    """Unlink, and deactivate the account if the org manages it (Atlassian: "deactivate the user
    within Atlassian if they are managed by your organization"); cannot be undone."""
    _directory(ctx, directory_id)
    record = _user_or_404(ctx.store, directory_id, scim_id)
    account = ctx.store.account(record.get("account_id"))
    ctx.store.remove_scim_user(record)
    if account is not None and account.get("managed") and account.get("status") == "active":
        account["status"] = "inactive"
    return _reply(204)


# -- groups -----------------------------------------------------------------------------------


def _group_resource(ctx: Ctx, directory_id: str, record: Record) -> Any:
    display = {
        u["id"]: u.get("displayName") or u.get("userName")
        for u in ctx.store.scim_users(directory_id)
    }
    return sm.group_resource(
        sm.group_payload(record, base_url=_base(ctx, directory_id), display_of=display)
    )


def _group_or_404(store: Store, directory_id: str, group_id: str) -> Record:
    record = store.group(directory_id, group_id)
    if record is None:
        raise ApiError(404, f"Group {group_id} not found")
    return record


def _one_group(ctx: Ctx, directory_id: str, record: Record, status: int = 200) -> Reply:
    body = sm.dump(
        _group_resource(ctx, directory_id, record),
        attributes=_csv_arg(ctx, "attributes"),
        excluded=_csv_arg(ctx, "excludedAttributes"),
    )
    headers = {"Location": body.get("meta", {}).get("location", "")} if status == 201 else {}
    return _reply(status, body, headers)


def _write_group(store: Store, directory_id: str, record: Record, fields: dict[str, Any]) -> None:
    name = fields.get("displayName")
    if not name:
        raise ApiError(400, "displayName is required", code="invalidValue")
    for other in store.groups(directory_id):
        if other is not record and fold(other.get("displayName")) == fold(name):
            raise ApiError(409, f"a group named {name!r} already exists", code="uniqueness")
    unknown = [m for m in fields["members"] if store.scim_user(directory_id, m) is None]
    if unknown:
        raise ApiError(400, f"unknown members: {', '.join(unknown)}", code="invalidValue")
    record["displayName"] = name
    if fields.get("externalId") is not None:
        record["externalId"] = fields["externalId"]
    else:
        record.pop("externalId", None)
    store.set_group_members(record, fields["members"])
    if fields.get(EXTRA):
        record[EXTRA] = fields[EXTRA]
    else:
        record.pop(EXTRA, None)


def list_groups(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    records = list(ctx.store.groups(directory_id))
    text = ctx.arg("filter")
    if text:
        from scim2_models import ScimFilter

        try:
            node = ScimFilter(text).ast
        except Exception as exc:
            raise ApiError(400, f"invalid filter {text!r}: {exc}", code="invalidFilter") from exc
        attr = str(getattr(getattr(node, "attr_path", None), "attr", "")).lower()
        op = str(getattr(getattr(node, "op", None), "value", "")).lower()
        if attr != "displayname" or op != "eq" or not isinstance(getattr(node, "value", None), str):
            raise ApiError(
                400, 'only displayName eq "..." is supported on Groups', code="invalidFilter"
            )
        records = [r for r in records if fold(r.get("displayName")) == fold(node.value)]
    start, count = _paging(ctx)
    page = records[start - 1 : start - 1 + count]
    resources = [_group_resource(ctx, directory_id, r) for r in page]
    return _list(ctx, len(records), start, resources, sm.GroupModel)


def create_group(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    resource = sm.parse_group(
        json_body(ctx.request, invalid_code="invalidSyntax"), Context.RESOURCE_CREATION_REQUEST
    )
    record: Record = {
        "id": ctx.store.new_uuid(),
        "directory": directory_id,
        "displayName": None,
        "members": [],
    }
    groups = ctx.store.world["groups"]
    groups.append(record)  # first: the access its members gain is computed over the world
    try:
        _write_group(ctx.store, directory_id, record, sm.group_fields(resource))
    except ApiError:
        groups.remove(record)
        raise
    return _one_group(ctx, directory_id, record, 201)


def get_group(ctx: Ctx, directory_id: str, group_id: str) -> Reply:
    _directory(ctx, directory_id)
    return _one_group(ctx, directory_id, _group_or_404(ctx.store, directory_id, group_id))


def replace_group(ctx: Ctx, directory_id: str, group_id: str) -> Reply:
    _directory(ctx, directory_id)
    record = _group_or_404(ctx.store, directory_id, group_id)
    resource = sm.parse_group(
        json_body(ctx.request, invalid_code="invalidSyntax"), Context.RESOURCE_REPLACEMENT_REQUEST
    )
    try:
        resource.replace(_group_resource(ctx, directory_id, record))
    except SCIMException as exc:
        raise sm.scim_error(exc) from exc
    _write_group(ctx.store, directory_id, record, sm.group_fields(resource))
    return _one_group(ctx, directory_id, record)


def patch_group(ctx: Ctx, directory_id: str, group_id: str) -> Reply:
    _directory(ctx, directory_id)
    record = _group_or_404(ctx.store, directory_id, group_id)
    resource = _group_resource(ctx, directory_id, record)
    _apply_patch(sm.GroupModel, json_body(ctx.request, invalid_code="invalidSyntax"), resource)
    _write_group(ctx.store, directory_id, record, sm.group_fields(resource))
    return _one_group(ctx, directory_id, record)


def delete_group(ctx: Ctx, directory_id: str, group_id: str) -> Reply:
    _directory(ctx, directory_id)
    record = _group_or_404(ctx.store, directory_id, group_id)
    ctx.store.set_group_members(record, [])  # its members lose the access it granted
    ctx.store.world["groups"] = [g for g in ctx.store.world["groups"] if g is not record]
    return _reply(204)


# -- discovery --------------------------------------------------------------------------------


def get_config(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    return _reply(200, sm.service_provider_config(_base(ctx, directory_id)))


def _discovery_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


def list_resource_types(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    return _reply(200, _discovery_list(sm.resource_types(_base(ctx, directory_id))))


def get_resource_type(ctx: Ctx, directory_id: str, name: str) -> Reply:
    _directory(ctx, directory_id)
    for item in sm.resource_types(_base(ctx, directory_id)):
        if item["id"] == name:
            return _reply(200, item)
    raise ApiError(404, f"ResourceType {name} not found")


def list_schemas(ctx: Ctx, directory_id: str) -> Reply:
    _directory(ctx, directory_id)
    return _reply(200, _discovery_list(sm.schemas(_base(ctx, directory_id))))


def get_schema(ctx: Ctx, directory_id: str, schema_id: str) -> Reply:
    _directory(ctx, directory_id)
    for item in sm.schemas(_base(ctx, directory_id)):
        if item["id"] == schema_id:
            return _reply(200, item)
    raise ApiError(404, f"Schema {schema_id} not found")
