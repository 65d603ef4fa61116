"""The checkpoint store: one SQLite file holding runs, targets, step states and the audit trail.

Why SQLite: a commit is atomic and survives a crashed process, so "intent recorded before
apply" is a real guarantee, and the state stays queryable by people with the `sqlite3` shell.
The file is opened with great suspicion: a file that is not ours (or is damaged) is reported in
one line and left byte-for-byte as it was — silently resetting a state file would forget which
destructive steps already ran. One connection serves all threads of a run behind a lock, so
writes are serialised without `database is locked` surprises.
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scimrecon.errors import InputError, RefusedError, StorageError

try:  # the OS lock that dies with its process (POSIX); elsewhere only the recorded pid is left
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: `PRAGMA application_id` of a scimrecon state file ("SCRC"): tells our files from others.
APPLICATION_ID = 0x53435243
DEFAULT_STATE = Path(".scimrecon") / "state.db"
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


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid still says who
        return f"uid {os.getuid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (signal 0 only probes; a zombie, killed
    but not yet reaped by its parent, is not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


#: SQLite result codes (`sqlite_errorname` prefixes) that mean "the file cannot be written":
#: disk full, I/O error, read-only file or file system, a file that cannot be opened.
_STORAGE_CODES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN")


def is_storage_failure(exc: BaseException) -> bool:
    name = getattr(exc, "sqlite_errorname", None) or ""
    return isinstance(exc, sqlite3.Error) and name.startswith(_STORAGE_CODES)


def os_reason(path: Path, exc: BaseException) -> str:
    """The operating system's reason a write to `path` failed, as `strerror` words.

    SQLite reports "database or disk is full" or "attempt to write a readonly database" but not
    the errno behind it, so the cause is read back from the file system itself.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}"
    name = getattr(exc, "sqlite_errorname", None) or ""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fs = os.statvfs(folder)
    except OSError:
        fs = None
    if name.startswith("SQLITE_FULL"):
        if fs is not None and fs.f_bavail * fs.f_frsize >= 1 << 20:
            return f"the database reached its size limit ({exc})"
        return f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)} ({exc})"
    if fs is not None and fs.f_flag & os.ST_RDONLY:
        return f"[Errno {errno.EROFS}] {os.strerror(errno.EROFS)}"
    for candidate in (folder, path):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return f"[Errno {errno.EACCES}] {os.strerror(errno.EACCES)}: '{candidate}'"
    if name.startswith("SQLITE_IOERR"):
        return f"[Errno {errno.EIO}] {os.strerror(errno.EIO)} ({exc})"
    return str(exc)


def storage_error(path: Path, exc: BaseException) -> StorageError:
    return StorageError(f"{path}: cannot write the state file: {os_reason(path, exc)}")


def _read_only_uri(path: Path) -> str:
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


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def _check_file(path: Path) -> int:
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
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
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


class StateStore:
    """All reads and writes of run state. Thread-safe: one connection behind one lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.readonly = readonly
        self._user = os_user()
        self._host = socket.gethostname()
        #: run id -> the open lock file whose OS lock this process holds for the run's life.
        self._held: dict[str, int] = {}

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
            _check_file(path)
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
        version = _check_file(path)
        try:
            if version == SCHEMA_VERSION:
                conn = sqlite3.connect(
                    _read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA query_only=ON")
                return cls(conn, path, readonly=True)
            memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            if version:
                source = sqlite3.connect(_read_only_uri(path), uri=True)
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
            for index in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[index].split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
            if version != SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            for run_id in list(self._held):
                self._drop_os_lock(run_id)
            self._conn.close()

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

    # -- runs ----------------------------------------------------------------------------

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
                        _dumps(params),
                        targets_name,
                        targets_hash,
                        _dumps(options),
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
                    [(run_id, key, i, _dumps(row)) for i, (key, row) in enumerate(targets)],
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
            conn.execute("UPDATE runs SET outputs = ? WHERE id = ?", (_dumps(outputs), run_id))

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

    # -- locks ---------------------------------------------------------------------------
    #
    # Who drives a run is decided by an OS lock (flock) on a small file beside the state file,
    # `STATE.run-N.lock`, held for the run's whole life: the kernel drops it when the process
    # ends, however it ends, so a run whose process was killed is free again at once. The pid,
    # host and time in the `runs` row are information for people (`status`), and the only
    # guard left against a process on another host, whose OS lock we may not see.

    def lock_path(self, run_id: str) -> Path:
        return self.path.with_name(f"{self.path.name}.run-{run_id}.lock")

    def _take_os_lock(self, run_id: str) -> int | None:
        """The run's lock file, locked by this process; None when another process holds it."""
        if fcntl is None:  # pragma: no cover - no flock: the recorded pid decides alone
            return -1
        path = self.lock_path(run_id)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise StorageError(
                    f"{path}: cannot create the run's lock file: {os_reason(path, exc)}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            except OSError as exc:
                os.close(fd)
                raise StorageError(
                    f"{path}: cannot lock the run's lock file: {os_reason(path, exc)}"
                ) from None
            # The holder before us may have removed the file as it let go: a lock on a file
            # that is no longer at `path` guards nothing, so take the one that is there now.
            try:
                here = os.stat(path)
            except FileNotFoundError:
                here = None
            mine = os.fstat(fd)
            if here is not None and (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
            os.close(fd)

    def _drop_os_lock(self, run_id: str) -> None:
        fd = self._held.pop(run_id, None)
        if fd is None or fd < 0:
            return
        # Removed while still locked (see _take_os_lock); in a read-only folder it stays, and
        # the lock still ends with close().
        with suppress(OSError):
            self.lock_path(run_id).unlink()
        os.close(fd)

    def holds(self, run_id: str) -> bool:
        """Whether this store holds the run's OS lock (so may write its steps)."""
        return run_id in self._held

    def acquire(self, run_id: str, *, force: bool = False) -> None:
        """Take the run for this process, or refuse (exit 4) saying who holds it.

        A process on this host that holds the run is always refused, `--force` or not. A
        process that died (killed, crashed, power cut) held nothing any more: its run is taken
        over without asking, and the audit trail says from whom. A lock recorded by another
        host needs `force` (its OS lock may not be visible from here), and so does a recorded
        pid that still runs here without holding the OS lock (a scimrecon too old to take one,
        or a reused pid): a person looks before two processes could drive one run.
        """
        fd = self._held.get(run_id)
        fresh = fd is None
        if fresh:
            fd = self._take_os_lock(run_id)
        try:
            with self._tx() as conn:
                row = conn.execute(
                    "SELECT lock_pid, lock_host, lock_since FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
                if row is None:
                    raise InputError(f"run {run_id} not found in {self.path}")
                pid, host, since = row
                holder = f"pid {pid} on {host} since {since}" if pid is not None else None
                if fd is None:
                    raise RefusedError(f"run {run_id} is in use by {holder or 'another process'}")
                mine = pid == os.getpid() and host == self._host
                if holder is not None and not mine:
                    if host != self._host and not force:
                        raise RefusedError(
                            f"run {run_id} is locked by {holder}; that process may still be "
                            "running on its host: pass --force to take the run over"
                        )
                    if host == self._host and pid_alive(pid) and (not force or fd == -1):
                        if fd == -1:
                            raise RefusedError(f"run {run_id} is in use by {holder}")
                        raise RefusedError(
                            f"run {run_id} is recorded as locked by {holder}, a process that "
                            "runs but holds no lock on it (an older scimrecon, or another "
                            "program that got its pid): pass --force if nothing works on it"
                        )
                    self._audit(conn, run_id, "lock-taken", f"took over the lock from {holder}")
                conn.execute(
                    "UPDATE runs SET lock_pid = ?, lock_host = ?, lock_since = ? WHERE id = ?",
                    (os.getpid(), self._host, utc_now(), run_id),
                )
        except BaseException:
            if fresh and fd is not None:
                self._held[run_id] = fd
                self._drop_os_lock(run_id)
            raise
        assert fd is not None
        self._held[run_id] = fd

    def release(self, run_id: str) -> None:
        """Let go of the run. The OS lock goes whatever happens; clearing the recorded holder
        is best effort (a full disk must not turn a finished run into an error: the recorded
        pid is information, and its process is gone once this one ends)."""
        try:
            with self._tx() as conn:
                conn.execute(
                    "UPDATE runs SET lock_pid = NULL, lock_host = NULL, lock_since = NULL"
                    " WHERE id = ? AND lock_pid = ? AND lock_host = ?",
                    (run_id, os.getpid(), self._host),
                )
        except StorageError:
            pass
        finally:
            self._drop_os_lock(run_id)

    # -- targets and steps ---------------------------------------------------------------

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
        now = utc_now()
        started = now if state in ("running", "waiting") else None
        finished = now if state in ("done", "failed", "skipped") else None
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO step_states (run, target, step, state, attempts, outputs, error,"
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
                    _dumps(outputs) if outputs is not None else None,
                    error,
                    started,
                    finished,
                    deadline,
                ),
            )
            if target and (target_state or target_outputs is not None):
                sets, args = [], []
                if target_state:
                    sets += ["state = ?", "reason = ?", "step = ?"]
                    args += [target_state, target_reason, step]
                if target_outputs is not None:
                    sets.append("outputs = ?")
                    args.append(_dumps(target_outputs))
                conn.execute(
                    f"UPDATE targets SET {', '.join(sets)} WHERE run = ? AND key = ?",
                    (*args, run_id, target),
                )
            if run_outputs is not None:
                conn.execute(
                    "UPDATE runs SET outputs = ? WHERE id = ?", (_dumps(run_outputs), run_id)
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

    # -- audit ---------------------------------------------------------------------------

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

    # -- undo (a sub-run of its run; decision 26) ------------------------------------------

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
                conn.execute(
                    "UPDATE undos SET outputs = ? WHERE run = ?", (_dumps(outputs), run_id)
                )
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
        now = utc_now()
        started = now if state in ("running", "waiting") else None
        finished = now if state in ("done", "failed", "refused", "skipped") else None
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO undo_states (run, target, step, state, attempts, outputs, error,"
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
                    _dumps(outputs) if outputs is not None else None,
                    error,
                    started,
                    finished,
                    deadline,
                ),
            )
            if target and target_state:
                conn.execute(
                    "UPDATE targets SET state = ?, reason = ? WHERE run = ? AND key = ?",
                    (target_state, target_reason, run_id, target),
                )
            if undo_outputs is not None:
                conn.execute(
                    "UPDATE undos SET outputs = ? WHERE run = ?", (_dumps(undo_outputs), run_id)
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


@dataclass(frozen=True)
class UndoRecord:
    """The undo of a run (one per run, resumed in place): state, reason and run-wide outputs."""

    run: str
    state: str
    reason: str | None
    outputs: dict[str, Any]
    started: str
    finished: str | None
