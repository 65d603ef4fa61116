"""The `runs` table: creating a run with its targets, reading runs, moving a run's state."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scimrecon.engine.state_base import dumps, utc_now
from scimrecon.engine.state_locks import RunLocks
from scimrecon.errors import InputError, RefusedError


@dataclass(frozen=True)
class RunRecord:
    id: str
    playbook: str
    playbook_hash: str
    playbook_name: str
    playbook_source: str
    params: dict[str, Any]
    targets_name: str
    targets_hash: str
    options: dict[str, Any]
    state: str
    reason: str | None
    outputs: dict[str, Any]
    started: str
    finished: str | None
    os_user: str
    host: str
    lock_pid: int | None
    lock_host: str | None
    lock_since: str | None
    target_count: int = 0


class RunTable(RunLocks):
    """Runs: a new run is created already locked by this process (hence built on RunLocks)."""

    def create_run(
        self,
        *,
        playbook: str,
        playbook_hash: str,
        playbook_name: str,
        playbook_source: str,
        params: Mapping[str, Any],
        targets_name: str,
        targets_hash: str,
        targets: Sequence[tuple[str, Mapping[str, Any]]],
        options: Mapping[str, Any],
    ) -> str:
        """A new run, already locked by this process, with its targets pending."""
        now = utc_now()
        run_id: str | None = None
        try:
            with self._tx() as conn:
                cur = conn.execute(
                    "INSERT INTO runs (playbook, playbook_hash, playbook_name, playbook_source,"
                    " params, targets_name, targets_hash, options, state, started, os_user, host,"
                    " lock_pid, lock_host, lock_since)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                    (
                        playbook,
                        playbook_hash,
                        playbook_name,
                        playbook_source,
                        dumps(params),
                        targets_name,
                        targets_hash,
                        dumps(options),
                        now,
                        self._user,
                        self._host,
                        os.getpid(),
                        self._host,
                        now,
                    ),
                )
                run_id = str(cur.lastrowid)
                fd = self._take_os_lock(run_id)
                if fd is None:  # only a lock file left by a run whose insert was rolled back
                    raise RefusedError(f"run {run_id} is in use by another process")
                self._held[run_id] = fd
                conn.executemany(
                    "INSERT INTO targets (run, key, position, row) VALUES (?, ?, ?, ?)",
                    [(run_id, key, i, dumps(row)) for i, (key, row) in enumerate(targets)],
                )
                self._audit(
                    conn,
                    run_id,
                    "run-started",
                    f"playbook {playbook} on {len(targets)} targets from {targets_name}",
                )
        except BaseException:
            if run_id is not None:  # the run was never committed: nor is its lock kept
                self._drop_os_lock(run_id)
            raise
        return run_id

    def _run_from_row(self, row: sqlite3.Row | tuple[Any, ...]) -> RunRecord:
        (rid, pb, pbh, pbn, pbs, params, tn, th, opts, state, reason, outs, started, fin) = row[:14]
        user, host, lpid, lhost, lsince, count = row[14:]
        return RunRecord(
            id=str(rid),
            playbook=pb,
            playbook_hash=pbh,
            playbook_name=pbn,
            playbook_source=pbs,
            params=json.loads(params),
            targets_name=tn,
            targets_hash=th,
            options=json.loads(opts),
            state=state,
            reason=reason,
            outputs=json.loads(outs),
            started=started,
            finished=fin,
            os_user=user,
            host=host,
            lock_pid=lpid,
            lock_host=lhost,
            lock_since=lsince,
            target_count=count,
        )

    _RUN_COLUMNS = (
        "id, playbook, playbook_hash, playbook_name, playbook_source, params, targets_name,"
        " targets_hash, options, state, reason, outputs, started, finished, os_user, host,"
        " lock_pid, lock_host, lock_since,"
        " (SELECT count(*) FROM targets t WHERE t.run = runs.id)"
    )

    def get_run(self, run_id: str) -> RunRecord:
        if not str(run_id).isdigit():
            raise InputError(f"run {run_id!r}: run ids are numbers (see `scimrecon runs`)")
        with self._lock:
            row = self._conn.execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (int(run_id),)
            ).fetchone()
        if row is None:
            raise InputError(f"run {run_id} not found in {self.path}")
        return self._run_from_row(row)

    def list_runs(self) -> list[RunRecord]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY id"
            ).fetchall()
        return [self._run_from_row(r) for r in rows]

    def latest_run_id(self) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT max(id) FROM runs").fetchone()
        return None if row[0] is None else str(row[0])

    def set_run_state(
        self, run_id: str, state: str, reason: str | None = None, *, finished: bool = False
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET state = ?, reason = ?, finished = ? WHERE id = ?",
                (state, reason, utc_now() if finished else None, run_id),
            )
            self._audit(conn, run_id, f"run-{state}", reason)

    def set_run_outputs(self, run_id: str, outputs: Mapping[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE runs SET outputs = ? WHERE id = ?", (dumps(outputs), run_id))

    def target_runs(self, keys: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(run, key, target state, run state) of every run that holds one of `keys` (lower-cased
        comparison), newest run first: who else has worked on these people."""
        wanted = {k.lower() for k in keys}
        with self._lock:
            rows = self._conn.execute(
                "SELECT t.run, t.key, t.state, r.state FROM targets t JOIN runs r ON r.id = t.run"
                " ORDER BY t.run DESC"
            ).fetchall()
        return [(str(r), k, ts, rs) for r, k, ts, rs in rows if k.lower() in wanted]
