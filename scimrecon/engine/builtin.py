"""Actions the engine itself provides, so a playbook can hold a purely manual step.

A step with `manual` instructions and no `action` runs `ManualAction`: the runner shows the
instructions and requires the typed confirmation (never answered by `--yes`); the action only
records when that happened. Its `check` cannot know whether a person did something outside the
tool, so it never claims the step is already done.
"""

from __future__ import annotations

from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, StepContext
from scimrecon.engine.playbook import MANUAL_ACTION
from scimrecon.engine.state import utc_now


class ManualAction(Action):
    name = MANUAL_ACTION
    supports_dry_run = True

    def describe(self, ctx: StepContext) -> str:
        text = str(ctx.step_options.get("instructions", "")).strip().splitlines()
        first = text[0] if text else "a manual step"
        return f"would ask you to: {first}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        return {f"{ctx.step_id}_confirmed_at": utc_now()}


def with_builtins(registry: ActionRegistry) -> ActionRegistry:
    """The registry plus the engine's own actions (a library's own `manual` wins)."""
    names = {name: registry.get(name) for name in registry.names()}
    names.setdefault(MANUAL_ACTION, ManualAction)
    return ActionRegistry(names)
