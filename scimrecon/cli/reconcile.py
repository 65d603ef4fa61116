"""`scimrecon reconcile`: the IdP, the SCIM directory and the Atlassian accounts side by side,
each identity in one situation, with the playbook (or the manual step) that fixes it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from scimrecon.cli.options import (
    FILE,
    column_option,
    domain_option,
    format_option,
    site_option,
    targets_out_option,
    unwanted_option,
)
from scimrecon.cli.progress import counted, progress_for
from scimrecon.cli.render import echo_output, load_profile, org_sites, table, to_csv
from scimrecon.errors import InputError
from scimrecon.recon.billable import RULES, world_sites
from scimrecon.recon.classify import unwanted_keys
from scimrecon.recon.columns import parse_column_overrides
from scimrecon.recon.live import (
    accounts_from_external_users,
    accounts_from_org_users,
    external_policy_warning,
    idp_entries_from_users,
    roles_and_externals,
    scim_entries_from_users,
)
from scimrecon.recon.reconcile import (
    ADVICE,
    LINKED,
    PLAYBOOKS,
    SITUATIONS,
    Identity,
    billable_summary,
)
from scimrecon.recon.reconcile import reconcile as join_identities
from scimrecon.recon.sources import load_accounts, load_idp_users, load_scim_users, load_world
from scimrecon.recon.targets import write_targets

DETAIL_COLUMNS = ("key", "situation", "account_id", "reason", "fix", "billable")
CSV_COLUMNS = (
    "key",
    "situation",
    "email",
    "account_id",
    "name",
    "scim_id",
    "idp_object_id",
    "reason",
    "playbook",
    "billable",
    "billable_why",
)


def _fix(situation: str) -> str:
    playbook = PLAYBOOKS.get(situation)
    return f"playbook {playbook}" if playbook else ADVICE[situation]


def _billable_cell(identity: Identity) -> str:
    if identity.billable is None:
        return ""
    return f"yes: {identity.billable_why}" if identity.billable else "no"


def _table(
    identities: list[Identity], counts: Counter[str], show_linked: bool, bill: dict[str, Any]
) -> str:
    summary = table(
        ((s, counts.get(s, 0), _fix(s)) for s in SITUATIONS), ("situation", "identities", "fix")
    )
    rules = ", ".join(f"{r} {n}" for r in RULES if (n := bill["by_rule"].get(r, 0)))
    billing = [f"billable: {bill['billable']} ({rules or 'no accounts'})"]
    for item in bill["unmanaged_site_access"]:
        billing.append(f"  {item['email'] or item['account_id']}: {item['reason']}")
    shown = [i for i in identities if show_linked or i.situation != LINKED]
    detail = table(
        (
            (
                i.key,
                i.situation,
                i.account_id,
                i.reason,
                i.fix if i.playbook else "manual",
                _billable_cell(i),
            )
            for i in shown
        ),
        DETAIL_COLUMNS,
    )
    hidden = sum(1 for i in identities if i.situation == LINKED) if not show_linked else 0
    tail = [f"({hidden} linked identities not listed; --all lists them)"] if hidden else []
    return "\n".join([summary, "", *billing, "", detail, *tail])


def _user_directory(services: Any) -> Any:
    """The profile's IdP, when its users and assignments can be read (Entra, Okta).

    A manual IdP has no API here for users and assignments: rather than guess (an
    unassigned-looking user would come out orphaned, and orphaned leads to a disable
    playbook), the command refuses and asks for an exported file.
    """
    from scimrecon.connectors.idp.base import UserDirectory

    config = services.profile.idp
    idp = services.idp if config is not None else None
    if not isinstance(idp, UserDirectory):
        which = f"is {config.kind}" if config is not None else "is not configured ([idp])"
        raise InputError(
            f"--live reads IdP users only from Microsoft Entra ID or Okta (the profile's IdP "
            f"{which}): "
            "pass --idp FILE exported from the IdP"
        )
    return idp


def _read_idp(idp: Any) -> list[dict[str, Any]]:
    """The IdP's users, with assignment warnings on stderr."""
    found = idp.read_users()
    for warning in found.warnings:
        click.echo(f"warning: {warning}", err=True)
    return list(idp_entries_from_users(found.users))


@click.command()
@click.option(
    "--world",
    "world_file",
    type=FILE,
    help="A fixture world JSON (idp.users, scim_users, accounts).",
)
@click.option(
    "--idp",
    "idp_file",
    type=FILE,
    help="IdP users exported as CSV or JSON (userName, mail, displayName, assigned, objectId).",
)
@click.option(
    "--scim",
    "scim_file",
    type=FILE,
    help="SCIM directory users as JSON (a list or a ListResponse).",
)
@click.option(
    "--accounts",
    "accounts_file",
    type=FILE,
    help="Atlassian accounts: a user export CSV or JSON.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Read the SCIM directory, the org's accounts and (Microsoft Entra ID, Okta) the IdP's "
    "users and app assignments through the profile's APIs; --idp FILE reads IdP users from a "
    "file instead (needed for manual IdPs).",
)
@domain_option("Org domain (for a Directory export).")
@site_option()
@column_option("Map an unknown header of the accounts export.")
@unwanted_option
@click.option("--all", "show_linked", is_flag=True, help="List linked (healthy) identities too.")
@click.option(
    "--situation",
    type=click.Choice(SITUATIONS),
    help="List only this situation (and write it with --targets-out).",
)
@targets_out_option("Write the --situation list as a playbook target list (CSV).")
@format_option
@click.pass_context
def reconcile(
    ctx: click.Context,
    world_file: Path | None,
    idp_file: Path | None,
    scim_file: Path | None,
    accounts_file: Path | None,
    live: bool,
    domains: tuple[str, ...],
    sites: tuple[str, ...],
    columns: tuple[str, ...],
    unwanted: tuple[str, ...],
    show_linked: bool,
    situation: str | None,
    targets_out: Path | None,
    fmt: str,
) -> None:
    """Join IdP users, SCIM entries and accounts; give each identity one situation.

    Situations: linked, unlinked, unmatched, orphaned, duplicate, email-drift, unwanted-access.
    Reads a fixture world, or --idp + --scim + --accounts files, or --live: the SCIM
    directory, the org's accounts and, for Microsoft Entra ID, the IdP's users read through
    the APIs (--idp FILE for other IdPs). Nothing is changed.
    """
    if targets_out is not None and situation is None:
        raise InputError("--targets-out needs --situation (which list to write)")
    files = (idp_file, scim_file, accounts_file)
    if world_file is not None:
        if any(files):
            raise InputError("give --world, or --idp, --scim and --accounts, not both")
        world = load_world(world_file)
        managed_sites = org_sites(sites, None) or world_sites(world)
        idp_users = (world.get("idp") or {}).get("users") or []
        scim_users = world.get("scim_users") or []
        accounts = world.get("accounts") or []
    elif live:
        if scim_file is not None or accounts_file is not None:
            raise InputError(
                "--live reads SCIM and accounts itself: give no --scim or --accounts "
                "(only --idp FILE, for an IdP it cannot read)"
            )
        from scimrecon.cli.config_cmd import open_services

        services = open_services(ctx)
        managed_sites = org_sites(sites, services.profile)
        # A profile that cannot read its IdP fails before anything is read; the IdP itself is
        # read last, so someone assigned and pushed meanwhile comes out `unmatched` (harmless),
        # never `orphaned` (which leads to a disable playbook).
        idp_users = load_idp_users(idp_file) if idp_file is not None else None
        idp = _user_directory(services) if idp_users is None else None
        with progress_for(fmt) as shown:
            scim = counted(services.scim.iter_users(), shown, "reading SCIM users")
            scim_users = list(scim_entries_from_users(scim))
            directory = counted(services.admin.iter_directory_users(), shown, "reading admins")
            roles, externals = roles_and_externals(directory)
            org = counted(services.admin.iter_org_users(), shown, "reading the org's accounts")
            accounts = list(accounts_from_org_users(org, roles))
            if externals:
                accounts += accounts_from_external_users(externals, services.admin.workspaces())
            if idp_users is None:
                idp_users = _read_idp(idp)
    elif all(files):
        assert idp_file and scim_file and accounts_file
        managed_sites = org_sites(sites, load_profile(ctx.obj))
        idp_users = load_idp_users(idp_file)
        scim_users = load_scim_users(scim_file)
        accounts = load_accounts(
            accounts_file, domains=domains, columns=parse_column_overrides(columns)
        )
    else:
        raise InputError("give --world FILE, or all three of --idp, --scim and --accounts")
    everyone = join_identities(
        idp_users, scim_users, accounts, unwanted=unwanted_keys(unwanted), org_sites=managed_sites
    )
    bill = billable_summary(accounts, managed_sites)
    bill["org_sites"] = sorted(managed_sites) if managed_sites is not None else None
    if live and bill["external_policy_unknown"]:
        click.echo(
            f"warning: {external_policy_warning(len(bill['external_policy_unknown']))}", err=True
        )
    counts = Counter(i.situation for i in everyone)
    identities = [i for i in everyone if situation in (None, i.situation)]

    if targets_out is not None and situation is not None:
        count = write_targets(targets_out, [i.as_candidate() for i in identities])
        click.echo(f"wrote {count} {situation} targets to {targets_out}", err=True)
    echo_output(
        fmt,
        as_json=lambda: {
            "summary": {s: counts.get(s, 0) for s in SITUATIONS},
            "billable": bill,
            "identities": [i.as_dict() for i in identities],
        },
        as_csv=lambda: to_csv((i.as_dict() for i in identities), CSV_COLUMNS),
        as_table=lambda: _table(identities, counts, show_linked or situation == LINKED, bill),
    )
