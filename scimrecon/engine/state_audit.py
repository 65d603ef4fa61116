"""The audit trail: append-only (triggers refuse UPDATE and DELETE), read back per run."""

from __future__ import annotations

from dataclasses import dataclass

from scimrecon.engine.state_base import StoreBase


@dataclass(frozen=True)
class AuditRecord:
    id: int
    time: str
    os_user: str
    run: str | None
    target: str | None
    step: str | None
    action: str | None
    outcome: str
    summary: str | None


class AuditLog(StoreBase):
    """Audit lines written on their own (most are written inside another checkpoint)."""

    def add_audit(
        self,
        run_id: str | None,
        outcome: str,
        summary: str | None = None,
        *,
        target: str | None = None,
        step: str | None = None,
        action: str | None = None,
    ) -> None:
        with self._tx() as conn:
            self._audit(conn, run_id, outcome, summary, target=target, step=step, action=action)

    def audit(self, run_id: str) -> list[AuditRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, time, os_user, run, target, step, action, outcome, summary"
                " FROM audit WHERE run = ? ORDER BY id",
                (run_id,),
            ).fetchall()
        return [
            AuditRecord(i, t, u, None if r is None else str(r), tg, s, a, o, sm)
            for i, t, u, r, tg, s, a, o, sm in rows
        ]
