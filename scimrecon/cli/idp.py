"""`scimrecon idp status|pause|resume|provision`: drive provisioning in the IdP.

Where the IdP has an API (Entra ID) the command calls it and prints the new state. Where it has
none (Okta, any other IdP) it prints what to do in the IdP's console and exits 0 with a note:
it cannot check that you did it, and says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from scimrecon.cli.config_cmd import open_services, table_or_json
from scimrecon.cli.render import key_values, to_json
from scimrecon.connectors.idp import IdpAdapter
from scimrecon.errors import RemoteError

_NAMES = {"entra": "Microsoft Entra ID", "okta": "Okta", "manual": "your IdP"}


def _name(idp: IdpAdapter) -> str:
    return _NAMES.get(idp.kind, idp.kind)


def _manual(idp: IdpAdapter, operation: str, fmt: str, **kw: str) -> None:
    text = idp.instructions(operation, **kw)
    note = f"{_name(idp)} offers no API scimrecon can use for this: do it by hand."
    if fmt == "json":
        doc = {"kind": idp.kind, "operation": operation, "mode": "manual", "instructions": text}
        click.echo(to_json(doc))
    else:
        click.echo(text)
    click.echo(f"note: {note} scimrecon cannot verify it.", err=True)


def _report(idp: IdpAdapter, operation: str, fmt: str, message: str, **extra: Any) -> None:
    if fmt == "json":
        doc = {"kind": idp.kind, "operation": operation, "mode": "api", **extra}
        click.echo(to_json(doc))
    else:
        click.echo(message)


@click.group("idp")
def idp() -> None:
    """Pause, resume and check provisioning in the identity provider."""


@idp.command("status")
@table_or_json
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Provisioning state (Active, Paused, ... or unknown) and what can be automated."""
    adapter = open_services(ctx).idp
    state = adapter.status()
    caps = dict(adapter.capabilities)
    if fmt == "json":
        click.echo(to_json({"kind": adapter.kind, "status": state, "capabilities": caps}))
        return
    rows = [("IdP", _name(adapter)), ("provisioning", state)]
    rows += [(f"{op.replace('_', ' ')}", how) for op, how in caps.items()]
    click.echo(key_values(rows))


def _toggle(ctx: click.Context, operation: str, fmt: str) -> None:
    adapter = open_services(ctx).idp
    if adapter.capabilities.get(operation) != "api":
        _manual(adapter, operation, fmt)
        return
    (adapter.pause if operation == "pause" else adapter.resume)()
    state = adapter.status()
    _report(adapter, operation, fmt, f"{_name(adapter)} provisioning is now {state}", status=state)


@idp.command("pause")
@table_or_json
@click.pass_context
def pause(ctx: click.Context, fmt: str) -> None:
    """Pause provisioning (Entra: via Graph; others: instructions)."""
    _toggle(ctx, "pause", fmt)


@idp.command("resume")
@table_or_json
@click.pass_context
def resume(ctx: click.Context, fmt: str) -> None:
    """Resume provisioning (Entra: via Graph `start`, never a restart; others: instructions)."""
    _toggle(ctx, "resume", fmt)


@idp.command("provision")
@click.argument("user")
@table_or_json
@click.pass_context
def provision(ctx: click.Context, user: str, fmt: str) -> None:
    """Push USER (userPrincipalName) to Atlassian now instead of at the next cycle."""
    adapter = open_services(ctx).idp
    if adapter.capabilities.get("provision_user") != "api":
        _manual(adapter, "provision_user", fmt, user=user)
        return
    pushed = adapter.provision_user(user)
    said = f"asked {_name(adapter)} to provision {user} now"
    if pushed is not None:
        said = f"{_name(adapter)} provisioned {user}: {pushed.describe()}"
    result = None if pushed is None else dataclasses.asdict(pushed)
    _report(adapter, "provision_user", fmt, said, user=user, result=result)
    if pushed is not None and not pushed.ok:
        raise RemoteError(f"{_name(adapter)} did not provision {user}: {pushed.describe()}")
