"""Kill the engine with SIGKILL at every step boundary and inside `apply`, then resume.

The promise under test: every target ends done, and no apply with side effects ran twice (or
was lost) for the same target and step — whatever instant the process died at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scimrecon.engine.state import StateStore

from .conftest import DATA
from .steplib import CRASH_VAR, WORLD_VAR, World

HARNESS = Path(__file__).parent / "crash_harness.py"
ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["ada@acme.example", "bob@acme.example", "cy@acme.example"]
TARGET_STEPS = ["a", "b", "c"]
RUN_STEPS = ["p", "resume"]
PHASES = ["check", "apply-start", "apply-end"]
# The killed target is the middle one, so its neighbours are in flight on other threads.
POINTS = [
    *[f"{step}:{TARGETS[1]}:{phase}" for step in TARGET_STEPS for phase in PHASES],
    *[f"{step}::{phase}" for step in RUN_STEPS for phase in PHASES],
]


def _cli(folder: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_VAR}
    env[WORLD_VAR] = str(folder / "world.db")
    if crash:
        env[CRASH_VAR] = crash
    return subprocess.run(
        [sys.executable, str(HARNESS), *args, "--state", str(folder / "state.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _scenario(folder: Path, point: str) -> tuple[str, str | None]:
    """Crash at `point`, resume; None when everything checks out, else what went wrong."""
    folder.mkdir()
    targets = folder / "targets.csv"
    targets.write_text("email\n" + "".join(f"{t}\n" for t in TARGETS))
    first = _cli(
        folder,
        "run", str(DATA / "crash.toml"), "--targets", str(targets), "--yes", "--concurrency", "3",
        crash=point,
    )  # fmt: skip
    if first.returncode != -signal.SIGKILL:
        return point, f"expected SIGKILL, got {first.returncode}: {first.stderr}"
    second = _cli(folder, "resume", "1", "--yes")  # no --force: the lock died with the process
    if second.returncode != 0:
        return point, f"resume exited {second.returncode}: {second.stdout}{second.stderr}"
    world = World(folder / "world.db")
    counts = world.counts()
    world.close()
    expected = {(t, s): 1 for t in TARGETS for s in TARGET_STEPS}
    expected.update({("", s): 1 for s in RUN_STEPS})
    if counts != expected:
        wrong = {k: counts.get(k, 0) for k in expected if counts.get(k, 0) != 1}
        return point, f"applies per (target, step) != 1: {wrong}"
    store = StateStore.open(folder / "state.db", create=False)
    run = store.get_run("1")
    states = {t.key: t.state for t in store.targets("1")}
    store.close()
    if run.state != "completed" or set(states.values()) != {"done"}:
        return point, f"run {run.state}, targets {states}"
    return point, None


@pytest.mark.slow
def test_sigkill_anywhere_then_resume_applies_each_step_exactly_once(tmp_path: Path) -> None:
    assert len(POINTS) == 15
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda ip: _scenario(tmp_path / f"s{ip[0]}", ip[1]), enumerate(POINTS))
        )
    problems = [f"{point}: {why}" for point, why in results if why]
    assert problems == []
