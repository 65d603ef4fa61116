"""`scimrecon demo`: the whole story on an embedded simulator, in under 30 seconds.

It is the one place besides `sim` that imports the simulator: it serves a fixture world on a
localhost socket, points real connectors at it, finds the users who are billable only through
Trello, runs the shipped `reprovision` playbook on them through the same `run` command a person
would use, and shows the grid and the billable count after.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from tabulate import tabulate

from scimrecon import spreadsheet
from scimrecon.cli import run as run_cli
from scimrecon.cli.status import report as report_cmd
from scimrecon.cli.status import status as status_cmd
from scimrecon.config import Profile, Secrets
from scimrecon.connectors.admin_records import OrgUser
from scimrecon.connectors.services import Services
from scimrecon.errors import EXIT_OK, ScimreconError
from scimrecon.recon.billable import billable_only_through


def _billable(users: list[OrgUser]) -> list[OrgUser]:
    return [u for u in users if u.access_billable]


def _trello_only(users: list[OrgUser], unwanted: str) -> list[OrgUser]:
    return [
        u
        for u in _billable(users)
        if billable_only_through([p.key for p in u.product_access], [unwanted])
    ]


@click.command()
@click.option("--world", default="acme-trello", show_default=True, help="Fixture world.")
@click.option("--unwanted", default="trello", show_default=True, help="Unwanted product key.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="State file for the demo run (default: a fresh temporary one).",
)
@click.pass_context
def demo(ctx: click.Context, world: str, unwanted: str, state_path: Path | None) -> None:
    """Run the reprovision playbook on the embedded simulator and show before and after."""
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.server import serve_in_thread
    from scimrecon.sim.world import load_world

    app = SimApp(load_world(world), seed=1)
    with tempfile.TemporaryDirectory(prefix="scimrecon-demo-") as tmp, serve_in_thread(app) as url:
        services = Services(
            Profile.from_dict(app.profile(url)), Secrets(app.secrets(), keyring_lookup=None)
        )
        click.secho(f"simulator: {url} serving fixture world {world!r}", bold=True)
        users = list(services.admin.iter_org_users())
        targets = _trello_only(users, unwanted)
        billable_before = len(_billable(users))
        click.echo(f"\nbillable managed accounts before: {billable_before}")
        click.echo(f"billable only through {unwanted}: {len(targets)}\n")
        rows = [(u.email, u.name, ", ".join(p.key for p in u.product_access)) for u in targets]
        click.echo(tabulate(rows, headers=["email", "name", "product access"]))

        targets_file = Path(tmp) / "targets.csv"
        with targets_file.open("w", newline="", encoding="utf-8") as handle:
            writer = spreadsheet.writer(handle, lineterminator="\r\n")
            writer.writerow(["email"])
            writer.writerows([u.email] for u in targets)
        state = state_path or Path(tmp) / "state.db"

        click.secho("\n$ scimrecon run reprovision --targets targets.csv --yes", bold=True)
        saved = run_cli.HOOKS.services
        run_cli.HOOKS.services = lambda _state: services
        try:
            code = invoke_sibling(
                ctx,
                run_cli.run,
                "reprovision",
                "--targets",
                str(targets_file),
                "--yes",
                "--state",
                str(state),
            )
            click.secho("\n$ scimrecon status", bold=True)
            invoke_sibling(ctx, status_cmd, "--state", str(state))
            click.secho("\n$ scimrecon report 1", bold=True)
            invoke_sibling(ctx, report_cmd, "1", "--state", str(state))
        finally:
            run_cli.HOOKS.services = saved

        billable_after = len(_billable(list(services.admin.iter_org_users())))
        click.echo(f"\nbillable managed accounts after: {billable_after} (was {billable_before})")
        services.close()
    if code != EXIT_OK:
        raise ScimreconError(f"the demo run ended with exit code {code}", exit_code=code)


def invoke_sibling(ctx: click.Context, command: click.Command, *args: str) -> int:
    """Run a sibling command as if typed, returning its exit code instead of exiting."""
    try:
        with command.make_context(command.name, list(args), parent=ctx) as sub:
            command.invoke(sub)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    return EXIT_OK
