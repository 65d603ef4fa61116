"""A step whose failure is certain before the run (its description already fails, e.g. a
parameter that gives an old account its own address back) is an error in the plan, not a
"would": the plan exits non-zero, so nobody starts a run that would change the first steps of
a target and then stop half-way at that one (trial 6, finding 1)."""

from __future__ import annotations

import json

from .conftest import DATA, Harness

ADA, BOB = "ada@acme.example", "bob@acme.example"


def test_a_step_certain_to_fail_is_an_error_in_the_plan(harness: Harness) -> None:
    t = harness.targets(f"email,doomed_at\n{ADA},two\n{BOB},\n")
    args = ("plan", str(DATA / "basic.toml"), "--targets", str(t), "--state", str(harness.state))
    result = harness.invoke(*args, "--format", "json")
    assert result.exit_code == 1, result.output
    entries = {(e["target"], e["step"]): e for e in json.loads(result.stdout)["entries"]}
    assert entries[(ADA, "two")]["status"] == "error"
    assert entries[(ADA, "two")]["text"] == f"would fail: {ADA} can never be marked at two"
    assert entries[(BOB, "two")]["status"] == "would"
    assert result.stderr.strip() == (
        "warning: 1 step(s) could not be checked or would fail; see 'cannot check' and "
        "'would fail' in the plan"
    )
    assert harness.world.effects() == []  # a plan only reads


def test_a_run_does_not_start_a_target_certain_to_fail(harness: Harness) -> None:
    """Ada's second step would fail: none of her steps run (not even the first, which would
    have left her half-done), Bob's run as usual."""
    t = harness.targets(f"email,doomed_at\n{ADA},two\n{BOB},\n")
    result = harness.run("basic.toml", t, "--yes")
    assert result.exit_code == 0, result.output
    assert {e[0] for e in harness.world.effects() if e[0]} == {BOB}
    status = harness.invoke("status", "1", "--state", str(harness.state), "--format", "json")
    reasons = {t["key"]: (t["state"], t["reason"]) for t in json.loads(status.stdout)["targets"]}
    assert reasons[ADA] == (
        "skipped",
        f"not started: the plan shows two: {ADA} can never be marked at two; nothing was changed",
    )
    assert reasons[BOB][0] == "done"
