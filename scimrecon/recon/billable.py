"""The billable rule, in one place.

Atlassian Guard counts a user as billable when the account is managed by the org, is active,
and has at least one product access entry (a free Trello signup counts). Both the simulator and
the analysis import this function so their counts can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def is_billable(*, managed: bool, status: str, product_keys: Iterable[str]) -> bool:
    """Tell whether an account with these facts is billable under the Guard rule."""
    return bool(managed) and status == "active" and any(True for _ in product_keys)


def account_is_billable(account: Mapping[str, Any]) -> bool:
    """Apply the rule to a fixture-world account (see DESIGN.md, "Fixture world")."""
    return is_billable(
        managed=bool(account.get("managed", False)),
        status=str(account.get("status", "")),
        product_keys=[p.get("key") for p in account.get("product_access") or []],
    )


def billable_only_through(product_keys: Iterable[str], unwanted: Iterable[str]) -> bool:
    """True when every product the user has is an unwanted one (e.g. only Trello).

    Such a user stops being billable once the unwanted access is gone, which is the saving the
    reprovision playbook exists to make.
    """
    keys = {k.lower() for k in product_keys}
    bad = {u.lower() for u in unwanted}
    return bool(keys) and keys <= bad
