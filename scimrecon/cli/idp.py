"""`scimrecon idp status|pause|resume|provision`: drive provisioning in the IdP.

Where the IdP has an API (Entra ID, Okta) the command calls it and prints the new state. Where
it has none (any other IdP) it prints what to do in the IdP's console and exits 0 with a note:
it cannot check that you did it, and says so.

Okta's pause turns off several capabilities; `idp pause` prints those that were on, and
`idp resume --restore ...` turns exactly those back on (it cannot guess them, decision 44).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from scimrecon.cli.config_cmd import open_services, table_or_json
from scimrecon.cli.interaction import ClickInteraction
from scimrecon.cli.render import key_values, to_json
from scimrecon.connectors.idp import IdpAdapter
from scimrecon.connectors.idp.base import RestoresExactly
from scimrecon.errors import InputError, RefusedError, RemoteError

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
        doc = {"kind": adapter.kind, "status": state, "capabilities": caps}
        if isinstance(adapter, RestoresExactly):
            doc["enabled"] = list(adapter.enabled())
        click.echo(to_json(doc))
        return
    rows = [("IdP", _name(adapter)), ("provisioning", state)]
    rows += [(f"{op.replace('_', ' ')}", how) for op, how in caps.items()]
    settings = _settings(adapter)
    rows += [(f"okta: {name}", value) for name, value in settings.items()]
    click.echo(key_values(rows))


def _settings(adapter: IdpAdapter) -> dict[str, str]:
    """Okta's capability switches, by console label (nothing for other IdPs)."""
    read = getattr(adapter, "provisioning", None)
    if read is None:
        return {}
    from scimrecon.connectors.idp.okta import LABELS

    return {LABELS.get(k, k): v for k, v in read().items() if k != "status"}


def _toggle(
    ctx: click.Context,
    operation: str,
    fmt: str,
    restore: str | None = None,
    assume_yes: bool = False,
) -> None:
    adapter = open_services(ctx).idp
    if adapter.capabilities.get(operation) != "api":
        _manual(adapter, operation, fmt)
        return
    if operation == "pause" and not _pause_wanted(adapter, fmt, assume_yes):
        return
    if isinstance(adapter, RestoresExactly):
        _toggle_exactly(adapter, operation, fmt, restore)
        return
    if restore is not None:
        raise InputError(f"--restore is for Okta only; {_name(adapter)} resumes with one switch")
    (adapter.pause if operation == "pause" else adapter.resume)()
    state = adapter.status()
    _report(adapter, operation, fmt, f"{_name(adapter)} provisioning is now {state}", status=state)


def _pause_wanted(adapter: IdpAdapter, fmt: str, assume_yes: bool) -> bool:
    """Pausing stops every new hire's account, org-wide: say what the state is, ask first
    (or --yes), and do nothing at all when provisioning is already paused (decision 76)."""
    state = adapter.status()
    if state == "Paused":
        message = (
            f"{_name(adapter)} provisioning is already Paused: nothing changed "
            "(`scimrecon idp resume` makes it Active again)"
        )
        _report(adapter, "pause", fmt, message, status=state, changed=False)
        return False
    question = (
        f"{_name(adapter)} provisioning is {state}. Pause it? No user is created or updated "
        "until `scimrecon idp resume`"
    )
    if not ClickInteraction(assume_yes=assume_yes).confirm(question):
        click.echo("not paused: nothing changed", err=True)
        return False
    return True


def _toggle_exactly(
    adapter: RestoresExactly, operation: str, fmt: str, restore: str | None
) -> None:
    """Okta: pause says what it turned off and how to turn exactly that back on."""
    from scimrecon.connectors.idp.okta import describe

    idp: IdpAdapter = adapter  # type: ignore[assignment]
    if operation == "pause":
        was = adapter.pause()
        state = idp.status()
        again = f"scimrecon idp resume --restore {','.join(was)}" if was else None
        message = f"{_name(idp)} provisioning is now {state} (turned off: {describe(was)})"
        if again:
            message += f"\nto turn exactly those back on: {again}"
        _report(idp, operation, fmt, message, status=state, turned_off=list(was), resume=again)
        return
    names = [n.strip() for n in (restore or "").split(",") if n.strip()] if restore else None
    adapter.resume(names)
    state = idp.status()
    message = f"{_name(idp)} provisioning is now {state} (on: {describe(adapter.enabled())})"
    _report(idp, operation, fmt, message, status=state, enabled=list(adapter.enabled()))


@idp.command("pause")
@table_or_json
@click.option("--yes", is_flag=True, help="Do not ask before pausing.")
@click.pass_context
def pause(ctx: click.Context, fmt: str, yes: bool) -> None:
    """Pause provisioning (Entra: via Graph; Okta: turn off create users and update user
    attributes; others: instructions). Asks first; does nothing when already paused."""
    _toggle(ctx, "pause", fmt, assume_yes=yes)


@idp.command("resume")
@table_or_json
@click.pass_context
@click.option(
    "--restore",
    metavar="NAMES",
    help="Okta: the capabilities to turn back on, as `idp pause` printed them "
    "(create, profile; comma-separated).",
)
def resume(ctx: click.Context, fmt: str, restore: str | None) -> None:
    """Resume provisioning (Entra: via Graph `start`, never a restart; Okta: turn back on the
    capabilities named by --restore; others: instructions)."""
    _toggle(ctx, "resume", fmt, restore)


@idp.command("provision")
@click.argument("user")
@table_or_json
@click.pass_context
def provision(ctx: click.Context, user: str, fmt: str) -> None:
    """Push USER (userPrincipalName, Okta login) to Atlassian now instead of at the next cycle.

    Okta: unassigns USER from the Atlassian Cloud app and assigns them again, and only when
    USER has no SCIM entry left (otherwise Okta could deactivate that account)."""
    services = open_services(ctx)
    adapter = services.idp
    if adapter.capabilities.get("provision_user") != "api":
        _manual(adapter, "provision_user", fmt, user=user)
        return
    if getattr(adapter, "unassigns_to_repush", False):
        from scimrecon.steps.idp_steps import still_linked

        unsafe = still_linked(services, user)
        if unsafe:
            raise RefusedError(f"{unsafe}; nothing was changed")
    pushed = adapter.provision_user(user)
    said = f"asked {_name(adapter)} to provision {user} now"
    if pushed is not None:
        said = f"{_name(adapter)} provisioned {user}: {pushed.describe()}"
    result = None if pushed is None else dataclasses.asdict(pushed)
    _report(adapter, "provision_user", fmt, said, user=user, result=result)
    if pushed is not None and not pushed.ok:
        raise RemoteError(f"{_name(adapter)} did not provision {user}: {pushed.describe()}")
