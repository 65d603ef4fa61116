"""`scimrecon billing`: the bill under maximum quantity billing, line by line, and what a
cleanup is worth (when removing users starts to save money, and how much)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from scimrecon.cli.options import (
    FILE,
    date_option,
    domain_option,
    events_options,
    format_option,
    price_option,
)
from scimrecon.cli.render import echo_output, load_profile, org_domains, table, to_csv
from scimrecon.errors import InputError
from scimrecon.limits import MAX_PRICE, MAX_USERS
from scimrecon.recon.billing import CENT, CleanupWorth, CycleBill, bill, cleanup_worth
from scimrecon.recon.events import Event, read_events
from scimrecon.recon.snapshots import events_between, read_snapshot

LINE_COLUMNS = ("date", "users", "maximum", "seats charged", "amount", "line")


def parse_price(value: str | None, profile_price: float | None) -> Decimal:
    """`--price` (else the profile's [billing] price) as a checked Decimal; exit 2 if bad."""
    if value is None:
        if profile_price is None:
            raise InputError("--price is needed (or [billing].price_per_user_month in the profile)")
        value = str(profile_price)
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise InputError(f"--price: {value!r} is not a number") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise InputError(
            f"--price: {value!r} must be a price per user and month, from 0 to {MAX_PRICE:,}"
        )
    cents = price.quantize(CENT)
    return cents if cents == price else price


def _total(cycles: list[CycleBill]) -> Decimal:
    """The whole bill, summed once here so the table and the JSON cannot disagree."""
    return sum((c.total for c in cycles), Decimal("0.00"))


def _table(
    cycles: list[CycleBill], price: Decimal, worth: CleanupWorth | None, notes: list[str]
) -> str:
    parts: list[str] = []
    for cycle in cycles:
        parts.append(
            f"cycle {cycle.start} to {cycle.last_day}: {cycle.total} "
            f"(start {cycle.start_count} users, maximum {cycle.maximum})"
        )
        parts.append(
            table(
                (
                    (
                        line.day.isoformat(),
                        line.count,
                        line.maximum,
                        line.seats,
                        line.amount,
                        line.describe(price),
                    )
                    for line in cycle.lines
                ),
                LINE_COLUMNS,
            )
        )
        parts.append("")
    total = _total(cycles)
    parts.append(f"total {total} over {len(cycles)} cycle{'s' if len(cycles) != 1 else ''}")
    if worth is not None:
        parts.append(f"what cleanup is worth: {worth.sentence()}")
    parts += [f"note: {n}" for n in notes]
    return "\n".join(parts)


def _csv(cycles: list[CycleBill], price: Decimal) -> str:
    rows = (
        {"cycle": c.start.isoformat(), **line.as_dict(price)} for c in cycles for line in c.lines
    )
    return to_csv(
        rows,
        ("cycle", "date", "kind", "user", "users", "maximum", "seats_charged", "days_left",
         "days_in_cycle", "amount", "description"),
    )  # fmt: skip


@click.command()
@events_options(
    events_help="Events CSV: date,user,added|removed.", start_help="Users before the first event."
)
@click.option("--from", "from_file", type=FILE, help="Earlier dated export (instead of --events).")
@click.option("--to", "to_file", type=FILE, help="Later dated export (with --from).")
@domain_option("Org domain (managed users), for exports.")
@price_option
@click.option(
    "--cycle-day",
    type=click.IntRange(1, 31),
    help="Day of the month each cycle starts (default [billing].cycle_day, else 1).",
)
@date_option("--since", help="First cycle billed: the one containing DATE.")
@date_option(
    "--as-of", help="Bill up to the cycle containing DATE (default today, or --to's date)."
)
@click.option(
    "--remove", type=click.IntRange(1, MAX_USERS), help="What-if: remove this many users..."
)
@date_option("--on", "remove_on", help="...on this day (with --remove).")
@format_option
@click.pass_obj
def billing(
    obj: object,
    events_file: Path | None,
    start_count: int,
    from_file: Path | None,
    to_file: Path | None,
    domains: tuple[str, ...],
    price: str | None,
    cycle_day: int | None,
    since: date | None,
    as_of: date | None,
    remove: int | None,
    remove_on: date | None,
    fmt: str,
) -> None:
    """Maximum quantity billing for monthly plans, from events or two dated exports.

    A cycle is charged for the count at its start; an addition above the cycle's maximum is
    charged pro rata for the days left; removals give no credit until the next cycle.
    """
    if (remove is None) != (remove_on is None):
        raise InputError("--remove and --on go together (how many users, removed on which day)")
    if events_file is not None and (from_file or to_file):
        raise InputError("give --events, or --from and --to, not both")
    if events_file is None and not (from_file and to_file):
        raise InputError("give --events FILE, or --from EXPORT and --to EXPORT")
    profile = load_profile(obj)
    billing_cfg = profile.billing if profile is not None else None
    unit = parse_price(price, billing_cfg.price_per_user_month if billing_cfg else None)
    domains = org_domains(domains, profile)
    day = cycle_day or (billing_cfg.cycle_day if billing_cfg and billing_cfg.cycle_day else 1)

    notes: list[str] = []
    start_users: list[str] = []
    events: list[Event]
    if events_file is not None:
        events = read_events(events_file)
        source = str(events_file)
        until = as_of or date.today()
    else:
        assert from_file is not None and to_file is not None
        before = read_snapshot(from_file, domains=domains, keep_ids=True)
        after = read_snapshot(to_file, domains=domains, keep_ids=True)
        events, notes = events_between(before, after)
        start_count = before.billable
        start_users = list(before.billable_added)
        since = since or before.day
        until = as_of or after.day
        source = f"{from_file} -> {to_file}"
        notes.insert(
            0,
            f"{before.source}: {before.billable} billable on {before.day} ({before.dated_by}); "
            f"{after.source}: {after.billable} billable on {after.day} ({after.dated_by})",
        )
    late = sum(1 for e in events if e.day > until)
    if late:
        what = "1 event after {} is" if late == 1 else f"{late} events after {{}} are"
        notes.append(f"{what.format(until)} not billed (use --as-of)")
    options: dict[str, Any] = {
        "price": unit,
        "cycle_day": day,
        "until": until,
        "start_count": start_count,
        "start_users": start_users,
        "since": since,
    }
    cycles = bill([e for e in events if e.day <= until], source=source, **options)
    worth = None
    if remove is not None and remove_on is not None:
        worth = cleanup_worth(events, remove=remove, on=remove_on, **options)

    echo_output(
        fmt,
        as_json=lambda: {
            "price_per_user_month": str(unit),
            "cycle_day": day,
            "source": source,
            "cycles": [c.as_dict(unit) for c in cycles],
            "total": str(_total(cycles)),
            "cleanup": worth.as_dict() if worth else None,
            "notes": notes,
        },
        as_csv=lambda: _csv(cycles, unit),
        as_table=lambda: _table(cycles, unit, worth, notes),
    )
