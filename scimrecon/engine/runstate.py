"""The runner's in-memory view of one run, loaded from the store, and what a step sees of it.

Every other part of the runner (scheduler, step execution, ending) works on this state; it is
one class so that the attributes they share are declared in one place.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, Interaction, StepContext
from scimrecon.engine.builtin import with_builtins
from scimrecon.engine.playbook import MANUAL_ACTION, Playbook, Step
from scimrecon.engine.progress import NO_PROGRESS, ProgressListener
from scimrecon.engine.prompts import PromptBroker, render_instructions
from scimrecon.engine.runtypes import RUN_SCOPE, RunOptions
from scimrecon.engine.state import RunRecord, StateStore, StepRecord
from scimrecon.errors import StorageError


class RunState:
    """The state of one run shared by the runner's parts (see scimrecon.engine.runner)."""

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
        progress: ProgressListener = NO_PROGRESS,
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.registry = with_builtins(registry)
        self.services = services
        self.ui = ui
        self.options = options or RunOptions()
        self.clock = clock
        self.progress = progress  # what the run reports as it goes (engine/progress.py)
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

    def _healthy(self) -> list[str]:
        return [k for k in self.order if self.tstate[k] == "pending"]

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
