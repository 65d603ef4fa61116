"""The `targets` and `step_states` tables: each target's state and each step's checkpoint."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scimrecon.engine.state_base import StoreBase, dumps, utc_now


@dataclass(frozen=True)
class TargetRecord:
    key: str
    position: int
    row: dict[str, Any]
    state: str
    reason: str | None
    step: str | None
    outputs: dict[str, Any]


@dataclass(frozen=True)
class StepRecord:
    target: str
    step: str
    state: str
    attempts: int
    outputs: dict[str, Any] | None
    error: str | None
    started: str | None
    finished: str | None
    deadline: float | None


#: States a step ends in (its `finished` time is set); `refused` is an undo's.
ENDED = ("done", "failed", "skipped", "refused")


class StepTable(StoreBase):
    """Targets and step checkpoints of runs."""

    def targets(self, run_id: str) -> list[TargetRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, position, row, state, reason, step, outputs FROM targets"
                " WHERE run = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        return [
            TargetRecord(k, p, json.loads(r), s, reason, step, json.loads(o))
            for k, p, r, s, reason, step, o in rows
        ]

    def step_states(self, run_id: str) -> dict[tuple[str, str], StepRecord]:
        """(target key or '' for run scope, step id) -> state; a missing pair is pending."""
        return self._states("step_states", run_id)

    def _states(self, table: str, run_id: str) -> dict[tuple[str, str], StepRecord]:
        """The step records of a run (`step_states`) or of its undo (`undo_states`)."""
        assert table in ("step_states", "undo_states")
        with self._lock:
            rows = self._conn.execute(
                "SELECT target, step, state, attempts, outputs, error, started, finished,"
                f" deadline FROM {table} WHERE run = ?",
                (run_id,),
            ).fetchall()
        return {
            (t, s): StepRecord(t, s, st, a, json.loads(o) if o else None, e, sd, fin, dl)
            for t, s, st, a, o, e, sd, fin, dl in rows
        }

    def _put_state(
        self,
        conn: sqlite3.Connection,
        table: str,
        run_id: str,
        target: str,
        step: str,
        state: str,
        attempts: int | None,
        outputs: Mapping[str, Any] | None,
        error: str | None,
        deadline: float | None,
    ) -> None:
        """Write one step checkpoint of a run (`step_states`) or of its undo (`undo_states`):
        what an update leaves out (attempts, outputs, the first start, a deadline) is kept."""
        assert table in ("step_states", "undo_states")
        now = utc_now()
        started = now if state in ("running", "waiting") else None
        finished = now if state in ENDED else None
        conn.execute(
            f"INSERT INTO {table} (run, target, step, state, attempts, outputs, error,"
            " started, finished, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run, target, step) DO UPDATE SET state = excluded.state,"
            " attempts = coalesce(excluded.attempts, attempts),"
            " outputs = coalesce(excluded.outputs, outputs), error = excluded.error,"
            " started = coalesce(started, excluded.started),"
            " finished = excluded.finished,"
            " deadline = coalesce(excluded.deadline, deadline)",
            (
                run_id,
                target,
                step,
                state,
                attempts if attempts is not None else 0,
                dumps(outputs) if outputs is not None else None,
                error,
                started,
                finished,
                deadline,
            ),
        )

    def record(
        self,
        run_id: str,
        target: str,
        step: str,
        *,
        state: str,
        attempts: int | None = None,
        outputs: Mapping[str, Any] | None = None,
        error: str | None = None,
        deadline: float | None = None,
        target_state: str | None = None,
        target_reason: str | None = None,
        target_outputs: Mapping[str, Any] | None = None,
        run_outputs: Mapping[str, Any] | None = None,
        action: str | None = None,
        outcome: str | None = None,
        summary: str | None = None,
    ) -> None:
        """One checkpoint, committed atomically: the step's state, the target's, an audit line."""
        with self._tx() as conn:
            self._put_state(
                conn, "step_states", run_id, target, step, state, attempts, outputs, error, deadline
            )
            if target and (target_state or target_outputs is not None):
                sets, args = [], []
                if target_state:
                    sets += ["state = ?", "reason = ?", "step = ?"]
                    args += [target_state, target_reason, step]
                if target_outputs is not None:
                    sets.append("outputs = ?")
                    args.append(dumps(target_outputs))
                conn.execute(
                    f"UPDATE targets SET {', '.join(sets)} WHERE run = ? AND key = ?",
                    (*args, run_id, target),
                )
            if run_outputs is not None:
                conn.execute(
                    "UPDATE runs SET outputs = ? WHERE id = ?", (dumps(run_outputs), run_id)
                )
            if outcome:
                self._audit(
                    conn,
                    run_id,
                    outcome,
                    summary,
                    target=target or None,
                    step=step,
                    action=action,
                )

    def retry_failed(self, run_id: str, rerun_steps: Sequence[str] = ()) -> list[str]:
        """Put a run's failed targets (and failed run-wide steps) back in flight; return them.

        Each failed step becomes `running` again, exactly as if the process had died inside it:
        resume then settles it by `check` (the change may have happened after all) before it
        applies anything, so a retry can never repeat an effect. `rerun_steps` (run-wide steps
        that change the world: pause, resume, finally) are settled again the same way, so a
        retried target never runs between a pause and a resume that are no longer true.
        """
        with self._tx() as conn:
            keys = [
                row[0]
                for row in conn.execute(
                    "SELECT key FROM targets WHERE run = ? AND state = 'failed'", (run_id,)
                )
            ]
            conn.executemany(
                "UPDATE targets SET state = 'pending', reason = NULL WHERE run = ? AND key = ?",
                [(run_id, k) for k in keys],
            )
            conn.executemany(
                "UPDATE step_states SET state = 'running', error = NULL, finished = NULL"
                " WHERE run = ? AND target = ? AND state = 'failed'",
                [(run_id, k) for k in ["", *keys]],
            )
            conn.executemany(
                "UPDATE step_states SET state = 'running', error = NULL, finished = NULL"
                " WHERE run = ? AND target = '' AND step = ?",
                [(run_id, step) for step in rerun_steps],
            )
            conn.execute(
                "UPDATE runs SET state = 'interrupted', finished = NULL WHERE id = ?", (run_id,)
            )
            self._audit(conn, run_id, "retry-failed", f"{len(keys)} target(s) back in flight")
        return keys

    def set_target_state(
        self, run_id: str, keys: Sequence[str], state: str, reason: str | None = None
    ) -> None:
        with self._tx() as conn:
            conn.executemany(
                "UPDATE targets SET state = ?, reason = ? WHERE run = ? AND key = ?",
                [(state, reason, run_id, k) for k in keys],
            )
