"""The rules a playbook step must follow given the action it names, checked when the playbook is
loaded (engine/playbook.py raises the first one broken, naming the file, the step and the field).

Apart from the file's own shape because these need the registry: what an action is (destructive,
read-only, needing the window) decides where a step may stand and how it must be flagged, so a
playbook written by hand cannot run an irreversible action quietly, start a change early, or park
an address while provisioning runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scimrecon.engine.action import ActionRegistry

if TYPE_CHECKING:
    from scimrecon.engine.playbook import Step

#: (the step's field at fault, what is wrong)
Problem = tuple[str, str]


def step_problem(
    step: Step, before: list[Step], registry: ActionRegistry | None, manual: str
) -> Problem | None:
    """The first rule `step` breaks, given the steps `before` it (None: it breaks none).
    Without a registry (listing playbooks) only `start_after`'s place is checked."""
    action = None
    if registry is not None and step.action != manual:
        if step.action not in registry:
            known = ", ".join(registry.names()) or "none registered"
            return "action", f"unknown action {step.action!r} ({known})"
        action = registry.get(step.action)
        if action.destructive and not step.destructive:
            # The flag decides what is confirmed and shown as DESTRUCTIVE: a playbook must not
            # be able to run an irreversible action quietly by leaving it out.
            return "destructive", (
                f"action {step.action!r} cannot simply be undone: set destructive = true"
            )
    if step.start_after is not None:
        found = _start_after_problem(step, before, registry)
        if found:
            return found
    if action is not None and action.needs_window and not _window_open(before, registry, step):
        return "action", (
            f"action {step.action!r} must run while provisioning is paused: place it after a "
            "step that pauses it (idp.pause) and before the one that resumes it"
        )
    return None


def _window_open(before: list[Step], registry: ActionRegistry | None, step: Step) -> bool:
    """Whether the steps before leave the window (provisioning paused) open for `step`."""
    if step.is_finally or registry is None:
        return False
    open_ = False
    for earlier in before:
        known = earlier.action in registry
        kind = getattr(registry.get(earlier.action), "window", None) if known else None
        if kind == "open":
            open_ = earlier.when is None  # a pause that may not run opens nothing for sure
        elif kind == "close":
            open_ = False
    return open_


def _start_after_problem(
    step: Step, before: list[Step], registry: ActionRegistry | None
) -> Problem | None:
    """`start_after` names a target step of the flow right before this run step (no run step
    in between), and the step only reads: it runs beside changes still being made."""
    flow: list[str] = []
    for earlier in reversed(before):
        if earlier.scope != "target":
            break
        flow.append(earlier.id)
    if step.start_after not in flow:
        return "start_after", (
            f"{step.start_after!r} is not a target step right before this one "
            f"(after the last run step): {', '.join(reversed(flow)) or 'none'}"
        )
    known = registry is not None and step.action in registry
    if known and not getattr(registry.get(step.action), "read_only", False):  # type: ignore[union-attr]
        return "start_after", f"action {step.action!r} changes the world: it cannot start early"
    return None
