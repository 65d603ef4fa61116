"""The state file's schema and its migrations, and the check that a file is ours to open.

Why apart from the store: what a state file is (its `application_id`, its tables, how an older
one is brought forward) changes on its own schedule, and the check that refuses a foreign or
damaged file must read it without touching it, before any store exists.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from scimrecon.engine.storage_errors import is_storage_failure, os_reason
from scimrecon.errors import InputError

#: `PRAGMA application_id` of a scimrecon state file ("SCRC"): tells our files from others.
APPLICATION_ID = 0x53435243
_SQLITE_MAGIC = b"SQLite format 3\x00"

# Each entry upgrades the schema by one version; never edit a shipped entry, append a new one.
MIGRATIONS: list[str] = [
    f"""
    PRAGMA application_id = {APPLICATION_ID};
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        playbook TEXT NOT NULL,
        playbook_hash TEXT NOT NULL,
        playbook_name TEXT NOT NULL,
        playbook_source TEXT NOT NULL,
        params TEXT NOT NULL,
        targets_name TEXT NOT NULL,
        targets_hash TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{{}}',
        state TEXT NOT NULL,
        reason TEXT,
        outputs TEXT NOT NULL DEFAULT '{{}}',
        started TEXT NOT NULL,
        finished TEXT,
        os_user TEXT NOT NULL,
        host TEXT NOT NULL,
        lock_pid INTEGER,
        lock_host TEXT,
        lock_since TEXT
    );
    CREATE TABLE targets (
        run INTEGER NOT NULL REFERENCES runs(id),
        key TEXT NOT NULL,
        position INTEGER NOT NULL,
        row TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        reason TEXT,
        step TEXT,
        outputs TEXT NOT NULL DEFAULT '{{}}',
        PRIMARY KEY (run, key)
    ) WITHOUT ROWID;
    CREATE TABLE step_states (
        run INTEGER NOT NULL REFERENCES runs(id),
        target TEXT NOT NULL,
        step TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        outputs TEXT,
        error TEXT,
        started TEXT,
        finished TEXT,
        deadline REAL,
        PRIMARY KEY (run, target, step)
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        os_user TEXT NOT NULL,
        run INTEGER,
        target TEXT,
        step TEXT,
        action TEXT,
        outcome TEXT NOT NULL,
        summary TEXT
    );
    CREATE INDEX audit_run ON audit(run, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """,
    # 2: undo (decision 26). An undo is a sub-run of its run: same id, lock, targets and audit
    # trail; its own step states (the steps it takes back) and its own run-level record.
    """
    CREATE TABLE undos (
        run INTEGER PRIMARY KEY REFERENCES runs(id),
        state TEXT NOT NULL,
        reason TEXT,
        outputs TEXT NOT NULL DEFAULT '{}',
        started TEXT NOT NULL,
        finished TEXT
    );
    CREATE TABLE undo_states (
        run INTEGER NOT NULL REFERENCES runs(id),
        target TEXT NOT NULL,
        step TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        outputs TEXT,
        error TEXT,
        started TEXT,
        finished TEXT,
        deadline REAL,
        PRIMARY KEY (run, target, step)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def read_only_uri(path: Path) -> str:
    """The URI that reads `path` without creating or changing any file.

    SQLite's `mode=ro` alone still creates `-wal` and `-shm` beside a WAL database (and leaves
    them behind, as a reader may not delete them). With no `-wal` there is nothing but the file
    to read, so it is opened `immutable` (no lock, no side file; works on read-only file
    systems). A `-wal` means a writer is at work or died: its log holds committed steps that
    must be read, so the reader goes through SQLite's locking then.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not path.with_name(path.name + "-wal").exists():
        uri += "&immutable=1"
    return uri


def check_file(path: Path) -> int:
    """Refuse a file that is not a scimrecon state file; else its schema version (0: none yet).

    Reads only, through a read-only connection that creates no side file, so a refused file is
    left byte-identical and nothing appears beside it.
    """
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a state file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file, so not a state file; pass --state")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the state file ({exc.strerror})") from None
    if not header:
        return 0
    if not header.startswith(_SQLITE_MAGIC):
        raise InputError(
            f"{path}: not a scimrecon state file (not an SQLite database); "
            "it was left untouched — pass --state to use another file"
        )
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if is_storage_failure(exc):  # readable bytes, an unreadable place: not damage
            raise InputError(
                f"{path}: cannot read the state file: {os_reason(path, exc)}; "
                "copy it (with its -wal and -shm files) to a writable folder and pass --state"
            ) from None
        raise InputError(
            f"{path}: damaged state file ({exc}); it was left untouched — "
            "restore a backup or pass --state to use another file"
        ) from None
    if app_id != APPLICATION_ID:
        if tables == 0 and app_id == 0:
            return 0
        raise InputError(
            f"{path}: an SQLite database that is not a scimrecon state file; "
            "it was left untouched — pass --state to use another file"
        )
    if version > SCHEMA_VERSION:
        raise InputError(
            f"{path}: written by a newer scimrecon (state schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade scimrecon"
        )
    return int(version)
