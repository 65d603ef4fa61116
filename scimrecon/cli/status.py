"""`status`, `runs`, `log`, `report`: reading the state file, never changing it.

These commands open the state file read-only (`StateStore.open_readonly`): they never create it,
so a mistyped `--state` says "no state file here" instead of quietly creating an empty one, and
they never write beside it either (no `-wal`/`-shm`, no schema), so they work on a read-only
file system and leave a damaged file exactly as it was. Their JSON is a contract (DESIGN.md): keys
may be added, never renamed or dropped.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import click

from scimrecon.cli import what_stays
from scimrecon.cli.render import table, to_csv, to_json
from scimrecon.cli.terminal import fit_text
from scimrecon.engine.expr import NOT_APPLICABLE, is_not_applicable
from scimrecon.engine.incomplete import incomplete_targets, is_live, next_commands
from scimrecon.engine.playbook import parse_playbook
from scimrecon.engine.state import DEFAULT_STATE, RunRecord, StateStore, StepRecord, pid_alive
from scimrecon.errors import InputError, ScimreconError


def _state_or_root(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    """The command's own `--state` (or SCIMRECON_STATE), else the root's `scimrecon --state`,
    else the default: the same option works before and after the command (issue 15)."""
    root = getattr(ctx.find_root().obj, "state", None)
    from_env = ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.ENVIRONMENT
    if value is not None and not (from_env and root is not None):
        return value  # a flag on the command, or the variable when no root flag says otherwise
    return Path(root) if root is not None else DEFAULT_STATE


state_option = click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SCIMRECON_STATE",
    default=None,
    callback=_state_or_root,
    show_default=str(DEFAULT_STATE),
    help="State file (env: SCIMRECON_STATE; also accepted before the command).",
)


def open_store(path: Path, *, create: bool = False) -> StateStore:
    """Open the state file to change it (run, resume, abort)."""
    return StateStore.open(path, create=create)


def read_store(path: Path) -> StateStore:
    """Open the state file to read it only: no file is created or changed."""
    return StateStore.open_readonly(path)


def pick_run(store: StateStore, run_id: str | None) -> RunRecord:
    if run_id is None:
        latest = store.latest_run_id()
        if latest is None:
            raise InputError(f"{store.path}: no runs yet")
        run_id = latest
    return store.get_run(run_id)


def step_ids(run: RunRecord) -> tuple[list[str], list[str]]:
    """(target-scoped, run-scoped) step ids of the run's own copy of its playbook."""
    try:
        playbook = parse_playbook(run.playbook_source, run.playbook_name, None)
    except ScimreconError:
        return [], []
    steps = (*playbook.steps, *playbook.finally_steps)
    return [s.id for s in steps if s.scope == "target"], [s.id for s in steps if s.scope == "run"]


def _registry() -> Any:
    from scimrecon.cli.run import HOOKS  # lazy: run.py imports this module

    return HOOKS.registry()


def half_moved(store: StateStore, run: RunRecord) -> tuple[dict[str, list[str]], bool]:
    """key -> the steps whose changes are in place (done or started), for targets not finished;
    and whether the run is live (its targets are in flight, so they are not `incomplete`)."""
    from scimrecon.cli.halfmoved import run_playbook

    registry = _registry()
    playbook = run_playbook(run, registry)
    if playbook is None:
        return {}, False
    items = incomplete_targets(store, run, playbook, registry)
    return {i.key: [c.step for c in i.changes] for i in items}, is_live(run)


def _shown_state(state: str, changed: list[str], live: bool) -> str:
    """`incomplete` for a target that is changed but neither finished nor in flight."""
    return "incomplete" if changed and not live and state in ("pending", "failed") else state


def _step_state(rec: StepRecord | None) -> str:
    """A step's state as plan, status and log all name it (a false `when` is `n/a`)."""
    if rec is None:
        return "pending"
    return NOT_APPLICABLE if is_not_applicable(rec.state, rec.error) else rec.state


def status_document(store: StateStore, run: RunRecord) -> dict[str, Any]:
    """The `status --format json` document (DESIGN.md shape, plus extra keys)."""
    target_steps, run_steps = step_ids(run)
    states = store.step_states(run.id)
    changed, live = half_moved(store, run)
    undo = store.get_undo(run.id)
    undo_states = store.undo_states(run.id) if undo is not None else {}
    for target, step in states:
        if target and step not in target_steps:
            target_steps.append(step)
    targets = []
    for t in store.targets(run.id):
        steps = {s: _step_state(states.get((t.key, s))) for s in target_steps}
        entry = {
            "key": t.key,
            "state": _shown_state(t.state, changed.get(t.key, []), live),
            "reason": t.reason,
            "steps": steps,
            "outputs": t.outputs,
            "step": t.step,
            "changed": changed.get(t.key, []),
            "recorded_state": t.state,
        }
        if undo is not None:
            entry["undo"] = {s: r.state for (k, s), r in undo_states.items() if k == t.key}
        targets.append(entry)
    return {
        "run": run.id,
        "playbook": run.playbook,
        "state": run.state,
        "reason": run.reason,
        "started": run.started,
        "finished": run.finished,
        "params": run.params,
        "run_steps": {s: _step_state(states.get(("", s))) for s in run_steps},
        "outputs": run.outputs,
        "lock": (
            {"pid": run.lock_pid, "host": run.lock_host, "since": run.lock_since}
            if run.lock_pid is not None
            else None
        ),
        "targets": targets,
        "undo": (
            {
                "state": undo.state,
                "reason": undo.reason,
                "started": undo.started,
                "finished": undo.finished,
            }
            if undo is not None
            else None
        ),
    }


def _counts(targets: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for t in targets:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no targets"


@click.command()
@click.argument("run_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@state_option
def status(run_id: str | None, fmt: str, state_path: Path) -> None:
    """Show a run's targets x steps grid (the latest run without RUN_ID)."""
    store = read_store(state_path)
    try:
        doc = status_document(store, pick_run(store, run_id))
    finally:
        store.close()
    if fmt == "json":
        click.echo(to_json(doc))
        return
    click.echo(
        f"run {doc['run']}  {doc['playbook']}  {doc['state']}  started {doc['started']}"
        f"  ({len(doc['targets'])} targets: {_counts(doc['targets'])})"
    )
    if doc["reason"]:
        click.echo(fit_text(f"reason: {doc['reason']}"))
    if doc["lock"]:
        lock = doc["lock"]
        gone = lock["host"] == socket.gethostname() and not pid_alive(lock["pid"])
        note = f" (that process is gone: `scimrecon resume {doc['run']}` carries on)" * gone
        click.echo(f"locked by pid {lock['pid']} on {lock['host']} since {lock['since']}{note}")
    if doc["run_steps"]:
        steps = ", ".join(f"{k} {v}" for k, v in doc["run_steps"].items())
        click.echo(fit_text(f"run steps: {steps}"))
    if doc["undo"]:
        undo = doc["undo"]
        click.echo(f"undo: {undo['state']}" + (f" ({undo['reason']})" if undo["reason"] else ""))
    names = list(doc["targets"][0]["steps"]) if doc["targets"] else []
    rows = [[t["key"], t["state"], *t["steps"].values(), t["reason"] or ""] for t in doc["targets"]]
    click.echo(table(rows, ["target", "state", *names, "reason"]))
    _echo_half_moved(doc)


def _echo_half_moved(doc: dict[str, Any]) -> None:
    from scimrecon.cli.halfmoved import SHOWN

    items = [t for t in doc["targets"] if t["state"] == "incomplete"]
    if not items:
        return
    click.secho(f"{len(items)} target(s) INCOMPLETE (changed, not finished):", fg="red", bold=True)
    for t in items[:SHOWN]:
        click.secho(f"  ! {t['key']}: {', '.join(t['changed'])} done or started", fg="red")
    if len(items) > SHOWN:
        click.echo(f"  ... and {len(items) - SHOWN} more")
    pending = any(v != "done" for v in doc["run_steps"].values())
    click.echo("  " + next_commands(doc["run"], doc["state"], finally_pending=pending))


def run_summary(run: RunRecord) -> dict[str, Any]:
    return {
        "run": run.id,
        "playbook": run.playbook,
        "state": run.state,
        "started": run.started,
        "targets": run.target_count,
        "finished": run.finished,
        "reason": run.reason,
        "user": run.os_user,
        "host": run.host,
    }


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@state_option
def runs(fmt: str, state_path: Path) -> None:
    """List the runs in the state file, oldest first."""
    store = read_store(state_path)
    try:
        docs = [run_summary(r) for r in store.list_runs()]
    finally:
        store.close()
    if fmt == "json":
        click.echo(to_json(docs))
        return
    headers = ["run", "playbook", "state", "started", "targets", "user"]
    click.echo(table([[d[h] for h in headers] for d in docs], headers))


@click.command()
@click.argument("run_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl"]),
    default="table",
    help="json: one array, as every table command gives; jsonl: a record a line, for tools.",
)
@state_option
def log(run_id: str, fmt: str, state_path: Path) -> None:
    """Show a run's audit trail: who did what, when, with which outcome."""
    store = read_store(state_path)
    try:
        run = store.get_run(run_id)
        records = store.audit(run.id)
    finally:
        store.close()
    if fmt == "json":
        click.echo(to_json([r.__dict__ for r in records]))
        return
    if fmt == "jsonl":
        for r in records:
            click.echo(json.dumps(r.__dict__, ensure_ascii=False))
        return
    headers = ["time", "user", "target", "step", "outcome", "summary"]
    rows = [
        [r.time, r.os_user, r.target or "", r.step or "", _outcome(r.outcome), r.summary or ""]
        for r in records
    ]
    click.echo(table(rows, headers))


def _outcome(outcome: str) -> str:
    """Audit outcomes as `plan` and `status` name them (runs before decision 75 wrote
    `not-applicable`)."""
    return NOT_APPLICABLE if outcome == "not-applicable" else outcome


def report_document(store: StateStore, run: RunRecord) -> dict[str, Any]:
    """The targets and their outputs (old/new account ids ...), one entry per target, with
    `what_moved` (cli/what_stays.py): tickets moved per field, memberships, what stays."""
    changed, live = half_moved(store, run)
    targets = [
        {
            "key": t.key,
            "state": _shown_state(t.state, changed.get(t.key, []), live),
            "reason": t.reason,
            "step": t.step,
            "row": t.row,
            "outputs": t.outputs,
            "changed": changed.get(t.key, []),
            # tickets moved per field, memberships before/after, what stays on the old account
            "what_moved": what_stays.summary(t.outputs),
        }
        for t in store.targets(run.id)
    ]
    return {
        "run": run.id,
        "playbook": run.playbook,
        "state": run.state,
        "params": run.params,
        "outputs": run.outputs,
        "targets": targets,
    }


@click.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@state_option
def report(run_id: str, fmt: str, state_path: Path) -> None:
    """Show every target of a run with its outcome and outputs, and what moved and what stays
    on the old account (tickets per field, memberships, comments, worklogs, approvals, watches)."""
    store = read_store(state_path)
    try:
        run = store.get_run(run_id)
        doc = report_document(store, run)
    finally:
        store.close()
    if fmt == "json":
        click.echo(to_json(doc))
        return
    chosen, run_keys = _report_layout(run)
    columns: list[str] = list(chosen)
    if not columns:
        for t in doc["targets"]:
            columns += [k for k in t["outputs"] if k not in columns]
    headers = ["target", "state", "reason", *columns]
    rows = [
        [t["key"], t["state"], t["reason"] or "", *[t["outputs"].get(c) for c in columns]]
        for t in doc["targets"]
    ]
    if fmt == "csv":
        click.echo(to_csv(rows, headers), nl=False)
        return
    click.echo(table(rows, headers))
    for key in run_keys or sorted(doc["outputs"]):
        if key in doc["outputs"]:
            click.echo(f"{key.replace('_', ' ')}: {doc['outputs'][key]}")
    what_stays.echo_table(doc["run"], doc["targets"])
    doc["run_steps"] = {}
    _echo_half_moved(doc)


def _report_layout(run: RunRecord) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns the run's own playbook (as it was run) asks its report to show."""
    try:
        pb = parse_playbook(run.playbook_source, run.playbook_name, None)
    except ScimreconError:
        return (), ()
    return pb.report_columns, pb.report_run_outputs
