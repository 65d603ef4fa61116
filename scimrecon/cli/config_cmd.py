"""`scimrecon config show|check`: what the profile says, where each secret comes from, and
whether every configured API answers — without ever printing a secret.

Also home to the two helpers the connector commands (scim, accounts, idp) share: opening the
Services for the root `--profile`, and the `--format table|json` option.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import click

from scimrecon.cli.main import CliState
from scimrecon.cli.render import key_values, table, to_json
from scimrecon.config import SECRET_VARS, Profile, Secrets, looks_like_secret_key
from scimrecon.connectors.admin import ALL_DIRECTORIES
from scimrecon.connectors.services import GRAPH_API, JIRA_API, ORG_API, SCIM_API, Services
from scimrecon.errors import EXIT_TARGETS_FAILED, InputError, ScimreconError
from scimrecon.urlsafety import display_url

table_or_json = click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="Human table or JSON (a stable contract for scripts).",
)


def _state(ctx: click.Context) -> CliState:
    found = ctx.find_object(CliState)
    return found if isinstance(found, CliState) else CliState()


def load_profile(ctx: click.Context) -> Profile:
    """The profile from the root --profile / $SCIMRECON_PROFILE / the usual places."""
    return Profile.load(_state(ctx).profile)


def open_services(ctx: click.Context) -> Services:
    """Services for this command, closed when the command ends."""
    services = Services(load_profile(ctx), Secrets())
    ctx.call_on_close(services.close)
    return services


@click.group("config")
def config() -> None:
    """Show the profile and check that every configured API answers."""


# -- show --------------------------------------------------------------------------------------

_SECTIONS = ("atlassian", "scim", "jira", "idp", "billing", "limits", "smtp")


def _profile_dict(profile: Profile) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _SECTIONS:
        section = getattr(profile, name)
        if section is None:
            continue
        # The loader already refuses secret-looking keys and credential URLs; masking here as
        # well means a future field can never turn `config show` into a way to print a key.
        values = {
            k: "***" if looks_like_secret_key(k) else display_url(v) if k in section.urls else v
            for k, v in asdict(section).items()
            if v is not None
        }
        if values:
            out[name] = values
    return out


def _secret_rows(secrets: Secrets) -> list[dict[str, Any]]:
    return [
        {
            "variable": name,
            "purpose": purpose,
            "state": "set" if secrets.source(name) else "unset",
            "source": secrets.source(name),
        }
        for name, purpose in SECRET_VARS.items()
    ]


@config.command("show")
@table_or_json
@click.pass_context
def show(ctx: click.Context, fmt: str) -> None:
    """The profile in use and, per secret, whether it is set and where from (never the value)."""
    profile = load_profile(ctx)
    sections = _profile_dict(profile)
    secrets = _secret_rows(Secrets())
    if fmt == "json":
        doc = {"profile": str(profile.source), "sections": sections, "secrets": secrets}
        click.echo(to_json(doc))
        return
    click.echo(f"profile: {profile.source}")
    for name, values in sections.items():
        click.echo(f"\n[{name}]")
        click.echo(key_values(values.items()))
    click.echo("")
    rows = [[s["variable"], s["state"], s["source"] or "", s["purpose"]] for s in secrets]
    click.echo(table(rows, ["secret", "state", "source", "purpose"]))


# -- check -------------------------------------------------------------------------------------


def _check_scim(services: Services) -> str:
    return f"OK ({services.scim.count()} SCIM users)"


def _check_admin(services: Services) -> str:
    """The v1 users list and the v2 directories (another scope), and that the profile's
    directory_id is one of them: a wrong one would only show at the first suspension."""
    first = next(services.admin.iter_org_users(), None)
    found = [d.directory_id for d in services.admin.directories()]
    wanted = services.admin.directory_id
    if wanted != ALL_DIRECTORIES and wanted not in found:
        raise InputError(
            f"[atlassian].directory_id {wanted} is not one of the org's user directories "
            f"({', '.join(found) or 'none'})"
        )
    return "OK" if first is not None else "OK (no managed accounts)"


def _check_jira(services: Services) -> str:
    me = services.jira.myself()
    who = me.get("displayName") or me.get("emailAddress")
    return f"OK (as {who})" if who else "OK"


def _check_idp(services: Services) -> str:
    idp = services.idp
    if idp.capabilities.get("status") != "api":
        return f"OK (no API: {idp.kind} is driven by hand)"
    return f"OK (provisioning {idp.status()})"


def _checks(profile: Profile) -> list[tuple[str, str, Callable[[Services], str]]]:
    found: list[tuple[str, str, Callable[[Services], str]]] = []
    if profile.scim:
        found.append((SCIM_API, profile.scim.base_url, _check_scim))
    if profile.atlassian:
        found.append((ORG_API, profile.atlassian.base_url, _check_admin))
    if profile.jira:
        found.append((JIRA_API, profile.jira.base_url, _check_jira))
    if profile.idp:
        url = profile.idp.graph_url if profile.idp.kind == "entra" else ""
        name = GRAPH_API if profile.idp.kind == "entra" else f"IdP ({profile.idp.kind})"
        found.append((name, url or "", _check_idp))
    return found


@config.command("check")
@table_or_json
@click.pass_context
def check(ctx: click.Context, fmt: str) -> None:
    """One harmless read per configured API. Exit 1 if any of them failed."""
    services = open_services(ctx)
    rows: list[dict[str, Any]] = []
    for api, url, probe in _checks(services.profile):
        try:
            result, ok = probe(services), True
        except ScimreconError as exc:
            result, ok = exc.message, False
        rows.append(
            {"api": api, "url": display_url(url) if url else url, "ok": ok, "result": result}
        )
    if fmt == "json":
        click.echo(to_json(rows))
    else:
        click.echo(
            table([[r["api"], r["url"], r["result"]] for r in rows], ["API", "URL", "result"])
        )
    if not rows:
        raise click.UsageError("the profile configures no API ([scim], [atlassian], [jira], [idp])")
    if not all(r["ok"] for r in rows):
        ctx.exit(EXIT_TARGETS_FAILED)


__all__ = ["config", "load_profile", "open_services", "table_or_json"]
