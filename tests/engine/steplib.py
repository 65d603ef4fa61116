"""A test-only step library whose side effects land in an SQLite file the tests can count.

Every `apply` appends one row to `effects` (target, step), so a test can prove that a step ran
exactly once per target even across crashes; `check` reads the same table, as a real action
reads the world. Behaviour is steered by the target's own columns (`fail_at`, `skip_at`,
`error_at`, `flaky_at`, `unauthorized_at`; `doomed_at`, where even the plan's description
fails) and by the World's `ready` table for wait steps.

Crash injection (subprocess tests only): SCIMRECON_TEST_CRASH_AT=step:target:phase, phase one of
`check` (before anything), `apply-start` (intent committed, no effect yet), `apply-end` (effect
written, outputs not yet recorded). Read here only; the engine knows nothing about it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from scimrecon.engine.action import Action, ActionRegistry, Skip, StepContext, StepFailed
from scimrecon.errors import CredentialsRefused

CRASH_VAR = "SCIMRECON_TEST_CRASH_AT"
WORLD_VAR = "SCIMRECON_TEST_WORLD"


class World:
    """The 'remote system' of the test actions: an SQLite file, safe across threads/processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS effects (target TEXT, step TEXT, action TEXT, value TEXT)"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS ready (target TEXT PRIMARY KEY)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS flags (name TEXT PRIMARY KEY, n INTEGER)")
        self.checks = 0

    def forget_reads(self) -> None:
        """Like `Services.forget_reads`: this world remembers no reads, so nothing to drop."""

    def effect(self, target: str, step: str, action: str, value: str = "") -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO effects VALUES (?, ?, ?, ?)", (target, step, action, value)
            )

    def has(self, target: str, step: str) -> bool:
        with self._lock:
            self.checks += 1
            row = self._conn.execute(
                "SELECT 1 FROM effects WHERE target = ? AND step = ? LIMIT 1", (target, step)
            ).fetchone()
        return row is not None

    def effects(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return self._conn.execute("SELECT * FROM effects ORDER BY rowid").fetchall()

    def counts(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for target, step, _, _ in self.effects():
            out[(target, step)] = out.get((target, step), 0) + 1
        return out

    def set_ready(self, target: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO ready VALUES (?)", (target,))

    def is_ready(self, target: str) -> bool:
        with self._lock:
            return (
                self._conn.execute("SELECT 1 FROM ready WHERE target = ?", (target,)).fetchone()
                is not None
            )

    def bump(self, name: str) -> int:
        with self._lock:
            self._conn.execute(
                "INSERT INTO flags VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET n = n + 1",
                (name,),
            )
            return int(
                self._conn.execute("SELECT n FROM flags WHERE name = ?", (name,)).fetchone()[0]
            )

    def flags(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT name, n FROM flags").fetchall())

    def close(self) -> None:
        self._conn.close()


def _maybe_crash(ctx: StepContext, phase: str) -> None:
    spec = os.environ.get(CRASH_VAR)
    if not spec or ctx.dry_run:  # never while planning: the run must exist to be resumed
        return
    step, target, want = spec.split(":", 2)
    if step == ctx.step_id and target == (ctx.target_key or "") and want == phase:
        os.kill(os.getpid(), signal.SIGKILL)


def _key(ctx: StepContext) -> str:
    return ctx.target_key or ""


class Mark(Action):
    """A step that 'changes the world' once: an effect row, and outputs later steps can read."""

    name = "test.mark"

    def describe(self, ctx: StepContext) -> str:
        if ctx.target.get("doomed_at") == ctx.step_id:  # a failure known before the run
            raise StepFailed(f"{_key(ctx)} can never be marked at {ctx.step_id}")
        return f"would mark {_key(ctx) or 'the run'} at {ctx.step_id}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        _maybe_crash(ctx, "check")
        if ctx.target.get("skip_at") == ctx.step_id:
            raise Skip(f"told to skip at {ctx.step_id}")
        world: World = ctx.services
        if world.has(_key(ctx), ctx.step_id):
            return {f"{ctx.step_id.replace('-', '_')}_out": f"{_key(ctx)}@{ctx.step_id}"}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        _maybe_crash(ctx, "apply-start")
        if ctx.step_options.get("fail"):
            raise StepFailed(f"step {ctx.step_id} was told to fail")
        if ctx.target.get("fail_at") == ctx.step_id:
            raise StepFailed(f"{_key(ctx)} cannot be marked")
        if ctx.target.get("error_at") == ctx.step_id:
            raise RuntimeError("remote said 500")
        if ctx.target.get("unauthorized_at") == ctx.step_id:
            raise CredentialsRefused("Test API: PUT /mark → 401 (the credentials were refused)")
        if ctx.target.get("flaky_at") == ctx.step_id:
            tries = ctx.services.bump(f"flaky:{_key(ctx)}:{ctx.step_id}")
            if tries < 3:
                raise ConnectionError(f"flaky attempt {tries}")
        world: World = ctx.services
        world.effect(_key(ctx), ctx.step_id, self.name, str(ctx.step_options.get("value", "")))
        _maybe_crash(ctx, "apply-end")
        return {f"{ctx.step_id.replace('-', '_')}_out": f"{_key(ctx)}@{ctx.step_id}"}


class Noop(Action):
    """Does nothing, touches nothing: for measuring the engine itself."""

    name = "test.noop"

    def describe(self, ctx: StepContext) -> str:
        return "would do nothing"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        return {}


class Pause(Mark):
    """Run-scoped 'pause provisioning', with the left_changed hook the runner reports."""

    name = "test.pause"

    def left_changed(self, ctx: StepContext) -> str | None:
        world: World = ctx.services
        if world.has("", "resume") or world.has("", "resume-finally"):
            return None
        return f"provisioning is still paused: resume or abort run {ctx.run_id}"


class Resume(Mark):
    name = "test.resume"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        _maybe_crash(ctx, "check")
        world: World = ctx.services
        if world.has("", "resume") or world.has("", "resume-finally"):
            return {"resumed": True}
        return None


class WaitReady(Action):
    """Waits until the test marks the target ready (like waiting for a first login)."""

    name = "test.wait"

    def describe(self, ctx: StepContext) -> str:
        return f"would wait for {_key(ctx)} to be ready"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        world: World = ctx.services
        return {"ready": True} if world.is_ready(_key(ctx)) else None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        raise AssertionError("the runner must never apply a wait step")


class Slow(Mark):
    """Takes its time inside apply, so a test can signal the process while calls are in flight."""

    name = "test.slow"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        ctx.services.bump(f"started:{_key(ctx)}")
        time.sleep(float(ctx.step_options.get("sleep", 0.5)))
        return super().apply(ctx)


class Ask(Mark):
    """Asks the person through the Interaction inside apply, as the Okta pause does."""

    name = "test.ask"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        ctx.ui.manual(f"do the thing for {_key(ctx) or 'the run'}", expect="ok")
        return super().apply(ctx)


class Leaky(Mark):
    """Raises an error that quotes a secret: the engine must never store it."""

    name = "test.leaky"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        raise RuntimeError(
            f"GET https://x/?k={os.environ.get('SCIMRECON_ORG_API_KEY')} "
            "Authorization: Bearer abcdefghijklmnop"
        )


REGISTRY = ActionRegistry(
    {cls.name: cls for cls in (Mark, Noop, Pause, Resume, WaitReady, Ask, Leaky, Slow)}
)


def world_from_env() -> World:
    return World(Path(os.environ[WORLD_VAR]))
