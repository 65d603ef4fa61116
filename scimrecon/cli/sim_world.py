"""`scimrecon sim check` and `scimrecon sim generate`: the world half of the `sim` group.

A support engineer's first question about a world file is "is it valid, and what is in it?";
`check` answers with every problem (exit 2) or the headline counts (exit 0). `generate` makes
large reproducible worlds for load tests. The `sim` group (scimrecon/cli/sim.py) attaches both.
"""

from __future__ import annotations

from pathlib import Path

import click

from scimrecon.cli.options import domain_option, encoding_option
from scimrecon.cli.outputs import OutputFile
from scimrecon.cli.render import table, to_json
from scimrecon.errors import InputError
from scimrecon.limits import MAX_GENERATED_ACCOUNTS, parse_json, read_document
from scimrecon.recon.export import read_records
from scimrecon.sim.from_export import IDP_KINDS, world_from_records
from scimrecon.sim.generate import generate_world
from scimrecon.sim.summary import summarize
from scimrecon.sim.world import dump_world, load_world, world_to_json

_LABELS = {
    "accounts": "accounts",
    "managed": "managed accounts",
    "active": "active accounts",
    "billable": "billable (Guard Standard rule, recon/billable.py)",
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
    (acme-trello, drift, guard-billing, inactive-licences, manual, okta). Every problem is
    listed with its JSON path; any problem exits 2.
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
    type=click.IntRange(0, MAX_GENERATED_ACCOUNTS),
    required=True,
    help="How many Atlassian accounts the world holds.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same bytes out.")
@click.option(
    "--out",
    type=OutputFile(),
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


def _issues(path: Path | None) -> list[dict[str, object]]:
    """Jira issues for the world: a JSON list, or an object with an `issues` list."""
    if path is None:
        return []
    name = f"--issues {path}"
    data = parse_json(read_document(path, name), name)  # bounded: size, nesting, numbers
    if isinstance(data, dict):
        data = data.get("issues")
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise InputError(
            f'--issues {path}: expected a JSON list of issues (or {{"issues": [...]}})'
        )
    return data


@click.command("world-from-export")
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@domain_option("A verified domain of the org (repeatable; default: the managed accounts' domains).")
@click.option(
    "--idp",
    "idp_kind",
    type=click.Choice(IDP_KINDS),
    default="entra",
    show_default=True,
    help="Which IdP the world's provisioning comes from.",
)
@click.option(
    "--issues",
    "issues_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Jira issues (JSON list, fixture-world issue shape) to put on the site.",
)
@encoding_option
@click.option(
    "--out",
    type=OutputFile(),
    required=True,
    help="Write the world here.",
)
def world_from_export(
    export: Path,
    domains: tuple[str, ...],
    idp_kind: str,
    issues_file: Path | None,
    encoding: str | None,
    out: Path,
) -> None:
    """Build a fixture world from a user export, to replay a customer's org on the simulator.

    The export gives accounts, status and product access with last-seen dates; the SCIM
    directory and the IdP are inferred (every active managed person is linked and assigned),
    and every inference is printed on stderr so it can be checked before a replay.
    """
    records = read_records(export, domains=domains, encoding=encoding)
    built = world_from_records(
        records, domains=domains, idp_kind=idp_kind, issues=_issues(issues_file)
    )
    from scimrecon.sim.validate import validate_world

    problems = validate_world(built.world)
    if problems:  # a bug here, not bad input: the export was read fine
        raise InputError(f"{export}: the world built from it is not valid: {problems[0]}")
    dump_world(built.world, out)
    summary = summarize(built.world)
    click.echo(
        f"wrote {out}: {summary['accounts']} accounts, {summary['billable']} billable, "
        f"{summary['scim_users']} SCIM users, {summary['issues']} issues",
        err=True,
    )
    for line in built.inferred:
        click.echo(f"inferred: {line}", err=True)


__all__ = ["check", "generate", "world_from_export"]
