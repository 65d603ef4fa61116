"""What the run must never do, whatever the IdP's state, the person, or the network does."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, _services, in_process, targets
from tests.playbooks.test_reprovision import EXPECTED, TARGETS, assert_reprovisioned


def test_a_job_someone_else_paused_is_refused_and_left_paused(tmp_path: Path) -> None:
    world = load_world("acme-trello")
    world["idp"]["job"]["state"] = "Paused"
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 4, result.output
        assert "provisioning is Paused before this run touched it" in result.output
        assert "finish whatever paused it, then scimrecon resume 1\n" in result.output
        after = env.world()
        assert after["idp"]["job"]["state"] == "Paused"  # not ours to resume
        assert after["accounts"] == before["accounts"]
        assert after["scim_users"] == before["scim_users"]
        assert [r for r in env.app.log if r["path"].endswith(("/start", "/pause"))] == []


class InterruptedAdmin:
    """Pauses provisioning in the console, then presses Ctrl-C instead of typing 'paused'."""

    assume_yes = True

    def __init__(self) -> None:
        self.asked: list[str] = []

    def confirm(self, message: str) -> bool:
        return True

    def manual(self, instructions: str, expect: str) -> None:
        self.asked.append(expect)
        if expect == "paused":
            raise KeyboardInterrupt

    def info(self, message: str) -> None:
        pass


def test_abort_after_ctrl_c_at_a_manual_pause_still_asks_to_resume(tmp_path: Path) -> None:
    with in_process("manual", tmp_path) as env:
        person = InterruptedAdmin()
        env.ui = person
        stopped = env.cli("run", "reprovision", "--targets", targets("manual"), "--yes")
        assert stopped.exit_code == 130, stopped.output
        assert "provisioning is still paused in your IdP" in stopped.output
        aborted = env.cli("abort", "1", "--yes")
        assert aborted.exit_code == 0, aborted.output
        assert person.asked == ["paused", "resumed"]
        assert env.writes() == []


class LosesAnswers(httpx.BaseTransport):
    """The network drops the answer to each first unlink: the server acted, the client waits."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.dropped: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = request.url.path
        if path.endswith("/onlyDeleteUserInDB") and path not in self.dropped:
            self.dropped.add(path)
            response.read()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_an_unlink_whose_answer_was_lost_is_settled_by_check_not_failed(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        lossy = LosesAnswers(httpx.WSGITransport(app=env.app))
        env.services_factory = _services(env.app, "http://sim.localhost", lossy, env.clock)
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        assert len(lossy.dropped) == len(TARGETS)
        assert_reprovisioned(before, env.world(), "1")
        assert env.billable() == EXPECTED["billable"]["after"]
        audit = [
            json.loads(line)
            for line in env.cli("log", "1", "--format", "jsonl").stdout.splitlines()
        ]
        settled = [
            a for a in audit if a.get("step") == "remove-scim" and a.get("outcome") == "settled"
        ]
        assert len(settled) == len(TARGETS)


def test_a_leaver_list_pointing_at_someone_elses_account_disables_nobody(tmp_path: Path) -> None:
    with in_process("drift", tmp_path) as env:
        before = env.world()
        ada = next(a for a in before["accounts"] if a["status"] == "active" and a["managed"])
        target_file = tmp_path / "leavers.csv"
        target_file.write_text(
            f"email,account_id\noscar.dubois@acme.example,{ada['account_id']}\n", "utf-8"
        )
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 1, result.output
        assert f"the target list says account {ada['account_id']}" in result.output
        assert env.world()["accounts"] == before["accounts"]


def test_admins_in_a_reprovision_list_are_left_alone(tmp_path: Path) -> None:
    rows = ["email,org_role", f"{TARGETS[0]},admin", *(f"{e},member" for e in TARGETS[1:])]
    target_file = tmp_path / "targets.csv"
    target_file.write_text("\n".join(rows) + "\n", "utf-8")
    with in_process("acme-trello", tmp_path) as env:
        before = {a["email"]: a for a in env.world()["accounts"]}
        result = env.cli("run", "reprovision", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        after = {a["email"]: a for a in env.world()["accounts"]}
        assert after[TARGETS[0]] == before[TARGETS[0]]
        assert all(after[e]["account_id"] != before[e]["account_id"] for e in TARGETS[1:])


def test_an_old_account_given_back_its_address_while_parked_is_not_disabled(
    tmp_path: Path,
) -> None:
    with in_process("acme-trello", tmp_path) as env:
        args = ("--targets", targets("acme-trello"), "--yes", "--max-wait", "0")
        parked = env.cli("run", "reprovision", *args, "--param", "wait_login_days=3")
        assert parked.exit_code == 3, parked.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        ada = next(t for t in status["targets"] if t["key"] == TARGETS[0])
        old_id = ada["outputs"]["old_account_id"]
        new_ids = {t["outputs"]["new_account_id"] for t in status["targets"]}
        for account in env.app.store.world["accounts"]:
            if account["account_id"] in new_ids:  # everyone logs in ...
                account["product_access"] = [
                    {"key": "jira-software", "site": "acme", "last_active": "2026-11-24"}
                ]
            if account["account_id"] == old_id:  # ... and helpdesk restores Ada's old address
                account["email"] = "ada.lovelace.restored@acme.example"
        env.app.store.touch()
        done = env.cli("resume", "1", "--yes", "--max-wait", "0")
        assert done.exit_code == 1, done.output
        assert "has email 'ada.lovelace.restored@acme.example' now" in done.output
        accounts = {a["account_id"]: a for a in env.world()["accounts"]}
        assert accounts[old_id]["status"] == "active"
        assert "5 done, 1 failed" in done.output


class BreaksResume(httpx.BaseTransport):
    """Graph refuses to start the job again (500) until `broken` is cleared."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.broken = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.broken and request.url.path.endswith("/start"):
            return httpx.Response(500, json={"error": {"code": "InternalServerError"}})
        return self.inner.handle_request(request)


def test_a_run_whose_final_resume_failed_can_still_be_aborted_to_resume(tmp_path: Path) -> None:
    shipped = (FIXTURES.parent / "playbooks" / "reprovision.toml").read_text("utf-8")
    quick = shipped.replace('id = "reprovision"', 'id = "reprovision-quick-finally"').replace(
        'description = "Whatever happened, provisioning is not left paused."',
        'description = "Whatever happened, provisioning is not left paused."\n'
        "retry = { attempts = 1 }",
    )
    (tmp_path / "pb").mkdir()
    (tmp_path / "pb" / "quick.toml").write_text(quick, "utf-8")
    with in_process("acme-trello", tmp_path) as env:
        graph = BreaksResume(httpx.WSGITransport(app=env.app))
        env.services_factory = _services(env.app, "http://sim.localhost", graph, env.clock)
        failed = env.cli(
            "run",
            "reprovision-quick-finally",
            "--playbooks",
            str(tmp_path / "pb"),
            "--targets",
            targets("acme-trello"),
            "--yes",
        )
        assert failed.exit_code == 1, failed.output
        assert env.world()["idp"]["job"]["state"] == "Paused"
        assert "provisioning is still paused in Entra ID" in failed.output
        # stopped by the failed resume: failed, each at no step of its own
        assert "\nrun 1 failed: 6 failed\n" in failed.stdout, failed.stdout

        graph.broken = False
        refused = env.cli("abort", "1", "--yes")  # six people half-moved: nobody chose
        assert refused.exit_code == 4, refused.output
        assert "6 target(s) of run 1 are INCOMPLETE" in refused.output
        assert env.world()["idp"]["job"]["state"] == "Paused"
        aborted = env.cli("abort", "1", "--yes", "--leave-incomplete")
        assert aborted.exit_code == 0, aborted.output
        assert env.world()["idp"]["job"]["state"] == "Active"
        again = env.cli("abort", "1", "--yes")
        assert again.exit_code == 4
        assert "run 1 is already aborted" in again.output
