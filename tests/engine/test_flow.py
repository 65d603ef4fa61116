"""Overlapping steps (decision 72): after a run step, a target goes on to its next step as soon
as its own is done, while others still wait; run steps stay barriers; --max-fail-percent still
stops new work; a parked flow resumes where each target was."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from scimrecon.engine.playbook import load_playbook
from scimrecon.errors import InputError

from .conftest import DATA, Harness
from .steplib import REGISTRY

ADA, BOB, CY = "ada@acme.example", "bob@acme.example", "cy@acme.example"


def steps_of(h: Harness) -> list[tuple[str, str]]:
    return [(target, step) for target, step, _, _ in h.world.effects()]


def test_a_ready_target_finishes_while_another_still_waits(harness: Harness) -> None:
    harness.world.set_ready(ADA)
    seen: dict[str, bool] = {}

    def later() -> None:
        # Well inside BOB's polling window (1.5 s): in waves, nobody's `three` could exist yet.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not harness.world.has(ADA, "three"):
            time.sleep(0.01)
        seen["ada_three_while_bob_waits"] = harness.world.has(ADA, "three")
        seen["bob_ready"] = harness.world.is_ready(BOB)
        harness.world.set_ready(CY)

    helper = threading.Thread(target=later)
    helper.start()
    t = harness.targets(f"email\n{ADA}\n{BOB}\n{CY}\n")
    result = harness.run("flow.toml", t, "--yes")
    helper.join()
    assert seen == {"ada_three_while_bob_waits": True, "bob_ready": False}
    assert result.exit_code == 3, result.output  # BOB never got ready: parked
    done = steps_of(harness)
    assert (ADA, "three") in done and (CY, "three") in done and (BOB, "three") not in done
    # the run step after the flow waits for everybody: BOB is still waiting, so no resume
    assert ("", "resume") not in done
    order = [s for _, s in done]
    assert order[:4] == ["one"] * 3 + ["pause"]  # before the flow, waves and a barrier

    harness.world.set_ready(BOB)
    resumed = harness.invoke("resume", "1", "--state", str(harness.state))
    assert resumed.exit_code == 0, resumed.output
    counts = harness.world.counts()
    assert all(counts[(k, s)] == 1 for k in (ADA, BOB, CY) for s in ("one", "two", "three"))
    assert counts[("", "resume")] == 1


def test_max_fail_percent_stops_targets_from_starting_their_next_step(harness: Harness) -> None:
    ready = [f"r{i}@x.example" for i in range(8)]
    for key in ready:
        harness.world.set_ready(key)
    rows = [f"f{i}@x.example,two" for i in range(2)] + [f"{k}," for k in ready]
    t = harness.targets("email,fail_at\n" + "\n".join(rows) + "\n")
    result = harness.run("flow.toml", t, "--yes", "--max-fail-percent", "10", "--concurrency", "1")
    assert result.exit_code == 4, result.output
    # One worker; the two failures come first and trip the threshold (counted on the main
    # thread as they come, so a step already handed to the worker may still run): the ready
    # targets queued behind them do not all go on to finish, as they would without it.
    three = [k for k, s in steps_of(harness) if s == "three"]
    assert len(three) < len(ready) // 2, three
    doc = json.loads(harness.invoke("status", "1", "--format", "json", "--state",
                                    str(harness.state)).stdout)  # fmt: skip
    assert doc["state"] == "aborted"
    assert doc["reason"].startswith("2 of 10 targets failed (20%), more than --max-fail-percent")
    assert ("", "resume-finally") in steps_of(harness)


def test_overlap_is_for_target_steps_without_confirm_only(tmp_path: Path) -> None:
    text = (DATA / "flow.toml").read_text(encoding="utf-8")
    bad = text.replace('scope = "run"\n\n[[steps]]\nid = "two"', 'scope = "run"\noverlap = true'
                       '\n\n[[steps]]\nid = "two"', 1)  # fmt: skip
    assert bad != text
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match="overlap: only a target step without `confirm` may"):
        load_playbook(str(path), REGISTRY)
