"""What a run left and what undoing it would do, read only: the planning half of `scimrecon undo`.

`undo RUN` without --yes shows this plan; undo.py's Undoer executes on top of the same reading
(which targets changed, which reversals are done, where the run-wide window stands), so the plan
and the execution can never disagree about the state they start from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, Interaction, Skip, StepContext
from scimrecon.engine.builtin import with_builtins
from scimrecon.engine.incomplete import changing_steps, target_changes
from scimrecon.engine.playbook import Playbook, Step
from scimrecon.engine.redact import redact
from scimrecon.engine.state import RunRecord, StateStore, StepRecord
from scimrecon.errors import RefusedError

RUN_SCOPE = ""


@dataclass(frozen=True)
class UndoEntry:
    target: str | None
    step: str
    status: str  # would | done | refuse | irreversible
    text: str


@dataclass
class UndoPlan:
    run_id: str
    entries: list[UndoEntry] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            if e.target is not None:
                out[e.status] = out.get(e.status, 0) + 1
        return out


class UndoPlanner:
    """Reads what one run left (steps done, reversals done, the window) and plans its undo."""

    def __init__(
        self,
        store: StateStore,
        playbook: Playbook,
        registry: ActionRegistry,
        services: Any,
        ui: Interaction,
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.registry = with_builtins(registry)
        self.services = services
        self.ui = ui
        self._actions: dict[str, Action] = {}

    # -- what the run left ----------------------------------------------------------------

    def load(self, run_id: str, keys: list[str] | None = None) -> RunRecord:
        run = self.store.get_run(run_id)
        self.run = run
        self.states = self.store.step_states(run.id)
        self.undo_states: dict[tuple[str, str], StepRecord] = self.store.undo_states(run.id)
        record = self.store.get_undo(run.id)
        self.undo_outputs: dict[str, Any] = dict(record.outputs) if record else {}
        self.targets = {t.key: t for t in self.store.targets(run.id)}
        self.changing = changing_steps(self.playbook, self.registry)
        wanted = None if keys is None else {k.lower() for k in keys}
        if wanted is not None:
            known = {k.lower() for k in self.targets}
            unknown = sorted(wanted - known)
            if unknown:
                raise RefusedError(
                    f"not a target of run {run.id}: {', '.join(unknown[:5])}"
                    + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                )
        self.selected = [
            key
            for key, t in self.targets.items()
            if t.state not in ("skipped", "undone")
            and (wanted is None or key.lower() in wanted)
            and target_changes(self.changing, self.states, key)
        ]
        self._window()
        return run

    def _action(self, step: Step) -> Action:
        if step.action not in self._actions:
            self._actions[step.action] = self.registry.get(step.action)()
        return self._actions[step.action]

    def _window(self) -> None:
        """The playbook's own run-scoped steps that open and close the run-wide window (the
        actions say which: `window = "open"` / `"close"`), if any reversal needs it."""
        self.opener: Step | None = None
        self.closers: list[Step] = []
        needs = any(
            s.action in self.registry
            and (
                self.registry.get(s.action).undo_in_window
                or self.registry.get(s.action).undo_after_window
            )
            for s in self.changing
        )
        if not needs:
            return

        def role(step: Step) -> str | None:
            if step.scope != "run" or step.action not in self.registry:
                return None
            return self.registry.get(step.action).window

        openers = [s for s in self.playbook.steps if role(s) == "open"]
        closers = [s for s in self.playbook.steps if role(s) == "close"]
        if openers and closers:
            self.opener = openers[0]
            self.closers = [closers[0]] + [
                s for s in self.playbook.finally_steps if s.action == closers[0].action
            ]

    def _run_state(self, step: Step) -> str | None:
        rec = self.states.get((RUN_SCOPE, step.id))
        return rec.state if rec else None

    def window_left_open(self) -> bool:
        """The run opened the window (paused provisioning) and nothing closed it since."""
        if self.opener is None or self._run_state(self.opener) not in ("done", "running"):
            return False
        if any(self._run_state(c) == "done" for c in self.closers):
            return False
        return not self._undo_done(f"close:{self.closers[0].id}")

    def _undo_window_open(self) -> bool:
        """This undo opened the window again and has not closed it yet."""
        if self.opener is None:
            return False
        opened = self.undo_states.get((RUN_SCOPE, f"open:{self.opener.id}"))
        started = opened is not None and opened.state in ("done", "running")
        return started and not self._undo_done(f"close:{self.closers[0].id}")

    def _undo_done(self, undo_id: str, key: str = RUN_SCOPE) -> bool:
        rec = self.undo_states.get((key, undo_id))
        return rec is not None and rec.state == "done"

    def _reversals(self, key: str) -> list[Step]:
        """The target's changed steps, last first; reversals proven after the window last."""
        changed = {c.step for c in target_changes(self.changing, self.states, key)}
        steps = [s for s in reversed(self.changing) if s.id in changed]
        later = [s for s in steps if self._after_window(s)]
        return [s for s in steps if not self._after_window(s)] + later

    def _after_window(self, step: Step) -> bool:
        return step.action in self.registry and self.registry.get(step.action).undo_after_window

    def _started_actions(self) -> frozenset[str]:
        started = set()
        for step in (*self.playbook.steps, *self.playbook.finally_steps):
            rec = self.states.get((RUN_SCOPE, step.id))
            if step.scope == "run" and rec is not None and rec.state in ("running", "done"):
                started.add(step.action)
        return frozenset(started)

    def _ctx(self, step: Step, key: str, *, undo_id: str | None = None) -> StepContext:
        """A step's context as the run left it. Run-scoped steps see the run's own outputs and
        started actions only while the run's window is still open (the undo closes the run's
        own pause); a window the undo opens again is the undo's alone."""
        t = self.targets.get(key)
        target = {**t.row, **t.outputs} if t is not None else {}
        rec = self.undo_states.get((key, undo_id or step.id))
        if key or self.window_left_open():
            run_outputs = {**self.run.outputs, **self.undo_outputs}
            started = self._started_actions()
        else:
            run_outputs = dict(self.undo_outputs)
            started = frozenset()
            if self.opener is not None and self._undo_window_open():
                started = frozenset({self.opener.action})
        return StepContext(
            run_id=self.run.id,
            step_id=step.id,
            params=self.run.params,
            services=self.services,
            ui=self.ui,
            target_key=key or None,
            target=target,
            step_options=dict(step.options),
            run_outputs=run_outputs,
            started_actions=started,
            settling=rec is not None and rec.state == "running",
            undoing=True,
        )

    # -- the plan -------------------------------------------------------------------------

    def plan(self) -> UndoPlan:
        """Read only: per target, each reversal in order; a target stops at its first refusal."""
        plan = UndoPlan(self.run.id, targets=list(self.selected))
        for key in self.selected:
            planned_change = False
            stop = next(
                (
                    (s, why)
                    for s in self._reversals(key)
                    if not self._undo_done(s.id, key)
                    and (why := self._cannot(self._action(s), self._ctx(s, key))) is not None
                ),
                None,
            )
            if stop is not None:
                plan.entries.append(UndoEntry(key, stop[0].id, "irreversible", stop[1]))
                continue
            for step in self._reversals(key):
                rec = self.undo_states.get((key, step.id))
                if rec is not None and rec.state == "done":
                    plan.entries.append(UndoEntry(key, step.id, "done", "already undone"))
                    continue
                action = self._action(step)
                ctx = self._ctx(step, key)
                why = self._cannot(action, ctx)
                if why is not None:
                    plan.entries.append(UndoEntry(key, step.id, "irreversible", why))
                    break
                try:
                    found = None
                    if not planned_change and not self._after_window(step):
                        found = action.undo_check(ctx)
                except Skip as skip:
                    plan.entries.append(UndoEntry(key, step.id, "refuse", f"refuse: {skip.reason}"))
                    break
                except Exception as exc:
                    text = f"cannot check: {getattr(exc, 'message', None) or exc}"
                    plan.entries.append(UndoEntry(key, step.id, "refuse", redact(text)))
                    break
                if found is not None:
                    plan.entries.append(UndoEntry(key, step.id, "done", "already undone"))
                    continue
                planned_change = True
                plan.entries.append(
                    UndoEntry(key, step.id, "would", redact(action.undo_describe(ctx)))
                )
        if self.opener is not None and plan.targets and self.window_left_open():
            plan.entries.append(
                UndoEntry(
                    None,
                    self.closers[0].id,
                    "would",
                    f"then close the window the run left open ({self.closers[0].id}: "
                    f"{self.closers[0].description or self.closers[0].action}), once "
                    "nobody is left half-moved inside it",
                )
            )
        return plan

    def _cannot(self, action: Action, ctx: StepContext) -> str | None:
        reason = action.irreversible(ctx)
        if reason:
            return f"irreversible: {reason}"
        if not action.has_undo():
            return f"irreversible: {action.name} has no undo"
        return None


__all__ = ["RUN_SCOPE", "UndoEntry", "UndoPlan", "UndoPlanner"]
