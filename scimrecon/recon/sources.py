"""Reading reconciliation inputs from files: a fixture world, an IdP export, a SCIM dump,
accounts as JSON or as a user export. Each becomes the plain list reconcile() takes.

Whatever the file's shape (a Graph `value` page, a SCIM ListResponse, a bare list), the
result uses the fixture-world field names, so the join has one vocabulary.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scimrecon.errors import InputError
from scimrecon.limits import MAX_DOCUMENT_BYTES, MAX_WORLD_BYTES, GuardedLines, parse_json
from scimrecon.recon.export import read_records
from scimrecon.recon.textio import open_text

ATLASSIAN_EXTENSION = "urn:scim:schemas:extension:atlassian-external:1.0"

_IDP_ALIASES = {
    "objectid": "object_id",
    "object_id": "object_id",
    "id": "object_id",
    "username": "userName",
    "userprincipalname": "userName",
    "upn": "userName",
    "login": "userName",
    "mail": "mail",
    "email": "mail",
    "displayname": "displayName",
    "display_name": "displayName",
    "name": "displayName",
    "assigned": "assigned",
}
_TRUE = {"true", "yes", "y", "1", "assigned"}
_FALSE = {"false", "no", "n", "0", "unassigned", ""}


def _read_json(path: Path, what: str, limit: int = MAX_DOCUMENT_BYTES) -> Any:
    try:
        with open_text(path, max_bytes=limit) as (text, _):
            return parse_json(text.read(), str(path))
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot decode {what} as UTF-8/UTF-16") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def _items(data: Any, path: Path, keys: tuple[str, ...], what: str) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        for key in keys:
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not all(isinstance(i, Mapping) for i in data):
        raise InputError(f"{path}: expected a list of {what} (or an object with {keys[0]!r})")
    return list(data)


def load_world(path: Path) -> dict[str, Any]:
    data = _read_json(path, "the world", MAX_WORLD_BYTES)  # as `sim` reads it
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise InputError(f"{path}: not a fixture world (no 'accounts' list)")
    return data


def _assigned(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"{where}: column 'assigned': expected true or false, found {value!r}")


def load_idp_users(path: Path) -> list[dict[str, Any]]:
    """IdP users from CSV or JSON (userName, mail, displayName, assigned, objectId)."""
    rows: list[tuple[str, Mapping[str, Any]]] = []
    if path.suffix.lower() == ".json":
        data = _read_json(path, "IdP users")
        items = _items(data, path, ("value", "users", "Resources"), "IdP users")
        rows = [(f"{path}: item {n}", item) for n, item in enumerate(items, start=1)]
    else:
        with open_text(path, max_bytes=MAX_DOCUMENT_BYTES) as (text, _):
            reader = csv.DictReader(GuardedLines(text, str(path)))
            try:
                rows = [(f"{path}:{reader.line_num}", row) for row in reader]
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    users = []
    for where, raw in rows:
        user: dict[str, Any] = {"assigned": True}
        for key, value in raw.items():
            field = _IDP_ALIASES.get(str(key or "").strip().lower().replace(" ", ""))
            if field is None or value is None:
                continue
            user[field] = _assigned(value, where) if field == "assigned" else str(value).strip()
        if "accountEnabled" in raw and "assigned" not in {str(k).lower() for k in raw}:
            user["assigned"] = bool(raw["accountEnabled"])
        if not (user.get("userName") or user.get("mail")):
            raise InputError(f"{where}: no userName or mail")
        users.append(user)
    return users


def load_scim_users(path: Path) -> list[dict[str, Any]]:
    """SCIM users from JSON: a list or a ListResponse; the account id from the Atlassian
    extension when there is no plain account_id."""
    data = _read_json(path, "SCIM users")
    out = []
    for item in _items(data, path, ("Resources", "scim_users", "users"), "SCIM users"):
        user = dict(item)
        if not user.get("account_id"):
            extension = item.get(ATLASSIAN_EXTENSION)
            if isinstance(extension, Mapping):
                user["account_id"] = extension.get("atlassianAccountId")
        out.append(user)
    return out


def load_accounts(path: Path, **export_options: Any) -> list[dict[str, Any]]:
    """Accounts from JSON (world or org API `data` shape) or from a user export CSV."""
    if path.suffix.lower() == ".json":
        data = _read_json(path, "accounts")
        items = _items(data, path, ("accounts", "data"), "accounts")
        out = []
        for item in items:
            account = dict(item)
            account.setdefault("status", item.get("account_status"))
            account.setdefault("managed", True)
            out.append(account)
        return out
    return [
        {
            "account_id": r.account_id,
            "email": r.email,
            "name": r.name,
            "status": r.status,
            "managed": r.managed,
            "account_type": r.account_type,
            "org_role": r.org_role,
            "product_access": [
                {"key": p.key, "site": p.site, "last_active": None} for p in r.products
            ],
            "external": r.external,
            **(
                {"policy": {"name": r.policy, "billable": r.policy_billable}}
                if r.policy_billable is not None
                else {}
            ),
            "access_billable": r.reported_billable,
        }
        for r in read_records(path, **export_options)
    ]
