"""`scimrecon undo RUN`: take a run's changes back, target by target, in reverse step order.

An undo is a *sub-run* of its run (decision 26): same run id, lock, targets and audit trail;
its own step states in `undo_states` and its own record in `undos`. So `status` shows a run and
its undo side by side, the lock that keeps two processes off a run keeps them off its undo too,
and `scimrecon undo RUN` again resumes an interrupted undo where it stopped.

The guarantees are the runner's, applied backwards:

1. Every reversal is an action's `undo_check` / `undo_apply`. Intent is committed before
   `undo_apply`; a reversal found `running` after a crash is settled by `undo_check`. So no
   reversal is repeated and none is lost.
2. Each reversal first checks that the world is still what the run left (`undo_check` raises
   Skip otherwise): a target whose later state the undo does not recognise is refused with the
   reason and left alone. Irreversible effects (`irreversible`) stop that target's undo, named.
3. The run-wide window (provisioning paused) is honoured: reversals that need it run inside it
   (opened again with the playbook's own opening step if the run had closed it), and it is
   closed again only when no target of the run is left half-moved inside it — closing it over
   a half-moved person is exactly what lets the IdP give them a second account. Reversals that
   are proven only once the window has closed (a re-push linking the old account again) come
   after the closing step and are polled like a wait step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, Interaction, Skip, StepContext
from scimrecon.engine.action import StepFailed as StepFailed
from scimrecon.engine.builtin import with_builtins
from scimrecon.engine.incomplete import (
    UNFINISHED,
    Incomplete,
    changing_steps,
    incomplete_targets,
    target_changes,
)
from scimrecon.engine.playbook import Playbook, Step
from scimrecon.engine.redact import redact
from scimrecon.engine.state import RunRecord, StateStore, StepRecord
from scimrecon.engine.stepexec import summarize
from scimrecon.errors import EXIT_OK, EXIT_PARKED, EXIT_REFUSED, EXIT_TARGETS_FAILED, RefusedError

RUN_SCOPE = ""
EXIT_INTERRUPTED = 130


@dataclass
class UndoOptions:
    #: How long this process polls reversals proven after the window closes (a re-push).
    max_wait_s: float = 120.0
    interval_s: float = 2.0


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


@dataclass
class UndoResult:
    run_id: str
    state: str  # completed | failed | parked | interrupted
    reason: str | None
    exit_code: int
    undone: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # key, step, reason
    waiting: list[str] = field(default_factory=list)
    left: list[Incomplete] = field(default_factory=list)
    window_open: bool = False


class Undoer:
    """Plans and executes the undo of one run (this process holds the run's lock to execute)."""

    def __init__(
        self,
        store: StateStore,
        playbook: Playbook,
        registry: ActionRegistry,
        services: Any,
        ui: Interaction,
        options: UndoOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.registry = with_builtins(registry)
        self.services = services
        self.ui = ui
        self.options = options or UndoOptions()
        self.clock = clock
        self.sleep = sleep
        self._actions: dict[str, Action] = {}
        #: Targets whose after-window reversal this process has applied (a push asked for).
        self._asked: set[str] = set()

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

    # -- execution ------------------------------------------------------------------------

    def execute(self) -> UndoResult:
        """Undo the selected targets (the caller holds the run's lock)."""
        run = self.run
        self.store.set_undo(
            run.id,
            "running",
            f"{len(self.selected)} target(s): {', '.join(self.selected[:5])}"
            + (" ..." if len(self.selected) > 5 else ""),
        )
        forget = getattr(self.services, "forget_reads", None)
        if callable(forget):
            forget()  # every reversal judges today's world, not a listing from the plan
        result = UndoResult(run.id, "running", None, EXIT_OK)
        try:
            self._execute(result)
        except KeyboardInterrupt:
            result.state, result.reason = "interrupted", "interrupted (Ctrl-C)"
            result.exit_code = EXIT_INTERRUPTED
        except RefusedError as exc:
            result.state, result.reason, result.exit_code = "failed", exc.message, EXIT_REFUSED
        result.left = self._still_incomplete()
        result.window_open = self.window_left_open() or self._undo_window_open()
        if result.state == "running":
            # Targets outside --targets still half-moved are named (result.left), not failures.
            if result.refused:
                result.state, result.exit_code = "failed", EXIT_TARGETS_FAILED
            elif result.waiting:
                result.state, result.exit_code = "parked", EXIT_PARKED
            else:
                result.state = "completed"
        if result.reason is None and result.state != "completed":
            parts = []
            if result.refused:
                parts.append(f"{len(result.refused)} target(s) could not be undone")
            if result.waiting:
                parts.append(f"{len(result.waiting)} target(s) wait for the IdP's push")
            if result.window_open:
                parts.append("the run's window (provisioning paused) stays open")
            result.reason = "; ".join(parts) or None
        self.store.set_undo(
            run.id, result.state, result.reason, finished=result.state in ("completed", "failed")
        )
        return result

    def _execute(self, result: UndoResult) -> None:
        inside = [k for k in self.selected if self._needs_window(k)]
        if inside and self.opener is not None and not self.window_left_open():
            self._run_step(self.opener, f"open:{self.opener.id}")
        ready: list[str] = []
        for key in self.selected:
            outcome = self._target(key, result, after_window=False)
            if outcome == "ok":
                ready.append(key)
        if self.window_left_open() or self._undo_window_open():
            blocked = self._half_moved_inside()
            if blocked:
                self.ui.info(
                    f"not closing {self.closers[0].id}: {len(blocked)} target(s) still "
                    f"half-moved inside it ({', '.join(blocked[:5])})"
                )
                return
            self._run_step(self.closers[0], f"close:{self.closers[0].id}")
        self._after(ready, result)

    def _needs_window(self, key: str) -> bool:
        return any(
            self.registry.get(s.action).undo_in_window
            for s in self._reversals(key)
            if s.action in self.registry
            and not ((rec := self.undo_states.get((key, s.id))) is not None and rec.state == "done")
        )

    def _half_moved_inside(self) -> list[str]:
        """Targets of the run with a change whose reversal is not done and must come first."""
        out = []
        for t in self.targets.values():
            if t.state in ("skipped", "undone"):
                continue
            for change in target_changes(self.changing, self.states, t.key):
                step = next(s for s in self.changing if s.id == change.step)
                rec = self.undo_states.get((t.key, step.id))
                if rec is not None and rec.state == "done":
                    continue
                later = self._after_window(step) and (
                    rec is None or rec.state not in ("refused", "failed")
                )
                if later and self._cannot(self._action(step), self._ctx(step, t.key)) is None:
                    continue  # proven once the window has closed: not a reason to keep it open
                out.append(t.key)
                break
        return out

    def _still_incomplete(self) -> list[Incomplete]:
        self.targets = {t.key: t for t in self.store.targets(self.run.id)}
        return incomplete_targets(self.store, self.run, self.playbook, self.registry)

    def _target(self, key: str, result: UndoResult, *, after_window: bool) -> str:
        """Reverse one target's steps (before or after the window); "ok", "stop" or "wait".

        An irreversible step anywhere in the target's chain stops it before anything of it is
        touched: half an undo is another half-moved state, not a way back.
        """
        if not after_window:
            for step in self._reversals(key):
                if self._undo_done(step.id, key):
                    continue
                why = self._cannot(self._action(step), self._ctx(step, key))
                if why is not None:
                    self._record(step, key, step.id, state="refused", error=why,
                                 outcome="refused", summary=why)  # fmt: skip
                    result.refused.append((key, step.id, why))
                    self.ui.info(f"undo {key}: {step.id}: {why}")
                    return "stop"
        for step in self._reversals(key):
            if self._after_window(step) != after_window:
                continue
            outcome, reason = self._reverse(step, key)
            if outcome == "done":
                continue
            if outcome == "waiting":
                return "wait"
            result.refused.append((key, step.id, reason))
            self.ui.info(f"undo {key}: {step.id}: {reason}")
            return "stop"
        if after_window or not any(self._after_window(s) for s in self._reversals(key)):
            self.store.set_target_state(
                self.run.id, [key], "undone", f"undone by scimrecon undo {self.run.id}"
            )
            result.undone.append(key)
        return "ok"

    def _after(self, keys: list[str], result: UndoResult) -> None:
        """Reversals proven after the window closed: apply once, then poll their check."""
        waiting = []
        for key in keys:
            if not any(self._after_window(s) for s in self._reversals(key)):
                continue
            if self._target(key, result, after_window=True) == "wait":
                waiting.append(key)
        end = self.clock() + self.options.max_wait_s
        while waiting and self.clock() + self.options.interval_s <= end:
            self.sleep(self.options.interval_s)
            still = []
            for key in waiting:
                if self._target(key, result, after_window=True) == "wait":
                    still.append(key)
            waiting = still
        result.waiting = waiting

    def _record(self, step: Step, key: str, undo_id: str, **kw: Any) -> None:
        self.store.record_undo(self.run.id, key, undo_id, action=step.action, **kw)
        old = self.undo_states.get((key, undo_id))
        self.undo_states[(key, undo_id)] = StepRecord(
            target=key,
            step=undo_id,
            state=kw["state"],
            attempts=kw.get("attempts") or (old.attempts if old else 0),
            outputs=kw.get("outputs"),
            error=kw.get("error"),
            started=None,
            finished=None,
            deadline=None,
        )

    def _reverse(self, step: Step, key: str) -> tuple[str, str]:
        """One reversal, checkpointed: ("done" | "waiting" | "refused" | "failed", reason)."""
        rec = self.undo_states.get((key, step.id))
        if rec is not None and rec.state == "done":
            return "done", ""
        action = self._action(step)
        ctx = self._ctx(step, key)
        why = self._cannot(action, ctx)
        if why is not None:
            self._record(step, key, step.id, state="refused", error=why, outcome="refused",
                         summary=why)  # fmt: skip
            return "refused", why
        attempts = rec.attempts if rec is not None else 0
        settling = rec is not None and rec.state in ("running", "waiting")
        try:
            try:
                found = action.undo_check(ctx)
            except Skip as skip:
                reason = redact(f"refused: {skip.reason}")
                self._record(step, key, step.id, state="refused", error=reason,
                             outcome="refused", summary=reason)  # fmt: skip
                return "refused", reason
            if found is not None:
                outcome = "settled" if settling else "already-undone"
                self._record(step, key, step.id, state="done", outputs=found, outcome=outcome,
                             summary=redact(summarize(found)))  # fmt: skip
                return "done", ""
            if settling and self._after_window(step) and key in self._asked:
                return "waiting", ""  # asked in this process already: poll, do not ask again
            attempts += 1
            self._record(step, key, step.id, state="running", attempts=attempts, outcome="started",
                         summary=redact(action.undo_describe(ctx)))  # fmt: skip
            outputs = action.undo_apply(ctx)
            if self._after_window(step):
                self._asked.add(key)
                found = action.undo_check(ctx)
                if found is None:
                    self._record(step, key, step.id, state="waiting", attempts=attempts)
                    return "waiting", ""
                outputs = {**(outputs or {}), **found}
            self._record(step, key, step.id, state="done", attempts=attempts,
                         outputs=outputs or {}, outcome="done",
                         summary=redact(summarize(outputs or {})))  # fmt: skip
            return "done", ""
        except Skip as skip:
            reason = redact(f"refused: {skip.reason}")
            self._record(step, key, step.id, state="refused", error=reason, outcome="refused",
                         summary=reason)  # fmt: skip
            return "refused", reason
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            reason = redact(f"failed: {message}")
            self._record(step, key, step.id, state="failed", attempts=attempts, error=reason,
                         outcome="failed", summary=reason)  # fmt: skip
            return "failed", reason

    def _run_step(self, step: Step, undo_id: str) -> None:
        """A run-scoped step run forward (open or close the window), checkpointed like any."""
        action = self._action(step)
        rec = self.undo_states.get((RUN_SCOPE, undo_id))
        if rec is not None and rec.state == "done":
            return
        ctx = self._ctx(step, RUN_SCOPE, undo_id=undo_id)
        attempts = rec.attempts if rec is not None else 0
        found = action.check(ctx)
        if found is None:
            attempts += 1
            self._record(step, RUN_SCOPE, undo_id, state="running", attempts=attempts,
                         outcome="started", summary=redact(action.describe(ctx)))  # fmt: skip
            self.ui.info(f"undo: {undo_id.split(':')[0]} the window: {step.id}")
            try:
                found = action.apply(ctx)
            except StepFailed as exc:
                self._record(step, RUN_SCOPE, undo_id, state="failed", attempts=attempts,
                             error=redact(exc.message), outcome="failed",
                             summary=redact(exc.message))  # fmt: skip
                raise RefusedError(f"undo: step {step.id} failed: {exc.message}") from None
        self.undo_outputs.update(found)
        self._record(step, RUN_SCOPE, undo_id, state="done", attempts=attempts, outputs=found,
                     undo_outputs=self.undo_outputs, outcome="done",
                     summary=redact(summarize(found)))  # fmt: skip


__all__ = ["UNFINISHED", "UndoEntry", "UndoOptions", "UndoPlan", "UndoResult", "Undoer"]
