"""Stream an Atlassian user export into UserRecords, a block of rows at a time.

The reader holds one block of rows in memory (BLOCK_ROWS, parsed together by
export_blocks.py), a few bounded caches of cells seen before, plus about 16 bytes a user to
refuse duplicates (see keytable.py; about 48 when the export has a group column and may repeat
a user once a group, group_rows.py), so a million-row export costs little more memory than a
ten-row one. Every
problem becomes an InputError naming the file, the line and the column, because an admin
fixing a CSV by hand needs to know exactly where to look.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from scimrecon.errors import InputError
from scimrecon.limits import GuardedLines, check_columns
from scimrecon.recon.columns import DIRECTORY, MANAGED, ColumnPlan, plan_columns
from scimrecon.recon.csvrows import FastRows, split_lines
from scimrecon.recon.dates import CachedParser, DateError
from scimrecon.recon.export_blocks import block_parser
from scimrecon.recon.group_rows import merge_group_rows
from scimrecon.recon.identity import identity_key
from scimrecon.recon.keytable import KeyTable, expected_rows
from scimrecon.recon.model import LastSeen, ProductAccess, UserRecord
from scimrecon.recon.textio import locate_decode_error, open_text

_STATUS: dict[str, str] = {
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
_ACCESS_TRUE = _TRUE | frozenset(
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
_ACCESS_FALSE = _FALSE | frozenset({"revoked", "removed"})
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


@dataclass
class Export:
    """An opened export: its detected format and column plan, and its records (one pass)."""

    source: str
    path: Path
    encoding: str
    plan: ColumnPlan
    _rows: Iterator[UserRecord]

    @property
    def format(self) -> str:
        return self.plan.format

    def records(self) -> Iterator[UserRecord]:
        return self._rows


def _bool(text: str) -> bool | None:
    s = text.strip().lower()
    if not s:
        return None
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"expected Yes or No, found {text!r}")


def _policy_type(text: str) -> bool | None:
    """A "Policy type" cell: True billable, False non-billable, None empty."""
    key = " ".join(text.strip().lower().split())
    if key not in _POLICY_TYPE:
        raise ValueError(f"expected Billable or Non-billable, found {text!r}")
    return _POLICY_TYPE[key]


def _sites(cell: str) -> tuple[str, ...]:
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


_MISSING = object()
_account_id = itemgetter(UserRecord._fields.index("account_id"))
#: rows parsed together (export_blocks.py): enough that a block's own costs vanish, few
#: enough that its strings stay in the processor's cache (2,000 was a third slower than 128)
BLOCK_ROWS = 128
PIECE_ROWS = 16  # a block the block parser refuses is tried again in pieces this long


def _word(cache: dict[str, str], text: str, default: str) -> str:
    """A role or account-type cell normalised (and remembered: a file has only a few)."""
    value = text.strip().lower() or default
    if len(cache) < 10_000:
        cache[text] = value
    return value


class _RowReader:
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
        if s in _ACCESS_FALSE:
            result = (False, None, ())
        elif s in _ACCESS_TRUE:
            result = (True, None, ())
        else:
            try:
                result = (True, self.dates.last_seen(text), ())
            except DateError:
                sites = _sites(s) if bare else ()
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
                status = _STATUS.get(status_text.strip().lower())
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
                    external = _bool(row[i_external])
                if i_policy_type is not None:
                    index = i_policy_type
                    policy_billable = _policy_type(row[i_policy_type])
                if i_claimed is not None:
                    index = i_claimed
                    claimed = _bool(row[i_claimed])
                if i_billable is not None:
                    index = i_billable
                    reported = _bool(row[i_billable])
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


@contextmanager
def open_export(
    path: Path,
    *,
    source: str | None = None,
    columns: Mapping[str, str] | None = None,
    domains: Iterable[str] = (),
    export_format: str | None = None,
    encoding: str | None = None,
    block_rows: int = BLOCK_ROWS,
) -> Iterator[Export]:
    """Open an export for one streaming pass; every input problem raises InputError.

    `domains` are the org's verified domains: in a Directory export a user is managed when the
    email's domain is one of them or when the export has a `Claimed` column that says Yes.
    `block_rows`: rows read and parsed together (export_blocks.py); 0 parses every row on its
    own (the tests compare the two).
    """
    name = source or str(path)
    if export_format is not None and export_format not in (DIRECTORY, MANAGED):
        raise InputError(f"unknown export format {export_format!r} (use {DIRECTORY} or {MANAGED})")
    with open_text(path, encoding, label=name) as (text, codec):
        reader = FastRows(text, name)

        def decode_failure() -> InputError:
            line, offset, bad = locate_decode_error(path, codec)
            return InputError(
                f"{name}:{line}: cannot decode byte(s) {bad.hex(' ')} at offset {offset} as "
                f"{codec} (save the export as UTF-8 or pass --encoding)"
            )

        def next_row() -> list[str] | None:
            try:
                return next(reader)
            except StopIteration:
                return None
            except UnicodeDecodeError:
                raise decode_failure() from None
            except csv.Error as exc:
                raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None

        header = next_row()
        while header is not None and not any(h.strip() for h in header):
            header = next_row()
        if header is None:
            raise InputError(f"{name}: empty file (no header row)")
        check_columns(len(header), name, line=reader.line_num)
        plan = plan_columns(header, source=name, overrides=columns, export_format=export_format)
        rows = _RowReader(plan, name, domains)

        def on_duplicate(key: str, line: int) -> None:
            first = _find_first(path, codec, plan, key, line)
            if first is not None:
                raise InputError(f"{name}:{line}: duplicate user {key!r} (already on line {first})")

        def group_records() -> Iterator[UserRecord]:
            """One row per group membership: a user's rows merged (group_rows.py)."""
            try:
                yield from merge_group_rows(
                    reader,
                    rows.parser(),
                    group=plan.fields["groups"],
                    headers=plan.headers,
                    source=name,
                    row_at=lambda line: _row_at(path, codec, line),
                    expected=expected_rows(path),
                )
            except UnicodeDecodeError:
                raise decode_failure() from None
            except csv.Error as exc:
                raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None

        def record_lists() -> Iterator[list[UserRecord]]:
            seen = KeyTable.for_file(path)

            def admit(block: list[UserRecord]) -> None:
                """Refuse a repeated user (a hash seen before is looked up in the file)."""
                keys = list(map(_account_id, block))
                if not all(keys):
                    keys = [k or identity_key(r.email) for k, r in zip(keys, block, strict=True)]
                seen.add_keys(keys, lambda n: on_duplicate(keys[n], block[n].line))

            parse = rows.parser()
            fast = block_parser(rows) if block_rows else None

            def parsed(
                start: int, texts: list[str] | None, block: list[list[str]] | None
            ) -> Iterator[list[UserRecord]]:
                """The records of a block (plain lines, or rows), checked for repeats, in
                lists. Plain lines the block parser refuses go in pieces (a date not seen
                before costs one piece), a piece it refuses row by row: each row parsed, then
                checked, then the next."""
                if texts is not None and fast is not None:
                    records = fast(texts, start)
                    if records is not None:
                        admit(records)
                        yield records
                        return
                    if len(texts) > PIECE_ROWS:
                        for k in range(0, len(texts), PIECE_ROWS):
                            yield from parsed(start + k, texts[k : k + PIECE_ROWS], None)
                        return
                for n, row in enumerate(block if texts is None else split_lines(texts)):
                    if not row or (not row[0].strip() and not "".join(row).strip()):
                        continue  # a blank line, or a row of empty cells (Excel leaves those)
                    record = parse(row, start + n)
                    admit([record])
                    yield [record]

            try:
                for start, texts, block in reader.blocks(block_rows or 1):
                    yield from parsed(start, texts, block)
            except UnicodeDecodeError:
                raise decode_failure() from None
            except csv.Error as exc:
                raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None

        merging = "groups" in plan.fields
        # the records of a list come out of a C iterator: no generator step per record
        rows_out = group_records() if merging else chain.from_iterable(record_lists())
        yield Export(source=name, path=path, encoding=codec, plan=plan, _rows=rows_out)


def _row_at(path: Path, codec: str, line: int) -> list[str] | None:
    """The row that starts on `line` (for an error message naming what differs)."""
    with open_text(path, codec) as (text, _):
        reader = csv.reader(text)
        last = 0
        for row in reader:
            start, last = last + 1, reader.line_num
            if start == line:
                return row
            if start > line:
                break
    return None


def _find_first(path: Path, codec: str, plan: ColumnPlan, key: str, before: int) -> int | None:
    """Second look after a hash hit: the line where `key` first appeared, or None (collision)."""
    f = plan.fields
    with open_text(path, codec) as (text, _):
        reader = csv.reader(GuardedLines(text, str(path)))
        next(reader, None)
        last = reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if start >= before:
                return None
            if len(row) != len(plan.headers):
                continue
            rid = row[f["account_id"]].strip() if "account_id" in f else ""
            if (rid or identity_key(row[f["email"]].strip())) == key:
                return start
    return None


def read_records(path: Path, **options: object) -> list[UserRecord]:
    """Read a whole (small) export into a list; tests and the reconcile join use this."""
    with open_export(path, **options) as export:  # type: ignore[arg-type]
        return list(export.records())
