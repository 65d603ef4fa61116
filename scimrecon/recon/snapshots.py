"""Dated exports ("snapshots"): their date, user and billable counts, and the changes between
two of them as events.

An export does not say when it was taken, so the date comes from the file name
(users-2026-03-31.csv), else from --as-of for a single undated file, else from the latest date
the file itself mentions; the report says which, because a wrong date moves a count into the
wrong month.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from scimrecon.errors import InputError
from scimrecon.identity import identity_key
from scimrecon.recon.events import Event
from scimrecon.recon.export import open_export

_NAME_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


def date_from_name(path: Path) -> date | None:
    """The first valid YYYY-MM-DD (or YYYYMMDD) in the file name, if any."""
    for m in _NAME_DATE.finditer(path.name):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Snapshot:
    """What one dated export says: how many users, how many billable, and (if kept) who."""

    source: str
    day: date
    dated_by: str
    users: int
    billable: int
    billable_added: Mapping[str, date | None] = field(default_factory=dict)


def read_snapshot(
    path: Path,
    *,
    day: date | None = None,
    dated_by: str = "",
    domains: Iterable[str] = (),
    keep_ids: bool = False,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> Snapshot:
    """Count one export in a single pass. Without `day`, the file name or its data dates it."""
    name = str(path)
    if day is None:
        day = date_from_name(path)
        dated_by = "file name" if day else ""
    users = billable = 0
    latest: date | None = None
    kept: dict[str, date | None] = {}
    with open_export(path, columns=columns, domains=domains, encoding=encoding) as export:
        for record in export.records():
            users += 1
            if record.billable:
                billable += 1
                if keep_ids:
                    kept[record.account_id or identity_key(record.email)] = record.added_to_org
            if day is None:
                dates = [record.added_to_org, record.last_active]
                dates += [p.last_seen for p in record.products]
                for value in dates:
                    if isinstance(value, date) and (latest is None or value > latest):
                        latest = value
    if day is None:
        if latest is None:
            raise InputError(
                f"{name}: cannot tell when this export was taken: put the date in the file "
                f"name (users-2026-03-31.csv) or pass --as-of"
            )
        day, dated_by = latest, "latest date in the data"
    return Snapshot(name, day, dated_by, users, billable, kept)


def events_between(before: Snapshot, after: Snapshot) -> tuple[list[Event], list[str]]:
    """Who became billable and who stopped between two snapshots, as events, with notes.

    A newcomer is dated by `Added to org` when that falls between the two snapshots, else the
    day after the first one (the earliest it can have happened, so the bill is never low);
    a leaver is dated on the second snapshot (the latest it can have happened, for the same
    reason: no credit, and the fewest freed seats to reuse).
    """
    if after.day <= before.day:
        raise InputError(
            f"{after.source} ({after.day}) is not later than {before.source} ({before.day})"
        )
    events: list[Event] = []
    unknown = 0
    for key, added in after.billable_added.items():
        if key in before.billable_added:
            continue
        if added is not None and before.day < added <= after.day:
            events.append(Event(added, key, "added"))
        else:
            unknown += 1
            events.append(Event(before.day + timedelta(days=1), key, "added"))
    for key in before.billable_added:
        if key not in after.billable_added:
            events.append(Event(after.day, key, "removed"))
    events.sort(key=lambda e: (e.day, e.change != "removed"))
    notes = []
    if unknown:
        notes.append(
            f"{unknown} newly billable users have no join date between the snapshots: "
            f"charged from {before.day + timedelta(days=1)}, the most they can cost"
        )
    return events, notes
