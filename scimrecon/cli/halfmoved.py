"""What the commands say about half-moved targets, and the check that keeps a new run off them.

One place for the wording, so `status`, `report`, `run`, `resume`, `abort` and `undo` name the
same people the same way, with the command that works in the run's state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import click

from scimrecon.engine.action import ActionRegistry
from scimrecon.engine.incomplete import Incomplete, held_targets, next_commands
from scimrecon.engine.plan import Plan, PlanEntry
from scimrecon.engine.playbook import Playbook, parse_playbook
from scimrecon.engine.state import RunRecord, StateStore
from scimrecon.engine.targets import TargetList
from scimrecon.errors import ScimreconError

#: How many half-moved targets a message lists by name before it says "and N more".
SHOWN = 20


def describe_incomplete(items: list[Incomplete], run_id: str, run_state: str) -> list[str]:
    """Lines naming every half-moved target (up to SHOWN) and what to do about them."""
    if not items:
        return []
    lines = [f"{len(items)} target(s) of run {run_id} are INCOMPLETE (changed, not finished):"]
    for item in items[:SHOWN]:
        lines.append(f"  ! {item.key}: {item.what()}")
    if len(items) > SHOWN:
        lines.append(f"  ... and {len(items) - SHOWN} more (scimrecon status {run_id})")
    lines.append(f"  {next_commands(run_id, run_state)}")
    return lines


def echo_incomplete(items: list[Incomplete], run_id: str, run_state: str) -> None:
    for i, line in enumerate(describe_incomplete(items, run_id, run_state)):
        click.secho(line, fg="red", bold=i == 0, err=True)


def run_playbook(run: RunRecord, registry: ActionRegistry | None) -> Playbook | None:
    """A run's own playbook as it was run, or None when it cannot be read any more."""
    try:
        return parse_playbook(run.playbook_source, run.playbook_name, registry)
    except ScimreconError:
        try:
            return parse_playbook(run.playbook_source, run.playbook_name, None)
        except ScimreconError:
            return None


def held_by_other_runs(
    state_path: Path, store: StateStore | None, targets: TargetList, registry: ActionRegistry
) -> dict[str, str]:
    """Lower-cased key -> reason, for targets another run left half-moved (or is working on).

    Reads the state file without writing it: a plan or a dry run must not even migrate it.
    """
    keys = [t.key for t in targets.targets]
    if store is not None:
        return held_targets(store, keys, lambda r: run_playbook(r, registry), registry)
    if not state_path.is_file():
        return {}
    try:
        conn = sqlite3.connect(
            f"{state_path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        reader = StateStore(conn, state_path)
        try:
            return held_targets(reader, keys, lambda r: run_playbook(r, registry), registry)
        finally:
            reader.close()
    except sqlite3.DatabaseError:
        return {}  # not ours or damaged: `run` reports that when it opens the file


def without_held(targets: TargetList, held: dict[str, str]) -> TargetList:
    if not held:
        return targets
    kept = tuple(t for t in targets.targets if t.key.lower() not in held)
    return replace(targets, targets=kept)


def add_held_to_plan(plan: Plan, playbook: Playbook, targets: TargetList, held: dict[str, str]):
    """The held targets appear in the plan as skips at the first target step, in list order."""
    if not held:
        return plan
    first = next((s.id for s in playbook.steps if s.scope == "target"), "target")
    extra = [
        PlanEntry(t.key, first, "skip", f"skip: {held[t.key.lower()]}")
        for t in targets.targets
        if t.key.lower() in held
    ]
    plan.entries.extend(extra)
    plan.targets = len(targets)
    return plan


__all__ = [
    "add_held_to_plan",
    "describe_incomplete",
    "echo_incomplete",
    "held_by_other_runs",
    "run_playbook",
    "without_held",
]
