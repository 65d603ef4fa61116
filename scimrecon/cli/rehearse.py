"""`scimrecon rehearse`: run a playbook against the org's twin and say what would change.

An org admin about to re-provision 300 people wants to see what *this* org will do first. The
twin (`sim capture`, or a capture made on the spot) is served in-process on a virtual clock (a
rate-limit wait costs no time), the playbook runs against it through the very `run` command
(with `--yes`, in a temporary state file: the user's own state is never touched), and the
prediction is read off the twin's world
before and after (`sim.outcome`), with every target that failed or was skipped and why.

`--out plan.json` saves the plan made on the fresh twin. The twin answers every read as the org
did at capture time, so that plan's fingerprint is the fingerprint of the live reads then, and
`run --plan` against the live org refuses (exit 4) when the org has drifted since, naming the
first difference: the same rule as any saved plan.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, TextIO

import click
import httpx

from scimrecon.atomicfile import write_atomic
from scimrecon.cli import run as run_cli
from scimrecon.cli.capture import capture_world, target_emails
from scimrecon.cli.demo import invoke_sibling
from scimrecon.cli.main import CliState
from scimrecon.cli.outputs import OutputFile
from scimrecon.cli.playbooks import playbooks_dir_option
from scimrecon.cli.render import table, to_json
from scimrecon.cli.status import read_store, status_document
from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.engine.targets import load_targets
from scimrecon.errors import InputError
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.identity import identity_key

#: Where the twin seems to be (served in-process: nothing listens there).
TWIN_URL = "http://twin.localhost"


class VirtualClock:
    """The twin's time: it passes only when someone waits. A rate limit or a retry backoff
    that would hold a real run for minutes costs a rehearsal nothing, and the simulator's
    provisioning cycles still come in the order they would."""

    def __init__(self, start: float) -> None:
        self.t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds)


def twin_services(app: Any, clock: VirtualClock) -> Services:
    """Connectors over the twin, called in-process (no socket) on the virtual clock, with the
    twin's own fake keys."""
    profile = Profile.from_dict(app.profile(TWIN_URL))
    settings = HttpSettings(
        transport=httpx.WSGITransport(app=app), sleep=clock.sleep, clock=clock.now
    )
    rates = {name: profile.rate_for(name) for name in ("atlassian", "jira", "graph")}
    return Services(
        profile,
        Secrets(app.secrets(), keyring_lookup=None),
        factory=ApiClientFactory(settings=settings, rates=rates),
    )


def _capture_live(ctx: click.Context, targets_path: Path, tmp: Path) -> Path:
    state = ctx.find_object(CliState)
    live = run_cli.HOOKS.services(state if isinstance(state, CliState) else None)
    try:
        path = tmp / "twin.json"
        capture_world(live, path, targets=target_emails(targets_path), issues=None)
    finally:
        live.close()
    return path


def _args(playbook: str, targets: Path, state: Path, params: tuple[str, ...]) -> list[str]:
    args = [playbook, "--targets", str(targets), "--state", str(state)]
    for p in params:
        args += ["--param", p]
    return args


def _dated(plan: Path, captured_at: object) -> None:
    """The plan's reads are the capture's: say it was made then (its fingerprint is unchanged,
    `made_at` is not part of it), so a refusal says "since <capture time>"."""
    if not captured_at or not plan.exists():
        return
    doc = json.loads(plan.read_text("utf-8"))
    doc["made_at"] = str(captured_at)
    write_atomic(plan, json.dumps(doc, indent=2) + "\n")


def ticket_gaps(world: dict[str, Any], targets_path: Path) -> list[str]:
    """What the twin cannot predict about tickets for these targets: it holds the Jira
    issues of the accounts it was captured for (`--targets`), and of nobody else."""
    captured = world.get("x-captured-issues")
    if not isinstance(captured, dict):
        return []  # not a capture (a fixture world holds its whole Jira)
    if captured.get("query") is None:
        return ["the twin holds no Jira issues (captured without --targets or --issues): "
                "tickets to move are not predicted"]  # fmt: skip
    covered = captured.get("accounts")
    if covered is None:
        return []  # captured by a JQL query: what it covers is the query's business
    try:
        listed = load_targets(targets_path, columns=(), key="email")
    except InputError:
        return []  # the run says what is wrong with the list
    emails = [t.row.get("email") for t in listed.targets]
    by_email = {identity_key(str(a.get("email"))): a for a in world.get("accounts") or []}
    missing = [
        str(e)
        for e in emails
        if e and str((by_email.get(identity_key(str(e))) or {}).get("account_id")) not in covered
    ]
    if not missing:
        return []
    return [
        f"the twin holds no Jira issues of {', '.join(missing)} (captured for other targets): "
        "their tickets are not predicted; capture again with these targets"
    ]


def _rehearse(
    ctx: click.Context,
    twin_path: Path,
    run_args: list[str],
    plan_args: list[str] | None,
    playbook_dirs: tuple[Path, ...],
    output: TextIO,
) -> tuple[int, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Serve the twin, plan (if asked) and run on it; the exit code, the world before and
    after, the status document and the twin as loaded."""
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.world import load_world

    world = load_world(twin_path)
    clock = VirtualClock(time.time())
    app = SimApp(world, seed=1, clock=clock.now, sleep=clock.sleep)
    before = app.world_snapshot()
    dirs = [a for d in playbook_dirs for a in ("--playbooks", str(d))]
    services = twin_services(app, clock)
    saved = run_cli.HOOKS.services
    run_cli.HOOKS.services = lambda _state: services
    try:
        # The run's own output speaks of a temporary state file ("resume 1" there means
        # nothing afterwards): it is kept apart, shown only with --show-run.
        with redirect_stdout(output), redirect_stderr(output):
            if plan_args is not None:
                code = invoke_sibling(ctx, run_cli.plan, *plan_args, *dirs)
                if code:
                    return code, before, before, {}, before
            code = invoke_sibling(ctx, run_cli.run, *run_args, "--yes", *dirs)
    finally:
        run_cli.HOOKS.services = saved
        services.close()
    after = app.world_snapshot()
    state = Path(run_args[run_args.index("--state") + 1])
    status: dict[str, Any] = {}
    if state.exists():
        store = read_store(state)
        try:
            latest = store.latest_run_id()
            if latest is not None:
                status = status_document(store, store.get_run(latest))
        finally:
            store.close()
    return code, before, after, status, world


def prediction(
    playbook: str, twin: str, code: int, world: dict[str, Any], before: Any, after: Any, status: Any
) -> dict[str, Any]:
    from scimrecon.sim.outcome import world_changes

    targets = status.get("targets") or []
    return {
        "playbook": playbook,
        "twin": twin,
        "captured_at": world.get("x-captured-at"),
        "run": {"state": status.get("state"), "reason": status.get("reason"), "exit_code": code},
        "changes": world_changes(before, after),
        "targets": [
            {"key": t["key"], "state": t["state"], "reason": t.get("reason")} for t in targets
        ],
        "not_done": [
            {"key": t["key"], "state": t["state"], "reason": t.get("reason")}
            for t in targets
            if t["state"] != "done"
        ],
    }


def _section(title: str, rows: list[list[Any]], headers: list[str]) -> list[str]:
    if not rows:
        return [f"{title}: none"]
    return [f"{title}: {len(rows)}", table(rows, headers)]


def render(result: dict[str, Any]) -> str:
    c = result["changes"]
    run = result["run"]
    captured = f" (captured {result['captured_at']})" if result["captured_at"] else ""
    lines = [
        f"Rehearsal of {result['playbook']} on the twin {result['twin']}{captured}",
        f"run: {run['state']} (exit {run['exit_code']})"
        + (f": {run['reason']}" if run.get("reason") else ""),
        f"billable: {c['billable']['before']} → {c['billable']['after']}",
        "",
    ]
    lines += _section(
        "accounts created", [[a["email"], a["account_id"]] for a in c["accounts_created"]],
        ["email", "new account"],
    )  # fmt: skip
    lines += _section(
        "accounts disabled", [[a["email"], a["account_id"]] for a in c["accounts_disabled"]],
        ["email", "account"],
    )  # fmt: skip
    lines += _section(
        "emails moved", [[e["from"], e["to"]] for e in c["emails_moved"]], ["from", "to"]
    )
    lines += _section(
        "tickets moved",
        [[t["key"], t["field"], t["from"], t["to"]] for t in c["tickets_moved"]],
        ["issue", "field", "from", "to"],
    )
    lines += _section(
        "SCIM links", [[s["userName"], s["from"], s["to"]] for s in c["scim_links"]],
        ["userName", "was linked to", "now linked to"],
    )  # fmt: skip
    lines += _section(
        "group memberships",
        [[g["group"], ", ".join(g["added"]), ", ".join(g["removed"])] for g in c["groups"]],
        ["group", "added", "removed"],
    )
    lines += _section(
        "targets that would fail or be skipped",
        [[t["key"], t["state"], t["reason"] or ""] for t in result["not_done"]],
        ["target", "state", "reason"],
    )
    return "\n".join(lines)


@click.command()
@click.argument("playbook")
@run_cli.targets_option
@click.option(
    "--twin",
    "twin_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A twin from `sim capture` (default: capture the live org now).",
)
@run_cli.param_option
@click.option(
    "--out",
    type=OutputFile(),
    help="Save the plan made on the twin, for `run --plan` against the live org.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--show-run", is_flag=True, help="Also show the rehearsed run's own output (on stderr)."
)
@playbooks_dir_option
@click.pass_context
def rehearse(
    ctx: click.Context,
    playbook: str,
    targets_path: Path,
    twin_path: Path | None,
    params: tuple[str, ...],
    out: Path | None,
    fmt: str,
    show_run: bool,
    playbook_dirs: tuple[Path, ...],
) -> None:
    """Run PLAYBOOK against a twin of the org and print what would change.

    Nothing of the org is changed: the twin is served in-process, the run answers --yes and
    keeps its state in a temporary file. The exit code is the rehearsed run's.
    """
    with tempfile.TemporaryDirectory(prefix="scimrecon-rehearse-") as name:
        tmp = Path(name)
        twin = twin_path or _capture_live(ctx, targets_path, tmp)
        run_args = _args(playbook, targets_path, tmp / "state.db", params)
        plan_args = None
        if out is not None:
            plan_args = [*_args(playbook, targets_path, tmp / "plan.db", params), "--out", str(out)]
        output = io.StringIO()
        try:
            code, before, after, status, world = _rehearse(
                ctx, twin, run_args, plan_args, playbook_dirs, output
            )
        finally:
            if show_run:
                for line in output.getvalue().splitlines():
                    click.echo(f"twin | {line}", err=True)
    if out is not None:
        _dated(out, world.get("x-captured-at"))
    label = str(twin_path) if twin_path else "of the live org"
    for line in ticket_gaps(before, targets_path):
        click.echo(f"warning: {line}", err=True)
    result = prediction(playbook, label, code, world, before, after, status)
    click.echo(to_json(result) if fmt == "json" else render(result))
    ctx.exit(code)


__all__ = ["prediction", "rehearse", "render"]
