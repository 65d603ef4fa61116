"""Monthly closing user counts: the count at the last snapshot (or event) of each month.

Months with no data carry the previous month's count forward and say so, rather than
showing a gap that reads like zero or inventing a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from scimrecon.recon.events import Event, replay


@dataclass(frozen=True, slots=True)
class Point:
    """A count known on a day (a snapshot, or the state after an event)."""

    day: date
    count: int
    users: int | None
    source: str


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: str  # YYYY-MM
    count: int | None
    users: int | None
    change: int | None
    day: date | None  # the day the closing count was taken
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "count": self.count,
            "users": self.users,
            "change": self.change,
            "date": self.day.isoformat() if self.day else None,
            "source": self.source,
        }


def window(as_of: date, months: int = 12) -> list[tuple[int, int]]:
    """The `months` calendar months ending with as_of's month, oldest first."""
    out = []
    year, month = as_of.year, as_of.month
    for _ in range(months):
        out.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def points_from_events(
    events: Sequence[Event], *, start_count: int = 0, source: str
) -> list[Point]:
    """The count after each event (checked: nobody added twice or removed while absent)."""
    return [
        Point(event.day, count, None, source)
        for event, count in replay(events, start_count=start_count, source=source)
    ]


def closing_counts(points: Iterable[Point], *, as_of: date, months: int = 12) -> list[MonthCount]:
    """One closing count per month of the window; points after as_of are ignored."""
    ordered = sorted((p for p in points if p.day <= as_of), key=lambda p: p.day)
    result: list[MonthCount] = []
    months_list = window(as_of, months)
    first_year, first_month = months_list[0]
    previous: Point | None = None
    i = 0
    while i < len(ordered) and (ordered[i].day.year, ordered[i].day.month) < (
        first_year,
        first_month,
    ):
        previous = ordered[i]
        i += 1
    previous_count = previous.count if previous else None
    for year, month in months_list:
        closing: Point | None = None
        while i < len(ordered) and (ordered[i].day.year, ordered[i].day.month) == (year, month):
            closing = ordered[i]
            i += 1
        label = f"{year:04d}-{month:02d}"
        if closing is not None:
            previous = closing
            row = MonthCount(
                label,
                closing.count,
                closing.users,
                None if previous_count is None else closing.count - previous_count,
                closing.day,
                closing.source,
            )
        elif previous is not None:
            row = MonthCount(
                label,
                previous.count,
                previous.users,
                0 if previous_count is not None else None,
                previous.day,
                f"no data this month: carried from {previous.day.isoformat()}",
            )
        else:
            row = MonthCount(label, None, None, None, None, "no data yet")
        result.append(row)
        previous_count = row.count if row.count is not None else previous_count
    return result
