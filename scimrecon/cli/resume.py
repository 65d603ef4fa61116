"""`resume`: carry on with a parked or interrupted run, or (`--all`) with every parked run.

`--all` is for cron and systemd timers. A parked run is waiting for something outside the tool
(a notice period, an IdP's cycle, a first login). Only the run's own wait steps can tell
whether that has happened, so every parked run is resumed and its waits are checked once
(`--max-wait 0`): a run whose wait is not over parks again at once, without sleeping, so a
timer every hour costs one read per waiting target. Each run is resumed on its own: one that
cannot be (locked by a process still driving it, a playbook that no longer loads) is reported
and the others go on (decision 86).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from scimrecon.cli.halfmoved import run_playbook
from scimrecon.cli.progress import progress_for
from scimrecon.cli.render import to_json
from scimrecon.cli.run import (
    HOOKS,
    _drive,
    _options,
    _report,
    _state,
    ctrl_c_means,
    max_wait_option,
    result_doc,
)
from scimrecon.cli.status import open_store, state_option
from scimrecon.engine.incomplete import UNFINISHED, incomplete_targets
from scimrecon.engine.playbook import parse_playbook
from scimrecon.engine.runner import EXIT_INTERRUPTED, Runner, RunResult
from scimrecon.engine.state import RunRecord, StateStore
from scimrecon.errors import EXIT_OK, EXIT_PARKED, InputError, RefusedError, ScimreconError


@click.command()
@click.argument("run_id", required=False)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Resume every parked run in the state file, each polling its waits once "
    "(--max-wait 0 unless given); for cron and systemd timers.",
)
@click.option("--yes", is_flag=True, help="Answer yes to confirmations (never to manual steps).")
@click.option(
    "--force",
    is_flag=True,
    help="Take over a run locked from another host (a crash here needs no --force).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Default: as run.")
@click.option("--max-fail-percent", type=click.FloatRange(0, 100), default=None)
@max_wait_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Put failed targets back in flight: each failed step is settled by its check first.",
)
@state_option
@click.pass_context
def resume(
    ctx: click.Context,
    run_id: str | None,
    every: bool,
    yes: bool,
    force: bool,
    retry_failed: bool,
    concurrency: int | None,
    max_fail_percent: float | None,
    max_wait_s: float | None,
    fmt: str,
    state_path: Path,
) -> None:
    """Carry on with a parked or interrupted run where it stopped (RUN_ID), or with every
    parked run (--all).

    --all exits 0 when every run finished or parked again, 1 when a run ended with failed
    targets, 4 when a run could not be resumed (locked by a live process, refused). With
    --format json it prints one document: {"runs": [...], "not_resumed": [...], "exit_code"}.
    """
    if every and (run_id or retry_failed or force):
        raise InputError("resume --all takes no RUN_ID, --retry-failed or --force")
    if not every and not run_id:
        raise InputError("resume needs a RUN_ID (see `scimrecon runs`) or --all")
    if every and not state_path.exists():  # a timer set up before the first run
        ctx.exit(resume_parked([], _never, fmt, state_path))
    label = "the parked runs" if every else f"run {run_id}"
    with ctrl_c_means(f"interrupted (Ctrl-C): {label} left as they were"):
        store = open_store(state_path)
    try:

        def one(record: RunRecord) -> RunResult:
            return _resume_record(
                ctx,
                store,
                record,
                yes=yes,
                force=force,
                retry_failed=retry_failed,
                options=dict(
                    concurrency=concurrency,
                    max_fail_percent=max_fail_percent,
                    max_wait_s=0.0 if every and max_wait_s is None else max_wait_s,
                ),
            )

        if every:
            parked = [r for r in store.list_runs() if r.state == "parked"]
            code = resume_parked(parked, one, fmt, store.path)
        else:
            result = one(store.get_run(str(run_id)))
    finally:
        store.close()
    if every:
        ctx.exit(code)
    _report(result, fmt)
    ctx.exit(result.exit_code)


def _never(record: RunRecord) -> RunResult:
    raise AssertionError(f"run {record.id}: there is no state file to resume it from")


def _resume_record(
    ctx: click.Context,
    store: StateStore,
    record: RunRecord,
    *,
    yes: bool,
    force: bool,
    retry_failed: bool,
    options: dict[str, Any],
) -> RunResult:
    """Resume one run: refuse a finished one (with the command that works), take its lock,
    and execute it with its stored options (`options` overrides those given)."""
    undo = store.get_undo(record.id)
    if undo is not None and undo.state not in ("completed", "failed"):
        raise RefusedError(
            f"run {record.id} has an undo that has not ended ({undo.state}): the two would "
            f"fight over the provisioning pause; finish the undo first: scimrecon undo {record.id}"
            f" (scimrecon abort {record.id} --undo for a run that has not ended)"
        )
    taken_back = _undone_in_part(store, record)
    if taken_back:
        raise RefusedError(
            f"run {record.id}: {len(taken_back)} target(s) it would go on with were undone in "
            f"part ({', '.join(taken_back[:3])}{', ...' if len(taken_back) > 3 else ''}): going "
            "on would build on changes already taken back; finish their undo: scimrecon undo "
            f"{record.id} --targets FILE (a list of them)"
        )
    retrying = retry_failed and record.state not in ("completed", "aborted")
    if record.state in ("completed", "failed", "aborted") and not retrying:
        hint = ""
        if record.state == "failed":
            hint = (
                f" (scimrecon resume {record.id} --retry-failed takes its failed targets up again)"
            )
        elif _has_incomplete(store, record):
            hint = f"; its half-moved targets: scimrecon undo {record.id}"
        raise RefusedError(f"run {record.id} is {record.state}: nothing to resume{hint}")
    registry = HOOKS.registry()
    playbook = parse_playbook(record.playbook_source, record.playbook_name, registry)
    store.acquire(record.id, force=force)
    if retrying:
        rerun = [
            step.id
            for step in (*playbook.steps, *playbook.finally_steps)
            if step.scope == "run"
            and (step.action not in registry or not registry.get(step.action).read_only)
        ]
        store.retry_failed(record.id, rerun)
    run_options = _options(record.options, **options)
    try:
        services = HOOKS.services(_state(ctx))
        ui = HOOKS.interaction(assume_yes=yes)
    except BaseException:
        store.release(record.id)
        raise
    with progress_for() as shown:  # the command's own --format decides, as for `run`
        runner = Runner(store, playbook, registry, services, ui, run_options, progress=shown)
        return _drive(store, record.id, lambda: runner.execute(record.id))


def _undone_in_part(store: StateStore, record: RunRecord) -> list[str]:
    """Targets a resume would go on with (not finished) on which an undo has already acted:
    an undo of other targets (`undo --targets`) leaves the rest free to resume."""
    undo = store.undo_states(record.id)
    # a refused reversal touched nothing (it is refused before any call): that target is free
    touched = {key for (key, _), rec in undo.items() if key and rec.state != "refused"}
    return [t.key for t in store.targets(record.id) if t.key in touched and t.state in UNFINISHED]


def _has_incomplete(store: StateStore, record: RunRecord) -> bool:
    registry = HOOKS.registry()
    playbook = run_playbook(record, registry)
    return playbook is not None and bool(incomplete_targets(store, record, playbook, registry))


def resume_parked(
    parked: list[RunRecord], resume_one: Callable[[RunRecord], RunResult], fmt: str, where: Path
) -> int:
    """Resume each parked run in id order; the exit code is the worst outcome, where parking
    again counts as success (a timer's normal case, not something to mail anyone about).
    `--format json` prints one document at the end: `{"runs": [<as resume RUN prints>, ...],
    "not_resumed": [{"run", "reason"}], "exit_code"}`.
    """
    worst = EXIT_OK
    docs: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for record in parked:
        click.echo(f"resuming run {record.id} ({record.playbook})", err=True)
        try:
            result = resume_one(record)
        except ScimreconError as exc:
            click.echo(f"run {record.id} not resumed: {exc.message}", err=True)
            skipped.append({"run": record.id, "reason": exc.message})
            worst = max(worst, exc.exit_code)
            continue
        if fmt == "json":
            docs.append(result_doc(result))
        else:
            _report(result, fmt)
        worst = max(worst, EXIT_OK if result.exit_code == EXIT_PARKED else result.exit_code)
        if _stopped_by_signal(result):  # Ctrl-C or SIGTERM: the person wants it all to stop
            break
    if fmt == "json":
        click.echo(to_json({"runs": docs, "not_resumed": skipped, "exit_code": worst}))
    elif not parked:
        click.echo(f"no parked runs in {where}")
    return worst


def _stopped_by_signal(result: RunResult) -> bool:
    """A run interrupted by Ctrl-C or SIGTERM, not one that stopped on its own (a manual step
    with nobody to answer it): only the former stops the runs after it."""
    if result.state != "interrupted":
        return False
    reason = result.reason or ""
    return result.exit_code == EXIT_INTERRUPTED or reason.startswith("terminated (SIGTERM)")


__all__ = ["resume", "resume_parked"]
