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

from scimrecon.engine.action import ActionRegistry, Interaction, Skip
from scimrecon.engine.action import StepFailed as StepFailed
from scimrecon.engine.incomplete import UNFINISHED, Incomplete, incomplete_targets, target_changes
from scimrecon.engine.playbook import Playbook, Step
from scimrecon.engine.redact import redact
from scimrecon.engine.state import StateStore, StepRecord
from scimrecon.engine.stepexec import summarize
from scimrecon.engine.undo_plan import RUN_SCOPE, UndoPlanner
from scimrecon.errors import (
    EXIT_OK,
    EXIT_PARKED,
    EXIT_TARGETS_FAILED,
    CredentialsRefused,
    RefusedError,
    ScimreconError,
)

EXIT_INTERRUPTED = 130


@dataclass
class UndoOptions:
    #: How long this process polls reversals proven after the window closes (a re-push).
    max_wait_s: float = 120.0
    interval_s: float = 2.0


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


class Undoer(UndoPlanner):
    """Executes the undo of one run (this process holds the run's lock); plans it as its base
    class does (undo_plan.py)."""

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
        super().__init__(store, playbook, registry, services, ui)
        self.options = options or UndoOptions()
        self.clock = clock
        self.sleep = sleep
        #: Targets whose after-window reversal this process has applied (a push asked for).
        self._asked: set[str] = set()

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
        except ScimreconError as exc:  # refused (exit 4), a refused key, a window step's error
            result.state, result.reason, result.exit_code = "failed", exc.message, exc.exit_code
        except Exception as exc:  # never an undo left "running" with nothing said
            result.state, result.exit_code = "failed", EXIT_TARGETS_FAILED
            result.reason = f"unexpected {type(exc).__name__}: {exc}"
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
        """Targets of the run with a change whose reversal is not done and must come first: the
        ones this undo reverses, and the others only while they are themselves half-moved (a
        target the run finished is past the window; `undo --targets` of some people of a
        completed run must close it again, not wait for everyone else's undo)."""
        out = []
        for t in self.targets.values():
            if t.state in ("skipped", "undone"):
                continue
            if t.key not in self.selected and t.state not in UNFINISHED:
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
        except CredentialsRefused as exc:
            reason = redact(f"failed: {exc.message}")
            self._record(step, key, step.id, state="failed", attempts=attempts, error=reason,
                         outcome="failed", summary=reason)  # fmt: skip
            raise  # no other target's reversal can be made either: the undo stops
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


__all__ = ["UNFINISHED", "UndoOptions", "UndoResult", "Undoer"]
