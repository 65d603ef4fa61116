"""The state file: refused when foreign or damaged (left byte-identical), append-only audit,
schema versioning, and one process per run."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scimrecon.engine.state import APPLICATION_ID, SCHEMA_VERSION, StateStore, pid_alive
from scimrecon.errors import InputError, RefusedError

from .conftest import DATA
from .conftest import hold_run as _holder


def new_run(store: StateStore) -> str:
    return store.create_run(
        playbook="basic",
        playbook_hash="h",
        playbook_name="basic.toml",
        playbook_source=(DATA / "basic.toml").read_text(),
        params={"mode": "soft"},
        targets_name="t.csv",
        targets_hash="d",
        targets=[("ada@acme.example", {"email": "ada@acme.example"})],
        options={},
    )


def refused_unchanged(path: Path) -> str:
    before = path.read_bytes()
    with pytest.raises(InputError) as err:
        StateStore.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return err.value.message


def test_a_non_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"runs: 12\nthis is my notes file\n" * 10)
    assert refused_unchanged(path) == (
        f"{path}: not a scimrecon state file (not an SQLite database); it was left untouched"
        " — pass --state to use another file"
    )


def test_a_damaged_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    message = refused_unchanged(path)
    assert message.startswith(f"{path}: damaged state file (")
    assert message.endswith(
        "); it was left untouched — restore a backup or pass --state to use another file"
    )


def test_someone_elses_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.commit()
    conn.close()
    assert refused_unchanged(path) == (
        f"{path}: an SQLite database that is not a scimrecon state file; it was left untouched"
        " — pass --state to use another file"
    )


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(InputError) as err:
        StateStore.open(path)
    assert err.value.message == (
        f"{path}: written by a newer scimrecon (state schema {SCHEMA_VERSION + 1}, this one "
        f"knows {SCHEMA_VERSION}); upgrade scimrecon"
    )


def test_a_new_file_gets_our_identity_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"
    StateStore.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    StateStore.open(path).close()  # reopening is not a migration


def test_read_commands_do_not_create_a_state_file(harness, tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    result = harness.invoke("status", "--state", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: no state file here (no runs yet); pass --state?\n"
    assert not path.exists()


def test_cli_reports_a_corrupt_state_file_in_one_line(harness, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00garbage" * 100)
    before = path.read_bytes()
    for args in (["runs"], ["status"], ["resume", "1"], ["log", "1"]):
        result = harness.invoke(*args, "--state", str(path))
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1
        assert "not a scimrecon state file" in result.stderr
    t = harness.targets("email\nada@acme.example\n")
    result = harness.run("basic.toml", t, "--yes", "--state", str(path))
    assert result.exit_code == 2
    assert path.read_bytes() == before
    assert harness.world.effects() == []  # refused before anything ran


def test_the_audit_trail_is_append_only(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path / "state.db")
    run_id = new_run(store)
    store.close()
    conn = sqlite3.connect(tmp_path / "state.db")
    with pytest.raises(sqlite3.DatabaseError, match="the audit trail is append-only"):
        conn.execute("UPDATE audit SET summary = 'nothing happened'")
    with pytest.raises(sqlite3.DatabaseError, match="the audit trail is append-only"):
        conn.execute("DELETE FROM audit")
    assert conn.execute("SELECT outcome FROM audit WHERE run = ?", (run_id,)).fetchall() == [
        ("run-started",)
    ]
    conn.close()


def _set_lock(path: Path, run_id: str, pid: int, host: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE runs SET lock_pid = ?, lock_host = ?, lock_since = '2026-11-23T05:00:00Z'"
        " WHERE id = ?",
        (pid, host, run_id),
    )
    conn.commit()
    conn.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_holder_is_refused_even_with_force(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    run_id = new_run(store)
    store.release(run_id)
    holder = _holder(path, run_id)
    try:
        since = store.get_run(run_id).lock_since
        for force in (False, True):
            with pytest.raises(RefusedError) as err:
                store.acquire(run_id, force=force)
            assert err.value.exit_code == 4
            assert err.value.message == (
                f"run {run_id} is in use by pid {holder.pid} on {socket.gethostname()} "
                f"since {since}: wait for it to end, or stop it (Ctrl-C where it runs, or "
                f"kill -INT {holder.pid}), then try again"
            )
    finally:
        holder.kill()
        holder.wait()
    store.close()


def test_a_killed_holder_lets_go_and_plain_acquire_takes_the_run(tmp_path: Path) -> None:
    """The lock dies with its process: no --force after a SIGKILL on this machine."""
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    run_id = new_run(store)
    store.release(run_id)
    holder = _holder(path, run_id)
    holder.kill()  # SIGKILL: no cleanup of any kind ran in the holder
    holder.wait()
    run = store.get_run(run_id)
    assert (run.lock_pid, run.lock_host) == (holder.pid, socket.gethostname())  # still recorded
    store.acquire(run_id)
    taken = store.get_run(run_id)
    assert (taken.lock_pid, taken.lock_host) == (os.getpid(), socket.gethostname())
    assert [(a.outcome, a.summary) for a in store.audit(run_id)][-1] == (
        "lock-taken",
        f"took over the lock from pid {holder.pid} on {socket.gethostname()} since "
        f"{run.lock_since}",
    )
    assert store.lock_path(run_id).exists()
    store.release(run_id)
    assert not store.lock_path(run_id).exists()  # nothing left beside the state file
    assert store.get_run(run_id).lock_pid is None
    store.close()


def test_a_dead_holders_record_needs_no_force(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    run_id = new_run(store)
    store.release(run_id)
    pid = _dead_pid()
    _set_lock(path, run_id, pid, socket.gethostname())
    store.acquire(run_id)
    run = store.get_run(run_id)
    assert (run.lock_pid, run.lock_host) == (os.getpid(), socket.gethostname())
    assert [a.outcome for a in store.audit(run_id)] == ["run-started", "lock-taken"]
    store.close()


def test_a_running_pid_without_the_os_lock_needs_force(tmp_path: Path) -> None:
    """A recorded pid that runs but holds no lock: an older scimrecon, or a reused pid."""
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    run_id = new_run(store)
    store.release(run_id)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _set_lock(path, run_id, other.pid, socket.gethostname())
        with pytest.raises(RefusedError) as err:
            store.acquire(run_id)
        assert err.value.message == (
            f"run {run_id} is recorded as locked by pid {other.pid} on {socket.gethostname()} "
            "since 2026-11-23T05:00:00Z, a process that runs but holds no lock on it (an older "
            "scimrecon, or another program that got its pid): pass --force if nothing works on it"
        )
        assert not store.lock_path(run_id).exists()  # a refusal leaves no file behind
        store.acquire(run_id, force=True)
    finally:
        other.kill()
        other.wait()
    store.close()


def test_another_hosts_lock_needs_force(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path / "state.db")
    run_id = new_run(store)
    store.release(run_id)
    _set_lock(tmp_path / "state.db", run_id, 4242, "other-host")
    with pytest.raises(RefusedError) as err:
        store.acquire(run_id)
    assert err.value.message == (
        f"run {run_id} is locked by pid 4242 on other-host since 2026-11-23T05:00:00Z; that "
        "process may still be running on its host: pass --force to take the run over"
    )
    store.acquire(run_id, force=True)
    store.close()


def test_two_stores_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    """flock belongs to an open file, not to a process: threads or embedders opening the
    state twice are kept apart too."""
    path = tmp_path / "state.db"
    first = StateStore.open(path)
    run_id = new_run(first)  # created locked
    second = StateStore.open(path)
    with pytest.raises(RefusedError, match=f"run {run_id} is in use by pid {os.getpid()}"):
        second.acquire(run_id, force=True)
    first.close()  # closing lets go of the OS lock too
    second.acquire(run_id)
    second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_a_zombie_is_not_a_running_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = 50
    while deadline and Path(f"/proc/{proc.pid}/stat").exists():
        if Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
            break
        time.sleep(0.1)
        deadline -= 1
    if not Path(f"/proc/{proc.pid}").exists():
        pytest.skip("no /proc here")
    assert not pid_alive(proc.pid)  # killed but not reaped yet
    proc.wait()
    assert not pid_alive(proc.pid)
    assert pid_alive(os.getpid())
