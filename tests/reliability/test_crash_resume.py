"""Crash and resume: SIGKILL `scimrecon run reprovision` at seeded random moments, resume to the
end, and compare with a run that was never interrupted.

Each of the 30 scenarios is one fresh `sim serve` process over the same generated world (50
people, each managed and billable only through Trello, with 1-3 tickets) and one CLI process at a
time on all 50 of them, killed 1-3 times: while planning, after a seeded delay, or as soon as the
run has recorded the intent of its Nth destructive step. Destructive endpoints answer after a
short latency, so kills often land while a destructive call is in flight. After the last kill,
a plain `resume` (no `--force`: the run's OS lock died with its process) runs until exit 0.

To fit CI's time, the scenarios' processes are forks of a server that imported scimrecon once
(forked.py: the imports were over half the suite's CPU), and the kill trigger reads the state
file rather than the simulator's whole request log many times a second. The uninterrupted
reference run uses `python -m scimrecon.cli.main` and `sim serve` started the ordinary way.
The promises under test:

* the final world equals the uninterrupted run's (compared by email: who holds each address, in
  which state, with which products, linked to what, reporting which ticket; the IdP job);
* no destructive request (delete, unlink, email change, disable, ticket edit) succeeded twice
  for the same resource in the simulator's log;
* the run ends `completed` with every target `done`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.forked import run_forked, shutdown, spawn_forked
from tests.reliability.procs import (
    Sim,
    is_write,
    repeated_with_effect,
    scimrecon,
    sim_serve,
    sim_serve_forked,
    state_rows,
    wait_for,
)
from tests.reliability.worlds import facts, reprovision_world

pytestmark = pytest.mark.reliability

#: RELIABILITY_CRASH_SCENARIOS=3 for a quick look while developing; 30 is the proof.
SCENARIOS = int(os.environ.get("RELIABILITY_CRASH_SCENARIOS", "30"))
TARGETS = 50
DESTRUCTIVE_STEPS = ("remove-scim", "park-email", "reassign", "disable-old")
#: Latency on the prefixes that hold the destructive calls, so a kill can land mid-call.
LATENCY = {
    "/atlassian/users": {"latency_ms": 15},
    "/atlassian/admin/user-provisioning": {"latency_ms": 15},
    "/jira/acme/rest/api/3/issue": {"latency_ms": 15},
    "seed": 1,
}
RUN_ARGS = ("--max-wait", "5", "--format", "json")
# The IdP's cycle pushes users back (reassign, then the cycle): on-demand pushes are 5 per 10 s.
CYCLE = ("--param", "provision_mode=cycle")
#: Scenarios at a time. Each waits on the simulator's latency part of the time, so one more
#: than the cores keeps them busy.
WORKERS = int(os.environ.get("RELIABILITY_CRASH_WORKERS", str(min(4, (os.cpu_count() or 1) + 1))))


@dataclass
class Kill:
    command: str
    how: str
    #: Destructive steps recorded `running` (intent committed, outcome not) at the kill.
    inside: list[str] = field(default_factory=list)
    wrote: bool = False


@dataclass
class Outcome:
    seed: int
    facts: dict[str, Any]
    log: list[dict[str, Any]]
    kills: list[Kill]
    commands: list[str]
    run_state: str
    target_states: dict[str, str]
    settled: int
    seconds: float


def _world_file(folder: Path) -> tuple[Path, list[str]]:
    world, emails = reprovision_world(TARGETS)
    world["faults"] = LATENCY
    path = folder / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    return path, emails


def _targets_file(folder: Path, emails: list[str]) -> Path:
    path = folder / "targets.csv"
    path.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return path


def _running_destructive(state: Path) -> list[str]:
    rows = state_rows(state, "SELECT target, step FROM step_states WHERE state = 'running'")
    return [f"{step}:{target}" for target, step in rows if step in DESTRUCTIVE_STEPS]


def _destructive_intents(state: Path) -> int:
    """Destructive steps whose intent the run has recorded so far (a row per target and step)."""
    marks = ", ".join("?" * len(DESTRUCTIVE_STEPS))
    rows = state_rows(
        state, f"SELECT count(*) FROM step_states WHERE step IN ({marks})", DESTRUCTIVE_STEPS
    )
    return int(rows[0][0]) if rows else 0


def _has_run(state: Path) -> bool:
    return _run_state(state) is not None


def _run_state(state: Path) -> str | None:
    rows = state_rows(state, "SELECT state FROM runs WHERE id = 1")
    return str(rows[0][0]) if rows else None


def _kill_when(
    proc: Any, sim: Sim, state: Path, rng: random.Random, targets: int
) -> tuple[str, bool] | None:
    """Kill `proc` at a seeded moment: (how, whether it wrote anything); None if it ended first.

    One kill in ten lands while `run` still plans (before the run exists); the others after a
    seeded delay once the run is under way, or as soon as the state file shows the intent of the
    Nth destructive step of this process (polled: the call is then about to start, in flight
    or just answered). The simulator's log is read only before and after: serialising the whole
    log 40 times a second, under the lock every API request takes, cost more CPU than the run.
    """
    writes_before = sum(1 for e in sim.log() if is_write(e))
    roll = rng.random()
    if roll < 0.1:
        delay = rng.uniform(0.3, 1.5)
        how = f"{delay:.2f} s after start"
    else:
        wait_for(lambda: proc.poll() is not None or _has_run(state), 60, 0.02)
        if roll < 0.55:
            delay = rng.uniform(0.0, 0.08 * targets)  # a run takes about 0.1 s per target
            how = f"{delay:.2f} s into the run"
        else:
            intents_before = _destructive_intents(state)
            nth = rng.randint(1, len(DESTRUCTIVE_STEPS) * targets)
            how = f"at destructive step #{nth}"
            delay = 0.0
            while proc.poll() is None:
                if _destructive_intents(state) - intents_before >= nth:
                    break
                time.sleep(0.01)
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.01)
    if proc.poll() is not None:
        return None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    wrote = sum(1 for e in sim.log() if is_write(e)) > writes_before
    return how, wrote


def _scenario(seed: int, folder: Path, world: Path, emails: list[str]) -> Outcome:
    folder.mkdir()
    targets = _targets_file(folder, emails)
    rng = random.Random(seed)
    state = folder / "state.db"
    kills: list[Kill] = []
    commands: list[str] = []
    planned = rng.choice((1, 1, 2, 3))
    started = time.monotonic()
    with sim_serve_forked(world, folder) as sim:
        env = sim.env()
        for _attempt in range(20):
            if _run_state(state) == "completed":  # killed after its last commit
                break
            if _has_run(state):
                # No --force: the killed process's OS lock died with it (issue 11, point 9).
                args = ["resume", "1", "--yes", "--state", str(state), *RUN_ARGS]
            else:
                args = ["run", "reprovision", "--targets", str(targets), "--yes", *CYCLE]
                args += ["--state", str(state), *RUN_ARGS]
            commands.append(args[0])
            name = f"{len(commands)}-{args[0]}"
            if len(kills) < planned:
                proc = spawn_forked(args, env, folder, name)
                killed = _kill_when(proc, sim, state, rng, len(emails))
                if killed is not None:
                    how, wrote = killed
                    kills.append(Kill(args[0], how, _running_destructive(state), wrote))
                    if args[0] == "run" and not _has_run(state) and wrote:
                        raise AssertionError(f"seed {seed}: killed while planning, yet it wrote")
                    continue
                stdout, stderr = proc.communicate()
                code, out = proc.returncode, stdout + stderr
            else:
                code, stdout, stderr = run_forked(args, env, folder, name)
                out = stdout + stderr
            if code == 0:
                break
            if code == 3:  # parked at await-new-account: let the IdP's cycle push everyone
                sim.tick()
                continue
            raise AssertionError(f"seed {seed}: {args[0]} exited {code}: {out[-2000:]}")
        else:
            raise AssertionError(f"seed {seed}: the run never completed ({commands})")
        final, log = sim.world(), sim.log()
    run_state = state_rows(state, "SELECT state FROM runs WHERE id = 1")[0][0]
    targets_done = dict(state_rows(state, "SELECT key, state FROM targets WHERE run = 1"))
    settled = state_rows(
        state,
        "SELECT count(*) FROM audit WHERE outcome = 'settled' AND step IN (?, ?, ?, ?)",
        DESTRUCTIVE_STEPS,
    )[0][0]
    return Outcome(
        seed, facts(final), log, kills, commands, run_state, targets_done, settled,
        time.monotonic() - started,
    )  # fmt: skip


def _reference(folder: Path, world: Path, emails: list[str]) -> dict[str, Any]:
    """The uninterrupted run, with `sim serve` and the CLI started as a person would."""
    folder.mkdir()
    targets = _targets_file(folder, emails)
    with sim_serve(world, folder) as sim:
        args = ["run", "reprovision", "--targets", str(targets), "--yes", *CYCLE]
        done = scimrecon([*args, "--state", str(folder / "state.db"), *RUN_ARGS], sim.env(), folder)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["targets"] == {"done": TARGETS}
        final, log = sim.world(), sim.log()
    assert repeated_with_effect(log) == {}
    return facts(final)


def _check_reference(before: dict[str, Any], after: dict[str, Any], emails: list[str]) -> None:
    """The uninterrupted run really reprovisioned everyone (else equality proves little)."""
    for email in emails:
        local, domain = email.split("@")
        parked = f"{local}+old-1@{domain}".lower()
        assert after["accounts"][email.lower()] == {
            "status": "active",
            "managed": True,
            "products": [],
        }, email
        assert after["accounts"][parked]["status"] == "inactive", email
        assert after["accounts"][parked]["products"] == ["trello"], email
        assert after["scim"][email.lower()] == {"account": email.lower(), "active": True}
    moved = [k for k, i in before["issues"].items() if i["reporter"] in {e.lower() for e in emails}]
    assert moved
    assert all(after["issues"][k]["reporter"] == before["issues"][k]["reporter"] for k in moved)
    assert after["account_count"] == before["account_count"] + len(emails)
    assert after["idp_job"] == "Active"


def test_sigkill_at_random_moments_then_resume_ends_like_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    world, emails = _world_file(tmp_path)
    before = facts(json.loads(world.read_text(encoding="utf-8")))
    try:
        # The reference run goes alongside the first scenarios: it is needed only at the end.
        with ThreadPoolExecutor(1) as aside, ThreadPoolExecutor(WORKERS) as pool:
            reference_run = aside.submit(_reference, tmp_path / "reference", world, emails)
            scenarios = [
                pool.submit(_scenario, seed, tmp_path / f"seed-{seed}", world, emails)
                for seed in range(1, SCENARIOS + 1)
            ]
            reference = reference_run.result()
            outcomes = [future.result() for future in scenarios]
    finally:
        shutdown()
    _check_reference(before, reference, emails)

    problems: list[str] = []
    for o in outcomes:
        expected = reference
        if o.facts != expected:
            diff = [
                f"{part}[{key}]: {o.facts[part].get(key)} != {expected[part].get(key)}"
                for part in ("accounts", "scim", "issues")
                for key in sorted(set(o.facts[part]) | set(expected[part]))
                if o.facts[part].get(key) != expected[part].get(key)
            ]
            problems.append(f"seed {o.seed} {o.kills}: world differs: {diff[:5]}")
        if repeats := repeated_with_effect(o.log):
            problems.append(f"seed {o.seed} {o.kills}: repeated with effect: {repeats}")
        if o.run_state != "completed" or set(o.target_states.values()) != {"done"}:
            problems.append(f"seed {o.seed}: run {o.run_state}, targets {o.target_states}")
    assert problems == []

    kills = [k for o in outcomes for k in o.kills]
    inside = [k for k in kills if k.inside]
    settled = sum(o.settled for o in outcomes)
    summary = (
        f"{len(outcomes)} scenarios, {len(kills)} SIGKILLs ({len(inside)} inside a destructive "
        f"step, {settled} destructive steps settled by check() on resume), "
        f"{sum(len(o.commands) for o in outcomes)} CLI processes, "
        f"slowest scenario {max(o.seconds for o in outcomes):.1f} s"
    )
    print(summary)
    assert len(kills) >= SCENARIOS, summary
    assert len(inside) >= max(1, SCENARIOS // 6), summary
    assert settled >= 1, summary
