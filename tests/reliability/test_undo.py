"""SIGKILL during `park-email` → `abort` names the half-moved people → undo → the world is back.

Real processes over a real socket: `scimrecon sim serve` and the CLI (forked from a preloaded
server, forked.py), the CLI killed with SIGKILL as soon as the state file shows the intent of
the Nth `park-email`. Email changes answer after a short latency, so the kill lands among
them: some people are unlinked and parked, some only unlinked, provisioning is paused.

What must hold (issue 11, point 2):

* `status` names every person the world shows changed (no SCIM entry, or a parked email) as
  `incomplete`, with what was changed;
* a new run over the same list skips each of them as held by run 1, never misreads them;
* `abort 1 --yes` alone refuses (exit 4), names each of them, and changes nothing: provisioning
  stays paused;
* `abort 1 --undo --yes`, itself SIGKILLed once half-way and run again, puts the world back as
  it was before the run (compared by email: who holds each address, status, products, SCIM
  link, ticket reporters, the IdP job; generated ids and timestamps aside) without putting any
  address back twice, and the run ends aborted with every changed target `undone`.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.forked import run_forked, shutdown, spawn_forked
from tests.reliability.procs import sim_serve_forked, state_rows, wait_for
from tests.reliability.worlds import facts, reprovision_world

pytestmark = pytest.mark.reliability

TARGETS = 12
KILL_AT_PARK = 5  # SIGKILL once this many park-email intents are recorded
LATENCY = {"/atlassian/users": {"latency_ms": 40}, "seed": 1}


def _changed_in_world(world: dict[str, Any], emails: list[str]) -> dict[str, list[str]]:
    """Who the world shows changed, read from the world alone (not from the product)."""
    linked = {u["userName"].lower() for u in world["scim_users"]}
    held = {a["email"].lower() for a in world["accounts"]}
    out: dict[str, list[str]] = {}
    for email in emails:
        local, domain = email.lower().split("@")
        changed = [
            step
            for step, yes in (
                ("remove-scim", email.lower() not in linked),
                ("park-email", f"{local}+old-1@{domain}" in held),
            )
            if yes
        ]
        if changed:
            out[email] = changed
    return out


def test_sigkill_in_park_email_then_abort_undo_restores_the_original_world(
    tmp_path: Path,
) -> None:
    world_doc, emails = reprovision_world(TARGETS)
    world_doc["faults"] = LATENCY
    world_path = tmp_path / "world.json"
    world_path.write_text(json.dumps(world_doc), encoding="utf-8")
    targets = tmp_path / "targets.csv"
    targets.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    state = tmp_path / "state.db"
    original = facts(world_doc)
    try:
        with sim_serve_forked(world_path, tmp_path) as sim:
            env = sim.env()
            common = ["--state", str(state)]
            proc = spawn_forked(
                ["run", "reprovision", "--targets", str(targets), "--yes",
                    "--param", "provision_mode=cycle", "--concurrency", "2",
                 *common],
                env, tmp_path, "run",
            )  # fmt: skip

            def parked() -> int:
                rows = state_rows(
                    state, "SELECT count(*) FROM step_states WHERE step = 'park-email'"
                )
                return int(rows[0][0]) if rows else 0

            assert wait_for(lambda: proc.poll() is not None or parked() >= KILL_AT_PARK, 120)
            assert proc.poll() is None, proc.communicate()
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            time.sleep(0.2)  # let the simulator answer the call in flight
            killed = sim.world()
            changed = _changed_in_world(killed, emails)
            assert any("park-email" in v for v in changed.values()), changed
            assert killed["idp"]["job"]["state"] == "Paused"

            # status names every changed person as incomplete, with what was changed
            code, out, err = run_forked(["status", "1", "--format", "json", *common], env,
                                        tmp_path, "status")  # fmt: skip
            assert code == 0, err
            doc = json.loads(out)
            shown = {t["key"]: t["changed"] for t in doc["targets"] if t["state"] == "incomplete"}
            for email, steps in changed.items():
                assert email in shown, (email, shown)
                assert set(steps) <= set(shown[email]), (email, steps, shown[email])

            # a plan (as a new run makes it) skips them as held by run 1; exit 1 because the
            # pause cannot be planned while run 1 holds provisioning paused
            code, out, err = run_forked(
                ["plan", "reprovision", "--targets", str(targets), "--format", "json", *common],
                env, tmp_path, "plan",
            )  # fmt: skip
            assert code in (0, 1), err
            entries = json.loads(out)["entries"]
            for email in changed:
                skip = [
                    e["text"] for e in entries if e["target"] == email and e["status"] == "skip"
                ]
                assert skip and skip[0].startswith(
                    "skip: held by run 1 (incomplete: remove-scim done"
                ), (email, skip)
                assert skip[0].endswith(": resume 1 or abort 1 --undo"), skip

            # abort --yes alone refuses, names them, changes nothing
            code, out, err = run_forked(["abort", "1", "--yes", "--force", *common], env,
                                        tmp_path, "abort")  # fmt: skip
            assert code == 4, out + err
            for email in changed:
                assert email in err, (email, err)
            assert "--undo" in err
            assert facts(sim.world()) == facts(killed)
            assert sim.world()["idp"]["job"]["state"] == "Paused"

            # abort --undo, itself killed once half-way through its email reversals, then
            # again: the undo resumes where it stopped (settling the reversal it was in)
            undo_args = ["abort", "1", "--undo", "--yes", "--force", "--format", "json", *common]
            log_from = len(sim.log())
            first = spawn_forked(undo_args, env, tmp_path, "undo1")

            def reversed_emails() -> int:
                rows = state_rows(
                    state, "SELECT count(*) FROM undo_states WHERE step = 'park-email'"
                )
                return int(rows[0][0]) if rows else 0

            wait_for(lambda: first.poll() is not None or reversed_emails() >= 2, 120)
            assert first.poll() is None, first.communicate()  # killed half-way, not after
            first.send_signal(signal.SIGKILL)
            first.communicate()
            stopped = state_rows(state, "SELECT state FROM undos WHERE run = 1")
            assert stopped == [("running",)], stopped
            time.sleep(0.2)
            code, out, err = run_forked(undo_args, env, tmp_path, "undo2")
            assert code == 0, out + err
            puts: dict[str, int] = {}
            for entry in sim.log()[log_from:]:
                path = str(entry["path"])
                ok = 200 <= int(entry["status"]) < 300
                if entry["method"] == "PUT" and "/manage/email" in path and ok:
                    puts[path] = puts.get(path, 0) + 1
            assert puts and max(puts.values()) == 1, puts  # no address put back twice
            after = facts(sim.world())
            diff = {
                part: {
                    k: (after[part].get(k), original[part].get(k))
                    for k in set(after[part]) | set(original[part])
                    if after[part].get(k) != original[part].get(k)
                }
                for part in ("accounts", "scim", "issues")
            }
            assert after == original, diff
            code, out, err = run_forked(["status", "1", "--format", "json", *common], env,
                                        tmp_path, "status2")  # fmt: skip
            doc = json.loads(out)
            assert doc["state"] == "aborted"
            undone = {t["key"] for t in doc["targets"] if t["state"] == "undone"}
            assert set(changed) <= undone
            assert not [t for t in doc["targets"] if t["state"] == "incomplete"]
    finally:
        shutdown()
