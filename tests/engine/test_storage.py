"""Storage faults: a state file that fills up mid-run, read-only state files, read-only reads.

The full disk here is SQLite's own `PRAGMA max_page_count`, set on the run's connection once
the run is inside its pause window: the next write that needs a page fails with SQLITE_FULL,
the same result code a full disk gives (tests/reliability/test_storage_faults.py fills a real
tmpfs). What must hold (issue 11, point 8): the run stops with one line naming the file and
the reason; nothing more is applied; the finally steps run all the same (provisioning is not
left paused); what could not be recorded is listed; and once space is back a plain `resume`
finishes the run without doing anything twice, re-pausing first if the finally step resumed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scimrecon.cli import run as run_cli
from scimrecon.engine.action import ActionRegistry, StepContext
from scimrecon.engine.state import StateStore

from .conftest import DATA, Harness
from .steplib import REGISTRY, Mark, World

TARGETS = [f"u{i:02d}@acme.example" for i in range(60)]
FULL = "the database reached its size limit (database or disk is full)"


def _paused(world: World) -> bool:
    """The toggle's state: the last pause/resume effect decides."""
    toggles = [
        s for t, s, _, _ in world.effects() if not t and s in ("pause", "resume", "resume-finally")
    ]
    return bool(toggles) and toggles[-1] == "pause"


class TogglePause(Mark):
    """A pause whose check reads the world as it is now (like the Entra job's status)."""

    name = "test.pause"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return {"paused": True} if _paused(ctx.services) else None


class ToggleResume(Mark):
    name = "test.resume"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return {"resumed": True} if not _paused(ctx.services) else None


def _registry() -> ActionRegistry:
    actions = {name: REGISTRY.get(name) for name in REGISTRY.names()}
    return ActionRegistry({**actions, "test.pause": TogglePause, "test.resume": ToggleResume})


@pytest.fixture
def full_at_step_two(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the state file 'full' when the first `two` intent is recorded; returns a log."""
    fired: list[str] = []
    original = StateStore.record

    def record(self: StateStore, run_id: str, target: str, step: str, **kw: Any) -> None:
        if step == "two" and kw.get("state") == "running" and not fired:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            self._conn.execute(f"PRAGMA max_page_count = {pages}")
            fired.append(f"{target} at {pages} pages")
        original(self, run_id, target, step, **kw)

    monkeypatch.setattr(StateStore, "record", record)
    return fired


def _effects_in_window_only(world: World) -> None:
    """The invariant the pause exists for: no `two` was applied while not paused."""
    paused = False
    for target, step, _, _ in world.effects():
        if not target:
            paused = step == "pause" if step in ("pause", "resume", "resume-finally") else paused
        elif step == "two":
            assert paused, f"{target}: step two applied while provisioning was not paused"


def test_a_full_state_file_stops_the_run_runs_finally_and_resume_finishes(
    harness: Harness, full_at_step_two: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_cli.HOOKS, "registry", _registry)
    t = harness.targets("email\n" + "".join(f"{k}\n" for k in TARGETS))

    result = harness.run("basic.toml", t, "--yes", "--concurrency", "1", "--format", "json")

    assert full_at_step_two, "the fault never fired"
    assert result.exit_code == 4, result.output
    doc = json.loads(result.stdout)
    assert doc["state"] == "interrupted"
    error = f"error: {harness.state}: cannot write the state file: {FULL}"
    assert harness.ui.infos.count(error) == 1  # said once, in one line (stderr in a terminal)
    assert doc["reason"] == f"stopped: {error.removeprefix('error: ')}"
    world = harness.world
    applied_two = [t for t, s, _, _ in world.effects() if s == "two"]
    assert 0 < len(applied_two) < len(TARGETS)  # it stopped inside the pause window
    assert not _paused(world), "the finally step must resume provisioning"
    assert [s for t, s, _, _ in world.effects() if not t] == ["pause", "resume-finally"]
    assert all(n == 1 for n in world.counts().values())
    # What the file does not know is listed (the finally step at least, whose row is new).
    assert "NOT RECORDED in the state file" in result.stderr
    assert doc["unrecorded"] and all(
        note.startswith(("step ", "finally step ", "run ")) for note in doc["unrecorded"]
    )
    assert "finally step resume-finally: done" in doc["unrecorded"]

    # Space is back (a new connection has no page limit): a plain resume finishes the run.
    monkeypatch.undo()
    monkeypatch.setattr(run_cli.HOOKS, "registry", _registry)
    monkeypatch.setattr(run_cli.HOOKS, "services", lambda state: world)
    monkeypatch.setattr(run_cli.HOOKS, "interaction", lambda **kw: harness.ui)
    resumed = harness.invoke("resume", "1", "--yes", "--state", str(harness.state))
    assert resumed.exit_code == 0, resumed.output
    assert "run 1 completed" in resumed.stdout
    _effects_in_window_only(world)  # it paused again before the rest of step two
    toggles = [s for t, s, _, _ in world.effects() if not t]
    assert toggles == ["pause", "resume-finally", "pause", "resume"]
    counts = world.counts()
    assert {k: n for k, n in counts.items() if k[0]} == {
        (k, s): 1 for k in TARGETS for s in ("one", "two", "three")
    }
    assert not _paused(world)
    store = StateStore.open_readonly(harness.state)
    try:
        assert store.get_run("1").state == "completed"
        assert "reopened" in [a.outcome for a in store.audit("1")]
    finally:
        store.close()


@pytest.mark.parametrize("command", [["status"], ["runs"], ["log", "1"], ["report", "1"]])
def test_reading_commands_leave_the_folder_exactly_as_it_was(
    harness: Harness, command: list[str]
) -> None:
    """No -wal, no -shm, not a byte changed: a reader is not a writer."""
    t = harness.targets("email\nada@acme.example\n")
    assert harness.run("basic.toml", t, "--yes").exit_code == 0
    folder = harness.state.parent
    snapshot = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    result = harness.invoke(*command, "--state", str(harness.state))
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == snapshot


def test_a_zero_byte_state_file_reads_as_no_runs_and_stays_zero_bytes(
    harness: Harness, tmp_path: Path
) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    result = harness.invoke("runs", "--state", str(path), "--format", "json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")
    result = harness.invoke("status", "--state", str(path))
    assert (result.exit_code, result.stderr) == (2, f"error: {path}: no runs yet\n")
    assert path.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("empty")) == ["empty.db"]


def test_a_reader_sees_what_a_crashed_writer_committed_in_its_wal(tmp_path: Path) -> None:
    """A -wal left by a killed writer holds committed steps: the reader goes through it."""
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    run = store.create_run(
        playbook="basic", playbook_hash="h", playbook_name="basic.toml",
        playbook_source=(DATA / "basic.toml").read_text(), params={}, targets_name="t.csv",
        targets_hash="d", targets=[("ada@acme.example", {})], options={},
    )  # fmt: skip
    store.set_run_state(run, "parked", "waiting")
    # Keep the writer's connection open (as a killed process leaves it): the WAL stays.
    assert path.with_name("state.db-wal").exists()
    reader = StateStore.open_readonly(path)
    try:
        assert reader.get_run(run).state == "parked"
    finally:
        reader.close()
        store.close()


def test_an_older_schema_is_migrated_in_memory_for_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader never upgrades the file: a newer scimrecon reading an older file migrates a
    copy in memory, and the file keeps its bytes."""
    from scimrecon.engine import state_schema

    path = tmp_path / "state.db"
    StateStore.open(path).close()
    before = path.read_bytes()
    on_disk = state_schema.SCHEMA_VERSION
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);\n"
    monkeypatch.setattr(state_schema, "MIGRATIONS", [*state_schema.MIGRATIONS, extra])
    monkeypatch.setattr(state_schema, "SCHEMA_VERSION", len(state_schema.MIGRATIONS))
    store = StateStore.open_readonly(path)
    try:
        assert store.list_runs() == []
        assert store._conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    finally:
        store.close()
    assert path.read_bytes() == before
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == on_disk
    conn.close()


def _sqlite_error(name: str, text: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(text)
    exc.sqlite_errorname = name  # type: ignore[attr-defined]  # as SQLite's own errors carry it
    return exc


def test_the_os_reason_is_read_back_from_the_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite says "database or disk is full" or "readonly database", never the errno."""
    from types import SimpleNamespace

    from scimrecon.engine import storage_errors

    path = tmp_path / "state.db"
    path.write_bytes(b"")
    full = _sqlite_error("SQLITE_FULL", "database or disk is full")
    assert storage_errors.os_reason(path, full) == FULL  # space left: the page limit, not the disk
    fs = SimpleNamespace(f_bavail=0, f_frsize=4096, f_flag=0)
    monkeypatch.setattr(storage_errors.os, "statvfs", lambda p: fs)
    assert storage_errors.os_reason(path, full) == (
        "[Errno 28] No space left on device (database or disk is full)"
    )
    readonly = _sqlite_error("SQLITE_READONLY", "attempt to write a readonly database")
    fs.f_flag = storage_errors.os.ST_RDONLY
    assert storage_errors.os_reason(path, readonly) == "[Errno 30] Read-only file system"
    fs.f_flag = 0
    monkeypatch.setattr(storage_errors.os, "access", lambda p, mode: Path(p) != tmp_path)
    assert storage_errors.os_reason(path, readonly) == f"[Errno 13] Permission denied: '{tmp_path}'"
    assert storage_errors.storage_error(path, readonly).message == (
        f"{path}: cannot write the state file: [Errno 13] Permission denied: '{tmp_path}'"
    )
