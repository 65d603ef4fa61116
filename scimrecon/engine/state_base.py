"""The store's connection: one SQLite connection behind one lock, its transactions, audit lines.

Why one connection for all threads of a run: writes are serialised by the lock, so there are no
`database is locked` surprises, and a write the file system refuses becomes one StorageError.
The tables' mixins (state_runs, state_steps, state_undo, state_audit, state_locks) build on it.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scimrecon.engine.storage_errors import is_storage_failure, storage_error


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid still says who
        return f"uid {os.getuid()}"


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


class StoreBase:
    """The connection, its lock and its transactions; no table of its own."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.readonly = readonly
        self._user = os_user()
        self._host = socket.gethostname()
        #: run id -> the open lock file whose OS lock this process holds for the run's life.
        self._held: dict[str, int] = {}

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction; a write the file system refuses becomes a StorageError."""
        with self._lock, self._storage_errors():
            if self._conn.in_transaction:
                # Only an interrupted transaction can be open here (a SIGTERM raised between
                # BEGIN and the try, or inside COMMIT): nothing of it was committed; drop it.
                self._conn.execute("ROLLBACK")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._rollback()
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            if not is_storage_failure(exc):
                raise
            self._rollback()  # a failed COMMIT (disk full) leaves the transaction open
            raise storage_error(self.path, exc) from exc

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            # SQLite rolls back by itself when it cannot; the commit never happened either way.
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _audit(
        self,
        conn: sqlite3.Connection,
        run: str | None,
        outcome: str,
        summary: str | None = None,
        *,
        target: str | None = None,
        step: str | None = None,
        action: str | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO audit (time, os_user, run, target, step, action, outcome, summary)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (utc_now(), self._user, run, target, step, action, outcome, summary),
        )
