"""What the cells of an Atlassian user export may say, and what each means.

Atlassian's exports, and the spreadsheets admins re-save them through, spell the same value
many ways ("Deactivated", "Disabled"; "Yes", "✓", "Has access"; "Non-billable policy"). The
words are kept here, apart from the row reader that applies them, so the vocabulary can be read
(and extended) in one place; anything not listed is refused, never guessed.
"""

from __future__ import annotations

import re

STATUS: dict[str, str] = {
    "active": "active",
    "enabled": "active",
    "inactive": "inactive",
    "deactivated": "inactive",
    "disabled": "inactive",
    "suspended": "suspended",
    "access suspended": "suspended",
    "suspended access": "suspended",
    "closed": "closed",
    "deleted": "closed",
    "pending": "pending",
    "invited": "pending",
    "pending invite": "pending",
}
_TRUE = frozenset({"yes", "y", "true", "1", "x", "✓", "✔"})
_FALSE = frozenset({"", "no", "n", "false", "0", "-", "none", "n/a", "no access"})
ACCESS_TRUE = _TRUE | frozenset(
    {
        "has access",
        "access",
        "user",
        "member",
        "admin",
        "product admin",
        "site admin",
        "administrator",
        "basic",
        "standard",
        "trusted",
        "active",
        "collaborator",
        "guest",
    }
)
ACCESS_FALSE = _FALSE | frozenset({"revoked", "removed"})
# "Policy type" of the managed-accounts export: "billable or nonbillable policy"
_POLICY_TYPE: dict[str, bool | None] = {
    "": None,
    "billable": True,
    "billable policy": True,
    "non-billable": False,
    "nonbillable": False,
    "non billable": False,
    "non-billable policy": False,
    "nonbillable policy": False,
}
# one site in a multi-site product cell ("acme, other" or "acme.atlassian.net")
_SITE = re.compile(r"[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*")
_SITE_SUFFIX = ".atlassian.net"


def yes_no(text: str) -> bool | None:
    s = text.strip().lower()
    if not s:
        return None
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"expected Yes or No, found {text!r}")


def policy_type(text: str) -> bool | None:
    """A "Policy type" cell: True billable, False non-billable, None empty."""
    key = " ".join(text.strip().lower().split())
    if key not in _POLICY_TYPE:
        raise ValueError(f"expected Billable or Non-billable, found {text!r}")
    return _POLICY_TYPE[key]


def cell_sites(cell: str) -> tuple[str, ...]:
    """The sites of a multi-site product cell ("acme, other"); () when it is not one."""
    sites = []
    for part in cell.replace(";", ",").split(","):
        site = part.strip().removeprefix("https://").rstrip("/").removesuffix(_SITE_SUFFIX)
        if not site:
            continue
        if not _SITE.fullmatch(site):
            return ()
        sites.append(site)
    return tuple(dict.fromkeys(sites))
