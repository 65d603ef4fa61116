"""User events (`date,user,added|removed`): the input of monthly counts and the billing maths.

Events are checked as they are applied (nobody is added twice or removed while absent), so a
file with a missing line shows up as an error instead of as a wrong bill.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from scimrecon.errors import InputError
from scimrecon.limits import MAX_DOCUMENT_BYTES, GuardedLines
from scimrecon.recon.dates import DateError, parse_date
from scimrecon.recon.textio import open_text

ADDED: Literal["added"] = "added"
REMOVED: Literal["removed"] = "removed"
_CHANGES = {
    "added": ADDED,
    "add": ADDED,
    "+": ADDED,
    "removed": REMOVED,
    "remove": REMOVED,
    "-": REMOVED,
}
_HEADER_WORDS = {"date", "day", "when"}


@dataclass(frozen=True, slots=True)
class Event:
    """One user added to or removed from the billable count on one day."""

    day: date
    user: str
    change: Literal["added", "removed"]
    line: int = 0
    anonymous: bool = False  # "some user" (a what-if cleanup): changes the count, not who


def read_events(path: Path, *, source: str | None = None) -> list[Event]:
    """Read an events CSV (header optional), sorted by date (file order within a day)."""
    name = source or str(path)
    events: list[Event] = []
    with open_text(path, max_bytes=MAX_DOCUMENT_BYTES, label=name) as (text, codec):
        reader = csv.reader(GuardedLines(text, name))
        last = 0
        try:
            for row in reader:
                start, last = last + 1, reader.line_num
                if not row or not any(c.strip() for c in row):
                    continue
                if not events and row[0].strip().lower() in _HEADER_WORDS:
                    continue
                if len(row) != 3:
                    raise InputError(
                        f"{name}:{start}: expected 3 fields (date,user,added|removed), "
                        f"found {len(row)}"
                    )
                day_text, user, change_text = (c.strip() for c in row)
                try:
                    day = parse_date(day_text)
                except DateError as exc:
                    raise InputError(f"{name}:{start}: column 'date': {exc}") from None
                change = _CHANGES.get(change_text.lower())
                if change is None:
                    raise InputError(
                        f"{name}:{start}: column 3: {change_text!r} is not added or removed"
                    )
                if not user:
                    raise InputError(f"{name}:{start}: column 'user': empty")
                events.append(Event(day, user, change, start))
        except UnicodeDecodeError:
            raise InputError(f"{name}: cannot decode as {codec} (save it as UTF-8)") from None
        except csv.Error as exc:
            raise InputError(f"{name}:{reader.line_num}: not valid CSV ({exc})") from None
    if not events:
        raise InputError(f"{name}: no events (expected lines of date,user,added|removed)")
    events.sort(key=lambda e: e.day)
    return events


def replay(
    events: Sequence[Event],
    *,
    start_count: int = 0,
    start_users: Iterable[str] = (),
    source: str = "events",
) -> Iterator[tuple[Event, int]]:
    """Apply events in order, yielding (event, count after it).

    The start population is `start_users` plus `start_count - len(start_users)` unnamed users,
    so a removal of someone not named is accepted only while unnamed users are left.
    """
    present = {u.lower() for u in start_users}
    unnamed = start_count - len(present)
    if unnamed < 0:
        raise InputError(f"--start {start_count} is less than the {len(present)} users named")
    count = start_count
    for event in events:
        key = event.user.lower()
        where = f"{source}:{event.line}" if event.line else source
        if event.anonymous:
            if event.change == ADDED or count == 0:
                raise InputError(f"cannot remove a user on {event.day}: nobody is left")
            count -= 1
        elif event.change == ADDED:
            if key in present:
                raise InputError(f"{where}: {event.user} added on {event.day} but already there")
            present.add(key)
            count += 1
        else:
            if key in present:
                present.discard(key)
            elif unnamed > 0:
                unnamed -= 1
            else:
                raise InputError(
                    f"{where}: {event.user} removed on {event.day} but not there "
                    f"(pass --start with the count before the first event)"
                )
            count -= 1
        yield event, count
