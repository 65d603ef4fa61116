"""Issue 11 point 2: nobody is left half-moved in silence, and what can be undone is undone.

The real CLI against the in-process simulator (fake clock). A Ctrl-C lands while `park-email`
is being applied (SIGINT sent to this process by the simulator when the Nth email change
arrives, exactly what a person's Ctrl-C does), leaving some people with no SCIM link and a
parked email while provisioning stays paused.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimrecon.sim.app import SimApp
from scimrecon.sim.world import load_world
from tests.playbooks.harness import (
    FakeClock,
    SimEnv,
    _services,
    accounts_by_email,
    in_process,
    targets,
)
from tests.reliability.worlds import facts

TARGETS = targets("acme-trello")


class _InterruptAt:
    """WSGI middleware: SIGINT to this process when the Nth request matching `match` arrives
    (after the simulator answered it, so that change is made)."""

    def __init__(self, app: SimApp, match: str, nth: int) -> None:
        self.app, self.match, self.nth, self.seen = app, match, nth, 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        what = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
        body = self.app(environ, start_response)
        if self.match in what:
            self.seen += 1
            if self.seen == self.nth:
                os.kill(os.getpid(), signal.SIGINT)
        return body


@contextmanager
def interrupted_env(tmp: Path, nth: int = 3) -> Iterator[SimEnv]:
    clock = FakeClock()
    app = SimApp(load_world("acme-trello"), seed=1, clock=clock.now, sleep=clock.sleep)
    transport = httpx.WSGITransport(app=_InterruptAt(app, "PUT /atlassian/users/", nth))
    yield SimEnv(app, _services(app, "http://sim.localhost", transport, clock), tmp / "state.db")


def _interrupt(env: SimEnv) -> dict[str, Any]:
    """Run reprovision until the Ctrl-C; returns the world as it was before."""
    return _interrupted_run(env)[0]


def _interrupted_run(env: SimEnv) -> tuple[dict[str, Any], str]:
    """The world before, and what the interrupted run printed on stdout."""
    before = env.world()
    result = env.cli("run", "reprovision", "--targets", TARGETS, "--yes", "--concurrency", "1")
    assert result.exit_code == 130, result.output
    return before, result.stdout


def _status(env: SimEnv) -> dict[str, Any]:
    result = env.cli("status", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _expected_incomplete(env: SimEnv) -> dict[str, list[str]]:
    """Independently of the product's reading: who has no SCIM entry now, and why."""
    world = env.world()
    linked = {u["userName"].lower() for u in world["scim_users"]}
    emails = [line.strip() for line in Path(TARGETS).read_text().splitlines()[1:] if line.strip()]
    parked = {a["email"].lower() for a in world["accounts"]}
    out = {}
    for email in emails:
        local, domain = email.split("@")
        changed = []
        if email.lower() not in linked:
            changed.append("remove-scim")
        if f"{local}+old-1@{domain}".lower() in parked:
            changed.append("park-email")
        if changed:
            out[email] = changed
    return out


def test_ctrl_c_during_park_email_leaves_incomplete_targets_that_status_names(
    tmp_path: Path,
) -> None:
    with interrupted_env(tmp_path) as env:
        _, printed = _interrupted_run(env)
        expected = _expected_incomplete(env)
        assert expected and any("park-email" in v for v in expected.values())
        doc = _status(env)
        shown = {t["key"]: t["changed"] for t in doc["targets"] if t["state"] == "incomplete"}
        # every change the world shows is named; a step stopped before its call reached the
        # simulator is named too (started, maybe done): more is said, never less
        for key, steps in expected.items():
            assert set(steps) <= set(shown.get(key, [])), (key, steps, shown)
        assert set(expected) <= set(shown)
        # the run's own summary line counts them as status does (trial 6: it said "pending")
        counts = Counter(t["state"] for t in doc["targets"])
        line = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        assert f"run 1 interrupted: {line}\n" in printed, printed
        human = env.cli("status", "1")
        assert "INCOMPLETE" in human.output
        for key in expected:
            assert key in human.output
        assert "scimrecon abort 1 --undo" in human.output


def test_abort_yes_alone_refuses_to_leave_anyone_half_moved(tmp_path: Path) -> None:
    with interrupted_env(tmp_path) as env:
        _interrupt(env)
        expected = _expected_incomplete(env)
        before_abort = env.world()
        result = env.cli("abort", "1", "--yes")
        assert result.exit_code == 4, result.output
        for key in expected:
            assert key in result.output
        assert "--undo" in result.output and "--leave-incomplete" in result.output
        assert env.world()["idp"]["job"]["state"] == "Paused"
        assert facts(env.world()) == facts(before_abort)


def test_abort_undo_puts_the_world_back_while_provisioning_is_still_paused(
    tmp_path: Path,
) -> None:
    with interrupted_env(tmp_path) as env:
        before = _interrupt(env)
        expected = _expected_incomplete(env)
        result = env.cli("abort", "1", "--undo", "--yes")
        assert result.exit_code == 0, result.output
        for key in expected:
            assert key in result.output
        assert facts(env.world()) == facts(before)
        doc = _status(env)
        assert doc["state"] == "aborted"
        assert {t["key"] for t in doc["targets"] if t["state"] == "undone"} == set(expected)
        assert not [t for t in doc["targets"] if t["state"] == "incomplete"]
        assert doc["undo"]["state"] == "completed"
        # the email went back before provisioning resumed: no push ever made a new account
        log = env.app.log
        resumed = max(i for i, r in enumerate(log) if r["path"].endswith("/start"))
        emails_back = [
            i for i, r in enumerate(log) if r["method"] == "PUT" and "/manage/email" in r["path"]
        ]
        assert emails_back and max(emails_back) < resumed


class _FaultsAt:
    """WSGI middleware: set the simulator's faults when the Nth matching request arrives."""

    def __init__(self, app: SimApp, match: str, nth: int, faults: dict[str, Any]) -> None:
        self.app, self.match, self.nth, self.faults, self.seen = app, match, nth, faults, 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        body = self.app(environ, start_response)
        if self.match in f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}":
            self.seen += 1
            if self.seen == self.nth:
                self.app.set_faults(self.faults)
        return body


def test_abort_undo_that_leaves_someone_not_undone_exits_non_zero(tmp_path: Path) -> None:
    """Ctrl-C while the run pushes users back (after the window); the undo's own pushes are
    then fail at Graph (500 from provisionOnDemand alone). The abort still resumes
    provisioning, names who was not undone and the command that works, and its exit code is
    the undo's (1), not 0 (the probe of session 7 saw 0)."""
    clock = FakeClock()
    app = SimApp(load_world("acme-trello"), seed=1, clock=clock.now, sleep=clock.sleep)
    transport = httpx.WSGITransport(app=_InterruptAt(app, "provisionOnDemand", 2))
    env = SimEnv(app, _services(app, "http://sim.localhost", transport, clock), tmp_path / "s.db")
    result = env.cli("run", "reprovision", "--targets", TARGETS, "--yes", "--concurrency", "1")
    assert result.exit_code == 130, result.output
    idp = app.profile("http://sim.localhost")["idp"]
    push = (
        f"/graph/servicePrincipals/{idp['service_principal']}/synchronization/jobs/"
        f"{idp['job_id']}/provisionOnDemand"
    )
    app.set_faults({push: {"error_rate": 1.0, "error_statuses": [500]}, "seed": 1})
    result = env.cli("abort", "1", "--undo", "--yes")
    assert result.exit_code == 1, result.output
    assert "not undone" in result.output and "undo them: scimrecon undo 1" in result.output
    assert env.world()["idp"]["job"]["state"] == "Active"  # the finally steps still ran


@contextmanager
def graph_down_after_parking(tmp: Path) -> Iterator[SimEnv]:
    """Graph answers 503 from the 6th email change on: the run step `resume` fails."""
    clock = FakeClock()
    app = SimApp(load_world("acme-trello"), seed=1, clock=clock.now, sleep=clock.sleep)
    down = {"/graph": {"error_rate": 1.0}, "seed": 1}
    middleware = _FaultsAt(app, "PUT /atlassian/users/", 6, down)
    transport = httpx.WSGITransport(app=middleware)
    yield SimEnv(app, _services(app, "http://sim.localhost", transport, clock), tmp / "state.db")


def test_after_a_failed_run_step_every_message_gives_the_command_that_works(
    tmp_path: Path,
) -> None:
    with graph_down_after_parking(tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", TARGETS, "--yes")
        assert result.exit_code == 1, result.output
        assert "scimrecon resume 1 --retry-failed" in result.output
        # never the plain `resume 1`, which answers "run 1 is failed: nothing to resume"
        assert not re.search(r"scimrecon resume 1(?! --retry-failed)", result.output)
        env.app.set_faults({})
        resumed = env.cli("resume", "1", "--yes")
        assert resumed.exit_code == 4
        assert "scimrecon resume 1 --retry-failed" in resumed.output

        # a new run over the same people: held, with the command that works on a failed run
        again = env.cli("run", "reprovision", "--targets", TARGETS, "--yes", "--format", "json")
        assert again.exit_code == 0, again.output
        doc = json.loads(env.cli("status", "2", "--format", "json").stdout)
        reasons = {t["key"]: t["reason"] for t in doc["targets"]}
        held = (
            "held by run 1 (incomplete: remove-scim done, park-email done): "
            "resume --retry-failed 1 or undo 1"
        )
        assert reasons == dict.fromkeys(reasons, held), reasons
        assert env.world()["idp"]["job"]["state"] == "Paused"  # run 2 never touched it

        undone = env.cli("undo", "1", "--yes")
        assert undone.exit_code == 0, undone.output
        assert facts(env.world()) == facts(before)


def test_undo_refuses_a_run_that_has_not_ended_naming_what_works(tmp_path: Path) -> None:
    with interrupted_env(tmp_path) as env:
        _interrupt(env)
        result = env.cli("undo", "1", "--yes")
        assert result.exit_code == 4
        assert "scimrecon abort 1 --undo" in result.output
        assert "scimrecon resume 1" in result.output


def test_a_changed_account_is_refused_with_the_reason_and_provisioning_stays_paused(
    tmp_path: Path,
) -> None:
    with interrupted_env(tmp_path) as env:
        _interrupt(env)
        parked = next(a for a in env.app.store.accounts() if "+old-1@" in str(a.get("email")))
        parked["email"] = "someone.else@acme.example"  # changed by hand since the run
        result = env.cli("abort", "1", "--undo", "--yes")
        assert result.exit_code == 4, result.output
        assert "neither the parked" in result.output
        assert "someone.else@acme.example" in result.output
        assert "was not aborted" in result.output
        assert env.world()["idp"]["job"]["state"] == "Paused"
        doc = _status(env)
        assert doc["state"] == "interrupted"
        assert [t["key"] for t in doc["targets"] if t["state"] == "incomplete"]


def test_scim_delete_is_named_irreversible_and_nothing_of_that_target_is_touched(
    tmp_path: Path,
) -> None:
    with interrupted_env(tmp_path) as env:
        result = env.cli(
            "run", "reprovision", "--targets", TARGETS, "--yes", "--concurrency", "1",
            "--param", "scim_removal=delete",
        )  # fmt: skip
        assert result.exit_code == 130, result.output
        killed = env.world()
        plan = env.cli("abort", "1", "--undo", "--yes")
        assert plan.exit_code == 4, plan.output
        assert "irreversible: SCIM DELETE removed SCIM user" in plan.output
        assert facts(env.world()) == facts(killed)
        left = env.cli("abort", "1", "--leave-incomplete", "--yes")
        assert left.exit_code == 0, left.output
        assert "INCOMPLETE" in left.output and "scimrecon undo 1" in left.output
        assert "left-incomplete" in env.cli("log", "1").output
        # an aborted holder: the only way on is undo (resume refuses an aborted run)
        plan = env.cli("plan", "reprovision", "--targets", TARGETS, "--format", "json")
        skips = [e["text"] for e in json.loads(plan.stdout)["entries"] if e["status"] == "skip"]
        assert skips and all(
            t.startswith("skip: held by run 1 (incomplete: remove-scim done") and
            t.endswith("): undo 1") for t in skips
        ), skips  # fmt: skip


def test_undo_dry_run_plans_and_changes_nothing(tmp_path: Path) -> None:
    with graph_down_after_parking(tmp_path) as env:
        assert env.cli("run", "reprovision", "--targets", TARGETS, "--yes").exit_code == 1
        env.app.set_faults({})
        before, writes = env.world(), len(env.writes())
        state = env.state.read_bytes()
        result = env.cli("undo", "1", "--dry-run")
        assert result.exit_code == 0, result.output
        assert "would change the email of" in result.output
        assert "would have the IdP push" in result.output
        assert "dry run: nothing was changed" in result.output
        assert env.world() == before and len(env.writes()) == writes
        assert env.state.read_bytes() == state


def test_suspended_access_is_restored_by_undo(tmp_path: Path) -> None:
    from tests.playbooks.harness import FIXTURES, in_process

    chosen = json.loads((FIXTURES / "inactive-licences" / "expected.json").read_text())
    emails = chosen["classes"]["inactive_90d"]
    target_file = tmp_path / "targets.csv"
    target_file.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    with in_process("inactive-licences", tmp_path) as env:
        before = env.world()
        args = ("--targets", str(target_file), "--yes", "--param", "as_of=2026-11-23")
        assert env.cli("run", "inactive-licences", *args).exit_code == 0
        assert accounts_by_email(env.world()) != accounts_by_email(before)
        result = env.cli("undo", "1", "--yes")
        assert result.exit_code == 0, result.output
        assert accounts_by_email(env.world()) == accounts_by_email(before)
        again = env.cli("undo", "1", "--yes")
        assert again.exit_code == 0 and "nothing to undo" in again.output


def test_a_finished_reprovision_is_undone_the_new_accounts_abandoned(tmp_path: Path) -> None:
    from tests.playbooks.harness import in_process
    from tests.playbooks.test_reprovision import assert_memberships_back

    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        done = env.cli("run", "reprovision", "--targets", TARGETS, "--yes")
        assert done.exit_code == 0, done.output
        moved = facts(env.world())
        assert moved != facts(before)

        result = env.cli("undo", "1", "--yes")
        assert result.exit_code == 0, result.output
        after = env.world()
        assert after["idp"]["job"]["state"] == "Active"
        now = facts(after)
        abandoned = {k: v for k, v in now["accounts"].items() if "+abandoned-1@" in k}
        emails = [e.strip().lower() for e in Path(TARGETS).read_text().splitlines()[1:] if e]
        # one abandoned account per person, disabled, unlinked, without products or tickets
        assert sorted(k.replace("+abandoned-1", "") for k in abandoned) == sorted(emails)
        assert all(v == {"status": "inactive", "managed": True, "products": []}
                   for v in abandoned.values())  # fmt: skip
        # everything else is as it was before the run: addresses, status, products, links,
        # tickets (they went back to the old accounts)
        kept = {k: v for k, v in now["accounts"].items() if k not in abandoned}
        assert kept == facts(before)["accounts"]
        assert now["scim"] == facts(before)["scim"]
        assert now["issues"] == facts(before)["issues"]
        assert now["account_count"] == facts(before)["account_count"] + len(emails)
        # the relinked old accounts are back in their groups (a relink is a new SCIM record)
        assert_memberships_back(before, after)
        doc = _status(env)
        assert {t["state"] for t in doc["targets"]} == {"undone"}


class BreaksPush(httpx.BaseTransport):
    """Graph, except that any push of a user (the app role assignment, provisionOnDemand)
    answers 500 while `broken`."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.broken = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        pushes = "appRoleAssign" in path or path.endswith("/provisionOnDemand")
        if self.broken and pushes and request.method != "GET":
            return httpx.Response(500, json={"error": {"code": "InternalServerError"}})
        return self.inner.handle_request(request)


@pytest.mark.slow  # the failing pushes are retried with their backoff: about 7 s
def test_a_run_undone_in_part_is_not_resumed_and_shows_only_what_stands(tmp_path: Path) -> None:
    """The push fails in the run (after the emails were parked) and again in its undo (after
    the emails went back): the addresses are restored, the SCIM entries are not. Status then
    names only what stands (remove-scim), and `resume --retry-failed` would build on the
    parked addresses that are gone: it is refused, naming the undo (trial 6)."""
    with in_process("acme-trello", tmp_path) as env:
        graph = BreaksPush(httpx.WSGITransport(app=env.app))
        env.services_factory = _services(env.app, "http://sim.localhost", graph, env.clock)
        ada = "ada.lovelace@acme.example"
        one = tmp_path / "one.csv"
        one.write_text(f"email\n{ada}\n", encoding="utf-8")
        failed = env.cli("run", "reprovision", "--targets", str(one), "--yes")
        assert failed.exit_code == 1, failed.output
        undo = env.cli("undo", "1", "--yes")
        assert undo.exit_code == 1, undo.output
        assert accounts_by_email(env.world())[ada]["email"] == ada  # the address is back
        doc = _status(env)
        (target,) = doc["targets"]
        assert "park-email" not in target["changed"] and "remove-scim" in target["changed"]
        resumed = env.cli("resume", "1", "--retry-failed", "--yes")
        assert resumed.exit_code == 4, resumed.output
        assert resumed.stderr.strip().splitlines()[-1] == (
            f"error: run 1: 1 target(s) it would go on with were undone in part ({ada}): going "
            "on would build on changes already taken back; finish their undo: scimrecon undo 1 "
            "--targets FILE (a list of them)"
        )
        graph.broken = False
        again = env.cli("undo", "1", "--yes", "--targets", str(one))
        assert again.exit_code == 0, again.output


def test_a_refused_key_stops_the_undo_at_once_and_keeps_provisioning_paused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 in an undo stops it at the first call (not one failure per target), says why in
    one line, leaves provisioning paused over the half-moved people and names the commands
    that work (review of session 6)."""
    with interrupted_env(tmp_path) as env:
        _interrupt(env)
        half_moved = _expected_incomplete(env)
        good = env.app.secrets()
        monkeypatch.setattr(env.app, "secrets", lambda: {**good, "SCIMRECON_ORG_API_KEY": "x"})
        transport = httpx.WSGITransport(app=env.app)
        env.services_factory = _services(env.app, "http://sim.localhost", transport, env.clock)
        seen = len(env.app.log)
        result = env.cli("abort", "1", "--undo", "--yes")
        assert result.exit_code == 4, result.output
        assert "undo of run 1 failed: 0 undone\n" in result.output
        assert "→ 401: unauthorized: invalid credentials for the organization APIs" in result.output
        assert "finish them: scimrecon resume 1; or undo them: scimrecon abort 1 --undo" in (
            result.output
        )
        refused = [r for r in env.app.log[seen:] if r["status"] == 401]
        assert len(refused) == 1  # stopped at the first refusal
        assert env.world()["idp"]["job"]["state"] == "Paused"
        assert _expected_incomplete(env) == half_moved  # nothing changed


def test_undo_of_some_people_of_a_finished_run_brings_them_back_and_resumes(
    tmp_path: Path,
) -> None:
    """`undo RUN --targets FILE` on a completed reprovision (trial 8): the two named people are
    back on their old accounts, provisioning is Active again, the four others keep their new
    accounts. Before, the four finished targets counted as half-moved, the window stayed open
    (provisioning paused) and the undo said "completed: 0 undone", exit 0."""
    with in_process("acme-trello", tmp_path) as env:
        before = facts(env.world())
        done = env.cli("run", "reprovision", "--targets", TARGETS, "--yes")
        assert done.exit_code == 0, done.output
        moved = facts(env.world())
        some = ["ada.lovelace@acme.example", "diego.alvarez@acme.example"]
        chosen = tmp_path / "some.csv"
        chosen.write_text("email\n" + "\n".join(some) + "\n", encoding="utf-8")
        result = env.cli("undo", "1", "--targets", str(chosen), "--yes")
        assert result.exit_code == 0, result.output
        assert "undo of run 1 completed: 2 undone" in result.output, result.output
        after = env.world()
        assert after["idp"]["job"]["state"] == "Active"
        now = facts(after)
        for email in some:  # back on the old account, under its own address
            assert now["accounts"][email] == before["accounts"][email], email
        others = [e for e in moved["accounts"] if "+old-1@" in e and e.split("+")[0] not in
                  {s.split("@")[0] for s in some}]  # fmt: skip
        assert len(others) == 4
        for parked in others:  # the four others stay moved
            assert now["accounts"][parked] == moved["accounts"][parked], parked
