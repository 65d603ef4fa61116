"""`scimrecon accounts show EMAIL|ID`: one account as the org sees it, with the billable verdict
from the one billable rule (scimrecon.recon.billable) and the SCIM links that manage it."""

from __future__ import annotations

from typing import Any

import click

from scimrecon.cli.config_cmd import open_services, table_or_json
from scimrecon.cli.render import key_values, table, to_json
from scimrecon.connectors.services import Services
from scimrecon.errors import ScimreconError
from scimrecon.recon.billable import verdict
from scimrecon.recon.live import site_of


def _facts(services: Services, who: str) -> dict[str, Any]:
    admin = services.admin
    if "@" in who:
        user = admin.find_org_user_by_email(who)
        if user is None:
            raise ScimreconError(f"no managed account with email {who} in the organization")
        account_id = user.account_id
    else:
        account_id = who
        user = next((u for u in admin.org_users() if u.account_id == who), None)
    profile = admin.get_profile(account_id)
    active = admin.last_active_dates(account_id)
    links = admin.scim_links_for_account(account_id)
    # the org user list names the site of each access (its URL) and Atlassian's own verdict;
    # the last-active dates only the product
    if user is not None:
        products = [(p.key, site_of(p.url, p.key)) for p in user.product_access]
        reported = user.access_billable
    else:
        products, reported = [(p.key, "") for p in active.products], None
    atlassian = services.profile.atlassian
    sites = getattr(atlassian, "sites", None) if atlassian is not None else None
    found = verdict(
        managed=True,  # the user management API answers only for managed accounts
        status=str(profile.account_status or ""),
        products=products,
        account_type=str(profile.account_type or "atlassian"),
        reported_billable=reported,
        org_sites=sites or None,
    )
    return {
        "account_id": profile.account_id,
        "email": profile.email,
        "name": profile.name,
        "account_status": profile.account_status,
        "account_type": profile.account_type,
        "managed": True,  # the user management API answers only for managed accounts
        "billable": found.billable,
        "billable_rule": found.rule,
        "billable_why": found.why,
        "billable_through": [{"product": k, "site": s or None} for k, s in found.through],
        "unmanaged_sites": sorted({s for _, s in found.unmanaged}),
        "added_to_org": active.added_to_org,
        "product_access": [{"key": p.key, "last_active": p.last_active} for p in active.products],
        "scim_links": [
            {
                "scim_user_id": link.scim_user_id,
                "directory_id": link.directory_id,
                "org_id": link.org_id,
            }
            for link in links
        ],
    }


@click.group("accounts")
def accounts() -> None:
    """Look at Atlassian accounts of the organization (read-only)."""


@accounts.command("show")
@click.argument("who", metavar="EMAIL|ACCOUNT_ID")
@table_or_json
@click.pass_context
def show(ctx: click.Context, who: str, fmt: str) -> None:
    """Account, status, billable, product access with last activity, and SCIM links."""
    facts = _facts(open_services(ctx), who.strip())
    if fmt == "json":
        click.echo(to_json(facts))
        return
    click.echo(
        key_values(
            [
                ("account", facts["account_id"]),
                ("email", facts["email"] or ""),
                ("name", facts["name"] or ""),
                ("status", facts["account_status"] or ""),
                ("type", facts["account_type"] or ""),
                ("billable", "yes" if facts["billable"] else "no"),
                ("why", facts["billable_why"]),
                ("added to org", facts["added_to_org"] or ""),
            ]
        )
    )
    click.echo("")
    products = [[p["key"], p["last_active"] or "never"] for p in facts["product_access"]]
    click.echo(table(products, ["product", "last active"]))
    click.echo("")
    links = [[s["scim_user_id"], s["directory_id"] or ""] for s in facts["scim_links"]]
    click.echo(table(links, ["SCIM user", "directory"]))
