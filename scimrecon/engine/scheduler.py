"""The runner's main thread: hands step tasks to the worker pool, serves prompts, counts failures
against --max-fail-percent and turns Ctrl-C/SIGTERM into an orderly stop.

Every call to an action happens on a worker thread; the main thread only schedules, serves
prompts and handles interrupts, so an interrupt never cuts a remote call in half.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from scimrecon.engine.playbook import Step
from scimrecon.engine.prompts import PromptInterrupted
from scimrecon.engine.runstate import RunState
from scimrecon.engine.runtypes import Terminated
from scimrecon.errors import StorageError


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


class Scheduler(RunState):
    """Waves of one step over many targets, and the stop flag every part of the runner obeys."""

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
        task = f"step {step.id}"
        self.progress.begin(task, task, len(keys))
        for key in keys:
            pool.submit(self._task, step, key, wave)
        try:
            self._serve(wave)
        finally:
            self.progress.end(task)
        return wave.outcomes

    def _serve(self, wave: _Wave) -> None:
        """Serve prompts and count failures until every task of `wave` is done."""
        while True:
            try:
                if wave.finished() and self._events.empty():
                    break
                self._serve_events(0.2)
            except KeyboardInterrupt as exc:
                self._request_stop(exc)

    def _serve_events(self, timeout: float) -> None:
        """Serve what the workers sent (a prompt, a failed target), waiting up to `timeout` s."""
        try:
            kind, payload = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        if kind == "prompt":
            self._broker.serve(payload)
        elif payload == ("failed", True):
            self._failed_count += 1
            self._check_threshold()

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
            self.progress.advance(f"step {step.id}")
            self._events.put(("done", (outcome, bool(key) and not step.is_finally)))

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

    def _poll(self, step: Step, keys: list[str], pool: ThreadPoolExecutor) -> None:
        """Poll a wait step's `check` until satisfied or this process's window closes."""
        assert step.wait is not None
        window = self._wait_window(step)
        start = self.clock()
        deadlines = [self.states[(k, step.id)].deadline or start for k in keys]
        end = min(start + window, max(deadlines, default=start))
        try:
            self._poll_until(step, keys, end, pool)
        finally:
            self.progress.end(f"wait {step.id}")

    def _poll_until(
        self, step: Step, waiting: list[str], end: float, pool: ThreadPoolExecutor
    ) -> None:
        assert step.wait is not None
        while waiting and not self._stop.is_set():
            self.progress.waiting(f"wait {step.id}", _awaited(step, len(waiting)), end)
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

    def _wait_window(self, step: Step) -> float:
        """How long this process polls a wait step before parking (`--max-wait` caps it)."""
        assert step.wait is not None
        window = step.wait.park_after_s
        if self.options.max_wait_s is not None:
            window = min(window, self.options.max_wait_s)
        return window


def _awaited(step: Step, count: int) -> str:
    """What a wait step waits for, in a few words: its description's first clause."""
    what = (step.description or "").split(";")[0].strip().rstrip(".")
    what = what[:1].lower() + what[1:]
    if what.startswith("wait "):
        what = what[len("wait ") :]  # "Wait for the login" -> "waiting for the login"
    text = f"{step.id}: {count} waiting" + (f" {what}" if what else "")
    return text if len(text) <= 50 else text[:49] + "…"
