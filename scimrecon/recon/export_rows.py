"""Turn the csv rows of an export into UserRecords, by its ColumnPlan: the hot loop.

A large export is a million rows, so this loop's cost per row is what `analyze` costs
(docs/performance.md): each distinct cell is checked once and remembered in a bounded cache,
so a row is a dozen dictionary look-ups. The caches are also what the block parser
(export_blocks.py) reads, which is why every cell is checked here and only here. Every problem
becomes an InputError naming the file, the line and the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from scimrecon.errors import InputError
from scimrecon.recon.columns import MANAGED, ColumnPlan
from scimrecon.recon.dates import CachedParser, DateError
from scimrecon.recon.export_cells import (
    ACCESS_FALSE,
    ACCESS_TRUE,
    STATUS,
    cell_sites,
    policy_type,
    yes_no,
)
from scimrecon.recon.model import LastSeen, ProductAccess, UserRecord

_MISSING = object()


def _word(cache: dict[str, str], text: str, default: str) -> str:
    """A role or account-type cell normalised (and remembered: a file has only a few)."""
    value = text.strip().lower() or default
    if len(cache) < 10_000:
        cache[text] = value
    return value


class RowReader:
    """Turns csv rows into UserRecords according to a ColumnPlan (the hot loop lives here)."""

    def __init__(self, plan: ColumnPlan, source: str, domains: Iterable[str]) -> None:
        self.plan = plan
        self.source = source
        self.domains = frozenset(d.lower().lstrip("@") for d in domains)
        self.dates = CachedParser()
        self.width = len(plan.headers)
        f = plan.fields
        self.i_email = f["email"]
        self.i_status = f["status"]
        self.i_id = f.get("account_id")
        self.i_name = f.get("name")
        self.i_added = f.get("added_to_org")
        self.i_role = f.get("org_role")
        self.i_type = f.get("account_type")
        self.i_last = f.get("last_active")
        self.i_claimed = f.get("claimed")
        self.i_billable = f.get("billable")
        self.i_groups = f.get("groups")
        self.i_external = f.get("external")
        self.i_policy_name = f.get("policy_name")
        self.i_policy_type = f.get("policy_type")
        self.managed_export = plan.format == MANAGED
        # access cell -> parsed, for product columns with a site (False) and without (True)
        self.access_cache: dict[bool, dict[str, tuple[bool, LastSeen, tuple[str, ...]]]] = {
            False: {},
            True: {},
        }
        # per product column pair: {access cell: {last-seen cell: ProductAccess or None}}; an
        # export repeats a few hundred distinct cells, so each pair is parsed once, not per row
        self.specs = tuple((p.product, p.site, p.access, p.last_seen, {}) for p in plan.products)
        # cell -> its parsed value, filled by parse() (the only place that checks a cell) and
        # read by both parse() and block_parser() (which refuses a block holding a cell
        # parse() has not checked yet)
        self.status_cache: dict[str, str] = {}
        self.added_cache: dict[str, date | None] = {}
        self.roles: dict[str, str] = {}  # org role cell -> lower case, stripped, or "member"
        self.kinds: dict[str, str] = {}  # account type cell -> lower case, stripped, or "atlassian"
        self.domain_cache: dict[str, bool] = {}  # email domain -> one of the org's

    def fail(self, line: int, index: int | None, message: str) -> InputError:
        where = f"{self.source}:{line}"
        if index is not None:
            where += f": column {self.plan.header(index)!r}"
        return InputError(f"{where}: {message}")

    def _access(
        self, text: str, line: int, index: int, bare: bool
    ) -> tuple[bool, LastSeen, tuple[str, ...]]:
        """An access cell: Yes/No-like, (managed export) the last-active date itself, or
        (a product column without a site, managed export) the sites the product is used on,
        "acme, other"."""
        cache = self.access_cache[bare]
        cached = cache.get(text)
        if cached is not None:
            return cached
        s = " ".join(text.strip().lower().split())
        result: tuple[bool, LastSeen, tuple[str, ...]]
        if s in ACCESS_FALSE:
            result = (False, None, ())
        elif s in ACCESS_TRUE:
            result = (True, None, ())
        else:
            try:
                result = (True, self.dates.last_seen(text), ())
            except DateError:
                sites = cell_sites(s) if bare else ()
                if not sites:
                    expected = (
                        "Yes/No, a date or sites like 'acme, other'"
                        if bare
                        else ("Yes/No or a date")
                    )
                    raise self.fail(
                        line, index, f"unknown access value {text!r} (expected {expected})"
                    ) from None
                result = (True, None, sites)
        if len(cache) < 10_000:
            cache[text] = result
        return result

    def _product(
        self, spec: tuple[Any, ...], a_text: str, s_text: str, line: int
    ) -> tuple[ProductAccess, ...]:
        """Parse one product's cells (the slow path), and remember the answer: one access a
        site (a multi-site cell gives several), none when the user lacks the product."""
        product, site, ai, si, cache = spec
        seen: LastSeen = None
        sites: tuple[str, ...] = ()
        if ai is not None:
            has, seen, sites = self._access(a_text, line, ai, not site)
        else:
            has = bool(s_text.strip())
        if si is not None:
            try:
                value = self.dates.last_seen(s_text)
            except DateError as exc:
                raise self.fail(line, si, str(exc)) from None
            if value is not None:
                seen = value
        result: tuple[ProductAccess, ...] = ()
        if has:
            result = tuple(ProductAccess(product, s, seen) for s in sites or (site,))
        sub = cache.setdefault(a_text, {})
        if len(sub) < 20_000:
            sub[s_text] = result
        return result

    def parser(self) -> Callable[[list[str], int], UserRecord]:
        """The per-row function. Everything it needs is bound to locals first: it runs a
        million times for a large export, and attribute lookups are most of its cost."""
        width, source = self.width, self.source
        i_email, i_status, i_id, i_name = self.i_email, self.i_status, self.i_id, self.i_name
        i_added, i_last, i_role, i_type = self.i_added, self.i_last, self.i_role, self.i_type
        i_claimed, i_billable, i_groups = self.i_claimed, self.i_billable, self.i_groups
        i_external, i_policy_name = self.i_external, self.i_policy_name
        i_policy_type = self.i_policy_type
        status_cache, specs, fail = self.status_cache, self.specs, self.fail
        dates, product_slow = self.dates, self._product
        added_cache, roles, kinds = self.added_cache, self.roles, self.kinds
        domains, managed_export = self.domains, self.managed_export
        missing = _MISSING
        new_tuple = tuple.__new__  # UserRecord._make without its Python-level wrapper
        pairs = tuple(
            (-1 if ai is None else ai, -1 if si is None else si, cache, spec)
            for spec in specs
            for ai, si, cache in [(spec[2], spec[3], spec[4])]
        )
        domain_cache = self.domain_cache

        def parse(row: list[str], line: int) -> UserRecord:
            if len(row) != width:
                raise InputError(
                    f"{source}:{line}: expected {width} fields like the header, "
                    f"found {len(row)} (an unquoted comma or a cut-off row?)"
                )
            email = row[i_email].strip()
            if "@" not in email:
                raise fail(line, i_email, f"not an email address: {email!r}")
            status_text = row[i_status]
            status = status_cache.get(status_text)
            if status is None:
                status = STATUS.get(status_text.strip().lower())
                if status is None:
                    raise fail(
                        line,
                        i_status,
                        f"unknown status {status_text!r} (expected Active, Deactivated, "
                        f"Suspended, Closed or Invited)",
                    )
                if len(status_cache) < 100:
                    status_cache[status_text] = status
            index: int | None = None
            try:
                added = None
                if i_added is not None:
                    index = i_added
                    text = row[i_added]
                    added = added_cache.get(text, missing)
                    if added is missing:
                        added = dates.optional_date(text)
                        if len(added_cache) < 50_000:
                            added_cache[text] = added
                last_active = None
                if i_last is not None:
                    index = i_last
                    value = dates.last_seen(row[i_last])
                    last_active = value if isinstance(value, date) else None
                products: tuple[ProductAccess, ...] = ()
                for ai, si, cache, spec in pairs:
                    if ai >= 0 and si >= 0:  # the usual pair: access and last seen
                        sub = cache.get(row[ai])
                        if sub is not None:
                            found = sub.get(row[si], missing)
                            if found is not missing:
                                products += found
                                continue
                    a_text = row[ai] if ai >= 0 else ""
                    s_text = row[si] if si >= 0 else ""
                    products += product_slow(spec, a_text, s_text, line)
                claimed = reported = external = None
                policy_billable: bool | None = None
                if i_external is not None:
                    index = i_external
                    external = yes_no(row[i_external])
                if i_policy_type is not None:
                    index = i_policy_type
                    policy_billable = policy_type(row[i_policy_type])
                if i_claimed is not None:
                    index = i_claimed
                    claimed = yes_no(row[i_claimed])
                if i_billable is not None:
                    index = i_billable
                    reported = yes_no(row[i_billable])
            except DateError as exc:
                raise fail(line, index, str(exc)) from None
            except ValueError as exc:
                raise fail(line, index, str(exc)) from None
            if managed_export:
                managed = claimed is not False
            else:
                domain = email[email.rfind("@") + 1 :]
                known = domain_cache.get(domain)
                if known is None:
                    known = domain.lower() in domains
                    if len(domain_cache) < 10_000:
                        domain_cache[domain] = known
                managed = claimed is True or known
            role = "member"
            if i_role is not None:
                text = row[i_role]
                role = roles.get(text) or _word(roles, text, "member")
            kind = "atlassian"
            if i_type is not None:
                text = row[i_type]
                kind = kinds.get(text) or _word(kinds, text, "atlassian")
            groups: tuple[str, ...] = ()
            if i_groups is not None:
                cell = row[i_groups].replace(";", ",")
                groups = tuple(g.strip() for g in cell.split(",") if g.strip())
            return new_tuple(
                UserRecord,
                (
                    row[i_id].strip() if i_id is not None else "",
                    row[i_name].strip() if i_name is not None else "",
                    email,
                    status,
                    managed,
                    products,
                    added,  # type: ignore[arg-type]
                    role,
                    kind,
                    last_active,
                    reported,
                    groups,
                    line,
                    external,
                    policy_billable,
                    row[i_policy_name].strip() if i_policy_name is not None else "",
                ),
            )

        return parse
