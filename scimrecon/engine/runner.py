"""The runner: executes a playbook over its targets, checkpointing every step in the store.

The guarantees, in the order they matter:

1. Intent is committed before `apply`, the outputs and `done` after it. On resume a step found
   `running` is settled by `check()`, and `check()` also runs before every `apply`: a
   destructive call is never repeated when its effect is already there, and never lost.
2. Steps run in order for each target. A `target` step runs for every still-healthy target
   (bounded thread pool) before the next step starts, unless the next step declares `overlap`:
   then each target goes on to it as soon as its own step is done (engine/flow.py); a run step
   is always a barrier. A failed or skipped target stops there, the others go on.
3. Every call to an action happens on a worker thread; the main thread only schedules, serves
   prompts and handles Ctrl-C/SIGTERM. So an interrupt never cuts a remote call in half: the
   runner stops scheduling, lets in-flight calls finish, records them, and says loudly what is
   left changed (actions' `left_changed` hook).
4. `finally` steps run when a run completes, fails or is aborted, but not when it parks or is
   interrupted: a parked or interrupted run keeps its state for `resume`, and `abort` runs them.
5. When the state file cannot be written (disk full, read-only file system), nothing more is
   applied: a step whose intent cannot be recorded never runs. In-flight steps finish, the
   `finally` steps run all the same (provisioning must not stay paused for as long as the disk
   stays full), and the person is told loudly what could not be recorded. On `resume` the
   run-wide step the remaining steps rely on (the pause) is checked against the world first and
   done again if a `finally` step undid it (decision 29).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from scimrecon.engine.action import StepFailed as StepFailed
from scimrecon.engine.ending import Ending
from scimrecon.engine.flow import Flows
from scimrecon.engine.playbook import Step
from scimrecon.engine.runtypes import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from scimrecon.engine.runtypes import FINISHED, RUN_SCOPE, RunResult
from scimrecon.engine.runtypes import RunOptions as RunOptions
from scimrecon.engine.runtypes import Terminated as Terminated
from scimrecon.engine.state import StepRecord
from scimrecon.engine.stepexec import StepExecutor
from scimrecon.errors import RefusedError, StorageError


class Runner(Ending, Flows, StepExecutor):
    """Executes (or resumes, or aborts) one run of one playbook.

    The parts, one job each: `RunState` (runstate.py) holds the run's in-memory state,
    `Scheduler` (scheduler.py) the main thread and the worker pool, `Flows` (flow.py) targets
    going through overlapping steps each at its own pace, `StepExecutor`
    (stepexec.py) one checkpointed step for one target, `Ending` (ending.py) how a run ends.
    This class orders the steps of a run.
    """

    def _run_step(self, step: Step, pool: ThreadPoolExecutor) -> str | None:
        """One step for every target it concerns; a reason when the run cannot go on."""
        if step.scope == "run":
            rec = self.states.get((RUN_SCOPE, step.id))
            if rec is not None and rec.state in ("done", "skipped"):
                return None  # already behind us: waiting targets must not hold a resume here
            if any(s == "waiting" for s in self.tstate.values()):
                return "park"
            if rec is None and self.order and not step.is_finally and not self._healthy():
                # Every target has stopped: pausing provisioning (or anything else run-wide)
                # would only disturb the org for nobody's benefit.
                self._skipped(step, RUN_SCOPE, "no target left to work on")
                return None
            if step.confirm and rec is None and not self._confirmed(step, 1):
                return "stop"
            outcome = self._wave(step, [RUN_SCOPE], pool).get(RUN_SCOPE)
            if outcome == "waiting":
                self._poll(step, [RUN_SCOPE], pool)
                if self.states[(RUN_SCOPE, step.id)].state == "waiting":
                    return "park"
                outcome = self.states[(RUN_SCOPE, step.id)].state
            if outcome == "failed":
                error = self.states[(RUN_SCOPE, step.id)].error
                # The targets still in flight stop here, some half-way through: each says so.
                keys = self._healthy()
                reason = f"stopped: run step {step.id} failed ({error})"
                self.store.set_target_state(self.run_id, keys, "failed", reason)
                for k in keys:
                    self.tstate[k], self.treason[k] = "failed", reason
                return f"fail:step {step.id} failed: {error}"
            if outcome == "skipped":
                reason = self.states[(RUN_SCOPE, step.id)].error or "skipped"
                keys = self._healthy()
                self.store.set_target_state(self.run_id, keys, "skipped", reason)
                for k in keys:
                    self.tstate[k], self.treason[k] = "skipped", reason
            return None
        keys = [
            k
            for k in self.order
            if self.tstate[k] in ("pending", "waiting")
            and (self.tstate[k] == "pending" or (k, step.id) in self.states)
            and not (
                (rec := self.states.get((k, step.id))) is not None
                and rec.state in ("done", "skipped")
            )
        ]
        if not keys:
            return None
        if step.confirm:
            fresh = [k for k in keys if (k, step.id) not in self.states]
            if fresh and not self._confirmed(step, len(fresh)):
                return "stop"
        with self._print_lock:
            self.ui.info(f"step {step.id}: {len(keys)} target(s)")
        outcomes = self._wave(step, keys, pool)
        if step.wait is not None:
            self._poll(step, [k for k, o in outcomes.items() if o == "waiting"], pool)
        return None

    def execute(self, run_id: str) -> RunResult:
        """Run (or resume) `run_id`, which this process must already hold the lock of."""
        run = self._load(run_id)
        if run.state in FINISHED:
            hint = " (resume --retry-failed takes its failed targets up again)" * (
                run.state == "failed"
            )
            raise RefusedError(f"run {run.id} is {run.state}: nothing to resume{hint}")
        if run.state != "running":
            self.store.set_run_state(run.id, "running")
        self._reopen_window()
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            try:
                try:
                    stop = self._main(pool)
                except StorageError as exc:  # a write refused on this thread (between waves)
                    self._storage_failed(exc)
                    stop = "stop"
                try:
                    return self._finish(stop, pool)
                except StorageError as exc:  # refused while finishing: finish as a storage stop
                    self._storage_failed(exc)
                    return self._storage_stop(pool)
            except KeyboardInterrupt as exc:  # outside a wave: nothing in flight
                self._request_stop(exc)
                return self._finish("stop", pool)

    def _unfinished(self, step: Step) -> bool:
        """Whether `step` still has work: not behind the run, or behind some live target."""

        def behind(rec: StepRecord | None) -> bool:
            return rec is not None and rec.state in ("done", "skipped")

        if step.scope == "run":
            return not behind(self.states.get((RUN_SCOPE, step.id)))
        return any(
            self.tstate[k] in ("pending", "waiting") and not behind(self.states.get((k, step.id)))
            for k in self.order
        )

    def _reopen_window(self) -> None:
        """Before going on with a run, check that the run-wide step the next target steps rely
        on still holds, and do it again if not.

        The case it exists for: the state file filled up between `pause` and `resume`, the
        finally step resumed provisioning (rightly: the disk may stay full for hours), and the
        record of that was lost. Going on with `remove-scim` while provisioning is back on
        would let the IdP push people straight back onto their old accounts. So the latest
        done run-scoped step that changes the world (`pause`) is asked `check()`; when its
        effect is gone it goes back to `running` (settled, then applied, like any interrupted
        step) and the finally steps are made to run again at the end. It also covers a person
        resuming provisioning by hand while the run was interrupted. Only when the next step is
        a target step (a run step next settles itself) and nobody is waiting (a wait comes after
        the window closed); a fresh run has nothing behind it, so costs nothing.
        """
        if any(s == "waiting" for s in self.tstate.values()):
            return
        latest: Step | None = None
        for step in self.playbook.steps:
            if self._unfinished(step):
                if step.scope == "run":
                    return
                break
            if step.scope == "run" and not getattr(self._action(step), "read_only", False):
                latest = step
        else:
            return  # nothing left to do but finish
        rec = self.states.get((RUN_SCOPE, latest.id)) if latest is not None else None
        if latest is None or rec is None or rec.state != "done":
            return
        try:
            holds = self._action(latest).check(self._ctx(latest, RUN_SCOPE)) is not None
        except Exception:
            holds = False  # cannot tell: let the step settle itself, with its own errors
        if holds:
            return
        reopen = [latest] + [
            f
            for f in self.playbook.finally_steps
            if (rec := self.states.get((RUN_SCOPE, f.id))) is not None and rec.state == "done"
        ]
        for step in reopen:
            attempts = self.states[(RUN_SCOPE, step.id)].attempts
            self._record(
                step,
                RUN_SCOPE,
                state="running",
                attempts=attempts,
                outcome="reopened",
                summary="its effect is gone (a finally step undid it when the run stopped); "
                "settled again before the run goes on",
            )
            self._set(step, RUN_SCOPE, "running", attempts=attempts)

    def _main(self, pool: ThreadPoolExecutor) -> str | None:
        index = 0
        while index < len(self.playbook.steps):
            if self._stop.is_set():
                return "stop"
            if not self._healthy() and not any(s == "waiting" for s in self.tstate.values()):
                return None
            segment = self._segment(index)
            if len(segment) > 1:
                after = self.playbook.steps[index + len(segment) : index + len(segment) + 1]
                stop = self._run_flow(segment, pool, after[0] if after else None)
            else:
                stop = self._run_step(segment[0], pool)
            if stop is not None:
                return stop
            index += len(segment)
        return "stop" if self._stop.is_set() else None
