"""`scimrecon sim check` and `scimrecon sim generate`: the world half of the `sim` group.

A support engineer's first question about a world file is "is it valid, and what is in it?";
`check` answers with every problem (exit 2) or the headline counts (exit 0). `generate` makes
large reproducible worlds for load tests. The `sim` group (scimrecon/cli/sim.py) attaches both.
"""

from __future__ import annotations

from pathlib import Path

import click

from scimrecon.cli.render import table, to_json
from scimrecon.sim.generate import generate_world
from scimrecon.sim.summary import summarize
from scimrecon.sim.world import dump_world, load_world, world_to_json

_LABELS = {
    "accounts": "accounts",
    "managed": "managed accounts",
    "active": "active accounts",
    "billable": "billable (managed, active, any product)",
    "scim_users": "SCIM users",
    "linked_scim_users": "SCIM users linked to an account",
    "idp_users": "IdP users assigned to the app",
    "issues": "Jira issues",
    "directories": "SCIM directories",
    "idp_kind": "IdP",
    "tier": "billing tier (users)",
}


@click.command("check")
@click.argument("world", metavar="WORLD")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output: a human table or JSON (stable keys).",
)
def check(world: str, fmt: str) -> None:
    """Validate a world and print its headline counts.

    WORLD is a JSON file, a directory holding world.json, or a shipped fixture name
    (acme-trello, drift, inactive-licences, manual, okta). Every problem is listed with its
    JSON path; any problem exits 2.
    """
    summary = summarize(load_world(world))
    if fmt == "json":
        click.echo(to_json(summary))
        return
    rows = [(_LABELS.get(k, k), "-" if v is None else v) for k, v in summary.items()]
    click.echo(table(rows, headers=["world", world]))


@click.command("generate")
@click.option(
    "--accounts",
    type=click.IntRange(min=0),
    required=True,
    help="How many Atlassian accounts the world holds.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes out.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the world here (default: standard output).",
)
@click.option("--pretty", is_flag=True, help="Indent the JSON (slower and larger).")
def generate(accounts: int, seed: int, out: Path | None, pretty: bool) -> None:
    """Generate a large, realistic, reproducible world.

    The mix (unmanaged accounts, leavers, never-used licences, Trello-only signups, unlinked
    SCIM entries, unassigned IdP users, tickets) is drawn from SEED alone: the same
    --accounts and --seed always give byte-identical output.
    """
    doc = generate_world(accounts, seed)
    if out is None:
        click.echo(world_to_json(doc, compact=not pretty), nl=False)
        return
    dump_world(doc, out, compact=not pretty)
    summary = summarize(doc)
    click.echo(
        f"wrote {out}: {summary['accounts']} accounts, {summary['billable']} billable, "
        f"{summary['scim_users']} SCIM users, {summary['issues']} issues (seed {seed})",
        err=True,
    )


__all__ = ["check", "generate"]
