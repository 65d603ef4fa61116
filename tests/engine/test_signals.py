"""Ctrl-C and SIGTERM during a run: in-flight calls finish and are recorded, nothing else runs
(not even finally), the person is told what is left changed, and the run resumes cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scimrecon.engine.state import StateStore

from .conftest import DATA
from .steplib import WORLD_VAR, World

HARNESS = Path(__file__).parent / "crash_harness.py"
ROOT = Path(__file__).resolve().parents[2]
KEYS = [f"u{i}@acme.example" for i in range(6)]


def _cli(folder: Path, *args: str) -> list[str]:
    return [sys.executable, str(HARNESS), *args, "--state", str(folder / "state.db")]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code", "reason"),
    [(signal.SIGINT, 130, "interrupted (Ctrl-C)"), (signal.SIGTERM, 4, "terminated (SIGTERM)")],
)
def test_a_signal_lets_in_flight_calls_finish_and_runs_nothing_after(
    tmp_path: Path, sig: signal.Signals, code: int, reason: str
) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("email\n" + "".join(f"{k}\n" for k in KEYS))
    env = {**os.environ, WORLD_VAR: str(tmp_path / "world.db")}
    world = World(tmp_path / "world.db")
    args = ["run", str(DATA / "slow.toml"), "--targets", str(targets), "--yes"]
    proc = subprocess.Popen(
        _cli(tmp_path, *args, "--concurrency", "2"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not any(k.startswith("started:") for k in world.flags()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err

    started = sorted(k.split(":", 1)[1] for k in world.flags() if k.startswith("started:"))
    applied = sorted(t for t, s, _, _ in world.effects() if s == "slow")
    assert applied == started and 1 <= len(started) <= 2  # in-flight calls finished
    assert [s for t, s, _, _ in world.effects() if not t] == ["pause"]  # no resume, no finally
    store = StateStore.open(tmp_path / "state.db", create=False)
    run = store.get_run("1")
    steps = store.step_states("1")
    assert (run.state, run.reason, run.lock_pid) == ("interrupted", reason, None)
    assert sorted(k for (k, s), r in steps.items() if s == "slow" and r.state == "done") == started
    store.close()
    assert "LEFT IN A CHANGED STATE:" in err
    assert "  ! provisioning is still paused: resume or abort run 1\n" in err
    assert "Traceback" not in err

    resumed = subprocess.run(
        _cli(tmp_path, "resume", "1"), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    counts = world.counts()
    assert counts == {**{(k, "slow"): 1 for k in KEYS}, ("", "pause"): 1, ("", "resume"): 1}
    world.close()
