"""Maximum quantity billing for monthly plans, and what a cleanup is worth.

The rules (Atlassian's, for monthly subscriptions): a cycle is charged for the user count at
its start; a user added mid-cycle who takes the count above the cycle's running maximum is
charged pro rata for the days left; a removal gives no credit until the next cycle; a seat
freed mid-cycle can be reused at no charge. Amounts are exact fractions until they are shown,
each line is rounded to cents once, and a cycle's total is the sum of its lines as shown.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

from scimrecon.recon.events import ADDED, Event, replay

CENT = Decimal("0.01")
LineKind = Literal["cycle", "pro-rata", "reuse", "removal"]


def money(amount: Fraction | Decimal | int) -> Decimal:
    """Round to cents, half up (how invoices show money)."""
    if isinstance(amount, Fraction):
        value = Decimal(amount.numerator) / Decimal(amount.denominator)
    else:
        value = Decimal(amount)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cycle_anchor(year: int, month: int, cycle_day: int) -> date:
    """The cycle start in a month; day 31 falls on the last day of shorter months."""
    return date(year, month, min(cycle_day, calendar.monthrange(year, month)[1]))


def cycle_start(day: date, cycle_day: int) -> date:
    """The start of the billing cycle that contains `day`."""
    anchor = cycle_anchor(day.year, day.month, cycle_day)
    if day >= anchor:
        return anchor
    previous = day.replace(day=1) - timedelta(days=1)
    return cycle_anchor(previous.year, previous.month, cycle_day)


def next_cycle_start(start: date, cycle_day: int) -> date:
    """The start of the cycle after the one starting on `start`."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return cycle_anchor(year, month, cycle_day)


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One line of the bill: a cycle start, or one event inside a cycle."""

    day: date
    kind: LineKind
    user: str
    count: int  # users after this line
    maximum: int  # the cycle's running maximum after this line
    seats: int  # seats charged on this line
    days_left: int
    days_in_cycle: int
    exact: Fraction

    @property
    def amount(self) -> Decimal:
        return money(self.exact)

    def describe(self, price: Decimal) -> str:
        if self.kind == "cycle":
            return f"cycle start: {self.count} users x {price}"
        if self.kind == "pro-rata":
            return (
                f"{self.user} added: {self.count} users, above the maximum of "
                f"{self.maximum - self.seats}: {self.seats} x {price} x "
                f"{self.days_left}/{self.days_in_cycle} days"
            )
        if self.kind == "reuse":
            return (
                f"{self.user} added: {self.count} users, within the maximum of "
                f"{self.maximum}: a freed seat, no charge"
            )
        return f"{self.user} removed: {self.count} users, no credit until the next cycle"

    def as_dict(self, price: Decimal) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "kind": self.kind,
            "user": self.user or None,
            "users": self.count,
            "maximum": self.maximum,
            "seats_charged": self.seats,
            "days_left": self.days_left,
            "days_in_cycle": self.days_in_cycle,
            "amount": str(self.amount),
            "description": self.describe(price),
        }


@dataclass
class CycleBill:
    """One billing cycle [start, end) and its lines."""

    start: date
    end: date
    start_count: int
    lines: list[ChargeLine] = field(default_factory=list)

    @property
    def last_day(self) -> date:
        """The cycle's last billed day: what tables and JSON both call its end."""
        return self.end - timedelta(days=1)

    @property
    def maximum(self) -> int:
        return max([self.start_count, *(line.maximum for line in self.lines)])

    @property
    def exact(self) -> Fraction:
        return sum((line.exact for line in self.lines), Fraction(0))

    @property
    def total(self) -> Decimal:
        """The sum of the lines as shown (each rounded to cents), as an invoice adds up."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    def as_dict(self, price: Decimal) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.last_day.isoformat(),  # inclusive, as the table prints it
            "start_count": self.start_count,
            "maximum": self.maximum,
            "total": str(self.total),
            "lines": [line.as_dict(price) for line in self.lines],
        }


def bill(
    events: Sequence[Event],
    *,
    price: Decimal,
    cycle_day: int,
    until: date,
    start_count: int = 0,
    start_users: Iterable[str] = (),
    since: date | None = None,
    source: str = "events",
) -> list[CycleBill]:
    """The bill, cycle by cycle, from the cycle containing `since` (default: the first event)
    to the cycle containing `until`. Events before `since` only set the starting count."""
    if not 1 <= cycle_day <= 31:
        raise ValueError("cycle day must be 1..31")
    price_f = Fraction(price)
    first_day = since or (events[0].day if events else until)
    start = cycle_start(first_day, cycle_day)
    last = cycle_start(until, cycle_day) if until >= start else start
    applied = list(replay(events, start_count=start_count, start_users=start_users, source=source))
    count = start_count
    i = 0
    while i < len(applied) and applied[i][0].day < start:
        count = applied[i][1]
        i += 1
    cycles: list[CycleBill] = []
    while start <= last:
        end = next_cycle_start(start, cycle_day)
        days = (end - start).days
        cycle = CycleBill(start, end, count)
        maximum = count
        cycle.lines.append(
            ChargeLine(start, "cycle", "", count, maximum, count, days, days, count * price_f)
        )
        while i < len(applied) and applied[i][0].day < end:
            event, count = applied[i]
            i += 1
            left = (end - event.day).days
            if event.change == ADDED and count > maximum:
                seats = count - maximum
                maximum = count
                exact = seats * price_f * Fraction(left, days)
                line = ChargeLine(
                    event.day, "pro-rata", event.user, count, maximum, seats, left, days, exact
                )
            else:
                kind: LineKind = "reuse" if event.change == ADDED else "removal"
                line = ChargeLine(
                    event.day, kind, event.user, count, maximum, 0, left, days, Fraction(0)
                )
            cycle.lines.append(line)
        cycles.append(cycle)
        start = end
    return cycles


@dataclass(frozen=True)
class CleanupWorth:
    """What removing `remove` users on `on` saves, cycle by cycle."""

    remove: int
    on: date
    first_saving_cycle: date | None
    per_cycle: Decimal
    savings: list[tuple[date, Decimal]]  # (cycle start, saving) for each cycle billed

    def sentence(self) -> str:
        if self.first_saving_cycle is None:
            return f"removing {self.remove} users on {self.on} saves nothing in the cycles billed"
        current = cycle_of(self.savings, self.on)
        before = (
            "nothing before"
            if current is None or current[1] == 0
            else f"{current[1]} in the cycle starting {current[0]} (freed seats reused)"
        )
        return (
            f"removing {self.remove} users on {self.on} saves {self.per_cycle} per cycle from the "
            f"cycle starting {self.first_saving_cycle}, and {before}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "remove": self.remove,
            "on": self.on.isoformat(),
            "first_saving_cycle": self.first_saving_cycle.isoformat()
            if self.first_saving_cycle
            else None,
            "per_cycle": str(self.per_cycle),
            "savings": [{"cycle": s.isoformat(), "saving": str(v)} for s, v in self.savings],
            "summary": self.sentence(),
        }


def cycle_of(savings: list[tuple[date, Decimal]], day: date) -> tuple[date, Decimal] | None:
    found = None
    for start, value in savings:
        if start <= day:
            found = (start, value)
    return found


def cleanup_worth(
    events: Sequence[Event],
    *,
    remove: int,
    on: date,
    price: Decimal,
    cycle_day: int,
    until: date,
    start_count: int = 0,
    start_users: Iterable[str] = (),
    since: date | None = None,
) -> CleanupWorth:
    """Bill with and without `remove` extra removals on `on`; the difference per cycle.

    The removals come after that day's other events (the sort is stable) and are of "some
    user": they change the count, not who is there.
    """
    horizon = max(until, next_cycle_start(cycle_start(on, cycle_day), cycle_day))
    first_day = min(since or (events[0].day if events else on), on)
    extra = [Event(on, "(cleanup)", "removed", anonymous=True) for _ in range(remove)]
    with_cleanup = sorted([*events, *extra], key=lambda e: e.day)
    options: dict[str, Any] = {
        "price": price,
        "cycle_day": cycle_day,
        "until": horizon,
        "start_count": start_count,
        "start_users": list(start_users),
        "since": first_day,
    }
    base = bill(events, **options)
    cleaned = bill(with_cleanup, **options)
    savings = [(b.start, b.total - c.total) for b, c in zip(base, cleaned, strict=True)]
    first = next((s for s, v in savings if v > 0 and s > on), None)
    return CleanupWorth(remove, on, first, money(remove * Fraction(price)), savings)
