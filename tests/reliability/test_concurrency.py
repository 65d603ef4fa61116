"""Concurrency: two processes on one run. The second is refused; nothing is corrupted.

A run is held through an OS lock (flock) on `STATE.run-N.lock` for the process's life, with
its pid and host recorded in the state file for people to read. While the first process works,
`resume`, `resume --force` and `abort` from a second process are refused with exit 4 naming the
holder, and read-only commands still work. After a SIGKILL the lock died with its process: two
plain `resume`s started together race for the run, and exactly one wins. Afterwards the state
file passes SQLite's integrity check, the run is complete, and the simulator's log shows no
destructive request that succeeded twice.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.procs import (
    Sim,
    repeated_with_effect,
    scimrecon,
    sim_serve,
    spawn,
    state_rows,
    wait_for,
)
from tests.reliability.worlds import facts, reprovision_world

pytestmark = pytest.mark.reliability

TARGETS = 10
#: Slow enough that the first process is still at work when the second one arrives (every
#: /atlassian request: a run sends few of them since the request diet, decision 71).
SLOW = {"/atlassian": {"latency_ms": 400}, "/jira": {"latency_ms": 60}, "seed": 1}


def _setup(folder: Path) -> tuple[Path, Path, list[str], dict[str, Any]]:
    world, emails = reprovision_world(TARGETS, 20)
    world["faults"] = SLOW
    world_file = folder / "world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    targets = folder / "targets.csv"
    targets.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return world_file, targets, emails, facts(world)


def _lock(state: Path) -> tuple[Any, ...] | None:
    rows = state_rows(state, "SELECT lock_pid, lock_host FROM runs WHERE id = 1")
    return rows[0] if rows and rows[0][0] is not None else None


def _integrity(state: Path) -> str:
    conn = sqlite3.connect(state)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _all_reprovisioned(sim: Sim, before: dict[str, Any], emails: list[str]) -> None:
    after = facts(sim.world())
    for email in emails:
        assert after["scim"][email.lower()] == {"account": email.lower(), "active": True}
        local, domain = email.lower().split("@")
        assert after["accounts"][f"{local}+old-1@{domain}"]["status"] == "inactive"
    assert after["account_count"] == before["account_count"] + len(emails)
    assert repeated_with_effect(sim.log()) == {}


def test_a_second_process_on_a_running_run_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    world, targets, emails, before = _setup(tmp_path)
    state = tmp_path / "state.db"
    with sim_serve(world, tmp_path) as sim:
        env = sim.env()
        first = spawn(
            [
                "run",
                "reprovision",
                "--targets",
                str(targets),
                "--yes",
                "--param",
                "provision_mode=cycle",
                "--state",
                str(state),
            ],
            env,
            tmp_path,
        )
        assert wait_for(lambda: _lock(state) is not None, 60), "the run never took its lock"
        holder = f"pid {first.pid} on {socket.gethostname()}"
        audit_before = state_rows(state, "SELECT count(*) FROM audit")[0][0]

        refused = {}
        for args in (
            ["resume", "1", "--yes"],
            ["resume", "1", "--yes", "--force"],
            ["abort", "1", "--yes", "--force"],
        ):
            done = scimrecon([*args, "--state", str(state)], env, tmp_path)
            # the last line: `abort --yes` first echoes the question it answered
            refused[" ".join(args)] = (done.returncode, done.stderr.strip().splitlines()[-1])
        watching = scimrecon(["status", "1", "--state", str(state)], env, tmp_path)
        still_running = first.poll() is None
        out, err = first.communicate(timeout=120)
        _all_reprovisioned(sim, before, emails)

    assert still_running, "the first process finished before the second arrived: too fast"
    for command, (code, message) in refused.items():
        assert code == 4, (command, message)
        assert re.fullmatch(
            rf"error: run 1 is in use by {re.escape(holder)} since \S+: wait for it to end, "
            rf"or stop it \(Ctrl-C where it runs, or kill -INT {first.pid}\), then try again",
            message,
        ), (
            command,
            message,
        )
    assert watching.returncode == 0 and f"locked by {holder}" in watching.stdout
    assert first.returncode == 0, out + err
    # The refusals wrote nothing: no lock taken over, no audit line of theirs.
    audit = state_rows(state, "SELECT outcome, summary FROM audit")
    assert not [a for a in audit if a[0] in ("lock-taken", "abort-requested")]
    assert len(audit) >= audit_before
    assert _integrity(state) == "ok"
    assert state_rows(state, "SELECT state, lock_pid FROM runs WHERE id = 1") == [
        ("completed", None)
    ]


def test_two_resumes_racing_for_a_dead_lock_one_wins(tmp_path: Path) -> None:
    world, targets, emails, before = _setup(tmp_path)
    state = tmp_path / "state.db"
    with sim_serve(world, tmp_path) as sim:
        env = sim.env()
        first = spawn(
            [
                "run",
                "reprovision",
                "--targets",
                str(targets),
                "--yes",
                "--param",
                "provision_mode=cycle",
                "--state",
                str(state),
            ],
            env,
            tmp_path,
        )
        # Kill it while it works on the destructive steps, holding the lock.
        assert wait_for(
            lambda: bool(state_rows(state, "SELECT 1 FROM step_states WHERE step = 'park-email'")),
            60,
        )
        first.send_signal(signal.SIGKILL)
        first.communicate()
        assert _lock(state) == (first.pid, socket.gethostname())

        # No --force: the killed process's OS lock died with it; the recorded pid is history.
        args = ["resume", "1", "--yes", "--max-wait", "5", "--state", str(state)]
        racers = [spawn(args, env, tmp_path) for _ in range(2)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in racers]
        codes = sorted(code for code, _, _ in results)
        losers = [err.strip() for code, _, err in results if code == 4]
        _all_reprovisioned(sim, before, emails)

    assert codes == [0, 4], results
    winner = next(p.pid for p, (code, _, _) in zip(racers, results, strict=True) if code == 0)
    assert re.fullmatch(
        rf"error: run 1 is (in use by pid {winner} on \S+ since \S+: wait for it to end, or "
        rf"stop it \(Ctrl-C where it runs, or kill -INT {winner}\), then try again|"
        r"completed: nothing to resume)",
        losers[0],
    ), losers
    taken = state_rows(state, "SELECT summary FROM audit WHERE outcome = 'lock-taken'")
    assert [s for (s,) in taken] == [
        f"took over the lock from pid {first.pid} on {socket.gethostname()} since "
        + str(taken[0][0]).rsplit("since ", 1)[1]
    ]
    assert _integrity(state) == "ok"
    assert not list(tmp_path.glob("state.db.run-*.lock"))  # released, so removed
    assert state_rows(state, "SELECT state FROM runs WHERE id = 1") == [("completed",)]
    assert set(dict(state_rows(state, "SELECT key, state FROM targets")).values()) == {"done"}


def test_a_second_run_on_other_targets_cannot_undo_the_first_runs_pause(tmp_path: Path) -> None:
    world, emails = reprovision_world(6, 20)
    first_targets, second_targets = emails[3:], emails[:3]
    account = {a["email"]: a["account_id"] for a in world["accounts"]}
    # The first run's email changes are slow: the second run starts while they are under way.
    world["faults"] = {
        f"/atlassian/users/{account[e]}/manage/email": {"latency_ms": 6000} for e in first_targets
    }
    world_file = tmp_path / "world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    lists = {}
    for name, chosen in (("first", first_targets), ("second", second_targets)):
        lists[name] = tmp_path / f"{name}.csv"
        lists[name].write_text("email\n" + "".join(f"{e}\n" for e in chosen), encoding="utf-8")
    before = facts(world)
    with sim_serve(world_file, tmp_path) as sim:
        env = sim.env()
        first_state = tmp_path / "first.db"
        first = spawn(
            ["run", "reprovision", "--targets", str(lists["first"]), "--yes",
                "--param", "provision_mode=cycle", "--max-wait", "5",
             "--state", str(first_state)],
            env, tmp_path,
        )  # fmt: skip
        assert wait_for(
            lambda: bool(
                state_rows(first_state, "SELECT 1 FROM step_states WHERE step = 'park-email'")
            ),
            60,
        )
        second = scimrecon(
            ["run", "reprovision", "--targets", str(lists["second"]), "--yes",
                "--param", "provision_mode=cycle", "--max-wait", "5",
             "--state", str(tmp_path / "second.db")],
            env, tmp_path,
        )  # fmt: skip
        first.communicate(timeout=120)
        after = facts(sim.world())
    assert second.returncode in (0, 4), second.stderr
    assert after["idp_job"] == "Active"
    for email in first_targets:  # every one of them reprovisioned, none left on a parked account
        key = email.lower()
        assert after["scim"][key] == {"account": key, "active": True}, (email, after["scim"][key])
    assert after["account_count"] >= before["account_count"] + len(first_targets)
