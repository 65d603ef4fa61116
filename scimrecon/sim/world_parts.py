"""Parts every generated world needs, shared by the worlds built from an export and from a live
capture (`sim world-from-export`, `sim capture`): derived ids, fake keys, the billing tier, the
sites list.

A world never holds a real secret (it goes into bug reports), so every key it carries is made
here, from the world's own values with uuid5: the same input gives the same world byte for byte.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

#: Standard Atlassian Guard user tiers; the world's tier is the smallest one that fits.
TIERS = (50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000)
_NAMESPACE = uuid.UUID("6f1c7a52-9d83-4a0e-8a0c-5c1d2f6b7e10")
IDP_KINDS = ("entra", "okta", "manual")


def uid(*parts: str) -> str:
    """A stable uuid derived from `parts`."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def smallest_tier(billable: int) -> int:
    """The smallest standard tier that holds `billable` users."""
    return next((t for t in TIERS if billable <= t), max(billable, 1))


def sites_of(accounts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `sites` list: every site an account has (or had, before a suspend) access on, with
    the products used there."""
    sites: dict[str, set[str]] = {}
    for account in accounts:
        held = [*(account.get("product_access") or []), *(account.get("suspended_access") or [])]
        for access in held:
            sites.setdefault(str(access["site"]), set()).add(str(access["key"]))
    return [{"name": s, "products": sorted(keys)} for s, keys in sorted(sites.items())]


def fake_key(seed: str, what: str) -> str:
    """A key the simulator will accept, obviously fake (`sim-<what>-<8 hex>`)."""
    return f"sim-{what}-{uid(seed, what)[:8]}"


def fake_idp(kind: str, seed: str, users: list[dict[str, Any]]) -> dict[str, Any]:
    """An `idp` section of `kind` with derived ids and fake credentials; callers that know the
    real ids (a capture) overwrite them, never the credentials."""
    idp: dict[str, Any] = {"kind": kind, "cycle_seconds": 30, "users": users}
    if kind == "entra":
        idp.update(
            tenant=uid(seed, "tenant"),
            client_id=uid(seed, "client"),
            client_secret=f"sim~from-export-{uid(seed, 'secret')[:8]}",
            service_principal=uid(seed, "sp"),
            job={
                "id": f"AtlassianCloud.{uid(seed, 'job').replace('-', '')}",
                "state": "Active",
                "rule_id": uid(seed, "rule"),
            },
        )
    elif kind == "okta":
        idp["tenant"] = f"{seed}.okta.example"
        idp["okta"] = {
            "domain": f"{seed}.okta.example",
            "api_token": f"sim-okta-token-{uid(seed, 'okta')[:8]}",
            "app_id": f"0oa{uid(seed, 'okta-app').replace('-', '')[:17]}",
            "features": {
                "status": "ENABLED",
                "create": "ENABLED",
                "profile": "ENABLED",
                "deactivate": "ENABLED",
                "password": "DISABLED",
            },
        }
    else:
        idp["tenant"] = f"{seed}.{kind}.example"
    return idp


__all__ = ["IDP_KINDS", "TIERS", "fake_idp", "fake_key", "sites_of", "smallest_tier", "uid"]
