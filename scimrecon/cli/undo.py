"""`abort` and `undo`: ending a run, and taking its changes back.

`abort` never resumes provisioning over half-moved people in silence: before its finally steps
run (which resume provisioning, letting the IdP push each of them onto a *new* account while
the old one keeps its access and tickets) it names them and offers to undo them first, while
provisioning is still paused (`--undo`), or to finish them (`resume`). With `--yes` alone it
refuses to leave anyone half-moved; `--leave-incomplete` is the explicit, audited choice to.

`undo RUN` reverses the changes of an ended run's targets (engine/undo.py): planned and
confirmed like a run, checkpointed, resumable by running it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scimrecon.cli.halfmoved import describe_incomplete, echo_incomplete
from scimrecon.cli.render import table, to_json
from scimrecon.cli.run import (
    HOOKS,
    RunOptions,
    _drive,
    _finally_pending,
    _options,
    _report,
    _state,
)
from scimrecon.cli.status import open_store, state_option
from scimrecon.engine.incomplete import (
    Incomplete,
    held_here,
    incomplete_targets,
    is_live,
    next_commands,
)
from scimrecon.engine.playbook import parse_playbook
from scimrecon.engine.runner import Runner, RunResult
from scimrecon.engine.state import RunRecord, StateStore
from scimrecon.engine.state_locks import in_use, lock_holder
from scimrecon.engine.targets import DEFAULT_MAX_TARGETS, load_targets
from scimrecon.engine.undo import Undoer, UndoOptions, UndoResult
from scimrecon.engine.undo_plan import UndoPlan
from scimrecon.errors import RefusedError

UNFINISHED_RUN = ("running", "interrupted", "parked")


def _undo_report(result: UndoResult, fmt: str) -> None:
    doc = {
        "run": result.run_id,
        "undo": result.state,
        "reason": result.reason,
        "exit_code": result.exit_code,
        "undone": result.undone,
        "refused": [{"key": k, "step": s, "reason": r} for k, s, r in result.refused],
        "waiting": result.waiting,
        "window_open": result.window_open,
        "incomplete": [
            {"key": i.key, "state": i.state, "changed": [c.step for c in i.changes]}
            for i in result.left
        ],
    }
    if fmt == "json":
        click.echo(to_json(doc))
    else:
        click.echo(f"undo of run {result.run_id} {result.state}: {len(result.undone)} undone")
        if result.reason:
            click.echo(f"reason: {result.reason}")
        for key, step, reason in result.refused:
            click.echo(f"  not undone {key} at {step}: {reason}")
        for key in result.waiting:
            click.echo(f"  waiting for the IdP to push {key} back onto its old account")
    if result.waiting:
        click.echo(
            f"run `scimrecon undo {result.run_id}` again once the IdP has pushed them", err=True
        )
    if result.window_open:
        click.secho(
            f"provisioning stays paused by run {result.run_id}: resuming it now would push "
            "the people above onto new accounts",
            fg="red",
            err=True,
        )


def render_undo_plan(plan: UndoPlan) -> str:
    rows = [[e.target or "(run)", e.step, e.text] for e in plan.entries]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(plan.counts().items())) or "nothing"
    return "\n".join(
        [
            f"Undo plan: run {plan.run_id}, {len(plan.targets)} target(s), reversals in "
            "reverse step order",
            table(rows, ["target", "step", "undo"]),
            f"({counts})",
        ]
    )


def _keys(path: Path | None, key: str) -> list[str] | None:
    if path is None:
        return None
    targets = load_targets(path, columns=[], key=key, max_targets=DEFAULT_MAX_TARGETS)
    return [t.key for t in targets.targets]


@click.command()
@click.argument("run_id")
@click.option(
    "--targets",
    "targets_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Undo only these targets (a target list with the playbook's key column).",
)
@click.option("--yes", is_flag=True, help="Answer yes to confirmations (never to manual steps).")
@click.option("--dry-run", is_flag=True, help="Plan the undo only: nothing changed or written.")
@click.option(
    "--force",
    is_flag=True,
    help="Take over a run locked from another host (a crash here needs no --force).",
)
@click.option(
    "--max-wait",
    "max_wait_s",
    type=click.FloatRange(min=0),
    default=None,
    help="Wait at most this many seconds for the IdP to push people back (default 120).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@state_option
@click.pass_context
def undo(
    ctx: click.Context,
    run_id: str,
    targets_path: Path | None,
    yes: bool,
    dry_run: bool,
    force: bool,
    max_wait_s: float | None,
    fmt: str,
    state_path: Path,
) -> None:
    """Take back the changes of an ended run's targets, last step first.

    Each reversal checks first that the world is still what the run left, else that target is
    refused with the reason. Irreversible steps (SCIM DELETE) stop that target's undo, named.
    Run it again to resume an interrupted or waiting undo. A run that has not ended is undone
    with `scimrecon abort RUN --undo`.
    """
    store = open_store(state_path)
    try:
        record = store.get_run(run_id)
        if held_here(record):  # abort and resume would be refused too: say what works
            holder = lock_holder(record.lock_pid, record.lock_host, record.lock_since)
            then = (
                f"scimrecon abort {record.id} --undo if it has not ended, scimrecon undo "
                f"{record.id} if it has"
            )
            raise RefusedError(in_use(record.id, holder, record.lock_pid, then))
        if record.state in UNFINISHED_RUN:
            raise RefusedError(
                f"run {record.id} is {record.state}: undo its targets while ending it "
                f"(scimrecon abort {record.id} --undo), or finish it (scimrecon resume "
                f"{record.id})"
            )
        registry = HOOKS.registry()
        playbook = parse_playbook(record.playbook_source, record.playbook_name, registry)
        keys = _keys(targets_path, playbook.key)
        services = HOOKS.services(_state(ctx))
        ui = HOOKS.interaction(assume_yes=yes)
        options = UndoOptions() if max_wait_s is None else UndoOptions(max_wait_s=max_wait_s)
        undoer = Undoer(store, playbook, registry, services, ui, options)
        undoer.load(record.id, keys)
        if not undoer.selected:
            click.echo(f"run {record.id}: nothing to undo", err=fmt == "json")
            if fmt == "json":
                click.echo(to_json({"run": record.id, "undo": "nothing", "undone": []}))
            return
        click.echo(render_undo_plan(undoer.plan()), err=fmt == "json")
        if dry_run:
            click.echo("dry run: nothing was changed", err=True)
            return
        if not ui.confirm(f"Undo {len(undoer.selected)} target(s) of run {record.id}?"):
            raise RefusedError("not confirmed: nothing was changed")
        store.acquire(record.id, force=force)
        undoer.load(record.id, keys)  # again, holding the lock: nothing moved meanwhile
        result = _drive(store, record.id, undoer.execute)
    finally:
        store.close()
    _undo_report(result, fmt)
    if result.left and result.state != "parked":
        echo_incomplete(result.left, result.run_id, record.state)
    ctx.exit(result.exit_code)


# -- abort -------------------------------------------------------------------------------------


def _choose(ui: Any, items: list[Incomplete], record: RunRecord, undo: bool, leave: bool) -> bool:
    """Whether to undo the half-moved targets first; refuses when nobody chose for them."""
    if not items or undo or leave:
        return undo and bool(items)
    if getattr(ui, "assume_yes", False) or not getattr(ui, "interactive", True):
        raise RefusedError(
            f"run {record.id} has {len(items)} half-moved target(s); aborting now would resume "
            "provisioning over them: pass --undo to take their changes back first (while "
            f"provisioning is still paused), or finish them (scimrecon resume {record.id}), or "
            "pass --leave-incomplete to end the run leaving them as they are"
        )
    if ui.confirm(f"Undo these {len(items)} target(s) first, while provisioning is still paused?"):
        return True
    if ui.confirm(f"Abort anyway and leave {len(items)} target(s) half-moved?"):
        return False
    raise RefusedError(
        f"not confirmed: run {record.id} was left as it was (finish it: scimrecon resume "
        f"{record.id})"
    )


@click.command()
@click.argument("run_id")
@click.option("--yes", is_flag=True, help="Do not ask before aborting.")
@click.option(
    "--undo",
    "undo_first",
    is_flag=True,
    help="Undo the half-moved targets first (provisioning still paused), then abort.",
)
@click.option(
    "--leave-incomplete",
    is_flag=True,
    help="End the run even though targets are left half-moved (audited; undo them later).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Take over a run locked from another host (a crash here needs no --force).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@state_option
@click.pass_context
def abort(
    ctx: click.Context,
    run_id: str,
    yes: bool,
    undo_first: bool,
    leave_incomplete: bool,
    force: bool,
    fmt: str,
    state_path: Path,
) -> None:
    """Stop a run for good: mark it aborted and run its finally steps.

    Targets left half-moved (changed, not finished) are named first; `--undo` takes their
    changes back before the finally steps run, `--leave-incomplete` leaves them as they are.
    """
    if undo_first and leave_incomplete:
        raise click.UsageError("--undo and --leave-incomplete exclude each other")
    store = open_store(state_path)
    try:
        record = store.get_run(run_id)
        registry = HOOKS.registry()
        playbook = parse_playbook(record.playbook_source, record.playbook_name, registry)
        # A run driven by a live process: its targets are in flight, and the lock refuses.
        items = [] if is_live(record) else incomplete_targets(store, record, playbook, registry)
        finished = record.state in ("completed", "failed", "aborted")
        if finished and not _finally_pending(store, record.id, playbook):
            hint = f"; its half-moved targets: scimrecon undo {record.id}" if items else ""
            raise RefusedError(f"run {record.id} is already {record.state}{hint}")
        for line in describe_incomplete(items, record.id, record.state)[:-1]:
            click.secho(line, fg="red", err=True)
        ui = HOOKS.interaction(assume_yes=yes)
        do_undo = _choose(ui, items, record, undo_first, leave_incomplete)
        what = " after undoing its half-moved targets" if do_undo else ""
        if not ui.confirm(f"Abort run {record.id} ({record.playbook}, {record.state}){what}?"):
            raise RefusedError("not confirmed: the run was left as it was")
        store.acquire(record.id, force=force)
        try:
            services = HOOKS.services(_state(ctx))
        except BaseException:
            store.release(record.id)
            raise
        if items and not do_undo:
            store.add_audit(
                record.id, "left-incomplete", f"{len(items)} target(s) left half-moved by abort"
            )
        options = _options(record.options)
        body = _AbortBody(store, record, playbook, registry, services, ui, options, do_undo)
        result = _drive(store, record.id, body)  # type: ignore[arg-type]
    finally:
        store.close()
    if body.undone is not None:
        _undo_report(body.undone, fmt="table")
    if result is None:  # the undo left someone half-moved inside the window: no finally
        assert body.undone is not None
        echo_incomplete(body.undone.left, record.id, record.state)
        raise RefusedError(
            f"run {record.id} was not aborted: its finally steps would resume provisioning "
            "over the targets above; fix them by hand and run "
            f"`scimrecon abort {record.id} --undo` again, or finish them (scimrecon resume "
            f"{record.id})"
        )
    _report(result, fmt)
    # an undo that failed or waits for the IdP says so in the exit code too, not only on screen
    ctx.exit(result.exit_code or (body.undone.exit_code if body.undone is not None else 0))


class _AbortBody:
    """What `abort` does holding the lock: the undo first (if chosen), then the finally steps."""

    def __init__(
        self,
        store: StateStore,
        record: RunRecord,
        playbook: Any,
        registry: Any,
        services: Any,
        ui: Any,
        options: RunOptions,
        do_undo: bool,
    ) -> None:
        self.args = (store, playbook, registry, services, ui)
        self.record = record
        self.options = options
        self.do_undo = do_undo
        self.undone: UndoResult | None = None

    def __call__(self) -> RunResult | None:
        store, playbook, registry, services, ui = self.args
        if self.do_undo:
            undoer = Undoer(store, playbook, registry, services, ui, UndoOptions())
            undoer.load(self.record.id)
            self.undone = undoer.execute()
            if self.undone.window_open or self.undone.state == "interrupted":
                return None
        runner = Runner(store, playbook, registry, services, ui, self.options)
        return runner.abort(self.record.id)


__all__ = ["abort", "next_commands", "undo"]
