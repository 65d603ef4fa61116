"""Targets flowing through consecutive steps on their own: no idle waves (decision 72).

A wave runs one step for every target before the next step starts, so while the last tickets
move in Jira the Atlassian APIs idle, and a target whose new account exists waits for every
other target's. Consecutive target steps that declare `overlap = true` form a flow instead: a
target goes on to its next step the moment its own step is done, and a target a wait step
found not ready yet is checked again at the step's interval while the others go on. A run step
(the pause, the resume) and a step without `overlap` stay barriers, so everything between
`pause` and `resume` still finishes for all targets before provisioning resumes.

Nothing else changes: each target-step is the same checkpointed `_task` as in a wave (intent
before apply, settle by check), run on the same pool, at most `--concurrency` at a time, the
target furthest along first. The chaining happens on the worker that finished the step, so a
Ctrl-C landing between two bytecodes of the main thread cannot lose a chained task; once the
run is stopping (interrupt, `--max-fail-percent`, refusal, storage failure) no target starts
another step and no wait is polled again.
"""

from __future__ import annotations

import heapq
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from scimrecon.engine.action import ReadAction
from scimrecon.engine.playbook import Step
from scimrecon.engine.runtypes import RUN_SCOPE
from scimrecon.engine.scheduler import Scheduler, _Wave

#: Outcomes of `_do_step` after which a still-pending target goes on to its next step.
GOES_ON = ("done", "not-applicable", "skipped")


class _Flow(_Wave):
    """Where each target of a flow is, what is queued and in flight, which waits are due when.

    The flow keeps its own queue instead of handing every task to the pool at once: the pool's
    queue is first in, first out, so a target's next step would wait behind every other
    target's first one, which is a wave again. At most `slots` tasks are with the pool, from
    two lanes, each the target furthest along first: the early lane (a target's first step of
    the flow, a wait's re-check, and, while a run step waits for every target to pass a step,
    `start_after`, the steps up to it) and the later steps. When both have work each has half
    the slots; either takes them all when the other is empty. Furthest along alone finishes
    targets early, but leaves the last targets' re-push and the check that their new account
    is there to the end of the run, so a run step waiting for every target to pass them would
    start at the very end; and a share of slots, not of turns, because a later step (moving
    tickets) holds its slot far longer than a re-push does (decision 104).
    """

    def __init__(
        self,
        steps: tuple[Step, ...],
        runner: Flows,
        pool: ThreadPoolExecutor,
        slots: int,
        urgent_until: int = 0,
    ) -> None:
        super().__init__(0)
        self.steps = steps
        self.runner = runner
        self.pool = pool
        self.slots = max(1, slots)
        self.at: dict[str, int] = {}  # target -> index of its current step
        self.in_flight = 0
        self.ready: list[tuple[int, int, str]] = []  # heap: (-step index, arrival, target)
        self.early: list[tuple[int, int, str]] = []  # heap, the same: the other lane (below)
        self.lane_of: dict[str, bool] = {}  # target in flight -> from the early lane?
        self.flying = {True: 0, False: 0}  # tasks in flight from each lane (True: early)
        #: steps up to this index take turns with the furthest along (0: the first step only;
        #: up to `start_after` while a run step waits for every target to pass it)
        self.urgent_until = urgent_until
        self._arrivals = 0
        self.due: dict[str, float] = {}  # waiting target -> when to check it again
        self.until: dict[str, float] = {}  # waiting target -> end of this process's polling
        self.parked: set[str] = set()  # waiting, and not to be polled again by this process
        self.swept = False

    def queue(self, key: str, *, recheck: bool = False) -> None:
        """Queue the target's current step (the lock is held); `recheck`: a wait's next check."""
        index = self.at[key]
        self._arrivals += 1
        lane = self.early if recheck or index <= self.urgent_until else self.ready
        heapq.heappush(lane, (-index, self._arrivals, key))

    def clear(self) -> None:
        """Nothing queued starts any more (the run is stopping)."""
        self.ready.clear()
        self.early.clear()

    def dispatch(self) -> None:
        """Hand queued steps to the pool while a slot is free (the lock is held, so the task's
        own completion cannot count down before this counts up). Submitted, then counted: a
        Ctrl-C in between can only end the wait for the flow early, never hang it."""
        share = max(1, self.slots // 2)  # of the slots, the early lane's when both have work
        while (self.ready or self.early) and self.in_flight < self.slots:
            early = bool(self.early) and (not self.ready or self.flying[True] < share)
            _, _, key = heapq.heappop(self.early if early else self.ready)
            self.lane_of[key] = early
            self.flying[early] += 1
            self.pool.submit(self.runner._task, self.steps[self.at[key]], key, self)
            self.in_flight += 1

    def landed(self, key: str) -> None:
        """A task of `key` came back (the lock is held): its slot is free."""
        self.in_flight -= 1
        self.flying[self.lane_of.pop(key)] -= 1

    def sweep(self) -> bool:
        """Once everything else is done, check every target left waiting one last time: in a
        wave its first check came after every other target's previous step, which gave the
        IdP that long to push it; with no polling window (`--max-wait 0`) a flow would
        otherwise park a target its own first check found a moment too early."""
        with self._lock:
            if self.swept or not self.parked or self.runner._stop.is_set():
                return False
            self.swept = True
            for key in sorted(self.parked, key=self.at.__getitem__):
                self.queue(key)
            self.parked.clear()
            self.dispatch()
            return True

    def complete(self, key: str, outcome: str) -> None:
        """Called by the worker that ran the target's step: on to the next one, or a wait."""
        self.runner._flowed(self, key, outcome)

    def finished(self) -> bool:
        with self._lock:
            return self.in_flight <= 0 and not self.due and not self.ready and not self.early


class _EarlyRead:
    """The run step after a flow that reads the world only (the billable count after), started
    while the flow's last steps still run, once every target is past the step it names in
    `start_after` (decision 104).

    Its answer is recorded only when the flow ends with nothing left for this process (no
    stop, no target waiting): a run stopped half-way would otherwise keep a count taken
    before its last changes. Until then it is read on a thread of its own, not the pool's, so
    it never takes a target's slot. The answer recorded is the action's `finish_early`: what
    it read plus the run's own writes since (for the billable count, the org listing amended
    by the disables). A read that failed, was discarded, or cannot finish early is read again
    in its own place, as if it had never started early.
    """

    def __init__(self, runner: Flows, step: Step) -> None:
        self.runner = runner
        self.step = step
        self.after = step.start_after
        self.thread = ThreadPoolExecutor(max_workers=1)
        self.future: Future[dict[str, Any]] | None = None
        self._past = 0  # targets in run order known to be past `start_after` (they stay past)

    def maybe_start(self) -> None:
        """Start the read once no live target is at or before `start_after` any more."""
        runner = self.runner
        if self.future is not None or runner._stop.is_set():
            return
        if type(runner._action(self.step)).finish_early is ReadAction.finish_early:
            return  # it could not give an answer at the end: no read early
        while self._past < len(runner.order):
            key = runner.order[self._past]
            rec = runner.states.get((key, self.after))
            live = runner.tstate[key] in ("pending", "waiting")
            if live and (rec is None or rec.state not in ("done", "skipped")):
                return
            self._past += 1
        ctx = runner._ctx(self.step, RUN_SCOPE)
        self.future = self.thread.submit(runner._action(self.step).apply, ctx)

    def settle(self) -> None:
        """At the flow's end: record the answer if it still holds for this run, else drop it."""
        runner = self.runner
        try:
            if self.future is None:
                return
            try:
                self.future.result()
                waiting = any(s == "waiting" for s in runner.tstate.values())
                if runner._stop.is_set() or waiting:
                    return
                action = runner._action(self.step)
                outputs = action.finish_early(runner._ctx(self.step, RUN_SCOPE))
            except Exception:
                return  # read again in its own place, with its own error handling
            if outputs is not None:
                runner._done(self.step, RUN_SCOPE, outputs, 1, "done")
        finally:
            self.thread.shutdown(wait=True)


class Flows(Scheduler):
    """Runs a segment of overlapping target steps as per-target flows."""

    def _segment(self, index: int) -> tuple[Step, ...]:
        """The steps from `index` that run as one flow: a target step and the target steps
        after it that declare `overlap` (a lone step, or a run step, is a segment of one)."""
        steps = self.playbook.steps
        end = index + 1
        if steps[index].scope == "target":
            while end < len(steps) and steps[end].scope == "target" and steps[end].overlap:
                end += 1
        return steps[index:end]

    def _position(self, key: str, steps: tuple[Step, ...]) -> int | None:
        """The target's first step of the segment not behind it; a waiting target only at the
        step it waits at (as in a wave)."""
        for i, step in enumerate(steps):
            rec = self.states.get((key, step.id))
            if rec is None or rec.state not in ("done", "skipped"):
                return i if self.tstate[key] == "pending" or rec is not None else None
        return None

    def _run_flow(
        self, steps: tuple[Step, ...], pool: ThreadPoolExecutor, trailing: Step | None = None
    ) -> str | None:
        """Every live target through `steps`, each at its own pace; a reason to stop, or None.
        `trailing`: the run step after the flow, read early when it says `start_after`."""
        start = {
            k: i
            for k in self.order
            if self.tstate[k] in ("pending", "waiting")
            and (i := self._position(k, steps)) is not None
        }
        if not start:
            return None
        first = steps[0]
        if first.confirm:
            fresh = [k for k, i in start.items() if i == 0 and (k, first.id) not in self.states]
            if fresh and not self._confirmed(first, len(fresh)):
                return "stop"
        with self._print_lock:
            self.ui.info(
                f"steps {first.id} to {steps[-1].id}: {len(start)} target(s), each going on "
                "to its next step as soon as it is done"
            )
        early = None
        ids = [s.id for s in steps]
        if trailing is not None and trailing.start_after in ids:
            rec = self.states.get((RUN_SCOPE, trailing.id))
            if rec is None or rec.state not in ("done", "skipped"):
                early = _EarlyRead(self, trailing)
        urgent = ids.index(trailing.start_after) if early is not None and trailing else 0
        flow = _Flow(steps, self, pool, self.options.concurrency, urgent)
        with flow._lock:
            flow.at.update(start)
            for key in start:
                flow.queue(key)
            flow.dispatch()
        try:
            while True:
                try:
                    self._poll_due(flow)
                    if early is not None:
                        early.maybe_start()
                    if flow.finished() and self._events.empty() and not flow.sweep():
                        return None
                    self._serve_events(self._next_wake(flow))
                except KeyboardInterrupt as exc:
                    self._request_stop(exc)
        finally:
            if early is not None:
                early.settle()

    def _flowed(self, flow: _Flow, key: str, outcome: str) -> None:
        """A worker finished `key`'s current step with `outcome`: decide what comes next."""
        with flow._lock:
            flow.landed(key)
            index = flow.at[key]
            step = flow.steps[index]
            if self._stop.is_set():
                flow.clear()  # nothing new starts once the run is stopping
                return
            if outcome in GOES_ON and self.tstate[key] == "pending":
                if index + 1 < len(flow.steps):
                    flow.at[key] = index + 1
                    flow.queue(key)
            elif outcome == "waiting" and step.wait is not None and self.tstate[key] == "waiting":
                now = self.clock()
                if key not in flow.until:
                    rec = self.states.get((key, step.id))
                    deadline = rec.deadline if rec is not None and rec.deadline else now
                    flow.until[key] = min(now + self._wait_window(step), deadline)
                next_poll = now + step.wait.interval_s
                if next_poll < flow.until[key]:
                    flow.due[key] = next_poll
                else:
                    flow.parked.add(key)
            flow.dispatch()

    def _poll_due(self, flow: _Flow) -> None:
        """Check again the waiting targets whose interval has passed (none once stopping)."""
        with flow._lock:
            if self._stop.is_set():
                flow.due.clear()
                flow.clear()
                return
            now = self.clock()
            for key in [k for k, t in flow.due.items() if t <= now]:
                del flow.due[key]
                flow.queue(key, recheck=True)
            flow.dispatch()

    def _next_wake(self, flow: _Flow) -> float:
        with flow._lock:
            if not flow.due:
                return 0.2
            return max(0.0, min(0.2, min(flow.due.values()) - self.clock()))
