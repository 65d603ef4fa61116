"""A signal that lands inside `StateStore._tx` but outside its `try` leaves a transaction open.

`run` turns SIGTERM into a `Terminated` exception raised by the signal handler, which Python
runs between any two bytecodes. Two places in `_tx` are outside the `try` that rolls back: just
after `BEGIN IMMEDIATE`, and after the checkpoint's statements but before `COMMIT`. An exception
there used to leave the connection inside its transaction, and the next checkpoint (the runner
records what was interrupted) died on "cannot start a transaction within a transaction".

These tests raise `Terminated` at exactly those two lines, the way the handler would, with a
trace function (deterministic, unlike a real signal's timing), then check that the next
checkpoint works and that nothing of the interrupted one became visible, to the same store or
to another connection. They fail if the rollback at the top of `_tx` is removed.
"""

from __future__ import annotations

import inspect
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from scimrecon.engine.runner import Terminated
from scimrecon.engine.state import StateStore

from .test_state import new_run

#: The generator behind the `_tx` context manager: its code object is what we trace.
_TX = inspect.unwrap(StateStore._tx)


def _line_of(text: str) -> int:
    """The absolute line number in `_tx` of the first line that is exactly `text` (stripped)."""
    lines, first = inspect.getsourcelines(_TX)
    for offset, line in enumerate(lines):
        if line.strip() == text:
            return first + offset
    raise AssertionError(f"`_tx` has no line {text!r} any more; update this test")


@contextmanager
def _terminated_at(line: int) -> Iterator[list[int]]:
    """Raise `Terminated` the first time `_tx` is about to run `line`, as a SIGTERM would.

    Yields a list that holds the line once the exception has been raised there, so a test can
    tell the interruption really happened where it meant it to.
    """
    fired: list[int] = []

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno == line and not fired:
            fired.append(line)
            raise Terminated()
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code is _TX.__code__ and not fired else None

    previous = sys.gettrace()
    sys.settrace(global_)
    try:
        yield fired
    finally:
        sys.settrace(previous)


def _step_rows(path: Path) -> list[tuple[str, str, str]]:
    """Step states as another process would see them (a separate, read-only connection)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute("SELECT target, step, state FROM step_states ORDER BY step"))
    finally:
        conn.close()


def _audit_outcomes(store: StateStore, run: str) -> list[str]:
    return [a.outcome for a in store.audit(run)]


@pytest.mark.parametrize(
    "where",
    [
        pytest.param('self._conn.execute("BEGIN IMMEDIATE")', id="between-BEGIN-and-try"),
        pytest.param('self._conn.execute("COMMIT")', id="after-the-writes-before-COMMIT"),
    ],
)
def test_a_checkpoint_interrupted_outside_the_try_leaves_no_open_transaction(
    tmp_path: Path, where: str
) -> None:
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    try:
        run = new_run(store)
        # Interrupt on the line *after* BEGIN (the `try:`), or on COMMIT itself before it runs.
        line = _line_of(where) + (1 if "BEGIN" in where else 0)
        assert _line_of("try:") == _line_of('self._conn.execute("BEGIN IMMEDIATE")') + 1

        with _terminated_at(line) as fired, pytest.raises(Terminated):
            store.record(
                run, "ada@acme.example", "remove-scim", state="running",
                outcome="step-started", summary="interrupted checkpoint",
            )  # fmt: skip
        assert fired == [line]

        # The runner's next checkpoint: records the step as interrupted and carries on.
        store.record(
            run, "ada@acme.example", "lookup", state="done",
            outcome="step-done", summary="next checkpoint",
        )  # fmt: skip
        store.set_run_state(run, "interrupted", "SIGTERM")

        # The next checkpoint is there, for this store and for anyone else reading the file;
        # of the interrupted one nothing is (it was never committed).
        assert _step_rows(path) == [("ada@acme.example", "lookup", "done")]
        assert list(store.step_states(run)) == [("ada@acme.example", "lookup")]
        assert _audit_outcomes(store, run) == ["run-started", "step-done", "run-interrupted"]
        assert store.get_run(run).state == "interrupted"
    finally:
        store.close()

    # And the file is whole: a fresh open sees the same, and the integrity check passes.
    reopened = StateStore.open(path, create=False)
    try:
        assert _audit_outcomes(reopened, run) == ["run-started", "step-done", "run-interrupted"]
        assert list(reopened.step_states(run)) == [("ada@acme.example", "lookup")]
    finally:
        reopened.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
