"""`scimrecon scim find|get`: look at the SCIM directory the way the playbooks see it."""

from __future__ import annotations

import click

from scimrecon.cli.config_cmd import open_services, table_or_json
from scimrecon.cli.render import key_values, to_json
from scimrecon.connectors.scim import ScimUser
from scimrecon.errors import ScimreconError


def _render(user: ScimUser, fmt: str) -> None:
    if fmt == "json":
        click.echo(to_json(user.to_dict()))
        return
    click.echo(
        key_values(
            [
                ("SCIM id", user.id),
                ("userName", user.user_name),
                ("externalId", user.external_id or ""),
                ("display name", user.display_name or ""),
                ("active", "yes" if user.active else "no"),
                ("primary email", user.primary_email or ""),
                ("other emails", ", ".join(e for e in user.emails if e != user.primary_email)),
                ("Atlassian account", user.account_id or "(not linked)"),
            ]
        )
    )


@click.group("scim")
def scim() -> None:
    """Look users up in the SCIM directory (read-only)."""


@scim.command("find")
@click.argument("user_name")
@click.option(
    "--external-id", is_flag=True, help="Match USER_NAME against externalId instead of userName."
)
@table_or_json
@click.pass_context
def find(ctx: click.Context, user_name: str, external_id: bool, fmt: str) -> None:
    """Find the SCIM user whose userName (or externalId) is exactly USER_NAME. Exit 1 if none."""
    directory = open_services(ctx).scim
    user = (
        directory.find_by_external_id(user_name)
        if external_id
        else directory.find_by_username(user_name)
    )
    if user is None:
        attribute = "externalId" if external_id else "userName"
        raise ScimreconError(f"no SCIM user with {attribute} {user_name!r}")
    _render(user, fmt)


@scim.command("get")
@click.argument("scim_id")
@table_or_json
@click.pass_context
def get(ctx: click.Context, scim_id: str, fmt: str) -> None:
    """Show the SCIM user with id SCIM_ID. Exit 1 if there is none."""
    _render(open_services(ctx).scim.get(scim_id), fmt)
