"""A run's life after the first pass: waiting and parking, resume, deadlines, abort and
finally, saved plans going stale, and locks held by other processes."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from .conftest import DATA, Harness, hold_run

ADA, BOB = "ada@acme.example", "bob@acme.example"
HEAD = 'id = "{id}"\ntitle = "t"\n[targets]\ncolumns = ["email"]\nkey = "email"\n'


def status(h: Harness, run: str = "1") -> dict:
    result = h.invoke("status", run, "--format", "json", "--state", str(h.state))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cli(h: Harness, *args: str):
    return h.invoke(*args, "--state", str(h.state))


def write(tmp: Path, name: str, body: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(HEAD.format(id=name) + body)
    return path


def test_wait_parks_resume_polls_again_and_finally_waits_for_the_end(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n{BOB}\n")
    result = harness.run("wait.toml", t, "--yes")
    assert result.exit_code == 3, result.output
    doc = status(harness)
    assert doc["state"] == "parked"
    assert doc["reason"] == "2 target(s) waiting; resume with `scimrecon resume 1`"
    assert [x["state"] for x in doc["targets"]] == ["waiting", "waiting"]
    assert doc["targets"][0]["reason"].startswith("waiting at ready until 20")
    assert doc["targets"][0]["steps"] == {"one": "done", "ready": "waiting", "after": "pending"}
    assert doc["run_steps"] == {"cleanup": "pending"}  # finally does not run when parked
    assert doc["lock"] is None

    harness.world.set_ready(ADA)
    result = cli(harness, "resume", "1")
    assert result.exit_code == 3
    doc = status(harness)
    assert [x["state"] for x in doc["targets"]] == ["done", "waiting"]

    harness.world.set_ready(BOB)
    result = cli(harness, "resume", "1")
    assert result.exit_code == 0, result.output
    assert status(harness)["state"] == "completed"
    assert harness.world.counts() == {
        (ADA, "one"): 1,
        (BOB, "one"): 1,
        (ADA, "after"): 1,
        (BOB, "after"): 1,
        ("", "cleanup"): 1,
    }


def test_a_target_that_becomes_ready_while_polling_goes_on(harness: Harness) -> None:
    harness.world.set_ready(ADA)
    t = harness.targets(f"email\n{ADA}\n")
    assert harness.run("wait.toml", t, "--yes").exit_code == 0
    assert status(harness)["targets"][0]["outputs"]["ready"] is True


def test_max_wait_zero_parks_at_once(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    start = time.monotonic()
    assert harness.run("wait.toml", t, "--yes", "--max-wait", "0").exit_code == 3
    assert time.monotonic() - start < 0.2 + 1.0


def test_resume_after_the_deadline_fails_the_target_clearly(
    harness: Harness, tmp_path: Path
) -> None:
    pb = write(
        tmp_path,
        "short",
        '[[steps]]\nid = "ready"\naction = "test.wait"\n'
        "wait = { interval_s = 0.01, timeout_s = 0.05, park_after_s = 0 }\n"
        '[[finally]]\nid = "cleanup"\naction = "test.mark"\nscope = "run"\n',
    )
    t = harness.targets(f"email\n{ADA}\n")
    assert cli(harness, "run", str(pb), "--targets", str(t), "--yes").exit_code == 3
    time.sleep(0.1)
    result = cli(harness, "resume", "1")
    assert result.exit_code == 1
    target = status(harness)["targets"][0]
    assert target["state"] == "failed"
    assert target["reason"].startswith("ready: gave up waiting: the deadline 20")
    assert target["reason"].endswith(" passed (wait timeout 0.05 s)")
    assert ("", "cleanup") in harness.world.counts()


def test_a_run_step_after_a_wait_holds_until_nobody_waits(harness: Harness, tmp_path: Path) -> None:
    pb = write(
        tmp_path,
        "hold",
        '[[steps]]\nid = "ready"\naction = "test.wait"\n'
        "wait = { interval_s = 0.01, timeout_s = 60, park_after_s = 0.05 }\n"
        '[[steps]]\nid = "p"\naction = "test.mark"\nscope = "run"\n'
        '[[steps]]\nid = "after"\naction = "test.mark"\n',
    )
    harness.world.set_ready(ADA)
    t = harness.targets(f"email\n{ADA}\n{BOB}\n")
    assert cli(harness, "run", str(pb), "--targets", str(t), "--yes").exit_code == 3
    assert harness.world.counts() == {}  # p is a run step: it waits for BOB
    harness.world.set_ready(BOB)
    assert cli(harness, "resume", "1").exit_code == 0
    assert [(t_, s) for t_, s, _, _ in harness.world.effects()] == [
        ("", "p"),
        (ADA, "after"),
        (BOB, "after"),
    ]


def test_a_failed_run_step_fails_the_run_and_finally_still_runs(
    harness: Harness, tmp_path: Path
) -> None:
    pb = write(
        tmp_path,
        "runfail",
        '[[steps]]\nid = "one"\naction = "test.mark"\n'
        '[[steps]]\nid = "p"\naction = "test.mark"\nscope = "run"\nwith = { fail = true }\n'
        '[[steps]]\nid = "two"\naction = "test.mark"\n'
        '[[finally]]\nid = "cleanup"\naction = "test.mark"\nscope = "run"\n',
    )
    t = harness.targets(f"email\n{ADA}\n")
    result = cli(harness, "run", str(pb), "--targets", str(t), "--yes")
    assert result.exit_code == 1
    # the summary: a target stopped by a run step is failed, with no step of its own
    assert "run 1 failed: 1 failed\n" in result.stdout, result.stdout
    assert f"  failed {ADA}: stopped: run step p failed (" in result.stdout, result.stdout
    doc = status(harness)
    assert (doc["state"], doc["reason"]) == (
        "failed",
        "step p failed: step p was told to fail; 1 of 1 target(s) failed",
    )
    # stopped half-way, with step one's change in place: it says so (issue 11 point 2)
    assert doc["targets"][0]["state"] == "incomplete"
    assert doc["targets"][0]["recorded_state"] == "failed"
    assert doc["targets"][0]["changed"] == ["one"]
    assert doc["targets"][0]["reason"].startswith("stopped: run step p failed")
    assert [s for _, s, _, _ in harness.world.effects()] == ["one", "cleanup"]


def test_abort_runs_finally_and_ends_the_run(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    assert harness.run("wait.toml", t, "--yes", "--max-wait", "0").exit_code == 3
    refused = cli(harness, "abort", "1", "--yes")  # ADA is half-moved: nobody chose for her
    assert refused.exit_code == 4
    assert f"! {ADA}: one done" in refused.stderr and "--leave-incomplete" in refused.stderr
    result = cli(harness, "abort", "1", "--yes", "--leave-incomplete")
    assert result.exit_code == 0, result.output
    doc = status(harness)
    assert (doc["state"], doc["reason"]) == ("aborted", "aborted by request")
    assert doc["run_steps"] == {"cleanup": "done"}
    assert harness.world.counts()[("", "cleanup")] == 1
    for args in (["abort", "1", "--yes"], ["resume", "1"]):
        again = cli(harness, *args)
        assert again.exit_code == 4
    assert again.stderr == (
        "error: run 1 is aborted: nothing to resume; its half-moved targets: scimrecon undo 1\n"
    )


def test_abort_asks_first(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    harness.run("wait.toml", t, "--yes", "--max-wait", "0")
    harness.ui.confirm_answers = [False, False]  # not undo first; not abort anyway
    result = cli(harness, "abort", "1")
    assert result.exit_code == 4
    assert result.stderr.endswith(
        "error: not confirmed: run 1 was left as it was (finish it: scimrecon resume 1)\n"
    )
    assert f"! {ADA}: one done" in result.stderr
    assert status(harness)["state"] == "parked"


# -- saved plans -------------------------------------------------------------------------------


def test_a_saved_plan_runs_while_the_world_is_unchanged(
    harness: Harness, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SCIMRECON_JIRA_TOKEN", "jira-secret-token-123")
    t = harness.targets(f"email\n{ADA}\n{BOB}\n")
    plan_file = tmp_path / "plan.json"
    result = harness.invoke(
        "plan", str(DATA / "basic.toml"), "--targets", str(t), "--out", str(plan_file)
    )
    assert result.exit_code == 0
    assert harness.world.effects() == []
    saved = json.loads(plan_file.read_text())
    assert saved["format"] == "scimrecon-plan/1"
    assert saved["summary"]["one"] == {"would": 2}
    assert "jira-secret-token-123" not in plan_file.read_text()
    result = harness.run("basic.toml", t, "--yes", "--plan", str(plan_file))
    assert result.exit_code == 0, result.output


def test_a_stale_plan_is_refused_and_nothing_runs(harness: Harness, tmp_path: Path) -> None:
    t = harness.targets(f"email\n{ADA}\n{BOB}\n")
    plan_file = tmp_path / "plan.json"
    harness.invoke("plan", str(DATA / "basic.toml"), "--targets", str(t), "--out", str(plan_file))
    made_at = json.loads(plan_file.read_text())["made_at"]
    harness.world.effect(ADA, "one", "someone else")  # the world moves on
    result = harness.run("basic.toml", t, "--yes", "--plan", str(plan_file))
    assert result.exit_code == 4
    assert result.stderr == (
        f"error: plan.json is stale: the world changed ({ADA} one: was 'would mark {ADA} at "
        f"one', now 'already done') since it was made at {made_at}; make a new plan\n"
    )
    assert len(harness.world.effects()) == 1
    assert json.loads(cli(harness, "runs", "--format", "json").stdout) == []


def test_a_plan_for_other_inputs_is_refused(harness: Harness, tmp_path: Path) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    plan_file = tmp_path / "plan.json"
    harness.invoke("plan", str(DATA / "basic.toml"), "--targets", str(t), "--out", str(plan_file))
    other = harness.targets(f"email\n{ADA}\n{BOB}\n", "other.csv")
    result = harness.run("basic.toml", other, "--yes", "--plan", str(plan_file))
    assert result.exit_code == 4
    assert "plan.json is stale: the targets file changed since it was made at" in result.stderr
    result = harness.run("basic.toml", t, "--yes", "--plan", str(plan_file), "--param", "limit=9")
    assert "plan.json is stale: the parameters differ" in result.stderr
    result = harness.run("wait.toml", t, "--yes", "--plan", str(plan_file))
    assert result.stderr == "error: plan.json is a plan for playbook basic, not waiting\n"
    plan_file.write_text("{}")
    result = harness.run("basic.toml", t, "--yes", "--plan", str(plan_file))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {plan_file}: not a scimrecon plan (expected format 'scimrecon-plan/1')\n"
    )


def test_plan_json_lists_every_entry(harness: Harness) -> None:
    t = harness.targets(f"email,skip_at\n{ADA},\n{BOB},one\n")
    args = ["--targets", str(t), "--format", "json"]
    result = harness.invoke("plan", str(DATA / "basic.toml"), *args)
    doc = json.loads(result.stdout)
    entries = [(e["target"], e["step"], e["status"]) for e in doc["entries"]]
    assert entries == [
        (None, "pause", "would"),
        (None, "resume", "would"),
        (None, "resume-finally", "would"),
        (ADA, "one", "would"),
        (ADA, "two", "would"),
        (ADA, "three", "n/a"),
        (BOB, "one", "skip"),
    ]


# -- locks -------------------------------------------------------------------------------------


def test_a_second_process_on_the_same_run_is_refused(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    harness.run("wait.toml", t, "--yes", "--max-wait", "0")
    harness.world.set_ready(ADA)
    holder = hold_run(harness.state, "1")
    try:
        since = status(harness)["lock"]["since"]
        for extra in ([], ["--force"]):
            result = cli(harness, "resume", "1", *extra)
            assert result.exit_code == 4
            assert result.stderr == (
                f"error: run 1 is in use by pid {holder.pid} on {socket.gethostname()} "
                f"since {since}: wait for it to end, or stop it (Ctrl-C where it runs, or "
                f"kill -INT {holder.pid}), then try again\n"
            )
        assert cli(harness, "abort", "1", "--yes").exit_code == 4
        undo = cli(harness, "undo", "1", "--yes")  # not "abort or resume": both are refused
        assert undo.exit_code == 4
        assert undo.stderr == (
            f"error: run 1 is in use by pid {holder.pid} on {socket.gethostname()} "
            f"since {since}: wait for it to end, or stop it (Ctrl-C where it runs, or "
            f"kill -INT {holder.pid}), then scimrecon abort 1 --undo if it has not ended, "
            "scimrecon undo 1 if it has\n"
        )
        shown = cli(harness, "status", "1").stdout
        assert f"locked by pid {holder.pid} on {socket.gethostname()} since {since}\n" in shown
    finally:
        holder.kill()  # SIGKILL: the OS lock dies with it, the recorded pid stays
        holder.wait()
    assert harness.world.counts() == {(ADA, "one"): 1}
    shown = cli(harness, "status", "1").stdout
    assert "(that process is gone: `scimrecon resume 1` carries on)" in shown
    result = cli(harness, "resume", "1")  # no --force: the process is gone, so is its lock
    assert result.exit_code == 0, result.output
    assert status(harness)["lock"] is None
    assert sorted(p.name for p in harness.state.parent.glob("state.db*")) == ["state.db"]
