"""Who drives a run: an OS lock on a file beside the state file, and the holder recorded.

Why a lock file and not only the recorded pid: the kernel drops the lock when its process ends,
however it ends, so a killed run is free again at once; the recorded pid, host and time stay
for people (`status`) and guard against a process on another host.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from scimrecon.engine.state_base import StoreBase, utc_now
from scimrecon.engine.storage_errors import os_reason
from scimrecon.errors import InputError, RefusedError, StorageError

try:  # the OS lock that dies with its process (POSIX); elsewhere only the recorded pid is left
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


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


def lock_holder(pid: int | None, host: str | None, since: str | None) -> str | None:
    """How messages name the process recorded as holding a run (None: nobody recorded)."""
    return f"pid {pid} on {host} since {since}" if pid is not None else None


def in_use(run_id: str, holder: str | None, pid: int | None, then: str = "try again") -> str:
    """Why a run cannot be taken now, and the way out: every command that needs the run
    (resume, abort, undo) says the same, so none of them points at another that is refused."""
    stop = (
        f"Ctrl-C where it runs, or kill -INT {pid}" if pid is not None else "Ctrl-C where it runs"
    )
    return (
        f"run {run_id} is in use by {holder or 'another process'}: wait for it to end, or stop "
        f"it ({stop}), then {then}"
    )


class RunLocks(StoreBase):
    """Taking, holding and letting go of runs."""

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
                holder = lock_holder(pid, host, since)
                if fd is None:
                    raise RefusedError(in_use(run_id, holder, pid))
                mine = pid == os.getpid() and host == self._host
                if holder is not None and not mine:
                    if host != self._host and not force:
                        raise RefusedError(
                            f"run {run_id} is locked by {holder}; that process may still be "
                            "running on its host: pass --force to take the run over"
                        )
                    if host == self._host and pid_alive(pid) and (not force or fd == -1):
                        if fd == -1:
                            raise RefusedError(in_use(run_id, holder, pid))
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
