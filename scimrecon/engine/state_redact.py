"""A redacted copy of a state file, to go to support with a redacted twin (`sim capture
--redact --state FILE --state-out COPY`).

A support engineer reproduces a customer's `status` (and can `resume` the run) on the twin only
if the state file names the same people the twin does: so the copy goes through the same
pseudonyms. The rewrite is generic (every text cell of every table, by a function the caller
gives), because emails and names sit in keys, JSON rows, outputs and audit summaries alike, and
a rewrite that lists columns would miss the next one added.

The original file is only read (SQLite's backup API, consistent even while a run writes). In the
copy, the audit trail's append-only triggers are lifted for the rewrite and put back; the copy
is unlocked (its lock named the customer's process and host) and vacuumed, so no page of it
keeps an original value.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from scimrecon.errors import InputError

#: Who ran it is the customer's business: the copy says this instead.
REDACTED_USER = "redacted"


def redacted_copy(source: Path, target: Path, rewrite: Callable[[str], str]) -> int:
    """Copy `source` to `target` with `rewrite` applied to every text cell; the number of
    cells changed. `target` must not exist (a copy never replaces anything)."""
    if not source.is_file():
        raise InputError(f"{source}: no state file here")
    if target.exists():
        raise InputError(f"{target}: already exists; choose a new file for the redacted copy")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        changed = _rewrite(dst, rewrite)
        dst.execute("VACUUM")
    except sqlite3.DatabaseError as exc:
        dst.close()
        target.unlink(missing_ok=True)
        raise InputError(f"{source}: cannot copy the state file: {exc}") from None
    finally:
        src.close()
    dst.close()
    return changed


def _rewrite(db: sqlite3.Connection, rewrite: Callable[[str], str]) -> int:
    triggers = [
        (name, sql)
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    ]
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    changed = 0
    with db:
        for name, _ in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        for table in tables:
            info = list(db.execute(f'PRAGMA table_info("{table}")'))
            columns = [row[1] for row in info]
            # WITHOUT ROWID tables are addressed by their primary key, the others by rowid
            keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]] or ["rowid"]
            listed = ", ".join(f'"{c}"' if c != "rowid" else c for c in [*keys, *columns])
            for row in db.execute(f'SELECT {listed} FROM "{table}"').fetchall():
                where, values = row[: len(keys)], row[len(keys) :]
                new = {}
                for column, value in zip(columns, values, strict=True):
                    if isinstance(value, str) and (changed_to := rewrite(value)) != value:
                        new[column] = changed_to
                if "os_user" in columns:
                    new["os_user"] = REDACTED_USER
                if "lock_pid" in columns:  # a copy is nobody's run in progress
                    new.update(lock_pid=None, lock_host=None, lock_since=None)
                if new:
                    sets = ", ".join(f'"{c}" = ?' for c in new)
                    match = " AND ".join(
                        f'"{k}" = ?' if k != "rowid" else "rowid = ?" for k in keys
                    )
                    db.execute(
                        f'UPDATE "{table}" SET {sets} WHERE {match}', [*new.values(), *where]
                    )
                    changed += 1
        for _, sql in triggers:
            db.execute(sql)
    return changed


__all__ = ["REDACTED_USER", "redacted_copy"]
