"""Faults: `reprovision` on 50 targets while the APIs misbehave, on a fake clock.

Each scenario runs the real CLI in-process against the simulator with one kind of fault, using
the product's own retry policy. What must hold whatever the fault:

* the command ends with exit 0 (completed), 1 (some targets failed) or 3 (parked), never a
  crash, and any run that did not complete says why;
* no target is lost or half-done in silence: every target's state in `status` matches the world
  (done there <=> done here; changed but not finished => failed or waiting, with a reason);
* no destructive request succeeded twice for the same resource.

Flaky APIs (10 % 503s, 429 bursts with and without Retry-After, 1 % timeouts) must not cost a
single target: those runs complete and end exactly like a clean run. An API that is down for
30 s in the middle of a run is more than the retry budget (5 attempts, about 8 s of backoff), so
targets fail there, with the reason; those scenarios check the invariants and then whether the
product can finish the job once the API is back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.inproc import Env, Trigger, inproc
from tests.reliability.procs import repeated_with_effect
from tests.reliability.worlds import facts, reprovision_world

pytestmark = pytest.mark.reliability

TARGETS = 50
ALL = ("/atlassian", "/jira", "/graph", "/login")
FLAKY: dict[str, dict[str, Any]] = {
    "503-10-percent": {
        "seed": 3,
        **{p: {"error_rate": 0.1, "error_statuses": [503]} for p in ALL},
    },
    "429-bursts-with-retry-after": {
        "seed": 4,
        "/atlassian": {"rate_per_s": 5, "burst": 10},
        "/jira": {"rate_per_s": 5, "burst": 10},
        "/graph": {"rate_per_s": 2, "burst": 4},
    },
    "429-bursts-without-retry-after": {
        "seed": 4,
        "/atlassian": {"rate_per_s": 5, "burst": 10, "retry_after": False},
        "/jira": {"rate_per_s": 5, "burst": 10, "retry_after": False},
        "/graph": {"rate_per_s": 2, "burst": 4, "retry_after": False},
    },
    "timeouts-1-percent": {
        "seed": 5,
        **{p: {"timeout_rate": 0.01, "timeout_ms": 30000} for p in ALL},
    },
}
#: All of them together, with 8 requests/s per API: 5 attempts per call can run out here (one
#: target in a dozen seeded runs fails at `lookup`), so this one is held to the issue's bar only:
#: the run completes or parks with a reason, and nothing is half-done in silence.
EVERYTHING = {
    "seed": 6,
    **{
        p: {
            "error_rate": 0.1,
            "error_statuses": [503],
            "timeout_rate": 0.01,
            "rate_per_s": 8,
            "burst": 8,
            "retry_after": False,
        }
        for p in ALL
    },
}
#: (request that starts the outage, its number, the API that goes down for 30 s)
OUTAGES: dict[str, tuple[str, int, str]] = {
    "atlassian-down-during-unlink": ("DELETE /atlassian/", 10, "/atlassian"),
    "atlassian-down-during-email-change": ("PUT /atlassian/users/", 20, "/atlassian"),
    "jira-down-during-reassign": ("PUT /jira/", 10, "/jira"),
    "graph-down-at-resume": ("POST /graph/", 2, "/graph"),
}


@pytest.fixture(scope="module")
def world() -> tuple[dict[str, Any], list[str]]:
    return reprovision_world(TARGETS)


@pytest.fixture(scope="module")
def clean(world: tuple[dict[str, Any], list[str]], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The facts of a run without faults: what every flaky run must end with."""
    folder = tmp_path_factory.mktemp("clean")
    doc, emails = world
    env = inproc(json.loads(json.dumps(doc)), folder)
    result = _run(env, folder, emails)
    assert result["state"] == "completed", result
    return facts(env.world())


def _run(env: Env, folder: Path, emails: list[str]) -> dict[str, Any]:
    targets = folder / "targets.csv"
    targets.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    result = env.cli(
        "run", "reprovision", "--targets", str(targets), "--yes",
            "--param", "provision_mode=cycle", "--max-wait", "0",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1, 3), result.output
    assert "Traceback" not in result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["exit_code"] == result.exit_code
    if doc["state"] != "completed":
        assert doc["reason"], doc
    return doc


def _target_fate(email: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """done, untouched or half-done, read from the world alone.

    Done: a new, clean account holds the email and the SCIM link, the old account is parked
    (`local+old-RUN@domain`, any run) and inactive, and the person's tickets moved with them.
    """
    local, domain = email.lower().split("@")
    key = email.lower()
    parked = [
        a
        for address, a in after["accounts"].items()
        if address.startswith(f"{local}+old-") and address.endswith(f"@{domain}")
    ]
    tickets = [k for k, i in before["issues"].items() if i["reporter"] == key]
    done = (
        after["accounts"].get(key) == {"status": "active", "managed": True, "products": []}
        and after["scim"].get(key) == {"account": key, "active": True}
        and len(parked) == 1
        and parked[0]["status"] == "inactive"
        and all(after["issues"][k]["reporter"] == key for k in tickets)
    )
    if done:
        return "done"
    untouched = (
        after["accounts"].get(key) == before["accounts"][key]
        and not parked
        and after["scim"].get(key) == before["scim"][key]
        and all(after["issues"][k] == before["issues"][k] for k in tickets)
    )
    return "untouched" if untouched else "half-done"


def _silent(env: Env, before: dict[str, Any], emails: list[str]) -> list[str]:
    """Targets whose status does not tell the truth about the world."""
    after = facts(env.world())
    status = {t["key"]: t for t in env.status()["targets"]}
    wrong = []
    for email in emails:
        fate, entry = _target_fate(email, before, after), status[email]
        if (fate == "done") != (entry["state"] == "done"):
            wrong.append(f"{email}: world {fate}, status {entry['state']}")
        elif fate == "half-done" and not (
            entry["state"] in ("incomplete", "waiting") and entry["reason"]
        ):
            wrong.append(f"{email}: half-done in the world, status {entry['state']} {entry}")
    return wrong


@pytest.mark.parametrize("name", list(FLAKY))
def test_flaky_apis_cost_no_target(
    name: str, world: tuple[dict[str, Any], list[str]], clean: dict[str, Any], tmp_path: Path
) -> None:
    doc, emails = world
    doc = json.loads(json.dumps(doc))
    doc["faults"] = FLAKY[name]
    before = facts(doc)
    env = inproc(doc, tmp_path)
    result = _run(env, tmp_path, emails)
    fired = {e["status"] for e in env.app.log} - {200, 201, 204}
    assert fired, "the faults must actually have fired"
    assert result["state"] == "completed", (result, env.status())
    assert result["targets"] == {"done": TARGETS}
    assert _silent(env, before, emails) == []
    assert repeated_with_effect(env.app.log) == {}
    assert facts(env.world()) == clean


def test_everything_at_once_ends_with_reasons_and_nothing_silently_half_done(
    world: tuple[dict[str, Any], list[str]], tmp_path: Path
) -> None:
    doc, emails = world
    doc = json.loads(json.dumps(doc))
    doc["faults"] = EVERYTHING
    before = facts(doc)
    env = inproc(doc, tmp_path)
    result = _run(env, tmp_path, emails)
    assert result["state"] in ("completed", "failed", "parked"), result
    for failure in result["failures"]:
        assert failure["reason"].startswith(f"{failure['step']}: "), failure
    assert _silent(env, before, emails) == []
    assert repeated_with_effect(env.app.log) == {}


def _outage(
    name: str, world: tuple[dict[str, Any], list[str]], tmp_path: Path
) -> tuple[Env, dict[str, Any], list[str], dict[str, Any]]:
    doc, emails = world
    doc = json.loads(json.dumps(doc))
    before = facts(doc)
    match, nth, prefix = OUTAGES[name]
    trigger = Trigger(match, nth, {prefix: {"down_for_s": 30}})
    env = inproc(doc, tmp_path, triggers=[trigger])
    result = _run(env, tmp_path, emails)
    assert trigger.fired_at is not None, "the outage must have started"
    return env, before, emails, result


@pytest.mark.parametrize("name", [n for n in OUTAGES if n != "graph-down-at-resume"])
def test_an_api_down_for_30_s_fails_targets_loudly_and_loses_none(
    name: str, world: tuple[dict[str, Any], list[str]], tmp_path: Path
) -> None:
    env, before, emails, result = _outage(name, world, tmp_path)
    assert result["state"] in ("failed", "parked"), result
    assert result["targets"].get("done", 0) < TARGETS
    for failure in result["failures"]:
        assert "unavailable" in failure["reason"] or "503" in failure["reason"], failure
    assert _silent(env, before, emails) == []
    assert repeated_with_effect(env.app.log) == {}
    assert facts(env.world())["idp_job"] == "Active"


def test_an_idp_outage_at_resume_leaves_no_target_half_done_in_silence(
    world: tuple[dict[str, Any], list[str]], tmp_path: Path
) -> None:
    env, before, emails, result = _outage("graph-down-at-resume", world, tmp_path)
    assert result["state"] in ("failed", "parked"), result
    assert "provisioning is still paused" in " ".join(result["left_changed"])
    assert _silent(env, before, emails) == []


@pytest.mark.parametrize(
    "name",
    [
        "atlassian-down-during-unlink",
        "atlassian-down-during-email-change",
        "jira-down-during-reassign",
        "graph-down-at-resume",
    ],
)
def test_after_the_outage_the_product_finishes_every_target(
    name: str, world: tuple[dict[str, Any], list[str]], clean: dict[str, Any], tmp_path: Path
) -> None:
    env, before, emails, _ = _outage(name, world, tmp_path)
    env.clock.sleep(60)  # the API is back
    env.app.tick()
    # a failed run takes its failed targets up again, each failed step settled by check first
    resumed = env.cli("resume", "1", "--yes", "--max-wait", "0", "--retry-failed")
    if resumed.exit_code == 3:  # parked, waiting for the IdP's next cycle
        env.app.tick()
        resumed = env.cli("resume", "1", "--yes", "--max-wait", "0")
    if resumed.exit_code != 0:  # relinked while half-way: those start again in a new run
        assert "start a new run for" in resumed.output, resumed.output
        # ... once this attempt is closed for them (undo: already whole again), else the new
        # run would skip them as held by run 1
        stuck = [t["key"] for t in env.status()["targets"] if t["state"] == "incomplete"]
        assert stuck
        (tmp_path / "stuck.csv").write_text("email\n" + "".join(f"{k}\n" for k in stuck))
        undone = env.cli("undo", "1", "--targets", str(tmp_path / "stuck.csv"), "--yes")
        assert undone.exit_code == 0, undone.output
        again = env.cli(
            "run",
            "reprovision",
            "--targets",
            str(tmp_path / "targets.csv"),
            "--yes",
            "--param",
            "provision_mode=cycle",
        )
        assert again.exit_code in (0, 3), again.output
        if again.exit_code == 3:
            env.app.tick()
            assert env.cli("resume", "2", "--yes").exit_code == 0
    after = facts(env.world())
    assert [e for e in emails if _target_fate(e, before, after) != "done"] == []


def test_429_without_retry_after_survives_a_client_clock_5_s_ahead(
    world: tuple[dict[str, Any], list[str]], tmp_path: Path
) -> None:
    doc, emails = world
    doc = json.loads(json.dumps(doc))
    doc["faults"] = FLAKY["429-bursts-without-retry-after"]
    env = inproc(doc, tmp_path, client_skew_s=5.0)
    result = _run(env, tmp_path, emails[:10])
    assert result["state"] == "completed", result


def test_a_timeout_that_applies_still_looks_like_a_timeout_to_the_client(
    world: tuple[dict[str, Any], list[str]], tmp_path: Path
) -> None:
    doc, _ = world
    doc = json.loads(json.dumps(doc))
    doc["faults"] = {"/atlassian": {"timeout_rate": 1.0, "timeout_applies": True}, "seed": 1}
    account = next(a for a in doc["accounts"] if a["status"] == "active" and a["managed"])
    # no SCIM entry for this one: the organization may change it itself (UM-4)
    doc["scim_users"] = [u for u in doc["scim_users"] if u["account_id"] != account["account_id"]]
    env = inproc(doc, tmp_path)
    admin = env.services().admin
    with pytest.raises(Exception, match=r"timed out|504"):
        admin.set_email(account["account_id"], "moved@" + account["email"].split("@")[1])
    moved = [a for a in env.world()["accounts"] if a["account_id"] == account["account_id"]]
    assert moved[0]["email"].startswith("moved@")
