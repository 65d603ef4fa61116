"""The runner: executes a playbook over its targets, checkpointing every step in the store.

The guarantees, in the order they matter:

1. Intent is committed before `apply`, the outputs and `done` after it. On resume a step found
   `running` is settled by `check()`, and `check()` also runs before every `apply`: a
   destructive call is never repeated when its effect is already there, and never lost.
2. Steps run in order. A `target` step runs for every still-healthy target (bounded thread
   pool) before the next step starts; a failed or skipped target stops there, the others go on.
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

import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, Interaction, Skip, StepContext
from scimrecon.engine.action import StepFailed as StepFailed
from scimrecon.engine.builtin import with_builtins
from scimrecon.engine.incomplete import Incomplete, incomplete_targets
from scimrecon.engine.playbook import MANUAL_ACTION, Playbook, Step
from scimrecon.engine.prompts import PromptBroker, PromptInterrupted, render_instructions
from scimrecon.engine.redact import redact
from scimrecon.engine.state import RunRecord, StateStore, StepRecord, iso
from scimrecon.errors import (
    EXIT_OK,
    EXIT_PARKED,
    EXIT_REFUSED,
    EXIT_TARGETS_FAILED,
    RefusedError,
    StorageError,
)

EXIT_INTERRUPTED = 130
#: Run states that `resume` refuses: the run is over.
FINISHED = ("completed", "failed", "aborted")
RUN_SCOPE = ""  # the target key of run-scoped step states


class Terminated(KeyboardInterrupt):
    """Raised in the main thread by the CLI's SIGTERM handler: stop like Ctrl-C, exit 4."""


@dataclass
class RunOptions:
    concurrency: int = 4
    max_fail_percent: float | None = None
    #: Caps how long this process polls a wait step before parking (None: the step's own).
    max_wait_s: float | None = None


@dataclass
class RunResult:
    run_id: str
    state: str
    reason: str | None
    exit_code: int
    targets: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    left_changed: list[str] = field(default_factory=list)
    #: Targets whose changes are in place but unfinished (not listed for a completed run).
    incomplete: list[Incomplete] = field(default_factory=list)
    #: A finally step never succeeded: `abort` can still run it.
    finally_pending: bool = False
    #: What happened but could not be written to the state file (storage failure).
    unrecorded: list[str] = field(default_factory=list)


class _Wave:
    """The tasks of one step: outcomes and a completion count kept by the workers."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.outcomes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._count = 0

    def complete(self, key: str, outcome: str) -> None:
        with self._lock:
            self.outcomes[key] = outcome
            self._count += 1

    def finished(self) -> bool:
        with self._lock:
            return self._count >= self.size


class Runner:
    """Executes (or resumes, or aborts) one run of one playbook."""

    def __init__(
        self,
        store: StateStore,
        playbook: Playbook,
        registry: ActionRegistry,
        services: Any,
        ui: Interaction,
        options: RunOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.registry = with_builtins(registry)
        self.services = services
        self.ui = ui
        self.options = options or RunOptions()
        self.clock = clock
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._broker = PromptBroker(
            ui, self._events, stopping=self._stop.is_set, on_error=self._prompt_failed
        )
        self._print_lock = self._broker.print_lock
        self._stop_kind: str | None = None  # "interrupt" | "terminate" | "threshold" | "refused"
        self._stop_reason: str | None = None
        self._actions: dict[str, Action] = {}
        self._crash: BaseException | None = None
        #: The first write the state file refused; from then on nothing new is applied.
        self._storage: StorageError | None = None
        #: Set once the finally steps run after a storage failure: they go on unrecorded.
        self._degraded = False
        self._unrecorded: list[str] = []
        self._notes_lock = threading.Lock()

    # -- setup ---------------------------------------------------------------------------

    def _load(self, run_id: str) -> RunRecord:
        run = self.store.get_run(run_id)
        self.run = run
        self.run_id = run.id
        self.params = run.params
        self.run_outputs: dict[str, Any] = dict(run.outputs)
        self.states: dict[tuple[str, str], StepRecord] = self.store.step_states(run.id)
        self.order: list[str] = []
        self.rows: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.tstate: dict[str, str] = {}
        self.treason: dict[str, str | None] = {}
        self.fstep: dict[str, str] = {}
        self._failed_count = 0
        for t in self.store.targets(run.id):
            self.order.append(t.key)
            self.rows[t.key] = t.row
            self.outputs[t.key] = dict(t.outputs)
            self.tstate[t.key] = t.state
            self.treason[t.key] = t.reason
            if t.state == "failed":
                self._failed_count += 1
                self.fstep[t.key] = t.step or ""
        return run

    def _action(self, step: Step) -> Action:
        if step.action not in self._actions:
            self._actions[step.action] = self.registry.get(step.action)()
        return self._actions[step.action]

    def _ctx(self, step: Step, key: str) -> StepContext:
        options = dict(step.options)
        target = {**self.rows[key], **self.outputs[key]} if key else {}
        ctx = StepContext(
            run_id=self.run_id,
            step_id=step.id,
            params=self.params,
            services=self.services,
            ui=self._broker,
            target_key=key or None,
            target=target,
            step_options=options,
            run_outputs=self.run_outputs,
            started_actions=self._started_actions(),
            settling=(rec := self.states.get((key, step.id))) is not None
            and rec.state == "running",
        )
        if step.manual and step.action == MANUAL_ACTION:
            options["instructions"] = render_instructions(step.manual, ctx)
        return ctx

    def _started_actions(self) -> frozenset[str]:
        # Only the few run-scoped steps are looked at: this runs for every target-step.
        started = set()
        for step in (*self.playbook.steps, *self.playbook.finally_steps):
            if step.scope != "run":
                continue
            rec = self.states.get((RUN_SCOPE, step.id))
            if rec is not None and (
                rec.state in ("running", "done") or (rec.state == "failed" and rec.attempts)
            ):
                started.add(step.action)
        return frozenset(started)

    # -- the main thread: prompts, events, interrupts -------------------------------------

    def _prompt_failed(self, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self._request_stop(exc)
        elif not self._stop.is_set():
            self._request_stop(None, kind="refused", reason=f"stopped at a prompt: {exc}")

    def _request_stop(
        self, exc: BaseException | None, *, kind: str | None = None, reason: str | None = None
    ) -> None:
        if self._stop.is_set():
            with self._print_lock:
                self.ui.info("still stopping: waiting for in-flight steps to finish")
            return
        if exc is not None:
            kind = "terminate" if isinstance(exc, Terminated) else "interrupt"
            reason = "terminated (SIGTERM)" if kind == "terminate" else "interrupted (Ctrl-C)"
        self._stop_kind, self._stop_reason = kind, reason
        self._stop.set()
        with self._print_lock:
            self.ui.info(f"stopping: {reason}; letting in-flight steps finish")

    def _wave(self, step: Step, keys: list[str], pool: ThreadPoolExecutor) -> dict[str, str]:
        """Run `step` for `keys` on the pool; returns key -> outcome.

        Completion is counted by the workers, not by the events this thread reads, so an
        interrupt landing between two bytecodes here can never lose track of a task.
        """
        wave = _Wave(len(keys))
        for key in keys:
            pool.submit(self._task, step, key, wave)
        while True:
            try:
                if wave.finished() and self._events.empty():
                    break
                try:
                    kind, payload = self._events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == "prompt":
                    self._broker.serve(payload)
                elif payload == ("failed", True):
                    self._failed_count += 1
                    self._check_threshold()
            except KeyboardInterrupt as exc:
                self._request_stop(exc)
        return wave.outcomes

    def _check_threshold(self) -> None:
        limit = self.options.max_fail_percent
        if limit is None or self._stop.is_set():
            return
        failed = self._failed_count
        share = 100.0 * failed / max(1, len(self.order))
        if share > limit:
            self._request_stop(
                None,
                kind="threshold",
                reason=f"{failed} of {len(self.order)} targets failed ({share:.0f}%), "
                f"more than --max-fail-percent {limit:g}",
            )

    def _task(self, step: Step, key: str, wave: _Wave) -> None:
        outcome = "not-started"
        try:
            if not self._stop.is_set():
                outcome = self._do_step(step, key)
        except PromptInterrupted:
            outcome = "stopped"
        except StorageError as exc:  # the state file refused a write: nothing more is applied
            self._storage_failed(exc)
            outcome = "unrecorded"
        except BaseException as exc:  # a bug or a broken store: stop everything, say why
            self._crash = exc
            if not self._stop.is_set():
                self._stop_kind = "crash"
            self._stop.set()
            outcome = "crashed"
        finally:
            wave.complete(key, outcome)
            self._events.put(("done", (outcome, bool(key) and not step.is_finally)))

    # -- one step for one target (worker thread) ------------------------------------------

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
            self._set(step, key, "skipped")
            self._record(
                step,
                key,
                state="skipped",
                error=f"condition false: {step.when.source}",
                outcome="not-applicable",
                summary=f"when {step.when.source}: false",
            )
            return "not-applicable"
        action = self._action(step)
        attempts = rec.attempts if rec is not None else 0
        waiting = rec is not None and rec.state == "waiting"
        settling = rec is not None and rec.state == "running"
        tries = 0
        while True:
            tries += 1
            try:
                try:
                    found = action.check(ctx)
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
            except RefusedError as exc:  # the world is not in a state this run may touch
                self._request_stop(None, kind="refused", reason=exc.message)
                return "stopped"
            except Exception as exc:
                if tries < step.retry.attempts and not self._stop.is_set():
                    time.sleep(step.retry.backoff_s * 2 ** (tries - 1))
                    settling = True
                    continue
                # The call may have taken effect before the error (a lost answer, then a retry
                # that found the work done): ask the world before calling it a failure.
                try:
                    found = action.check(ctx)
                except Exception:
                    found = None
                if found is not None:
                    return self._done(step, key, found, attempts, "settled")
                return self._failed(step, key, f"{type(exc).__name__}: {exc}", attempts)

    def _set(self, step: Step, key: str, state: str, **kw: Any) -> None:
        old = self.states.get((key, step.id))
        self.states[(key, step.id)] = StepRecord(
            target=key,
            step=step.id,
            state=state,
            attempts=kw.get("attempts", old.attempts if old else 0),
            outputs=kw.get("outputs"),
            error=kw.get("error"),
            started=None,
            finished=None,
            deadline=kw.get("deadline", old.deadline if old else None),
        )

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
                summary=redact(_summary(outputs)),
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
                summary=redact(_summary(outputs)),
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

    # -- the run --------------------------------------------------------------------------

    def _healthy(self) -> list[str]:
        return [k for k in self.order if self.tstate[k] == "pending"]

    def _confirmed(self, step: Step, count: int) -> bool:
        """Ask before a `confirm` step; a no (or no way to ask) stops the run."""
        what = f"{count} target(s)" if step.scope == "target" else "the run"
        flag = " (destructive)" if step.destructive else ""
        try:
            ok = self._broker.confirm(f"step {step.id}{flag} for {what}: {step.description}")
        except PromptInterrupted:
            return False
        if not ok:
            self._request_stop(None, kind="declined", reason=f"step {step.id} was not confirmed")
        return ok

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

    def _poll(self, step: Step, keys: list[str], pool: ThreadPoolExecutor) -> None:
        """Poll a wait step's `check` until satisfied or this process's window closes."""
        assert step.wait is not None
        window = step.wait.park_after_s
        if self.options.max_wait_s is not None:
            window = min(window, self.options.max_wait_s)
        start = self.clock()
        deadlines = [self.states[(k, step.id)].deadline or start for k in keys]
        end = min(start + window, max(deadlines, default=start))
        waiting = keys
        while waiting and not self._stop.is_set():
            next_poll = self.clock() + step.wait.interval_s
            if next_poll >= end:
                break
            try:
                self._stop.wait(max(0.0, next_poll - self.clock()))
            except KeyboardInterrupt as exc:
                self._request_stop(exc)
                break
            if self._stop.is_set():
                break
            outcomes = self._wave(step, waiting, pool)
            waiting = [k for k, o in outcomes.items() if o == "waiting"]

    def _left_changed(self) -> list[str]:
        notes: list[str] = []
        for step in (*self.playbook.steps, *self.playbook.finally_steps):
            touched = any(
                s.step == step.id and s.state in ("done", "running") for s in self.states.values()
            )
            action = self._action(step)
            hook = getattr(action, "left_changed", None)
            if not touched or hook is None:
                continue
            try:
                note = hook(self._ctx(step, RUN_SCOPE))
            except Exception as exc:
                note = f"step {step.id}: could not tell what is left changed ({exc})"
            if note and note not in notes:
                notes.append(redact(note))
        return notes

    def _finally(self, pool: ThreadPoolExecutor) -> list[str]:
        """Run every finally step (a failure does not stop the others); returns the failures.

        An earlier threshold or a declined confirmation must not stop these, so the stop flag
        is cleared first; a new Ctrl-C while they run stops them like any other step.
        """
        self._stop.clear()
        problems: list[str] = []
        for step in self.playbook.finally_steps:
            if self._stop.is_set():
                problems.append(f"finally step {step.id} not run: {self._stop_reason}")
                continue
            if step.scope == "run":
                keys = [RUN_SCOPE]
            else:
                keys = [k for k in self.order if self.tstate[k] != "skipped"]
            keys = [
                k
                for k in keys
                if not (
                    (rec := self.states.get((k, step.id))) is not None
                    and rec.state in ("done", "skipped")
                )
            ]
            if not keys:
                continue
            with self._print_lock:
                self.ui.info(f"finally {step.id}")
            for key, outcome in self._wave(step, keys, pool).items():
                if outcome in ("failed", "waiting", "stopped"):
                    rec = self.states.get((key, step.id))
                    error = rec.error if rec and rec.error else outcome
                    who = f" for {key}" if key else ""
                    problems.append(f"finally step {step.id}{who}: {error}")
        return problems

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

    def _storage_stop(self, pool: ThreadPoolExecutor) -> RunResult:
        """The state file refused a write: run the finally steps all the same (unrecorded if
        need be), try to mark the run interrupted, and say loudly what could not be written."""
        assert self._storage is not None
        self._degraded = True
        problems = self._finally(pool)
        reason = "; ".join([f"stopped: {self._storage.message}", *problems])
        try:
            self.store.set_run_state(self.run_id, "interrupted", reason)
        except StorageError:
            self._note_unrecorded(f"run {self.run_id}: interrupted (the file still says running)")
        return self._result("interrupted", reason, EXIT_REFUSED, left=True)

    def _main(self, pool: ThreadPoolExecutor) -> str | None:
        for step in self.playbook.steps:
            if self._stop.is_set():
                return "stop"
            if not self._healthy() and not any(s == "waiting" for s in self.tstate.values()):
                return None
            stop = self._run_step(step, pool)
            if stop is not None:
                return stop
        return "stop" if self._stop.is_set() else None

    def _finish(self, stop: str | None, pool: ThreadPoolExecutor) -> RunResult:
        if self._storage is not None:
            return self._storage_stop(pool)
        kind = self._stop_kind if self._stop.is_set() else None
        if kind in ("interrupt", "terminate", "refused", "crash"):
            return self._interrupted()
        if kind in ("threshold", "declined"):
            why = self._stop_reason or "aborted"
            problems = self._finally(pool)
            if self._stop.is_set():
                return self._interrupted()
            reason = "; ".join([why, *problems])
            self.store.set_run_state(self.run_id, "aborted", reason, finished=True)
            return self._result("aborted", reason, EXIT_REFUSED, left=bool(problems))
        waiting = [k for k in self.order if self.tstate[k] == "waiting"]
        if stop == "park" or waiting:
            self._mark_done(self._finished_targets())
            what = f"{len(waiting)} target(s) waiting" if waiting else "a run step is waiting"
            reason = f"{what}; resume with `scimrecon resume {self.run_id}`"
            self.store.set_run_state(self.run_id, "parked", reason)
            return self._result("parked", reason, EXIT_PARKED, left=True)
        failure = stop[5:] if stop and stop.startswith("fail:") else None
        if failure is None:
            self._mark_done(self._healthy())
        problems = self._finally(pool)
        if self._stop.is_set():
            return self._interrupted()
        failed = [k for k in self.order if self.tstate[k] == "failed"]
        if failure or failed or problems:
            parts = [failure] if failure else []
            if failed:
                parts.append(f"{len(failed)} of {len(self.order)} target(s) failed")
            reason = "; ".join([*parts, *problems])
            self.store.set_run_state(self.run_id, "failed", reason, finished=True)
            return self._result("failed", reason, EXIT_TARGETS_FAILED, left=bool(problems))
        self.store.set_run_state(self.run_id, "completed", None, finished=True)
        return self._result("completed", None, EXIT_OK)

    def _finished_targets(self) -> list[str]:
        """Healthy targets with every target step behind them (done or not applicable)."""
        ids = [s.id for s in self.playbook.steps if s.scope == "target"]
        return [
            k
            for k in self._healthy()
            if all(
                (rec := self.states.get((k, sid))) is not None and rec.state in ("done", "skipped")
                for sid in ids
            )
        ]

    def _mark_done(self, keys: list[str]) -> None:
        self.store.set_target_state(self.run_id, keys, "done")
        for k in keys:
            self.tstate[k], self.treason[k] = "done", None

    def _interrupted(self) -> RunResult:
        """The run stops where it is, resumable; nothing else runs (not even finally)."""
        reason = self._stop_reason or "interrupted"
        if self._stop_kind == "crash" and self._crash is not None:
            error = redact(f"{type(self._crash).__name__}: {self._crash}")
            reason = f"stopped by an internal error ({error}); the run can be resumed"
        self.store.set_run_state(self.run_id, "interrupted", reason)
        code = EXIT_INTERRUPTED if self._stop_kind == "interrupt" else EXIT_REFUSED
        return self._result("interrupted", reason, code, left=True)

    def _result(
        self, state: str, reason: str | None, code: int, *, left: bool = False
    ) -> RunResult:
        counts: dict[str, int] = {}
        for s in self.tstate.values():
            counts[s] = counts.get(s, 0) + 1
        failures = [
            (k, self.fstep.get(k, ""), self.treason[k] or "")
            for k in self.order
            if self.tstate[k] == "failed"
        ]
        return RunResult(
            run_id=self.run_id,
            state=state,
            reason=reason,
            exit_code=code,
            targets=counts,
            failures=failures,
            left_changed=self._left_changed() if left else [],
            incomplete=(
                incomplete_targets(self.store, self.run, self.playbook, self.registry)
                if state != "completed"
                else []
            ),
            finally_pending=self.finally_pending(),
            unrecorded=list(self._unrecorded),
        )

    def finally_pending(self) -> bool:
        """Some finally step never succeeded: `abort` may still run it (a run that failed to
        resume provisioning must not be left with no command that can)."""
        return any(
            (rec := self.states.get((RUN_SCOPE, step.id))) is None
            or rec.state not in ("done", "skipped")
            for step in self.playbook.finally_steps
        )

    def abort(self, run_id: str, reason: str = "aborted by request") -> RunResult:
        """Mark the run aborted and run its finally steps (this process holds the lock)."""
        run = self._load(run_id)
        if run.state in FINISHED and not self.finally_pending():
            raise RefusedError(f"run {run.id} is already {run.state}")
        self.store.add_audit(self.run_id, "abort-requested", reason)
        with ThreadPoolExecutor(max_workers=max(1, self.options.concurrency)) as pool:
            try:
                problems = self._finally(pool)
            except KeyboardInterrupt as exc:
                self._request_stop(exc)
                problems = []
            if self._storage is not None:  # a finally step could not record its intent
                return self._storage_stop(pool)  # so it runs again, unrecorded
        if self._stop.is_set():
            return self._interrupted()
        text = "; ".join([reason, *problems])
        self.store.set_run_state(self.run_id, "aborted", text, finished=True)
        code = EXIT_TARGETS_FAILED if problems else EXIT_OK
        return self._result("aborted", text, code, left=bool(problems))


def _summary(outputs: Mapping[str, Any]) -> str:
    if not outputs:
        return "ok"
    return ", ".join(f"{k}={v}" for k, v in sorted(outputs.items()))
