"""Running playbooks through the real CLI with the test step library: order, scopes, skips,
failures, thresholds, conditions, finally, dry runs, manual steps, interrupts, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Harness

ADA, BOB, CY = "ada@acme.example", "bob@acme.example", "cy@acme.example"


def status(h: Harness, run: str = "1") -> dict:
    result = h.invoke("status", run, "--format", "json", "--state", str(h.state))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def steps_of(h: Harness) -> list[tuple[str, str]]:
    return [(target, step) for target, step, _, _ in h.world.effects()]


def test_steps_run_in_order_one_wave_at_a_time(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n{BOB}\n{CY}\n")
    result = harness.run("basic.toml", t, "--yes")
    assert result.exit_code == 0, result.output
    order = [step for _, step in steps_of(harness)]
    # every target finishes a step before the next step starts; run steps happen once
    assert order == ["one"] * 3 + ["pause"] + ["two"] * 3 + ["resume"] + ["three"] * 3
    assert sorted(t for t, s in steps_of(harness) if s == "two") == [ADA, BOB, CY]
    assert [t for t, s in steps_of(harness) if s in ("pause", "resume")] == ["", ""]
    doc = status(harness)
    assert doc["state"] == "completed"
    assert doc["run_steps"] == {"pause": "done", "resume": "done", "resume-finally": "done"}
    assert {t["key"]: t["state"] for t in doc["targets"]} == {ADA: "done", BOB: "done", CY: "done"}
    assert doc["targets"][0]["outputs"] == {
        "one_out": f"{ADA}@one",
        "two_out": f"{ADA}@two",
        "three_out": f"{ADA}@three",
    }
    assert result.stdout.endswith("run 1 completed: 3 done\n")
    assert doc["outputs"] == {"pause_out": "@pause", "resume_out": "@resume", "resumed": True}


def test_a_failed_target_stops_there_and_the_others_go_on(harness: Harness) -> None:
    t = harness.targets(f"email,fail_at\n{ADA},\n{BOB},two\n{CY},\n")
    result = harness.run("basic.toml", t, "--yes")
    assert result.exit_code == 1
    assert (BOB, "three") not in steps_of(harness)
    assert (ADA, "three") in steps_of(harness) and (CY, "three") in steps_of(harness)
    doc = status(harness)
    assert doc["state"] == "failed"
    bob = next(x for x in doc["targets"] if x["key"] == BOB)
    assert bob["state"] == "incomplete"  # failed with step one's change in place
    assert (bob["recorded_state"], bob["changed"]) == ("failed", ["one"])
    assert bob["reason"] == f"two: {BOB} cannot be marked"
    assert bob["steps"] == {"one": "done", "two": "failed", "three": "pending"}
    assert doc["reason"] == "1 of 3 target(s) failed"
    assert f"  failed {BOB} at two: two: {BOB} cannot be marked\n" in result.stdout


def test_skip_from_check_ends_the_target_with_its_reason(harness: Harness) -> None:
    t = harness.targets(f"email,skip_at\n{ADA},\n{BOB},one\n")
    result = harness.run("basic.toml", t, "--yes")
    assert result.exit_code == 0
    assert [s for t_, s in steps_of(harness) if t_ == BOB] == []
    bob = next(x for x in status(harness)["targets"] if x["key"] == BOB)
    assert (bob["state"], bob["reason"]) == ("skipped", "told to skip at one")
    assert bob["steps"] == {"one": "skipped", "two": "pending", "three": "pending"}


def test_when_conditions_use_target_columns_params_and_outputs(harness: Harness) -> None:
    t = harness.targets(f"email,vip\n{ADA},false\n{BOB},TRUE\n")
    assert harness.run("basic.toml", t, "--yes").exit_code == 0
    assert (BOB, "two") not in steps_of(harness)
    assert (ADA, "two") in steps_of(harness)
    bob = next(x for x in status(harness)["targets"] if x["key"] == BOB)
    assert bob["steps"]["two"] == "n/a" and bob["state"] == "done"


def test_an_exception_from_apply_fails_the_target_with_its_message(harness: Harness) -> None:
    t = harness.targets(f"email,error_at\n{ADA},one\n{BOB},\n")
    result = harness.run("basic.toml", t, "--yes")
    assert result.exit_code == 1
    ada = next(x for x in status(harness)["targets"] if x["key"] == ADA)
    assert ada["reason"] == "one: RuntimeError: remote said 500"


def test_retry_reruns_check_then_apply_and_applies_once(harness: Harness, tmp_path: Path) -> None:
    pb = tmp_path / "retry.toml"
    pb.write_text(
        'id = "retry"\ntitle = "r"\n[targets]\ncolumns = ["email"]\nkey = "email"\n'
        '[[steps]]\nid = "one"\naction = "test.mark"\nretry = { attempts = 3, backoff_s = 0 }\n'
    )
    t = harness.targets(f"email,flaky_at\n{ADA},one\n")
    result = harness.invoke(
        "run", str(pb), "--targets", str(t), "--yes", "--state", str(harness.state)
    )
    assert result.exit_code == 0, result.output
    assert harness.world.counts() == {(ADA, "one"): 1}
    log = harness.invoke("log", "1", "--format", "jsonl", "--state", str(harness.state))
    done = [json.loads(line) for line in log.stdout.splitlines() if '"done"' in line]
    assert len(done) == 1
    # --format json: the same records, one array (as every table command gives)
    whole = harness.invoke("log", "1", "--format", "json", "--state", str(harness.state))
    assert json.loads(whole.stdout) == [json.loads(line) for line in log.stdout.splitlines()]


def test_max_fail_percent_aborts_runs_finally_and_exits_4(harness: Harness) -> None:
    t = harness.targets(f"email,fail_at\n{ADA},one\n{BOB},one\n{CY},\n")
    result = harness.run("basic.toml", t, "--yes", "--max-fail-percent", "50", "--concurrency", "1")
    assert result.exit_code == 4
    assert "pause" not in [s for _, s in steps_of(harness)]  # nothing after the tripping wave
    assert ("", "resume-finally") in steps_of(harness)  # finally ran
    doc = status(harness)
    assert doc["state"] == "aborted"
    assert doc["reason"] == "2 of 3 targets failed (67%), more than --max-fail-percent 50"


def test_params_are_typed_before_anything_happens(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    result = harness.run("basic.toml", t, "--yes", "--param", "limit=many")
    assert result.exit_code == 2
    assert result.stderr == "error: parameter 'limit': 'many' is not an integer\n"
    result = harness.run("basic.toml", t, "--yes", "--param", "colour=red")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown parameter 'colour' for playbook basic")
    assert not harness.state.exists() and harness.world.effects() == []


def test_params_reach_conditions(harness: Harness) -> None:
    t = harness.targets(f"email,skip_at\n{ADA},\n")
    harness.run("basic.toml", t, "--yes", "--param", "mode=hard")
    assert status(harness)["params"]["mode"] == "hard"


def test_targets_errors_stop_the_run_with_file_and_line(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n{BOB}\n{ADA.upper()}\n")
    result = harness.run("basic.toml", t, "--yes")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: targets.csv:4: duplicate target '{ADA.upper()}' (first on line 2)\n"
    )
    big = harness.targets("email\n" + "".join(f"u{i}@x.example\n" for i in range(3)), "big.csv")
    result = harness.run("basic.toml", big, "--yes", "--max-targets", "2")
    assert result.exit_code == 4
    assert result.stderr == (
        "error: big.csv: 3 targets is more than --max-targets 2; raise --max-targets to go on\n"
    )


def test_dry_run_applies_nothing_and_writes_no_state(harness: Harness) -> None:
    t = harness.targets(f"email,skip_at\n{ADA},\n{BOB},one\n")
    result = harness.run("basic.toml", t, "--dry-run")
    assert result.exit_code == 0
    assert harness.world.effects() == []
    assert not harness.state.exists()
    rows = [line.split(None, 2) for line in result.stdout.splitlines()]
    assert [ADA, "one", f"would mark {ADA} at one"] in rows
    assert [BOB, "one", "skip: told to skip at one"] in rows
    # after a step that would change the world, later steps are planned unchecked
    assert [ADA, "two", f"would mark {ADA} at two"] in rows
    assert ["(run)", "pause", "would mark the run at pause"] in rows
    assert harness.ui.asked == []  # nothing to confirm in a dry run


def test_without_yes_a_no_means_nothing_happens(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    harness.ui.confirm_answers = [False]
    result = harness.run("basic.toml", t)
    assert result.exit_code == 4
    assert result.stderr.endswith("error: not confirmed: nothing was changed\n")
    assert harness.ui.asked == ["Run basic on 1 target(s)?"]
    assert harness.world.effects() == []


def test_without_a_terminal_and_without_yes_the_run_is_refused(harness: Harness) -> None:
    harness.ui.interactive = False
    t = harness.targets(f"email\n{ADA}\n")
    result = harness.run("basic.toml", t)
    assert result.exit_code == 4
    assert result.stderr == "error: Run basic on 1 target(s)?: no terminal; pass --yes\n"
    assert harness.world.effects() == []


def test_manual_steps_are_never_answered_by_yes(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    harness.ui.manual_answers = ["pressed", "ok"]
    result = harness.run("manual.toml", t, "--yes")
    assert result.exit_code == 0, result.output
    assert harness.ui.manuals == [
        ("Open the console and press the button for run 1.\n", "pressed"),
        (f"do the thing for {ADA}", "ok"),
    ]
    assert "step ask for 1 target(s): " in harness.ui.asked[-1]  # confirm = true step
    assert status(harness)["run_steps"]["by-hand"] == "done"


def test_manual_steps_without_a_terminal_are_refused_before_any_change(harness: Harness) -> None:
    harness.ui.interactive = False
    t = harness.targets(f"email\n{ADA}\n")
    result = harness.run("manual.toml", t, "--yes")
    assert result.exit_code == 4
    assert result.stderr == (
        "error: step(s) by-hand are manual and need a person at a terminal "
        "(--yes never answers them); run interactively\n"
    )
    assert harness.world.effects() == []
    runs = harness.invoke("runs", "--format", "json", "--state", str(harness.state))
    assert json.loads(runs.stdout) == []


def test_ctrl_c_at_a_prompt_stops_says_what_is_left_and_resumes(
    harness: Harness, tmp_path: Path
) -> None:
    pb = tmp_path / "ask.toml"
    pb.write_text(
        'id = "ask"\ntitle = "a"\n[targets]\ncolumns = ["email"]\nkey = "email"\n'
        '[[steps]]\nid = "pause"\naction = "test.pause"\nscope = "run"\n'
        '[[steps]]\nid = "ask"\naction = "test.ask"\n'
        '[[steps]]\nid = "resume"\naction = "test.resume"\nscope = "run"\n'
        '[[finally]]\nid = "resume-finally"\naction = "test.resume"\nscope = "run"\n'
    )
    t = harness.targets(f"email\n{ADA}\n")
    harness.ui.manual_answers = ["^C"]
    args = ["--targets", str(t), "--yes", "--state", str(harness.state)]
    result = harness.invoke("run", str(pb), *args)
    assert result.exit_code == 130
    assert (
        "LEFT IN A CHANGED STATE:\n  ! provisioning is still paused: resume or abort run 1\n"
        in (result.stderr)
    )
    assert steps_of(harness) == [("", "pause")]  # finally did NOT run: the run is resumable
    doc = status(harness)
    assert (doc["state"], doc["reason"]) == ("interrupted", "interrupted (Ctrl-C)")
    assert doc["targets"][0]["steps"]["ask"] == "running"
    assert doc["lock"] is None

    harness.ui.manual_answers = ["ok"]
    result = harness.invoke("resume", "1", "--state", str(harness.state))
    assert result.exit_code == 0, result.output
    assert steps_of(harness) == [("", "pause"), (ADA, "ask"), ("", "resume")]
    assert status(harness)["state"] == "completed"


def test_secrets_never_reach_state_audit_or_output(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("SCIMRECON_ORG_API_KEY", secret)
    pb = tmp_path / "leaky.toml"
    pb.write_text(
        'id = "leaky"\ntitle = "l"\n[targets]\ncolumns = ["email"]\nkey = "email"\n'
        '[[steps]]\nid = "one"\naction = "test.leaky"\n'
    )
    t = harness.targets(f"email\n{ADA}\n")
    result = harness.invoke(
        "run", str(pb), "--targets", str(t), "--yes", "--state", str(harness.state)
    )
    assert result.exit_code == 1
    outputs = [result.output]
    for args in (["status", "1"], ["log", "1"], ["report", "1", "--format", "json"]):
        outputs.append(harness.invoke(*args, "--state", str(harness.state)).output)
    for text in outputs:
        assert secret not in text and "abcdefghijklmnop" not in text
    for path in tmp_path.glob("state.db*"):
        data = path.read_bytes()
        assert secret.encode() not in data and b"abcdefghijklmnop" not in data
    reason = status(harness)["targets"][0]["reason"]
    assert reason == "one: RuntimeError: GET https://x/?k=*** Authorization: Bearer ***"


def test_resume_of_a_finished_run_is_refused(harness: Harness) -> None:
    t = harness.targets(f"email\n{ADA}\n")
    harness.run("basic.toml", t, "--yes")
    result = harness.invoke("resume", "1", "--state", str(harness.state))
    assert result.exit_code == 4
    assert result.stderr == "error: run 1 is completed: nothing to resume\n"
    result = harness.invoke("resume", "7", "--state", str(harness.state))
    assert result.exit_code == 2
    assert result.stderr == f"error: run 7 not found in {harness.state}\n"


def test_runs_status_report_and_log_shapes(harness: Harness) -> None:
    t = harness.targets(f"email,fail_at\n{ADA},\n{BOB},three\n")
    harness.run("basic.toml", t, "--yes")
    runs = json.loads(
        harness.invoke("runs", "--format", "json", "--state", str(harness.state)).stdout
    )
    assert len(runs) == 1
    assert {k: runs[0][k] for k in ("run", "playbook", "state", "targets")} == {
        "run": "1",
        "playbook": "basic",
        "state": "failed",
        "targets": 2,
    }
    assert runs[0]["started"].endswith("Z") and len(runs[0]["started"]) == 20
    doc = status(harness)
    assert set(doc) >= {"run", "playbook", "state", "targets"}
    assert set(doc["targets"][0]) >= {"key", "state", "reason", "steps", "outputs"}
    assert status(harness, "1") == json.loads(
        harness.invoke("status", "--format", "json", "--state", str(harness.state)).stdout
    )  # no RUN: the latest
    csv_text = harness.invoke(
        "report", "1", "--format", "csv", "--state", str(harness.state)
    ).stdout
    assert csv_text.splitlines() == [
        "target,state,reason,one_out,two_out,three_out",
        f"{ADA},done,,{ADA}@one,{ADA}@two,{ADA}@three",
        f"{BOB},incomplete,three: {BOB} cannot be marked,{BOB}@one,{BOB}@two,",
    ]
    lines = harness.invoke("log", "1", "--format", "jsonl", "--state", str(harness.state)).stdout
    events = [json.loads(line) for line in lines.splitlines()]
    assert events[0]["outcome"] == "run-started" and events[-1]["outcome"] == "run-failed"
    assert {"time", "os_user", "run", "target", "step", "action", "outcome", "summary"} <= set(
        events[0]
    )
    assert [e["outcome"] for e in events if e["target"] == BOB] == ["done", "done", "failed"]
