"""Click options shared by the analysis commands (analyze, billing, counts, reconcile).

An option that means the same thing in several commands is declared once, here, so that its
flag, parameter name, type and value format cannot drift apart between them: a script that
passes `--domain`, `--column NAME=FIELD` or `--as-of DATE` to one command can pass it to the
next. Where a command gives an option a narrower sense it passes its own help text; the rest
stays shared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from scimrecon.cli.outputs import OutputFile
from scimrecon.cli.render import FORMATS
from scimrecon.limits import MAX_DAYS, MAX_USERS

F = TypeVar("F", bound=Callable[..., Any])

# A file the command reads or writes (never a folder), handed to the command as a Path.
FILE = click.Path(dir_okay=False, path_type=Path)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output: human tables, JSON (a stable contract) or CSV.",
)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def parse_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> date:
    """`--as-of YYYY-MM-DD` (default today): one fixed day makes every figure reproducible."""
    return date.today() if value is None else _iso_date(value)


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """An optional YYYY-MM-DD: None when not given, so the command can pick its own default."""
    return _iso_date(value) if value else None


as_of_option = click.option(
    "--as-of",
    callback=parse_as_of,
    metavar="DATE",
    help="Compute every figure as of this day (YYYY-MM-DD; default today).",
)


def date_option(*decls: str, help: str) -> Callable[[F], F]:
    """An optional day (YYYY-MM-DD), None when not given."""
    return click.option(*decls, callback=parse_date, metavar="DATE", help=help)


def domain_option(
    help: str = "An org domain: its users count as managed (repeatable).",
) -> Callable[[F], F]:
    """`--domain` (repeatable), resolved against the profile by render.org_domains."""
    return click.option("--domain", "domains", multiple=True, metavar="DOMAIN", help=help)


def site_option(
    help: str = "A site the org manages (repeatable; default: the profile's [atlassian] "
    "sites): access on any other site is flagged, only that site's admin can remove it.",
) -> Callable[[F], F]:
    """`--site` (repeatable), resolved against the profile by render.org_sites."""
    return click.option("--site", "sites", multiple=True, metavar="SITE", help=help)


def column_option(
    help: str = "Map an unknown header: NAME=email|status|...|product|last_seen|ignore.",
) -> Callable[[F], F]:
    """`--column NAME=FIELD` (repeatable), parsed by recon.columns.parse_column_overrides."""
    return click.option("--column", "columns", multiple=True, metavar="NAME=FIELD", help=help)


encoding_option = click.option(
    "--encoding", help="Override the detected text encoding (e.g. cp1252)."
)

unwanted_option = click.option(
    "--unwanted",
    multiple=True,
    default=("trello",),
    show_default=True,
    help="Product that should not make anyone billable (repeatable).",
)


def html_option(help: str) -> Callable[[F], F]:
    """`--html FILE`: a self-contained report, written in addition to the chosen output."""
    return click.option("--html", "html_out", type=OutputFile(), help=help)


def targets_out_option(help: str) -> Callable[[F], F]:
    """`--targets-out FILE`: a list written in the target-list format playbooks read."""
    return click.option("--targets-out", type=OutputFile(), help=help)


def events_options(*, events_help: str, start_help: str) -> Callable[[F], F]:
    """`--events FILE` and `--start N`: an events CSV and the count before its first event,
    which only make sense together (the events say how the count changed, not what it was)."""
    events = click.option("--events", "events_file", type=FILE, help=events_help)
    start = click.option(
        "--start",
        "start_count",
        type=click.IntRange(0, MAX_USERS),
        default=0,
        show_default=True,
        help=start_help,
    )
    return lambda f: events(start(f))


price_option = click.option(
    "--price", help="Price per user and month (default [billing].price_per_user_month)."
)

protect_option = click.option(
    "--protect",
    multiple=True,
    metavar="FILE|PATTERN",
    help="Never list these users: email/account id glob, or a file of them.",
)

grace_days_option = click.option(
    "--grace-days",
    type=click.IntRange(0, MAX_DAYS),
    default=30,
    show_default=True,
    help="Users added this recently are never candidates.",
)

limit_option = click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Rows shown per list in tables (0: all).",
)
