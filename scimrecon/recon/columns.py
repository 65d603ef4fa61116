"""Which column of an export means what: format detection, aliases, product columns.

Atlassian has renamed export columns more than once and admins re-save files from Excel, so
headers are matched case-insensitively against known aliases, unknown product columns are kept
(a product we have never heard of still makes a user billable), and `--column NAME=FIELD`
covers the variants we have not seen yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from scimrecon.errors import InputError
from scimrecon.recon.model import is_known_product

DIRECTORY: Final = "directory-export"
MANAGED: Final = "managed-accounts"
FORMATS: Final = (DIRECTORY, MANAGED)

SCALAR_FIELDS: Final = (
    "account_id",
    "name",
    "email",
    "status",
    "added_to_org",
    "org_role",
    "account_type",
    "last_active",
    "claimed",
    "billable",
    "groups",
    "external",
    "policy_name",
    "policy_type",
)
REQUIRED: Final = ("email", "status")

# normalised header -> field. Both formats share one table; the formats differ in which
# columns they have, not in what a column with a given name means.
ALIASES: Final[dict[str, str]] = {
    "user id": "account_id",
    "userid": "account_id",
    "account id": "account_id",
    "atlassian id": "account_id",
    "atlassian account id": "account_id",
    "aaid": "account_id",
    "id": "account_id",
    "user name": "name",
    "username": "name",
    "name": "name",
    "display name": "name",
    "full name": "name",
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "user email": "email",
    "mail": "email",
    "user status": "status",
    "status": "status",
    "account status": "status",
    "added to org": "added_to_org",
    "added to organization": "added_to_org",
    "added to organisation": "added_to_org",
    "date added": "added_to_org",
    "org role": "org_role",
    "organization role": "org_role",
    "organisation role": "org_role",
    "role": "org_role",
    "account type": "account_type",
    "type": "account_type",
    "last active": "last_active",
    "last seen": "last_active",
    "last active date": "last_active",
    "claimed": "claimed",
    "managed": "claimed",
    "billable": "billable",
    "groups": "groups",
    "group membership": "groups",
    "group names": "groups",
    # one row per group membership (Atlassian's user export with group membership: "If
    # they're in multiple groups, they'll get a row in the CSV for each group they're in")
    "group name": "groups",
    "group": "groups",
    # managed-accounts export (support.atlassian.com/organization-administration/docs/
    # export-managed-accounts): "Policy name", "Policy type (billable or nonbillable policy)"
    "policy name": "policy_name",
    "authentication policy": "policy_name",
    "policy type": "policy_type",
    # our convention (Atlassian's exports have no such column; docs/analysis.md): an account
    # the org does not manage but that has access to its apps, billed under Guard Standard
    "external user": "external",
}

# Headers only one of the two exports has; used to tell them apart.
_DIRECTORY_MARKERS: Final = frozenset({"user id", "user status", "added to org", "org role"})
_MANAGED_MARKERS: Final = frozenset(
    {"atlassian id", "claimed", "billable", "last active", "last active date", "policy type"}
)
# "Last active date [UTC]": a unit or time zone in brackets after a known header
_UNIT = re.compile(r"\s*\[[^\]]*\]$")

_LAST_SEEN = re.compile(r"last seen in (.+?) - (.+)", re.IGNORECASE)
_PRODUCT_SITE = re.compile(r"(.+?) - (.+)")


def normalise(header: str) -> str:
    """Header text as we compare it: no BOM, no case, `_` as space, single spaces."""
    return " ".join(header.replace("\ufeff", "").replace("_", " ").lower().split())


def _alias(norm: str) -> str:
    """The field a normalised header means, also with a bracketed unit after it
    ("last active date [utc]" means what "last active date" means); "" when none."""
    field = ALIASES.get(norm)
    if field is None:
        field = ALIASES.get(_UNIT.sub("", norm), "")
    return field


@dataclass(frozen=True, slots=True)
class ProductColumns:
    """The one or two columns that describe one product on one site."""

    product: str
    site: str
    access: int | None = None
    last_seen: int | None = None


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The result of reading a header row: what to take from which column index."""

    format: str
    headers: tuple[str, ...]
    fields: Mapping[str, int]
    products: tuple[ProductColumns, ...]
    ignored: tuple[str, ...]

    def header(self, index: int) -> str:
        return self.headers[index]


def parse_column_overrides(specs: Iterable[str]) -> dict[str, str]:
    """`--column NAME=FIELD` options -> {normalised NAME: FIELD}; bad ones are input errors."""
    out: dict[str, str] = {}
    allowed = (*SCALAR_FIELDS, "ignore", "product", "last_seen")
    for spec in specs:
        name, sep, target = spec.rpartition("=")
        kind, colon, arg = target.strip().partition(":")
        kind = kind.strip().lower().replace("-", "_")
        if not sep or not name.strip() or kind not in allowed or (colon and not arg.strip()):
            raise InputError(
                f"--column {spec!r}: expected NAME=FIELD with FIELD one of "
                f"{', '.join(allowed)} (product and last_seen may add ':PRODUCT - SITE')"
            )
        out[normalise(name)] = f"{kind}:{arg.strip()}" if colon else kind
    return out


def _split_product(text: str) -> tuple[str, str]:
    m = _PRODUCT_SITE.fullmatch(text.strip())
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return text.strip(), ""


def detect_format(headers: Sequence[str]) -> str | None:
    """DIRECTORY or MANAGED by the columns only one of them has; None when neither fits."""
    names = {_UNIT.sub("", normalise(h)) for h in headers}
    directory = len(names & _DIRECTORY_MARKERS) + (
        3 if any(_LAST_SEEN.fullmatch(n) for n in names) else 0
    )
    managed = len(names & _MANAGED_MARKERS)
    if directory == 0 and managed == 0:
        return None
    return DIRECTORY if directory >= managed else MANAGED


def plan_columns(
    headers: Sequence[str],
    *,
    source: str,
    overrides: Mapping[str, str] | None = None,
    export_format: str | None = None,
) -> ColumnPlan:
    """Map a header row to fields; raise InputError naming the file when it cannot."""
    overrides = dict(overrides or {})
    headers = tuple(h.replace("\ufeff", "").strip() for h in headers)
    fmt = export_format or detect_format(headers)
    if fmt is None:
        if not overrides:
            shown = ", ".join(repr(h) for h in headers[:8]) + (", ..." if len(headers) > 8 else "")
            raise InputError(
                f"{source}:1: not an Atlassian user export: no 'User id'/'User status' "
                f"(Directory export) or 'Atlassian ID'/'Claimed' (managed accounts) column "
                f"(found {shown}); use --column NAME=FIELD for other layouts"
            )
        fmt = DIRECTORY
    fields: dict[str, int] = {}
    products: dict[tuple[str, str], dict[str, object]] = {}
    ignored: list[str] = []
    used_overrides: set[str] = set()

    def add_product(product: str, site: str, role: str, index: int) -> None:
        key = (normalise(product), normalise(site))
        entry = products.setdefault(key, {"product": product, "site": site})
        if role in entry:
            raise InputError(
                f"{source}:1: column {headers[index]!r}: {product} - {site} appears twice"
            )
        entry[role] = index

    for index, header in enumerate(headers):
        norm = normalise(header)
        target = overrides.get(norm)
        if target is not None:
            used_overrides.add(norm)
            kind, _, arg = target.partition(":")
            if kind == "ignore":
                ignored.append(header)
                continue
            if kind in ("product", "last_seen"):
                text = arg or header
                if kind == "last_seen" and not arg:
                    m = _LAST_SEEN.fullmatch(header)
                    text = f"{m.group(1)} - {m.group(2)}" if m else header
                product, site = _split_product(text)
                add_product(product, site, "access" if kind == "product" else "last_seen", index)
                continue
            field = kind
        else:
            field = _alias(norm)
        if field:
            if field in fields:
                raise InputError(
                    f"{source}:1: columns {headers[fields[field]]!r} and {header!r} both mean "
                    f"{field}; use --column {header!r}=ignore to pick one"
                )
            fields[field] = index
            continue
        m = _LAST_SEEN.fullmatch(header)
        if m:
            add_product(m.group(1).strip(), m.group(2).strip(), "last_seen", index)
            continue
        if _PRODUCT_SITE.fullmatch(header) or (fmt == MANAGED and is_known_product(norm)):
            product, site = _split_product(header)
            add_product(product, site, "access", index)
            continue
        ignored.append(header)

    unused = set(overrides) - used_overrides
    if unused:
        raise InputError(
            f"--column: no column named {sorted(unused)[0]!r} in {source} "
            f"(columns: {', '.join(headers)})"
        )
    for field in REQUIRED:
        if field not in fields:
            wanted = {"email": "email", "status": "User status"}[field]
            raise InputError(
                f"{source}:1: no {wanted!r} column (tried the known aliases; "
                f"use --column NAME={field} to name it)"
            )
    plan_products = tuple(
        ProductColumns(
            product=str(entry["product"]),
            site=str(entry["site"]),
            access=entry.get("access"),  # type: ignore[arg-type]
            last_seen=entry.get("last_seen"),  # type: ignore[arg-type]
        )
        for entry in products.values()
    )
    return ColumnPlan(
        format=fmt,
        headers=headers,
        fields=fields,
        products=plan_products,
        ignored=tuple(ignored),
    )
