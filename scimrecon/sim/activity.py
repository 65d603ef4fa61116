"""Simulator controls for what users do outside any admin API: use a product, drop one.

A notice period is only worth testing if someone can react to it: `POST /_sim/login` is a
user opening a product (its last-active date becomes today on the simulator's clock; the old
date is kept as `previous_last_active`, so `org.activity_lag_hours` can still hide the new
use, as Atlassian's up-to-24-hour delay does), and `POST /_sim/drop-product` is a user giving
one up on their own (deleting their Trello workspace): the product access disappears.
"""

from __future__ import annotations

from typing import Any

from scimrecon.sim.store import Store
from scimrecon.sim.web import ApiError


def _account(store: Store, user: str) -> dict[str, Any]:
    account = store.account_by_email(user) or store.account(user)
    if account is None:
        raise ApiError(404, f"no account {user!r} in this world")
    return account


def _entries(account: dict[str, Any], product: str | None) -> list[dict[str, Any]]:
    access = account.get("product_access") or []
    chosen = [p for p in access if product in (None, p.get("key"))]
    if not chosen:
        what = f"product {product!r}" if product else "any product"
        raise ApiError(409, f"{account.get('email')} has no access to {what}")
    return chosen


def login(store: Store, user: str, product: str | None = None) -> dict[str, Any]:
    """`user` uses `product` (every product they have when None) today."""
    account = _account(store, user)
    today = store.today()
    used = []
    for entry in _entries(account, product):
        if entry.get("last_active") != today:
            entry["previous_last_active"] = entry.get("last_active")
        entry["last_active"] = today
        used.append(entry.get("key"))
    return {"account_id": account["account_id"], "products": used, "last_active": today}


def drop_product(store: Store, user: str, product: str) -> dict[str, Any]:
    """`user` gives up `product` themselves (a deleted Trello workspace)."""
    account = _account(store, user)
    _entries(account, product)
    account["product_access"] = [
        p for p in account.get("product_access") or [] if p.get("key") != product
    ]
    return {"account_id": account["account_id"], "dropped": product}


def user_and_product(body: Any, *, product_required: bool) -> tuple[str, str | None]:
    """`{"user": "...", "product": "..."}` from a control request, or 400."""
    user = body.get("user") if isinstance(body, dict) else None
    product = body.get("product") if isinstance(body, dict) else None
    if not isinstance(user, str) or not user:
        raise ApiError(400, 'body must be {"user": "<email or account id>", "product": "<key>"}')
    if product is not None and not isinstance(product, str):
        raise ApiError(400, '"product" must be a product key such as "trello"')
    if product_required and not product:
        raise ApiError(400, 'body needs "product": the product key to drop, such as "trello"')
    return user, product
