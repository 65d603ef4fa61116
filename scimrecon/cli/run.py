"""`plan`, `run`, `resume`, `abort`: the commands that drive the playbook engine.

The CLI is where the three independent parts meet: the engine (which never imports the step
library), the step library's `REGISTRY`, and the connectors' `Services`. All three are reached
through `HOOKS`, so tests (and the subprocess crash test) can run the real commands with a
test-only step library and no network at all.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click

from scimrecon.cli.halfmoved import (
    add_held_to_plan,
    echo_incomplete,
    held_by_other_runs,
    without_held,
)
from scimrecon.cli.interaction import ClickInteraction
from scimrecon.cli.main import CliState
from scimrecon.cli.outputs import OutputFile
from scimrecon.cli.playbooks import playbooks_dir_option
from scimrecon.cli.progress import current_progress, progress_for
from scimrecon.cli.render import table, to_json
from scimrecon.cli.status import open_store, state_option
from scimrecon.cli.terminal import fit_text
from scimrecon.engine import adopt
from scimrecon.engine.action import ActionRegistry, Interaction
from scimrecon.engine.incomplete import next_commands
from scimrecon.engine.plan import Plan, Planner, validate_params
from scimrecon.engine.plan_file import check_plan, read_plan, write_plan
from scimrecon.engine.playbook import Playbook, load_playbook
from scimrecon.engine.progress import NO_PROGRESS, ProgressListener
from scimrecon.engine.runner import Runner, RunOptions, RunResult, Terminated
from scimrecon.engine.state import StateStore
from scimrecon.engine.targets import DEFAULT_MAX_TARGETS, TargetList, load_targets
from scimrecon.errors import EXIT_TARGETS_FAILED, InputError, Interrupted, RefusedError

#: What is left after a Ctrl-C before a run has changed anything (planning only reads).
NOTHING_CHANGED = "interrupted (Ctrl-C) before the run started: nothing was changed"


def default_registry() -> ActionRegistry:
    """The step library's registry, or an empty one while the library has none yet."""
    try:
        from scimrecon.steps import REGISTRY
    except ImportError:
        return ActionRegistry()
    return REGISTRY if isinstance(REGISTRY, ActionRegistry) else ActionRegistry()


def default_services(state: CliState | None) -> Any:
    """The connectors over the profile (root --profile or the usual places) and env secrets."""
    from scimrecon.connectors.services import Services

    return Services.load(state.profile if state else None)


@dataclass
class EngineHooks:
    """What the commands build their engine from; tests replace these."""

    registry: Callable[[], ActionRegistry] = default_registry
    services: Callable[[CliState | None], Any] = default_services
    interaction: Callable[..., Interaction] = ClickInteraction


HOOKS = EngineHooks()


def _state(ctx: click.Context) -> CliState | None:
    obj = ctx.find_object(CliState)
    return obj if isinstance(obj, CliState) else None


@contextmanager
def ctrl_c_means(message: str) -> Iterator[None]:
    """A Ctrl-C in this block is exit 130 with `message`: what is (or is not) left changed."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(message) from None


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run like Ctrl-C: in-flight calls finish, everything is recorded."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- shared options --------------------------------------------------------------------------

targets_option = click.option(
    "--targets",
    "targets_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Target list: CSV with a header row, or JSON (a list of objects).",
)
param_option = click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a playbook parameter (repeatable; see `scimrecon playbooks show`).",
)
max_targets_option = click.option(
    "--max-targets",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_TARGETS,
    show_default=True,
    help="Refuse target lists longer than this.",
)
concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Targets worked on at the same time within a step.",
)
max_wait_option = click.option(
    "--max-wait",
    "max_wait_s",
    type=click.FloatRange(min=0),
    default=None,
    help="Poll a wait step for at most this many seconds before parking the run.",
)


@dataclass
class _Prepared:
    playbook: Playbook
    params: dict[str, Any]
    targets: TargetList
    registry: ActionRegistry
    #: Lower-cased key -> why: targets another run left half-moved; planned as skips.
    held: dict[str, str] | None = None


def _prepare(
    playbook_ref: str,
    targets_path: Path,
    raw_params: tuple[str, ...],
    max_targets: int,
    dirs: tuple[Path, ...],
) -> _Prepared:
    registry = HOOKS.registry()
    pb = load_playbook(playbook_ref, registry, dirs)
    params = pb.resolve_params(raw_params)
    validate_params(pb, registry, params)
    targets = load_targets(targets_path, columns=pb.columns, key=pb.key, max_targets=max_targets)
    return _Prepared(pb, params, targets, registry)


def _make_plan(
    prep: _Prepared,
    services: Any,
    concurrency: int,
    ui: Interaction,
    progress: ProgressListener = NO_PROGRESS,
) -> Plan:
    """The plan; targets another run left half-moved are skips, never looked up again (a
    look-up would misread them: no SCIM link, a parked email)."""
    held = prep.held or {}
    planner = Planner(
        prep.playbook, prep.registry, services, ui, concurrency=concurrency, progress=progress
    )
    result = planner.plan(prep.params, without_held(prep.targets, held))
    return add_held_to_plan(result, prep.playbook, prep.targets, held)


def render_plan(plan: Plan, *, full: bool) -> str:
    lines = [
        f"Plan: {plan.playbook} on {plan.targets} target(s) from {plan.targets_name}",
        "params: " + (", ".join(f"{k}={v!r}" for k, v in plan.params.items()) or "none"),
        "",
    ]
    if full:
        rows = [[e.target or "(run)", e.step, e.text] for e in plan.entries]
        lines += [table(rows, ["target", "step", "plan"]), ""]
    statuses = ["would", "done", "skip", "n/a", "error"]
    summary = plan.summary()
    rows = [[step, *[counts.get(s, 0) for s in statuses]] for step, counts in summary.items()]
    lines.append(table(rows, ["step", "would", "already done", "skip", "n/a", "error"]))
    lines.append(f"\nfingerprint: {plan.fingerprint}")
    return fit_text("\n".join(lines))


@click.command()
@click.argument("playbook")
@targets_option
@param_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--out",
    type=OutputFile(),
    help="Save the plan (JSON) for `run --plan`; it holds no secrets.",
)
@concurrency_option
@max_targets_option
@state_option
@playbooks_dir_option
@click.pass_context
def plan(
    ctx: click.Context,
    playbook: str,
    targets_path: Path,
    params: tuple[str, ...],
    fmt: str,
    out: Path | None,
    concurrency: int,
    max_targets: int,
    state_path: Path,
    playbook_dirs: tuple[Path, ...],
) -> None:
    """Show what a run would do, reading only (PLAYBOOK: id or .toml path).

    Targets that another run in the state file left half-moved are planned as skips.
    """
    with (
        ctrl_c_means("interrupted (Ctrl-C) while planning: nothing was changed"),
        progress_for(fmt) as shown,
    ):
        prep = _prepare(playbook, targets_path, params, max_targets, playbook_dirs)
        services = HOOKS.services(_state(ctx))  # a bad profile is the first thing to hear about
        prep.held = held_by_other_runs(state_path, None, prep.targets, prep.registry)
        ui = HOOKS.interaction(assume_yes=False)
        result = _make_plan(prep, services, concurrency, ui, shown)
    if out is not None:
        write_plan(result, out)
    if fmt == "json":
        click.echo(to_json(result.to_json()))
    else:
        click.echo(render_plan(result, full=True))
    errors = sum(1 for e in result.entries if e.status == "error")
    if errors:
        click.echo(
            f"warning: {errors} step(s) could not be checked or would fail; see 'cannot check' "
            "and 'would fail' in the plan",
            err=True,
        )
        ctx.exit(EXIT_TARGETS_FAILED)


def result_doc(result: RunResult) -> dict[str, Any]:
    """A run's outcome as `--format json` prints it (keys may be added, never renamed)."""
    return {
        "run": result.run_id,
        "state": result.state,
        "reason": result.reason,
        "exit_code": result.exit_code,
        "targets": result.targets,
        "failures": [{"key": k, "step": s, "reason": r} for k, s, r in result.failures],
        "left_changed": result.left_changed,
        "incomplete": [
            {"key": i.key, "state": i.state, "changed": [c.step for c in i.changes]}
            for i in result.incomplete
        ],
        "unrecorded": result.unrecorded,
    }


def _counts(result: RunResult) -> str:
    """The targets by state, the half-moved ones still "pending" counted as "incomplete" (as
    `status` does): a script reading this line must not take people left half-way for people
    not yet touched. A failed one stays "failed" (its line below says where)."""
    counts = dict(result.targets)
    for item in result.incomplete:
        if item.state == "pending" and counts.get("pending", 0) > 0:
            counts["pending"] -= 1
            counts["incomplete"] = counts.get("incomplete", 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if n)


def _report(result: RunResult, fmt: str) -> None:
    if fmt == "json":
        click.echo(to_json(result_doc(result)))
    else:
        click.echo(f"run {result.run_id} {result.state}: {_counts(result)}")
        if result.reason:
            click.echo(fit_text(f"reason: {result.reason}"))
        for key, step, reason in result.failures:  # no step: a run step stopped the target
            where = f" at {step}" if step else ""
            click.echo(fit_text(f"  failed {key}{where}: {reason}"))
    if result.unrecorded:
        click.secho(
            "\nNOT RECORDED in the state file (it could not be written); `scimrecon resume "
            f"{result.run_id}` checks each against the world once it can write again:",
            fg="red",
            bold=True,
            err=True,
        )
        for note in result.unrecorded:
            click.secho(f"  ! {note}", fg="red", err=True)
    if result.left_changed:
        click.secho("\nLEFT IN A CHANGED STATE:", fg="red", bold=True, err=True)
        for note in result.left_changed:
            click.secho(f"  ! {note}", fg="red", err=True)
        click.echo(
            "  "
            + next_commands(result.run_id, result.state, finally_pending=result.finally_pending),
            err=True,
        )
    if result.incomplete:
        click.echo("", err=True)
        echo_incomplete(result.incomplete, result.run_id, result.state)


def _drive(store: StateStore, run_id: str, action: Callable[[], RunResult]) -> RunResult:
    """Run `action` holding the run's lock; the lock is released whatever happens."""
    try:
        with _sigterm_as_interrupt():
            return action()
    finally:
        store.release(run_id)


@click.command()
@click.argument("playbook")
@targets_option
@click.option("--yes", is_flag=True, help="Answer yes to confirmations (never to manual steps).")
@click.option("--dry-run", is_flag=True, help="Plan only: no change, no state written.")
@concurrency_option
@click.option(
    "--max-fail-percent",
    type=click.FloatRange(0, 100),
    default=None,
    help="Abort the run (exit 4) when more than this share of targets has failed.",
)
@max_targets_option
@param_option
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Refuse (exit 4) unless the world still matches this saved plan.",
)
@max_wait_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@state_option
@playbooks_dir_option
@click.pass_context
def run(
    ctx: click.Context,
    playbook: str,
    targets_path: Path,
    yes: bool,
    dry_run: bool,
    concurrency: int,
    max_fail_percent: float | None,
    max_targets: int,
    params: tuple[str, ...],
    plan_path: Path | None,
    max_wait_s: float | None,
    fmt: str,
    state_path: Path,
    playbook_dirs: tuple[Path, ...],
) -> None:
    """Plan, confirm, then execute a playbook over a target list, checkpointing each step."""
    with ctrl_c_means(NOTHING_CHANGED):
        saved = (read_plan(plan_path), plan_path) if plan_path else None
        prep = _prepare(playbook, targets_path, params, max_targets, playbook_dirs)
        # The profile first (a bad one must leave no new state file behind), then open (and so
        # validate) the state file before any remote call, but never in a dry run.
        if not dry_run and state_path.exists():
            open_store(state_path).close()  # a damaged state file is the first thing to hear
        services = HOOKS.services(_state(ctx))
        store = None if dry_run else open_store(state_path, create=True)
        prep.held = held_by_other_runs(state_path, store, prep.targets, prep.registry)
    try:
        options = RunOptions(
            concurrency=concurrency, max_fail_percent=max_fail_percent, max_wait_s=max_wait_s
        )
        ui = HOOKS.interaction(assume_yes=yes)
        with progress_for(fmt):
            result = _plan_confirm_execute(
                prep, services, store, saved, ui, fmt, state_path, options
            )
    finally:
        if store is not None:
            store.close()
    if result is None:
        return
    _report(result, fmt)
    ctx.exit(result.exit_code)


def _plan_confirm_execute(
    prep: _Prepared,
    services: Any,
    store: StateStore | None,
    saved: tuple[dict[str, Any], Path] | None,
    ui: Interaction,
    fmt: str,
    state_path: Path,
    options: RunOptions,
) -> RunResult | None:
    """The body of `run`; `store` is None for a dry run (plan only, nothing written)."""
    with ctrl_c_means(NOTHING_CHANGED):
        current = _make_plan(prep, services, options.concurrency, ui, current_progress())
        if saved is not None:
            check_plan(saved[0], current, saved[1])
        click.echo(render_plan(current, full=store is None), err=fmt == "json")
        if store is None:
            click.echo("dry run: nothing was changed", err=True)
            return None
        pending = current.pending_steps()
        manual = [s.id for s in prep.playbook.steps if s.manual and s.id in pending]
        if manual and not getattr(ui, "interactive", True):
            raise RefusedError(
                f"step(s) {', '.join(manual)} are manual and need a person at a terminal "
                "(--yes never answers them); run interactively"
            )
        planned = time.monotonic()
        if not ui.confirm(f"Run {prep.playbook.id} on {len(prep.targets)} target(s)?"):
            raise RefusedError("not confirmed: nothing was changed")
    # A quick yes: the plan's reads are the run's (engine/adopt.py); a slow one: read again.
    fresh = time.monotonic() - planned <= adopt.FRESH_FOR_S
    if not fresh:
        services.forget_reads()
    run_id = store.create_run(
        playbook=prep.playbook.id,
        playbook_hash=prep.playbook.content_hash,
        playbook_name=prep.playbook.source_name,
        playbook_source=prep.playbook.source,
        params=prep.params,
        targets_name=prep.targets.name,
        targets_hash=prep.targets.digest,
        targets=[(t.key, t.row) for t in prep.targets.targets],
        options=options.__dict__,
    )
    if prep.held:
        held = [t.key for t in prep.targets.targets if t.key.lower() in prep.held]
        for key in held:
            store.set_target_state(run_id, [key], "skipped", prep.held[key.lower()])
        store.add_audit(run_id, "held", f"{len(held)} target(s) held by other runs: skipped")
    if fresh:
        adopt.adopt_plan_reads(store, run_id, current)
    # after the adopted reads, which record their targets as pending: this decides
    doomed = current.certain_failures()
    for key, why in doomed.items():
        store.set_target_state(
            run_id, [key], "skipped", f"not started: the plan shows {why}; nothing was changed"
        )
    if doomed:
        store.add_audit(run_id, "doomed", f"{len(doomed)} target(s) certain to fail: not started")
    click.echo(f"run {run_id} started (state: {state_path})", err=True)
    runner = Runner(
        store, prep.playbook, prep.registry, services, ui, options, progress=current_progress()
    )
    return _drive(store, run_id, lambda: runner.execute(run_id))


def _options(stored: dict[str, Any], **given: Any) -> RunOptions:
    merged = {**RunOptions().__dict__, **stored}
    merged.update({k: v for k, v in given.items() if v is not None})
    return RunOptions(**{k: merged[k] for k in RunOptions().__dict__})


def _finally_pending(store: StateStore, run_id: str, playbook: Playbook) -> bool:
    """A finished run may still be aborted while one of its finally steps never succeeded."""
    states = store.step_states(run_id)
    done = {
        step for (key, step), rec in states.items() if not key and rec.state in ("done", "skipped")
    }
    return any(step.id not in done for step in playbook.finally_steps)


__all__ = ["HOOKS", "EngineHooks", "InputError", "plan", "run"]
