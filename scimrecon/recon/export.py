"""Stream an Atlassian user export into UserRecords, one row at a time.

The reader holds one row in memory (plus a compact set of the keys seen, to refuse duplicate
users), so a million-row export costs the same memory as a ten-row one. Every problem becomes
an InputError naming the file, the line and the column, because an admin fixing a CSV by hand
needs to know exactly where to look.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scimrecon.errors import InputError
from scimrecon.recon.columns import DIRECTORY, MANAGED, ColumnPlan, plan_columns
from scimrecon.recon.dates import CachedParser, DateError
from scimrecon.recon.model import LastSeen, ProductAccess, UserRecord
from scimrecon.recon.textio import open_text

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


class _SeenKeys:
    """Remembers user keys in ~50 bytes each, so duplicate checks do not hold every email."""

    def __init__(self) -> None:
        self._hashes: set[int] = set()

    def add(self, key: str) -> bool:
        """Record `key`; True when a key with the same hash was seen before."""
        h = hash(key)
        if h in self._hashes:
            return True
        self._hashes.add(h)
        return False


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


def locate_decode_error(path: Path, encoding: str) -> tuple[int, int, bytes]:
    """Find the line, byte offset and bytes of the first undecodable sequence (error path)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line, offset = 1, 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                rest = fh.read(3)
                return line, offset, (chunk + rest)[:4]
            line += text.count("\n")
            offset += 1
    return line, offset, b""


def _domain_of(email: str) -> str:
    return email.rpartition("@")[2].lower()


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
        self.managed_export = plan.format == MANAGED
        self.access_cache: dict[str, tuple[bool, LastSeen]] = {}

    def fail(self, line: int, index: int | None, message: str) -> InputError:
        where = f"{self.source}:{line}"
        if index is not None:
            where += f": column {self.plan.header(index)!r}"
        return InputError(f"{where}: {message}")

    def _access(self, text: str, line: int, index: int) -> tuple[bool, LastSeen]:
        """An access cell: Yes/No-like, or (managed export) the last-active date itself."""
        cached = self.access_cache.get(text)
        if cached is not None:
            return cached
        s = " ".join(text.strip().lower().split())
        result: tuple[bool, LastSeen]
        if s in _ACCESS_FALSE:
            result = (False, None)
        elif s in _ACCESS_TRUE:
            result = (True, None)
        else:
            try:
                seen = self.dates.last_seen(text)
            except DateError:
                raise self.fail(
                    line, index, f"unknown access value {text!r} (expected Yes/No or a date)"
                ) from None
            result = (True, seen)
        if len(self.access_cache) < 10_000:
            self.access_cache[text] = result
        return result

    def record(self, row: list[str], line: int) -> UserRecord:
        if len(row) != self.width:
            raise InputError(
                f"{self.source}:{line}: expected {self.width} fields like the header, "
                f"found {len(row)} (an unquoted comma or a cut-off row?)"
            )
        email = row[self.i_email].strip()
        if not email or "@" not in email:
            raise self.fail(line, self.i_email, f"not an email address: {email!r}")
        status_text = row[self.i_status]
        status = _STATUS.get(status_text.strip().lower())
        if status is None:
            raise self.fail(
                line,
                self.i_status,
                f"unknown status {status_text!r} (expected Active, Deactivated, Suspended, "
                f"Closed or Invited)",
            )
        dates = self.dates
        index: int | None = None
        try:
            added = None
            if self.i_added is not None:
                index = self.i_added
                added = dates.optional_date(row[index])
            last_active = None
            if self.i_last is not None:
                index = self.i_last
                value = dates.last_seen(row[index])
                last_active = value if isinstance(value, date) else None
            products: list[ProductAccess] = []
            for pc in self.plan.products:
                seen: LastSeen = None
                if pc.access is not None:
                    has, seen = self._access(row[pc.access], line, pc.access)
                else:
                    has = bool(row[pc.last_seen].strip())  # type: ignore[index]
                if pc.last_seen is not None:
                    index = pc.last_seen
                    value = dates.last_seen(row[index])
                    if value is not None:
                        seen = value
                if has:
                    products.append(ProductAccess(pc.product, pc.site, seen))
            claimed = reported = None
            if self.i_claimed is not None:
                index = self.i_claimed
                claimed = _bool(row[index])
            if self.i_billable is not None:
                index = self.i_billable
                reported = _bool(row[index])
        except DateError as exc:
            raise self.fail(line, index, str(exc)) from None
        except ValueError as exc:
            raise self.fail(line, index, str(exc)) from None
        if self.managed_export:
            managed = claimed is not False
        else:
            managed = claimed is True or _domain_of(email) in self.domains
        role = row[self.i_role].strip().lower() if self.i_role is not None else ""
        kind = row[self.i_type].strip().lower() if self.i_type is not None else ""
        groups: tuple[str, ...] = ()
        if self.i_groups is not None:
            cell = row[self.i_groups].replace(";", ",")
            groups = tuple(g.strip() for g in cell.split(",") if g.strip())
        return UserRecord(
            account_id=row[self.i_id].strip() if self.i_id is not None else "",
            name=row[self.i_name].strip() if self.i_name is not None else "",
            email=email,
            status=status,
            managed=managed,
            products=tuple(products),
            added_to_org=added,
            org_role=role or "member",
            account_type=kind or "atlassian",
            last_active=last_active,
            reported_billable=reported,
            groups=groups,
            line=line,
        )


def _scan(
    reader: Iterator[list[str]],
    line_of: Callable[[], int],
    rows: _RowReader,
    on_duplicate: Callable[[str, int], None],
) -> Iterator[UserRecord]:
    seen = _SeenKeys()
    last = line_of()
    for row in reader:
        start = last + 1
        last = line_of()
        if not row or not any(cell.strip() for cell in row):
            continue
        record = rows.record(row, start)
        key = record.account_id or record.email.lower()
        if seen.add(key):
            on_duplicate(key, start)
        yield record


@contextmanager
def open_export(
    path: Path,
    *,
    source: str | None = None,
    columns: Mapping[str, str] | None = None,
    domains: Iterable[str] = (),
    export_format: str | None = None,
    encoding: str | None = None,
) -> Iterator[Export]:
    """Open an export for one streaming pass; every input problem raises InputError.

    `domains` are the org's verified domains: in a Directory export a user is managed when the
    email's domain is one of them or when the export has a `Claimed` column that says Yes.
    """
    name = source or str(path)
    if export_format is not None and export_format not in (DIRECTORY, MANAGED):
        raise InputError(f"unknown export format {export_format!r} (use {DIRECTORY} or {MANAGED})")
    with open_text(path, encoding) as (text, codec):
        reader = csv.reader(text, strict=True)

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
        plan = plan_columns(header, source=name, overrides=columns, export_format=export_format)
        rows = _RowReader(plan, name, domains)

        def line_of() -> int:
            return reader.line_num

        def on_duplicate(key: str, line: int) -> None:
            first = _find_first(path, codec, plan, key, line)
            if first is not None:
                raise InputError(f"{name}:{line}: duplicate user {key!r} (already on line {first})")

        def guarded() -> Iterator[UserRecord]:
            iterator = _scan(reader, line_of, rows, on_duplicate)
            while True:
                try:
                    record = next(iterator)
                except StopIteration:
                    return
                except UnicodeDecodeError:
                    raise decode_failure() from None
                except csv.Error as exc:
                    raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None
                yield record

        yield Export(source=name, path=path, encoding=codec, plan=plan, _rows=guarded())


def _find_first(path: Path, codec: str, plan: ColumnPlan, key: str, before: int) -> int | None:
    """Second look after a hash hit: the line where `key` first appeared, or None (collision)."""
    f = plan.fields
    with open_text(path, codec) as (text, _):
        reader = csv.reader(text)
        next(reader, None)
        last = reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if start >= before:
                return None
            if len(row) != len(plan.headers):
                continue
            rid = row[f["account_id"]].strip() if "account_id" in f else ""
            if (rid or row[f["email"]].strip().lower()) == key:
                return start
    return None


def read_records(path: Path, **options: object) -> list[UserRecord]:
    """Read a whole (small) export into a list; tests and the reconcile join use this."""
    with open_export(path, **options) as export:  # type: ignore[arg-type]
        return list(export.records())
