"""`scimrecon counts`: monthly closing user counts for the last 12 months, from dated exports
or an events CSV, with the change month to month and a sparkline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from scimrecon.cli.options import (
    FILE,
    as_of_option,
    column_option,
    domain_option,
    encoding_option,
    events_options,
    format_option,
    html_option,
)
from scimrecon.cli.render import echo_output, load_profile, org_domains, sparkline, table, to_csv
from scimrecon.errors import InputError
from scimrecon.recon.columns import parse_column_overrides
from scimrecon.recon.counts import MonthCount, Point, closing_counts, points_from_events
from scimrecon.recon.events import read_events
from scimrecon.recon.snapshots import date_from_name, read_snapshot

COLUMNS = ("month", "billable", "change", "users", "date", "from")
CSV_COLUMNS = ("month", "count", "change", "users", "date", "source")


def _signed(value: int | None) -> str:
    return "" if value is None else f"{value:+d}"


def _table(rows: list[MonthCount], notes: list[str]) -> str:
    body = table(
        (
            (
                r.month,
                "" if r.count is None else r.count,
                _signed(r.change),
                "" if r.users is None else r.users,
                r.day.isoformat() if r.day else "",
                r.source,
            )
            for r in rows
        ),
        COLUMNS,
        right=(1, 2, 3),
    )
    trend = sparkline([r.count for r in rows])
    lines = [body, "", f"trend  {trend}  ({rows[0].month} to {rows[-1].month})"]
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


@click.command()
@click.argument("snapshots", nargs=-1, type=FILE)
@events_options(
    events_help="Events CSV (date,user,added|removed) instead of snapshots.",
    start_help="With --events: the count before the first event.",
)
@as_of_option
@click.option(
    "--months",
    type=click.IntRange(1, 120),
    default=12,
    show_default=True,
    help="How many months back from --as-of.",
)
@domain_option("Org domain (managed users).")
@column_option()
@encoding_option
@html_option("Also write a self-contained HTML report with a chart.")
@format_option
def counts(
    snapshots: tuple[Path, ...],
    events_file: Path | None,
    start_count: int,
    as_of: date,
    months: int,
    domains: tuple[str, ...],
    columns: tuple[str, ...],
    encoding: str | None,
    html_out: Path | None,
    fmt: str,
) -> None:
    """Monthly closing billable counts (the count at each month's last snapshot).

    Each SNAPSHOT is a user export dated by its file name (users-2026-03-31.csv), by --as-of
    when it is the only undated one, or else by the latest date in its data.
    """
    if bool(snapshots) == bool(events_file):
        raise InputError("give SNAPSHOT exports or --events FILE (one of the two)")
    notes: list[str] = []
    points: list[Point] = []
    if events_file is not None:
        events = read_events(events_file)
        points = points_from_events(events, start_count=start_count, source=str(events_file))
        if start_count:
            points.insert(0, Point(events[0].day, start_count, None, "--start"))
    else:
        overrides = parse_column_overrides(columns)
        domains = org_domains(domains, load_profile(click.get_current_context().obj))
        undated = [p for p in snapshots if date_from_name(p) is None]
        explicit = click.get_current_context().get_parameter_source("as_of")
        as_of_dates = explicit is not None and explicit.name != "DEFAULT" and len(undated) == 1
        for path in snapshots:
            day = as_of if as_of_dates and path in undated else None
            snap = read_snapshot(
                path,
                day=day,
                dated_by="--as-of" if day else "",
                domains=domains,
                columns=overrides,
                encoding=encoding,
            )
            twin = next((p for p in points if p.day == snap.day), None)
            if twin is not None:
                raise InputError(f"{snap.source} and {twin.source} are both dated {snap.day}")
            if snap.dated_by != "file name":
                notes.append(f"{snap.source} dated {snap.day} by the {snap.dated_by}")
            points.append(Point(snap.day, snap.billable, snap.users, snap.source))
        if points and not any(p.count for p in points):
            notes.append("nobody counts as billable: pass --domain with the org's domains")
    rows = closing_counts(points, as_of=as_of, months=months)
    if html_out is not None:
        from scimrecon.recon.html_report import counts_html, write_html

        write_html(html_out, counts_html(rows, as_of=as_of, notes=notes))
        click.echo(f"wrote {html_out}", err=True)
    echo_output(
        fmt,
        as_json=lambda: {
            "as_of": as_of.isoformat(),
            "months": [r.as_dict() for r in rows],
            "notes": notes,
        },
        as_csv=lambda: to_csv((r.as_dict() for r in rows), CSV_COLUMNS),
        as_table=lambda: _table(rows, notes),
    )
