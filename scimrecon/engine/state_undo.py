"""The `undos` and `undo_states` tables: an undo is a sub-run of its run (decision 26).

Same id, lock, targets and audit trail as its run; its own step states (the steps it takes
back) and its own run-level record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scimrecon.engine.state_base import dumps, utc_now
from scimrecon.engine.state_steps import StepRecord, StepTable


@dataclass(frozen=True)
class UndoRecord:
    """The undo of a run (one per run, resumed in place): state, reason and run-wide outputs."""

    run: str
    state: str
    reason: str | None
    outputs: dict[str, Any]
    started: str
    finished: str | None


class UndoTable(StepTable):
    """Undo records and undo step checkpoints (built on StepTable, whose reads they share)."""

    def get_undo(self, run_id: str) -> UndoRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT run, state, reason, outputs, started, finished FROM undos WHERE run = ?",
                (run_id,),
            ).fetchone()
        if row is None:
            return None
        run, state, reason, outputs, started, finished = row
        return UndoRecord(str(run), state, reason, json.loads(outputs), started, finished)

    def set_undo(
        self,
        run_id: str,
        state: str,
        reason: str | None = None,
        *,
        finished: bool = False,
        outputs: Mapping[str, Any] | None = None,
    ) -> None:
        """Create or move the run's undo record (one audit line per change of state)."""
        now = utc_now()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO undos (run, state, reason, started) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (run) DO UPDATE SET state = excluded.state, reason = excluded.reason",
                (run_id, state, reason, now),
            )
            conn.execute(
                "UPDATE undos SET finished = ? WHERE run = ?", (now if finished else None, run_id)
            )
            if outputs is not None:
                conn.execute("UPDATE undos SET outputs = ? WHERE run = ?", (dumps(outputs), run_id))
            self._audit(conn, run_id, f"undo-{state}", reason)

    def undo_states(self, run_id: str) -> dict[tuple[str, str], StepRecord]:
        """(target key or '' for run scope, step id) -> the undo's state of that step."""
        return self._states("undo_states", run_id)

    def record_undo(
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
        undo_outputs: Mapping[str, Any] | None = None,
        action: str | None = None,
        outcome: str | None = None,
        summary: str | None = None,
    ) -> None:
        """One undo checkpoint, committed atomically: the undo step, the target, an audit line."""
        with self._tx() as conn:
            self._put_state(
                conn, "undo_states", run_id, target, step, state, attempts, outputs, error, deadline
            )
            if target and target_state:
                conn.execute(
                    "UPDATE targets SET state = ?, reason = ? WHERE run = ? AND key = ?",
                    (target_state, target_reason, run_id, target),
                )
            if undo_outputs is not None:
                conn.execute(
                    "UPDATE undos SET outputs = ? WHERE run = ?", (dumps(undo_outputs), run_id)
                )
            if outcome:
                self._audit(
                    conn,
                    run_id,
                    f"undo-{outcome}",
                    summary,
                    target=target or None,
                    step=step,
                    action=action,
                )
