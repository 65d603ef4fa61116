"""Fixture worlds as analysis input, and as the Directory export Atlassian would give for them.

Support engineers reproduce a customer's numbers from a fixture world; the tests check that an
export written from a world gives the same billable count as the simulator, which computes it
with the same rule over the same accounts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from scimrecon.recon.billable import external_of, policy_billable_of
from scimrecon.recon.dates import format_export_date, format_last_seen
from scimrecon.recon.model import NEVER, LastSeen, ProductAccess, UserRecord, product_name

_STATUS_WORD = {"active": "Active", "inactive": "Deactivated", "closed": "Closed"}


def _iso(value: object) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def records_from_accounts(accounts: Sequence[Mapping[str, Any]]) -> Iterator[UserRecord]:
    """Fixture-world (or org admin API-like) accounts as UserRecords."""
    for n, account in enumerate(accounts, start=1):
        products = []
        for access in account.get("product_access") or []:
            last = _iso(access.get("last_active"))
            products.append(
                ProductAccess(
                    product=product_name(str(access.get("key"))),
                    site=str(access.get("site") or ""),
                    last_seen=last if last is not None else NEVER,
                )
            )
        yield UserRecord(
            account_id=str(account.get("account_id") or ""),
            name=str(account.get("name") or ""),
            email=str(account.get("email") or ""),
            status=str(account.get("status") or account.get("account_status") or ""),
            managed=bool(account.get("managed", False)),
            products=tuple(products),
            added_to_org=_iso(account.get("added_to_org")),
            org_role=str(account.get("org_role") or "member"),
            account_type=str(account.get("account_type") or "atlassian"),
            line=n,
            external=external_of(account),
            policy_billable=policy_billable_of(account),
            policy=_policy_name(account),
        )


def _policy_name(account: Mapping[str, Any]) -> str:
    policy = account.get("policy")
    return str(policy.get("name") or "") if isinstance(policy, Mapping) else ""


def _uses(world: Mapping[str, Any], field: str) -> bool:
    return any(field in a for a in world.get("accounts") or [])


def _product_columns(world: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, site) pairs in a stable order: the sites' products first, then anything else."""
    pairs: list[tuple[str, str]] = []
    for site in world.get("sites") or []:
        for key in site.get("products") or []:
            pairs.append((str(key), str(site.get("name"))))
    for account in world.get("accounts") or []:
        for access in account.get("product_access") or []:
            pair = (str(access.get("key")), str(access.get("site") or ""))
            if pair not in pairs:
                pairs.append(pair)
    return pairs


def export_from_world(world: Mapping[str, Any], *, claimed_column: bool = True) -> str:
    """The Directory "Export users" CSV for a fixture world's accounts.

    With `claimed_column` (default) a `Claimed` column carries the world's `managed` flag, so
    the billable count does not depend on --domain; without it the domain rule decides. A
    world with external users or policy members gets `External user`, `Policy name` and
    `Policy type` columns (the last two as in the managed-accounts export).
    """
    pairs = _product_columns(world)
    header = ["User id", "User name", "email", "User status", "Added to org", "Org role"]
    header.append("Account type")
    if claimed_column:
        header.append("Claimed")
    external_column = _uses(world, "external")
    policy_columns = _uses(world, "policy")
    if external_column:
        header.append("External user")
    if policy_columns:
        header += ["Policy name", "Policy type"]
    for key, site in pairs:
        label = f"{product_name(key)} - {site}"
        header += [label, f"Last seen in {label}"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for account in world.get("accounts") or []:
        access = {
            (str(p.get("key")), str(p.get("site") or "")): p
            for p in account.get("product_access") or []
        }
        added = _iso(account.get("added_to_org"))
        row = [
            str(account.get("account_id") or ""),
            str(account.get("name") or ""),
            str(account.get("email") or ""),
            _STATUS_WORD.get(str(account.get("status")), str(account.get("status"))),
            format_export_date(added) if added else "",
            "Org admin" if account.get("org_role") == "admin" else "Member",
            str(account.get("account_type") or "atlassian"),
        ]
        if claimed_column:
            row.append("Yes" if account.get("managed") else "No")
        if external_column:  # blank where the world does not say (the rule infers it)
            said = account.get("external")
            if said is None and account.get("managed"):
                said = False  # a managed account is never an external user
            row.append("" if said is None else ("Yes" if said else "No"))
        if policy_columns:
            billable = policy_billable_of(account)
            kind = "" if billable is None else ("Billable" if billable else "Non-billable")
            row += [_policy_name(account), kind]
        for pair in pairs:
            entry = access.get(pair)
            if entry is None:
                row += ["No", ""]
            else:
                seen: LastSeen = _iso(entry.get("last_active")) or NEVER
                row += ["Yes", format_last_seen(seen)]
        writer.writerow(row)
    return out.getvalue()


_MANAGED_PRODUCT = {"jira-software": "Jira"}  # the managed-accounts export's product headers


def managed_export_from_world(world: Mapping[str, Any]) -> str:
    """The managed-accounts export (Directory > Managed accounts > Export) for a world.

    Its columns as Atlassian documents them (support.atlassian.com/organization-administration/
    docs/export-managed-accounts/): only managed accounts; `Last active date [UTC]`;
    `Billable` (Atlassian's own verdict: here the one rule's); `Policy name` and `Policy type`;
    one column a product, "listed with the sites they use to access products" ("acme, globex").
    """
    from scimrecon.recon.billable import account_is_billable

    accounts = [a for a in world.get("accounts") or [] if a.get("managed")]
    keys = list(dict.fromkeys(str(p.get("key")) for _, p in _accesses(accounts)))
    header = ["Name", "Email", "Atlassian ID", "Status", "Last active date [UTC]", "Billable"]
    header += ["Policy name", "Policy type"]
    header += [_MANAGED_PRODUCT.get(k, product_name(k)) for k in keys]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for account in accounts:
        access = account.get("product_access") or []
        dates = [str(p["last_active"])[:10] for p in access if p.get("last_active")]
        billable = policy_billable_of(account)
        kind = "" if billable is None else ("Billable" if billable else "Non-billable")
        row = [
            str(account.get("name") or ""),
            str(account.get("email") or ""),
            str(account.get("account_id") or ""),
            _STATUS_WORD.get(str(account.get("status")), str(account.get("status"))),
            max(dates) if dates else "",
            "Yes" if account_is_billable(account) else "No",
            _policy_name(account),
            kind,
        ]
        for key in keys:
            sites = [str(p.get("site") or "") for p in access if str(p.get("key")) == key]
            row.append(", ".join(s for s in sites if s))
        writer.writerow(row)
    return out.getvalue()


def _accesses(accounts: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for n, account in enumerate(accounts):
        for access in account.get("product_access") or []:
            yield n, access


def group_rows_export_from_world(world: Mapping[str, Any]) -> str:
    """The Directory export with group membership, one row per group (`group_name` first):
    "If they're in multiple groups, they'll get a row in the CSV for each group they're in"
    (confluence.atlassian.com/cloud/export-users-833925313.html). Users in no group get one
    row with an empty group."""
    scim_account = {
        str(u.get("id")): str(u.get("account_id") or "") for u in world.get("scim_users") or []
    }
    groups_of: dict[str, list[str]] = {}
    for group in world.get("groups") or []:
        for member in group.get("members") or []:
            account_id = scim_account.get(str(member), "")
            groups_of.setdefault(account_id, []).append(str(group.get("displayName")))
    rows = list(csv.reader(io.StringIO(export_from_world(world))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["group_name", *rows[0]])
    for row in rows[1:]:
        for group in groups_of.get(row[0]) or [""]:
            writer.writerow([group, *row])
    return out.getvalue()
