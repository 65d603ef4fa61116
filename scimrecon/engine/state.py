"""The checkpoint store: one SQLite file holding runs, targets, step states and the audit trail.

Why SQLite: a commit is atomic and survives a crashed process, so "intent recorded before
apply" is a real guarantee, and the state stays queryable by people with the `sqlite3` shell.
The file is opened with great suspicion: a file that is not ours (or is damaged) is reported in
one line and left byte-for-byte as it was — silently resetting a state file would forget which
destructive steps already ran. One connection serves all threads of a run behind a lock, so
writes are serialised without `database is locked` surprises.

The store is composed of one mixin per concern, one job each: `StoreBase` (state_base.py) the
connection and its transactions, `RunLocks` (state_locks.py) who drives a run, `RunTable`
(state_runs.py) runs, `StepTable` (state_steps.py) targets and step checkpoints, `UndoTable`
(state_undo.py) undos, `AuditLog` (state_audit.py) the audit trail; the schema, its migrations
and the check of a file before opening it are in state_schema.py. This class opens the file.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from scimrecon.engine import state_schema as schema
from scimrecon.engine.state_audit import AuditLog
from scimrecon.engine.state_base import iso as iso
from scimrecon.engine.state_base import utc_now as utc_now
from scimrecon.engine.state_locks import pid_alive as pid_alive
from scimrecon.engine.state_runs import RunRecord as RunRecord
from scimrecon.engine.state_runs import RunTable
from scimrecon.engine.state_schema import APPLICATION_ID as APPLICATION_ID
from scimrecon.engine.state_schema import SCHEMA_VERSION as SCHEMA_VERSION
from scimrecon.engine.state_steps import StepRecord as StepRecord
from scimrecon.engine.state_undo import UndoTable
from scimrecon.engine.storage_errors import is_storage_failure, os_reason
from scimrecon.errors import InputError, StorageError

DEFAULT_STATE = Path(".scimrecon") / "state.db"


class StateStore(RunTable, UndoTable, AuditLog):
    """All reads and writes of run state. Thread-safe: one connection behind one lock."""

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = True, durable: bool = True) -> StateStore:
        """Open (or, with `create`, make) a state file for writing, migrating its schema forward.

        `durable=False` trades the fsync per commit for speed (benchmarks only): a crash of the
        process is still safe under WAL, a power cut may lose the last commits. A file that
        cannot be written here (read-only file system, no permission, disk full) is refused in
        one line naming the reason (exit 2): nothing has been done yet.
        """
        if path.exists():
            schema.check_file(path)
        elif not create:
            raise InputError(f"{path}: no state file here (no runs yet); pass --state?")
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(
                    f"{path}: cannot create the state file: {os_reason(path, exc)}; "
                    "pass --state to use a writable place"
                ) from None
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, path)
            store._migrate()
        except (sqlite3.DatabaseError, StorageError) as exc:
            if conn is not None:
                conn.close()
            cause = exc.__cause__ if isinstance(exc, StorageError) else exc
            if cause is not None and is_storage_failure(cause):
                reason = os_reason(path, cause)
                fix = "free some space, or " if f"[Errno {errno.ENOSPC}]" in reason else ""
                raise InputError(
                    f"{path}: cannot write the state file: {reason}; it was left as it was — "
                    f"{fix}pass --state to use a writable place"
                ) from None
            raise InputError(f"{path}: cannot use this state file ({exc})") from None
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> StateStore:
        """Open a state file for reading only: no file is created, migrated or changed.

        A file with no schema yet (0 bytes, or an empty SQLite file) reads as one with no runs,
        and an older schema is migrated in memory: in both cases the file keeps its bytes. A
        file on a read-only file system is read like any other.
        """
        if not path.exists():
            raise InputError(f"{path}: no state file here (no runs yet); pass --state?")
        version = schema.check_file(path)
        try:
            if version == schema.SCHEMA_VERSION:
                conn = sqlite3.connect(
                    schema.read_only_uri(path),
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA query_only=ON")
                return cls(conn, path, readonly=True)
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            if version:
                source = sqlite3.connect(schema.read_only_uri(path), uri=True)
                try:
                    source.backup(memory)
                finally:
                    source.close()
            store = cls(memory, path, readonly=True)
            store._migrate()
            return store
        except sqlite3.DatabaseError as exc:
            if is_storage_failure(exc):
                reason = os_reason(path, exc)
                raise InputError(f"{path}: cannot read the state file: {reason}") from None
            raise InputError(
                f"{path}: damaged state file ({exc}); it was left untouched — "
                "restore a backup or pass --state to use another file"
            ) from None

    def _migrate(self) -> None:
        with self._tx() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for index in range(version, schema.SCHEMA_VERSION):
                for statement in schema.MIGRATIONS[index].split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
            if version != schema.SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            for run_id in list(self._held):
                self._drop_os_lock(run_id)
            self._conn.close()
