"""`scimrecon analyze`: figures, classes and tier usage from a user export.

The command only parses options, feeds the streaming reader into the analyser and renders;
every rule lives in scimrecon.recon so it can be used (and tested) without Click.
"""

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
    format_option,
    grace_days_option,
    html_option,
    limit_option,
    protect_option,
    site_option,
    targets_out_option,
    unwanted_option,
)
from scimrecon.cli.read_users import read_analysis
from scimrecon.cli.render import (
    echo_output,
    key_values,
    load_profile,
    org_domains,
    org_sites,
    table,
    to_csv,
)
from scimrecon.errors import InputError
from scimrecon.limits import MAX_DAYS, MAX_USERS
from scimrecon.recon.analysis import Analysis
from scimrecon.recon.billable import RULES, UNMANAGED_NOTE
from scimrecon.recon.classify import (
    CANDIDATE_CLASSES,
    CLASSES,
    INACTIVE,
    PROTECTED,
    TRELLO_ONLY,
    Candidate,
    Policy,
    unwanted_keys,
)
from scimrecon.recon.columns import FORMATS
from scimrecon.recon.protect import Protector
from scimrecon.recon.targets import write_targets

CLASS_TITLES = {
    TRELLO_ONLY: "billable only through an unwanted product",
    INACTIVE: "inactive licences",
    PROTECTED: "protected (left off the candidate lists)",
}
LIST_COLUMNS = ("email", "account_id", "name", "reason")
UNMANAGED = "unmanaged-site"
BILLABLE = "billable"


def _summary_table(result: Analysis, limit: int) -> str:
    t = result.tier
    if t.limit is None:
        tier_line = f"{t.used} billable (no tier: pass --tier or set [billing].tier)"
    else:
        tier_line = f"{t.used} of {t.limit} ({t.percent:.1f} %): {t.status}"
        if t.remove_to_get_under_80:
            tier_line += f"; remove {t.remove_to_get_under_80} to get under 80 %"
    head = f"{result.source} ({result.format}), as of {result.as_of.isoformat()}"
    parts = [
        head,
        "",
        key_values(
            [
                ("users", result.users),
                ("active", result.active),
                ("billable", result.billable),
                ("tier", tier_line),
            ]
        ),
        "",
        table(
            (
                (p.product, p.site, p.users, p.active_30d, p.active_90d, p.never_accessed)
                for p in result.products
            ),
            ("product", "site", "users", "active 30d", "active 90d", "never accessed"),
        ),
    ]
    rules = [(r, n) for r in RULES if (n := result.billable_by_rule.get(r, 0))]
    parts += [
        "",
        "billable rule (docs/analysis.md, Billable rules)",
        table(rules, ("rule", "users")),
    ]
    unwanted = ", ".join(sorted(result.policy.unwanted))
    lists: list[tuple[str, str, list[Candidate]]] = []
    for cls in CLASSES:
        title = CLASS_TITLES[cls]
        if cls == TRELLO_ONLY:
            title += f" ({unwanted})"
        if cls == INACTIVE:
            title += f" (no use in {result.policy.inactive_days} days)"
        lists.append((cls, title, result.classes[cls]))
    if result.policy.org_sites is not None:
        lists.append(
            (UNMANAGED, f"billable through {UNMANAGED_NOTE}", result.unmanaged_site_access)
        )
    if result.billable_users is not None:
        lists.append((BILLABLE, "billable users and why", result.billable_users))
    for cls, title, items in lists:
        parts += ["", f"{cls}: {len(items)} {title}"]
        if items:
            shown = items[:limit] if limit > 0 else items
            parts.append(
                table(((c.email, c.account_id, c.name, c.reason) for c in shown), LIST_COLUMNS)
            )
            if len(items) > len(shown):
                parts.append(
                    f"... and {len(items) - len(shown)} more (--limit 0, --format csv "
                    f"or --targets-out for all)"
                )
    return "\n".join(parts)


def _classes_csv(result: Analysis) -> str:
    lists = [(cls, result.classes[cls]) for cls in CLASSES]
    lists.append((UNMANAGED, result.unmanaged_site_access))
    if result.billable_users is not None:
        lists.append((BILLABLE, result.billable_users))
    rows = ((cls, c.email, c.account_id, c.name, c.reason) for cls, items in lists for c in items)
    return to_csv(rows, ("class", *LIST_COLUMNS))


@click.command()
@click.argument("export", required=False, type=FILE)
@click.option("--live", is_flag=True, help="Read users through the org admin API instead.")
@as_of_option
@format_option
@html_option("Also write a self-contained HTML report (summary, lists, chart).")
@click.option(
    "--tier", type=click.IntRange(1, MAX_USERS), help="User tier (default: [billing].tier)."
)
@domain_option()
@site_option()
@unwanted_option
@click.option(
    "--inactive-days",
    type=click.IntRange(1, MAX_DAYS),
    default=90,
    show_default=True,
    help="No product used in this many days makes a user inactive.",
)
@grace_days_option
@protect_option
@column_option()
@click.option(
    "--export-format", type=click.Choice(FORMATS), help="Skip detection: the export's format."
)
@encoding_option
@targets_out_option("Write the --class list as a playbook target list (CSV).")
@click.option(
    "--class",
    "target_class",
    type=click.Choice(CANDIDATE_CLASSES),
    help="Which list --targets-out writes.",
)
@click.option(
    "--why",
    "explain",
    is_flag=True,
    help="Also list every billable user with the rule, product and site that make them so.",
)
@limit_option
@click.pass_obj
def analyze(
    obj: object,
    export: Path | None,
    live: bool,
    as_of: date,
    fmt: str,
    html_out: Path | None,
    tier: int | None,
    domains: tuple[str, ...],
    sites: tuple[str, ...],
    unwanted: tuple[str, ...],
    inactive_days: int,
    grace_days: int,
    protect: tuple[str, ...],
    columns: tuple[str, ...],
    export_format: str | None,
    encoding: str | None,
    targets_out: Path | None,
    target_class: str | None,
    explain: bool,
    limit: int,
) -> None:
    """Count users, billable users and tier usage; list trello-only and inactive candidates.

    EXPORT is Atlassian's Directory "Export users" CSV or the managed-accounts export.
    """
    if (targets_out is None) != (target_class is None):
        raise InputError("--targets-out and --class go together (which list, to which file)")
    if live and export is not None:
        raise InputError("give an EXPORT file or --live, not both")
    if export is None and not live:
        raise InputError("missing EXPORT (a user export CSV) or --live")
    profile = load_profile(obj) if (tier is None or live or not domains or not sites) else None
    domains = org_domains(domains, profile)
    if tier is None and profile is not None:
        tier = profile.billing.tier
    policy = Policy(
        as_of=as_of,
        unwanted=unwanted_keys(unwanted),
        inactive_days=inactive_days,
        grace_days=grace_days,
        protect=Protector.from_options(protect),
        org_sites=org_sites(sites, profile),
    )
    result = read_analysis(
        export=export,
        live=live,
        policy=policy,
        tier=tier,
        domains=domains,
        columns=columns,
        export_format=export_format,
        encoding=encoding,
        explain=explain,
    )

    if targets_out is not None and target_class is not None:
        count = write_targets(targets_out, result.classes[target_class])
        click.echo(f"wrote {count} {target_class} targets to {targets_out}", err=True)
    if html_out is not None:
        from scimrecon.recon.html_report import analysis_html, write_html

        write_html(html_out, analysis_html(result))
        click.echo(f"wrote {html_out}", err=True)

    echo_output(
        fmt,
        as_json=lambda: result.as_json(lazy=True),
        as_csv=lambda: _classes_csv(result),
        as_table=lambda: _summary_table(result, limit),
        stream=True,
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
