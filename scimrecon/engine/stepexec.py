"""One step for one target, on a worker thread: check, record the intent, apply, record the
result. Intent is committed before `apply`, the outputs and `done` after it; `check()` runs
before every `apply` and settles a step found `running` on resume, so a destructive call is
never repeated when its effect is already there, and never lost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from scimrecon.engine.action import Skip, StepFailed
from scimrecon.engine.expr import NOT_APPLICABLE
from scimrecon.engine.playbook import Step
from scimrecon.engine.prompts import render_instructions
from scimrecon.engine.redact import redact
from scimrecon.engine.runstate import RunState
from scimrecon.engine.state import StepRecord, iso
from scimrecon.errors import CredentialsRefused, RefusedError, StorageError


class StepExecutor(RunState):
    """Runs and checkpoints single steps; relies on the scheduler's `_request_stop`."""

    def _record(self, step: Step, key: str, **kw: Any) -> None:
        """One checkpoint. When the state file refuses it, the run stops; what had happened
        (anything but a recorded intent) is noted for the person. Only the finally steps that
        run after the failure go on unrecorded: a step never starts without its intent."""
        try:
            self.store.record(self.run_id, key, step.id, action=step.action, **kw)
        except StorageError as exc:
            self._storage_failed(exc)
            state = kw.get("state")
            if state != "running":
                who = f" for {key}" if key else ""
                kind = "finally step" if step.is_finally else "step"
                self._note_unrecorded(f"{kind} {step.id}{who}: {state}")
            if not (self._degraded and step.is_finally):
                raise

    def _storage_failed(self, exc: StorageError) -> None:
        with self._notes_lock:
            first = self._storage is None
            if first:
                self._storage = exc
        if first:
            with self._print_lock:
                self.ui.info(f"error: {exc.message}")
            self._request_stop(None, kind="storage", reason=exc.message)

    def _note_unrecorded(self, note: str) -> None:
        with self._notes_lock:
            if note not in self._unrecorded:
                self._unrecorded.append(note)

    def _do_step(self, step: Step, key: str) -> str:
        rec = self.states.get((key, step.id))
        finished = ("done", "skipped") if step.is_finally else ("done", "skipped", "failed")
        if rec is not None and rec.state in finished:
            return rec.state  # a failed finally step is tried again: it is the way back
        ctx = self._ctx(step, key)
        if step.when is not None and not step.when.holds(self.params, ctx.target, self.run_outputs):
            why = (
                f"not applicable: {step.when.why_false(self.params, ctx.target, self.run_outputs)}"
            )
            self._set(step, key, "skipped")
            self._record(step, key, state="skipped", error=why, outcome=NOT_APPLICABLE, summary=why)
            return "not-applicable"
        action = self._action(step)
        attempts = rec.attempts if rec is not None else 0
        waiting = rec is not None and rec.state == "waiting"
        settling = rec is not None and rec.state == "running"
        # A step never started for this target, of an action whose apply is safe on a done
        # world, goes straight to its intent (Action.check_first_time).
        first_unchecked = rec is None and step.wait is None and not action.check_first_time
        tries = 0
        while True:
            tries += 1
            ctx.memo.clear()
            try:
                try:
                    found = None if first_unchecked and tries == 1 else action.check(ctx)
                except Skip as skip:
                    return self._skipped(step, key, skip.reason)
                if found is not None:
                    outcome = "settled" if settling else "already-done" if not waiting else "done"
                    return self._done(step, key, found, attempts, outcome)
                if step.wait is not None:
                    return self._waiting(step, key, rec)
                attempts += 1
                self._set(step, key, "running")
                self._record(step, key, state="running", attempts=attempts)
                if step.manual:
                    ctx.ui.manual(render_instructions(step.manual, ctx), step.expect)
                try:
                    outputs = action.apply(ctx)
                except Skip as skip:
                    return self._skipped(step, key, skip.reason)
                return self._done(step, key, outputs or {}, attempts, "done")
            except StepFailed as exc:
                return self._failed(step, key, exc.message, attempts)
            except StorageError:
                raise  # not the step's failure: the run stops (see _task)
            except (RefusedError, CredentialsRefused) as exc:
                # the world is not in a state this run may touch, or no call can be made
                self._request_stop(None, kind="refused", reason=exc.message)
                return "stopped"
            except Exception as exc:
                if tries < step.retry.attempts and not self._stop.is_set():
                    time.sleep(step.retry.backoff_s * 2 ** (tries - 1))
                    settling = True
                    continue
                # The call may have taken effect before the error (a lost answer, then a retry
                # that found the work done): ask the world before calling it a failure.
                ctx.memo.clear()
                try:
                    found = action.check(ctx)
                except Exception:
                    found = None
                if found is not None:
                    return self._done(step, key, found, attempts, "settled")
                return self._failed(step, key, f"{type(exc).__name__}: {exc}", attempts)

    def _done(
        self, step: Step, key: str, outputs: Mapping[str, Any], attempts: int, outcome: str
    ) -> str:
        outputs = dict(outputs)
        if key:
            merged = {**self.outputs[key], **outputs}
            judge = not step.is_finally
            self._record(
                step,
                key,
                state="done",
                attempts=attempts,
                outputs=outputs,
                target_outputs=merged,
                target_state="pending" if judge else None,
                outcome=outcome,
                summary=redact(summarize(outputs)),
            )
            self.outputs[key] = merged
            if judge:
                self.tstate[key], self.treason[key] = "pending", None
        else:
            merged = {**self.run_outputs, **outputs}
            self._record(
                step,
                key,
                state="done",
                attempts=attempts,
                outputs=outputs,
                run_outputs=merged,
                outcome=outcome,
                summary=redact(summarize(outputs)),
            )
            self.run_outputs.clear()
            self.run_outputs.update(merged)
        self._set(step, key, "done", attempts=attempts, outputs=outputs)
        return "done"

    def _settle(
        self,
        step: Step,
        key: str,
        state: str,
        reason: str,
        *,
        target_reason: str | None = None,
        attempts: int | None = None,
        deadline: float | None = None,
    ) -> str:
        """Record a step ending in `state` (one checkpoint) and, for a target's own step, judge
        the target: skipped, failed and waiting are the same bookkeeping with other words."""
        judge = bool(key) and not step.is_finally
        target_reason = target_reason or reason
        error = None if state == "waiting" else reason
        kept = {} if deadline is None else {"deadline": deadline}
        self._record(
            step,
            key,
            state=state,
            attempts=attempts,
            error=error,
            target_state=state if judge else None,
            target_reason=target_reason,
            outcome=state,
            summary=reason,
            **kept,
        )
        self._set(step, key, state, error=error, **kept)
        if judge:
            self.tstate[key], self.treason[key] = state, target_reason
        return state

    def _skipped(self, step: Step, key: str, reason: str) -> str:
        return self._settle(step, key, "skipped", redact(reason))

    def _failed(self, step: Step, key: str, message: str, attempts: int) -> str:
        reason = redact(message)
        outcome = self._settle(
            step, key, "failed", reason, target_reason=f"{step.id}: {reason}", attempts=attempts
        )
        if key and not step.is_finally:
            self.fstep[key] = step.id
        return outcome

    def _waiting(self, step: Step, key: str, rec: StepRecord | None) -> str:
        assert step.wait is not None
        now = self.clock()
        if rec is not None and rec.deadline is not None:
            deadline = rec.deadline
            if now > deadline:
                return self._failed(
                    step,
                    key,
                    f"gave up waiting: the deadline {iso(deadline)} passed "
                    f"(wait timeout {step.wait.deadline_after(self.params):g} s)",
                    rec.attempts,
                )
            return "waiting"
        deadline = now + step.wait.deadline_after(self.params)
        reason = f"waiting at {step.id} until {iso(deadline)}"
        return self._settle(step, key, "waiting", reason, deadline=deadline)


def summarize(outputs: Mapping[str, Any]) -> str:
    """The outputs as the audit log shows them; a time (`*_at`, epoch seconds) as ISO 8601."""
    if not outputs:
        return "ok"

    def shown(k: str, v: Any) -> Any:
        epoch = k.endswith("_at") and isinstance(v, int | float) and not isinstance(v, bool)
        return iso(v) if epoch else v

    return ", ".join(f"{k}={shown(k, v)}" for k, v in sorted(outputs.items()))
