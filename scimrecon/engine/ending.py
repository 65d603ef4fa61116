"""How a run ends: finally steps, the run's final state and exit code, and the report of what is
left changed or unfinished.

`finally` steps run when a run completes, fails or is aborted, but not when it parks or is
interrupted: a parked or interrupted run keeps its state for `resume`, and `abort` runs them.
When the state file cannot be written they run all the same, unrecorded, and the person is
told loudly what could not be recorded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from scimrecon.engine.incomplete import incomplete_targets
from scimrecon.engine.redact import redact
from scimrecon.engine.runtypes import EXIT_INTERRUPTED, FINISHED, RUN_SCOPE, RunResult
from scimrecon.engine.scheduler import Scheduler
from scimrecon.errors import (
    EXIT_OK,
    EXIT_PARKED,
    EXIT_REFUSED,
    EXIT_TARGETS_FAILED,
    RefusedError,
    StorageError,
)


class Ending(Scheduler):
    """Finishing, parking, interrupting and aborting a run."""

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
