"""Who is half-moved: targets whose changes are in place but unfinished, and what to do next.

A target is *incomplete* when a step of it that changes the world has been done (or started:
its intent is recorded, the outcome unknown) while the target itself is neither done, skipped
nor undone. Such a person is in a state nobody chose: in `reprovision`, no SCIM link and a
parked email, so the IdP's next push gives them a second account while the old one keeps the
licence and the tickets. Every command that can meet one says so, with the command that works
in the run's state (`next_commands`), never one that answers "nothing to resume".

Pure functions over the store and the playbook: the CLI, the runner's report and the undo use
the same answers.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from scimrecon.engine.action import ActionRegistry
from scimrecon.engine.playbook import Playbook, Step
from scimrecon.engine.state import RunRecord, StateStore, StepRecord, pid_alive

#: Target states in which a target with changes is half-moved.
UNFINISHED = ("pending", "failed", "waiting")


@dataclass(frozen=True)
class Change:
    step: str
    state: str  # "done", or "running": started, maybe done

    def words(self) -> str:
        return f"{self.step} {'done' if self.state == 'done' else 'started'}"


@dataclass(frozen=True)
class Incomplete:
    key: str
    state: str  # the recorded target state: pending, failed or waiting
    reason: str | None
    changes: tuple[Change, ...]

    def what(self) -> str:
        """`remove-scim done, park-email started`."""
        return ", ".join(c.words() for c in self.changes)


def changing_steps(playbook: Playbook, registry: ActionRegistry | None) -> list[Step]:
    """The target steps that change the world, in playbook order.

    The playbook's own `destructive` flag always counts (the loader requires it on destructive
    actions); with the step library at hand, so does every action with an effect (moving
    tickets, creating an account) — look-ups and pure waits do not.
    """
    out = []
    for step in (*playbook.steps, *playbook.finally_steps):
        if step.scope != "target" or step.is_finally:
            continue
        effect = step.destructive
        if not effect and registry is not None and step.action in registry:
            cls = registry.get(step.action)
            effect = cls.has_effect and not cls.read_only
        if effect:
            out.append(step)
    return out


def target_changes(
    steps: Iterable[Step],
    states: Mapping[tuple[str, str], StepRecord],
    key: str,
    undone: Mapping[tuple[str, str], StepRecord] | None = None,
) -> tuple[Change, ...]:
    """The target's steps that changed the world and stand: done (or started), and not taken
    back by an undo since (`undone`: the undo's own step records)."""
    found = []
    for step in steps:
        rec = states.get((key, step.id))
        back = (undone or {}).get((key, step.id))
        if back is not None and back.state == "done":
            continue
        if rec is not None and rec.state in ("done", "running"):
            found.append(Change(step.id, rec.state))
    return tuple(found)


def incomplete_targets(
    store: StateStore, run: RunRecord, playbook: Playbook, registry: ActionRegistry | None
) -> list[Incomplete]:
    steps = changing_steps(playbook, registry)
    states = store.step_states(run.id)
    undone = store.undo_states(run.id)
    out = []
    for t in store.targets(run.id):
        if t.state not in UNFINISHED:
            continue
        changes = target_changes(steps, states, t.key, undone)
        if changes:
            out.append(Incomplete(t.key, t.state, t.reason, changes))
    return out


def is_live(run: RunRecord) -> bool:
    """A process on this host is driving the run right now (its targets are in flight)."""
    return run.state == "running" and held_here(run)


def held_here(run: RunRecord) -> bool:
    """A live process on this host holds the run (driving it, or any command that took it)."""
    return (
        run.lock_pid is not None
        and run.lock_host == socket.gethostname()
        and pid_alive(run.lock_pid)
    )


def next_commands(run_id: str, run_state: str, *, finally_pending: bool = False) -> str:
    """The commands that work on a run in `run_state`, for any "left changed" message."""
    if run_state in ("running", "interrupted", "parked"):
        return (
            f"finish them: scimrecon resume {run_id}; or undo them: scimrecon abort {run_id} --undo"
        )
    if run_state == "failed":
        text = (
            f"finish them: scimrecon resume {run_id} --retry-failed; "
            f"or undo them: scimrecon undo {run_id}"
        )
        if finally_pending:
            text += f"; finally steps only: scimrecon abort {run_id}"
        return text
    text = f"undo them: scimrecon undo {run_id}"
    if finally_pending:
        text += f"; finally steps only: scimrecon abort {run_id}"
    return text


def held_reason(run_id: str, run_state: str, changes: Iterable[Change]) -> str:
    """Why a new run skips a target another run left half-moved (the message a person sees)."""
    what = ", ".join(c.words() for c in changes)
    if run_state in ("running", "interrupted", "parked"):
        how = f"resume {run_id} or abort {run_id} --undo"
    elif run_state == "failed":
        how = f"resume --retry-failed {run_id} or undo {run_id}"
    else:
        how = f"undo {run_id}"
    return f"held by run {run_id} (incomplete: {what}): {how}"


__all__ = [
    "UNFINISHED",
    "Change",
    "Incomplete",
    "changing_steps",
    "held_reason",
    "held_targets",
    "incomplete_targets",
    "is_live",
    "next_commands",
    "target_changes",
]


def held_targets(
    store: StateStore,
    keys: Iterable[str],
    parse: Callable[[RunRecord], Playbook | None],
    registry: ActionRegistry | None,
) -> dict[str, str]:
    """Lower-cased key -> why a new run must leave it alone: another run left it half-moved.

    `parse` gives a run's own playbook (None when it cannot be read: then its destructive
    flags are unknown and any recorded step of the target counts, the cautious reading).
    """
    held: dict[str, str] = {}
    runs: dict[str, tuple[RunRecord, Playbook | None, dict[tuple[str, str], StepRecord]]] = {}
    for run_id, key, tstate, _ in store.target_runs(list(keys)):
        low = key.lower()
        if low in held or tstate not in UNFINISHED:
            continue
        if run_id not in runs:
            run = store.get_run(run_id)
            runs[run_id] = (run, parse(run), store.step_states(run_id))
        run, playbook, states = runs[run_id]
        if playbook is not None:
            changes = target_changes(changing_steps(playbook, registry), states, key)
        else:
            changes = tuple(
                Change(step, rec.state)
                for (k, step), rec in states.items()
                if k == key and rec.state in ("done", "running")
            )
        if changes:
            held[low] = held_reason(run.id, run.state, changes)
        elif is_live(run):
            held[low] = f"held by run {run.id} (in progress: pid {run.lock_pid})"
    return held
