"""Storage faults, signals and pipes with real processes (issue 11, points 8-10).

* A real full disk: the state file lives on a 1 MB tmpfs that the test fills while `run
  reprovision` changes emails. The run must stop with one line naming the file and the OS
  error, run its finally step (the IdP job is Active again), list what it could not record, and
  a plain `resume` must finish everyone once the space is back — pausing provisioning again
  first, since the finally step resumed it while some people were only half-moved.
* A read-only file system: the state is read (`runs`, `status`), never called damaged, and a
  command that must write is refused in one line before it does anything.
* Ctrl-C (SIGINT) while planning and at the question before a run: exit 130, "nothing was
  changed", and the simulator saw no write.
* A reader that goes away (`| head -1`): exit 141, nothing on stderr.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.mounts import fill, read_only, small_disk
from tests.reliability.procs import (
    CLI,
    Sim,
    base_env,
    is_write,
    repeated_with_effect,
    scimrecon,
    sim_serve,
    spawn,
    state_rows,
    wait_for,
)
from tests.reliability.worlds import facts, reprovision_world

pytestmark = pytest.mark.reliability

TARGETS = 6


def _world(folder: Path, faults: dict[str, Any]) -> tuple[Path, Path, list[str]]:
    # No IdP cycle of its own: a cycle while provisioning is resumed would relink the people
    # the full disk left half-moved (the danger decision 29 names); on-demand pushes do it.
    world, emails = reprovision_world(TARGETS, 10, cycle_seconds=3600)
    world["faults"] = faults
    path = folder / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    targets = folder / "targets.csv"
    targets.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return path, targets, emails


def _all_reprovisioned(sim: Sim, emails: list[str]) -> None:
    after = facts(sim.world())
    for email in emails:
        key = email.lower()
        assert after["scim"][key] == {"account": key, "active": True}, email
        local, domain = key.split("@")
        assert after["accounts"][f"{local}+old-1@{domain}"]["status"] == "inactive", email
    assert after["idp_job"] == "Active"
    assert repeated_with_effect(sim.log()) == {}


def _resume_until_done(sim: Sim, state: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    args = ["resume", "1", "--yes", "--max-wait", "5", "--state", str(state)]
    for _ in range(10):
        done = scimrecon(args, sim.env(), folder)
        if done.returncode != 3:
            return done
        sim.tick()
    raise AssertionError("the run stayed parked")


def test_a_full_disk_stops_the_run_resumes_provisioning_and_resume_finishes(
    tmp_path: Path,
) -> None:
    world, targets, emails = _world(tmp_path, {"/atlassian/users": {"latency_ms": 300}})
    # 16 MB: room for the run's write-ahead log (it grows by every commit until a checkpoint).
    with small_disk(tmp_path / "disk", "16m") as disk, sim_serve(world, tmp_path) as sim:
        state = disk / "state.db"
        run = spawn(
            ["run", "reprovision", "--targets", str(targets), "--yes", "--max-wait", "5",
             "--format", "json", "--state", str(state)],
            sim.env(), tmp_path,
        )  # fmt: skip
        parking = "SELECT 1 FROM step_states WHERE step = 'park-email'"
        assert wait_for(lambda: bool(state_rows(state, parking)) or run.poll() is not None, 60)
        ballast = fill(disk)  # the disk is full while emails are being changed
        out, err = run.communicate(timeout=120)
        after_stop = facts(sim.world())
        parked = len([e for e in sim.log() if _parked_an_email(e)])
        ballast.unlink()  # space is back
        resumed = _resume_until_done(sim, state, tmp_path)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        _all_reprovisioned(sim, emails)
        log = sim.log()

    line = (
        f"error: {state}: cannot write the state file: [Errno 28] No space left on device "
        "(database or disk is full)"
    )
    assert run.returncode == 4, out + err
    assert err.splitlines().count(line) == 1, err
    doc = json.loads(out)
    assert doc["state"] == "interrupted"
    assert doc["reason"].startswith(f"stopped: {line.removeprefix('error: ')}")
    assert after_stop["idp_job"] == "Active", "the finally step must resume provisioning"
    if doc["unrecorded"]:
        assert "NOT RECORDED in the state file" in err
    assert "Traceback" not in err and "unexpected" not in err
    # The disk filled inside the pause window (some emails not yet parked), and the finally
    # step resumed provisioning: resume paused again before it went on with anyone.
    assert parked < TARGETS, "the disk filled too late to test the pause window"
    pauses = [e for e in log if e["method"] == "POST" and str(e["path"]).endswith("/pause")]
    assert len(pauses) == 2, [e["path"] for e in log if e["method"] == "POST"]
    assert len([e for e in log if _parked_an_email(e)]) == TARGETS  # each email moved once


def _parked_an_email(entry: dict[str, Any]) -> bool:
    return (
        entry["method"] == "PUT"
        and str(entry["path"]).endswith("/manage/email")
        and 200 <= int(entry["status"]) < 300
    )


def test_a_read_only_file_system_is_read_not_called_damaged(tmp_path: Path) -> None:
    world, targets, _ = _world(tmp_path, {})
    folder = tmp_path / "states"
    folder.mkdir()
    state = folder / "state.db"
    with sim_serve(world, tmp_path) as sim:
        env = sim.env()
        first = scimrecon(
            ["run", "reprovision", "--targets", str(targets), "--yes", "--max-wait", "0",
             "--state", str(state)],
            env, tmp_path,
        )  # fmt: skip
        assert first.returncode in (0, 3), first.stderr
        show = ["status", "1", "--format", "json", "--state", str(state)]
        before = json.loads(scimrecon(show, env, tmp_path).stdout)
        writes = [e for e in sim.log() if is_write(e)]
        with read_only(folder) as mounted:
            runs = scimrecon(["runs", "--format", "json", "--state", str(state)], env, tmp_path)
            status = scimrecon(["status", "1", "--state", str(state)], env, tmp_path)
            resume = scimrecon(["resume", "1", "--yes", "--state", str(state)], env, tmp_path)
        writes_after = [e for e in sim.log() if is_write(e)]
        after = json.loads(scimrecon(show, env, tmp_path).stdout)
    assert runs.returncode == 0, runs.stderr
    assert [r["run"] for r in json.loads(runs.stdout)] == ["1"]
    assert status.returncode == 0 and "reprovision" in status.stdout, status.stderr
    reason = "[Errno 30] Read-only file system" if mounted else "[Errno 13] Permission denied"
    assert resume.returncode == 2
    assert resume.stderr.startswith(f"error: {state}: cannot write the state file: {reason}")
    assert resume.stderr.count("\n") == 1 and "damaged" not in resume.stderr
    assert writes_after == writes  # refused before any call
    assert after == before
    assert sorted(p.name for p in folder.iterdir()) == ["state.db"]


def _sigint_when(proc: subprocess.Popen[str], ready: Any, timeout: float = 60) -> None:
    assert wait_for(lambda: ready() or proc.poll() is not None, timeout)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)


def _api_calls(sim: Sim, since: int) -> bool:
    """The product has called an API (not the test's own `/_sim` reads of the log)."""
    return any(not str(e["path"]).startswith("/_sim") for e in sim.log()[since:])


def test_ctrl_c_while_planning_exits_130_and_changed_nothing(tmp_path: Path) -> None:
    # Every Atlassian read takes 2 s: planning is still under way when Ctrl-C comes.
    world, targets, _ = _world(tmp_path, {"/atlassian": {"latency_ms": 2000}})
    with sim_serve(world, tmp_path) as sim:
        for args, message in (
            (["plan", "reprovision", "--targets", str(targets)],
             "error: interrupted (Ctrl-C) while planning: nothing was changed"),
            (["run", "reprovision", "--targets", str(targets), "--yes", "--state",
              str(tmp_path / "state.db")],
             "error: interrupted (Ctrl-C) before the run started: nothing was changed"),
        ):  # fmt: skip
            since = len(sim.log())
            proc = spawn(args, sim.env(), tmp_path)
            _sigint_when(proc, lambda since=since: _api_calls(sim, since))
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 130, (args[0], err)
            assert err.rstrip("\n").splitlines()[-1] == message, err
            assert "Traceback" not in err and "Aborted" not in err
        assert not [e for e in sim.log() if is_write(e)]
    assert state_rows(tmp_path / "state.db", "SELECT count(*) FROM runs") in ([], [(0,)])


def test_ctrl_c_at_the_question_before_a_run_exits_130(tmp_path: Path) -> None:
    """A person at a terminal (stdin is a pty) presses Ctrl-C at "Run ...? [y/N]"."""
    world, targets, _ = _world(tmp_path, {})
    with sim_serve(world, tmp_path) as sim:
        controller, terminal = pty.openpty()
        proc = subprocess.Popen(
            [*CLI, "run", "reprovision", "--targets", str(targets), "--state",
             str(tmp_path / "state.db")],
            cwd=tmp_path, env=sim.env(), stdin=terminal, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.close(terminal)
        chunks: list[str] = []
        asked = threading.Event()

        def pump() -> None:  # stderr is a pipe: read it until the question shows
            assert proc.stderr is not None
            while c := proc.stderr.read(1):
                chunks.append(c)
                if "".join(chunks[-20:]).endswith("target(s)? [y/N]: "):
                    asked.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            _sigint_when(proc, asked.is_set)
            proc.wait(timeout=60)
            reader.join(timeout=10)
        finally:
            os.close(controller)
        writes = [e for e in sim.log() if is_write(e)]
    err = "".join(chunks)
    assert proc.returncode == 130, err
    assert err.rstrip("\n").splitlines()[-1] == (
        "error: interrupted (Ctrl-C) before the run started: nothing was changed"
    )
    assert writes == []


@pytest.mark.parametrize(
    "args",
    [["runs"], ["status", "1"], ["log", "1"], ["report", "1", "--format", "csv"], ["--help"],
     ["run", "--help"], ["playbooks"]],
    ids=lambda a: " ".join(a),
)  # fmt: skip
def test_a_reader_that_went_away_ends_the_command_quietly_with_141(
    args: list[str], tmp_path: Path, pipe_state: Path
) -> None:
    """`scimrecon ... | head -1` where head has already exited: the first write to stdout gets
    EPIPE. Deterministic: the pipe's read end is closed before the command writes anything."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [*CLI, *args, *(["--state", str(pipe_state)] if args[0] in STATEFUL else [])],
            cwd=tmp_path, env=base_env(), stdin=subprocess.DEVNULL, stdout=write_end,
            stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_head_dash_1_in_a_real_shell_pipeline(tmp_path: Path, pipe_state: Path) -> None:
    """The same through `sh`: many lines, `head -1` exits after the first, the shell reports
    scimrecon's own exit code and nothing more is said."""
    cli = " ".join(CLI)
    script = (
        f"{cli} log 1 --format jsonl --state {pipe_state} | head -1; "
        'echo "status=${PIPESTATUS[0]}"'
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=base_env(), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert json.loads(lines[0])["outcome"] == "run-started"
    assert lines[-1] in ("status=141", "status=0"), done.stdout  # 0: all fit in the pipe
    assert done.stderr == ""


STATEFUL = {"runs", "status", "log", "report"}


@pytest.fixture(scope="module")
def pipe_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state file with one run of 3,000 targets: more output than a pipe buffer holds.
    Made once for the module; the commands only read it."""
    from scimrecon.engine.playbook import load_playbook
    from scimrecon.engine.state import StateStore
    from scimrecon.steps import REGISTRY

    playbook = load_playbook("reprovision", REGISTRY)
    path = tmp_path_factory.mktemp("pipes") / "pipe.db"
    store = StateStore.open(path)
    try:
        keys = [f"user{i}@acme.example" for i in range(3000)]
        run = store.create_run(
            playbook=playbook.id, playbook_hash=playbook.content_hash,
            playbook_name=playbook.source_name, playbook_source=playbook.source,
            params=playbook.resolve_params(()), targets_name="targets.csv",
            targets_hash="0" * 64, targets=[(k, {"email": k}) for k in keys], options={},
        )  # fmt: skip
        for key in keys:
            store.record(run, key, "lookup", state="done", outcome="done", summary="ok")
        store.release(run)
    finally:
        store.close()
    return path
