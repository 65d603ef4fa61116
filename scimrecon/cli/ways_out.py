"""`scimrecon options`: the six ways out of users billable only through an unwanted product,
one row each, with the users, the yearly saving, the cost and the next command.

The analysis is `analyze`'s own (cli.read_users); the decision is recon.options; this module
parses options, renders, and writes the files an option needs (claim list, support request,
target lists).
"""

from __future__ import annotations

import shlex
from datetime import date
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from scimrecon import spreadsheet
from scimrecon.atomicfile import write_atomic
from scimrecon.cli.billing import parse_price
from scimrecon.cli.options import (
    FILE,
    as_of_option,
    column_option,
    domain_option,
    encoding_option,
    format_option,
    grace_days_option,
    limit_option,
    price_option,
    protect_option,
    targets_out_option,
    unwanted_option,
)
from scimrecon.cli.read_users import read_analysis
from scimrecon.cli.render import echo_output, load_profile, org_domains, table, to_csv
from scimrecon.errors import InputError
from scimrecon.recon.classify import TRELLO_ONLY, Policy, unwanted_keys
from scimrecon.recon.columns import FORMATS
from scimrecon.recon.model import UserRecord
from scimrecon.recon.option_files import claim_parts, stale_claim_part, support_request
from scimrecon.recon.options import Option, claim_list, decide
from scimrecon.recon.protect import Protector
from scimrecon.recon.targets import write_targets

TABLE_COLUMNS = ("option", "name", "users", "yearly saving", "who acts")
CSV_COLUMNS = ("option", "name", "users", "yearly_saving", "gives_up", "who_acts", "next_command")
CLAIM_TRADE_OFF = (
    "trade-off (option 1): the {n} affected user(s) are left out of the claim list; unclaimed, "
    "they are not billed, but SSO, enforced two-step verification and the password policy no "
    "longer apply to them and the org cannot edit, deactivate or delete their accounts. "
    "Already claimed? Settings > Domains > Unclaim accounts takes their addresses in the same "
    "one-column layout: `scimrecon options {source} --option 1 --targets-out option1.csv` "
    "lists them (its email column)."
)


def _table(options: list[Option], price: Any, notes: list[str], limit: int) -> str:
    rows = [(o.number, o.name, o.users, f"{o.yearly_saving}", o.who_acts) for o in options]
    parts = [
        f"price: {price} per user and month; saving = users x price x 12",
        "",
        table(rows, TABLE_COLUMNS, right=(3,)),
    ]
    for option in options:
        parts += [
            "",
            f"option {option.number}: {option.name}",
            f"  gives up: {option.gives_up}",
            f"  next: {option.next_command}",
        ]
        shown = option.verdicts[:limit] if limit > 0 else option.verdicts
        parts.append(
            table(
                ((v.candidate.email, "yes" if v.qualifies else "no", v.reason) for v in shown),
                ("email", "applies", "reason"),
            )
        )
        if len(option.verdicts) > len(shown):
            more = len(option.verdicts) - len(shown)
            parts.append(f"... and {more} more (--limit 0 or --format json for all)")
    parts += [f"note: {n}" for n in notes]
    return "\n".join(parts)


def _csv(options: list[Option]) -> str:
    rows = [
        {**o.as_dict(), "yearly_saving": f"{o.yearly_saving}"}
        for o in options
    ]  # fmt: skip
    return to_csv(rows, CSV_COLUMNS)


class _Tap:
    """Collects, while the analysis reads, what the output files need: every managed email
    (claim list) and the products of users with only unwanted ones (support request); and,
    live, which accounts an IdP manages (v2 `managementSource` == `synced`)."""

    def __init__(self, unwanted: frozenset[str], *, claim: bool, products: bool) -> None:
        self.unwanted = unwanted
        self.claim = claim
        self.want_products = products
        self.managed: list[str] = []
        self.products: dict[str, list[str]] = {}
        self.synced: set[str] = set()

    def record(self, record: UserRecord) -> None:
        if self.claim and record.managed and record.email:
            self.managed.append(record.email)
        if not self.want_products or not record.products:
            return
        if all(p.key in self.unwanted for p in record.products):
            names = sorted({f"{p.product} ({p.site})" if p.site else p.product
                            for p in record.products})  # fmt: skip
            self.products[record.account_id] = names

    def directory_user(self, user: Any) -> None:
        if getattr(user, "management_source", None) == "synced":
            self.synced.add(str(user.account_id))


@click.command()
@click.argument("export", required=False, type=FILE)
@click.option("--live", is_flag=True, help="Read users through the org admin API instead.")
@price_option
@format_option
@as_of_option
@domain_option()
@unwanted_option
@grace_days_option
@protect_option
@column_option()
@click.option(
    "--export-format", type=click.Choice(FORMATS), help="Skip detection: the export's format."
)
@encoding_option
@click.option(
    "--claim-list",
    "claim_list_out",
    type=FILE,
    help="Option 1: write the accounts to claim, without the affected users (one-column CSV).",
)
@click.option(
    "--support-request",
    type=FILE,
    help="Option 5: write the deletion request for Atlassian support, for review.",
)
@click.option(
    "--option",
    "option_number",
    type=click.IntRange(1, 6),
    help="Which option's users --targets-out writes.",
)
@targets_out_option("Write the --option's users as a playbook target list (CSV).")
@limit_option
@click.pass_obj
def options(
    obj: object,
    export: Path | None,
    live: bool,
    price: str | None,
    fmt: str,
    as_of: date,
    domains: tuple[str, ...],
    unwanted: tuple[str, ...],
    grace_days: int,
    protect: tuple[str, ...],
    columns: tuple[str, ...],
    export_format: str | None,
    encoding: str | None,
    claim_list_out: Path | None,
    support_request: Path | None,
    option_number: int | None,
    targets_out: Path | None,
    limit: int,
) -> None:
    """Compare the six ways out of users billable only through an unwanted product.

    EXPORT is a user export (as for analyze), or --live reads the org admin API. Only --live
    knows which accounts an IdP manages, so option 4 needs it.
    """
    if (targets_out is None) != (option_number is None):
        raise InputError("--targets-out and --option go together (whose users, to which file)")
    if live and export is not None:
        raise InputError("give an EXPORT file or --live, not both")
    if export is None and not live:
        raise InputError("missing EXPORT (a user export CSV) or --live")
    profile = load_profile(obj)
    billing_cfg = profile.billing if profile is not None else None
    unit = parse_price(price, billing_cfg.price_per_user_month if billing_cfg else None)
    domains = org_domains(domains, profile)
    policy = Policy(
        as_of=as_of,
        unwanted=unwanted_keys(unwanted),
        grace_days=grace_days,
        protect=Protector.from_options(protect),
    )
    tap = _Tap(
        policy.unwanted, claim=claim_list_out is not None, products=support_request is not None
    )
    result = read_analysis(
        export=export,
        live=live,
        policy=policy,
        tier=None,
        domains=domains,
        columns=columns,
        export_format=export_format,
        encoding=encoding,
        record_tap=tap.record if (tap.claim or tap.want_products) else None,
        directory_tap=tap.directory_user if live else None,
    )
    source = "--live" if live else shlex.quote(str(export))
    ctx = click.get_current_context()
    again = " ".join([source, *_selection_args(ctx)])  # names the same users in a next command
    decided = decide(
        result.classes[TRELLO_ONLY],
        price_per_user_month=unit,
        idp_managed=(lambda account_id: account_id in tap.synced) if live else None,
        source=again,
        live_source=" ".join(["--live", *_selection_args(ctx, export_only=False)]),
    )
    notes = [
        f"{len(result.classes['protected'])} protected candidate(s) are on no option "
        "(admins, service accounts, --protect, added within --grace-days)"
    ]
    if not live:
        notes.append("an export does not say which accounts an IdP manages: option 4 needs --live")
    org = profile.atlassian.org_id if profile is not None and profile.atlassian else ""
    _write_files(
        decided,
        tap,
        claim_list_out,
        support_request,
        option_number,
        targets_out,
        as_of,
        org,
        again,
    )
    echo_output(
        fmt,
        as_json=lambda: {
            "source": source,
            "as_of": as_of.isoformat(),
            "price_per_user_month": float(unit),
            "options": [o.as_dict() for o in decided],
            "notes": notes,
        },
        as_csv=lambda: _csv(decided),
        as_table=lambda: _table(decided, unit, notes, limit),
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


#: The options that decide who is on which list, and the price: a next command repeats the
#: ones given on the command line, so it selects the same users (and does not stop for a
#: missing --price) when run as printed.
SELECTION = ("price", "as_of", "domains", "unwanted", "grace_days", "protect")
#: ...and those that only say how to read an export (not repeated for a --live command).
EXPORT_READING = ("columns", "export_format", "encoding")


def _selection_args(ctx: click.Context, *, export_only: bool = True) -> list[str]:
    """The selection options given on the command line, shell-quoted, as they were given;
    `export_only=False` leaves out the export-reading ones (for a --live command)."""
    names = SELECTION + EXPORT_READING if export_only else SELECTION
    args: list[str] = []
    for param in ctx.command.params:
        if param.name not in names or not isinstance(param, click.Option):
            continue
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        for item in value if isinstance(value, tuple) else (value,):
            text = item.isoformat() if isinstance(item, date) else str(item)
            args += [param.opts[0], shlex.quote(text)]
    return args


def _write_files(
    decided: list[Option],
    tap: _Tap,
    claim_out: Path | None,
    support_out: Path | None,
    option_number: int | None,
    targets_out: Path | None,
    as_of: date,
    org: str,
    source: str,
) -> None:
    by_number = {o.number: o for o in decided}
    if claim_out is not None:
        left_out = [c.email for c in by_number[1].qualifying]
        kept = claim_list(tap.managed, left_out)
        unsafe = [e for e in kept if spreadsheet.neutralise(e) != e]
        if unsafe:  # a `'` before it would change the address Atlassian reads
            kept = [e for e in kept if e not in set(unsafe)]
            click.echo(
                f"warning: left out of the claim list, claim by hand: {', '.join(unsafe)} "
                "(an address starting with = + - or @ reads as a formula in a spreadsheet)",
                err=True,
            )
        parts = claim_parts(claim_out, kept)
        for where, text in parts:
            write_atomic(where, text)
        names = ", ".join(str(p) for p, _ in parts)
        click.echo(f"wrote {len(kept)} account(s) to claim to {names}", err=True)
        stale = stale_claim_part(claim_out, len(parts))
        if stale is not None:
            click.echo(
                f"warning: {stale} is left from an earlier, longer claim list and may name "
                "accounts this one leaves out: delete it, do not upload it",
                err=True,
            )
        click.echo(CLAIM_TRADE_OFF.format(n=len(left_out), source=source), err=True)
    if support_out is not None:
        users = by_number[5].qualifying
        write_atomic(support_out, support_request(users, tap.products, org=org, as_of=as_of))
        click.echo(
            f"wrote the deletion request for {len(users)} account(s) to {support_out}: review "
            "it, then send it to Atlassian support from the org admin's account",
            err=True,
        )
    if targets_out is not None and option_number is not None:
        count = write_targets(targets_out, by_number[option_number].qualifying)
        click.echo(f"wrote {count} option {option_number} targets to {targets_out}", err=True)
