"""What the run must never do, whatever the IdP's state, the person, or the network does."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from scimrecon.sim.world import load_world
from tests.playbooks.harness import _services, in_process, targets
from tests.playbooks.test_reprovision import EXPECTED, TARGETS, assert_reprovisioned


def test_a_job_someone_else_paused_is_refused_and_left_paused(tmp_path: Path) -> None:
    world = load_world("acme-trello")
    world["idp"]["job"]["state"] = "Paused"
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 1, result.output
        assert "provisioning is Paused before this run touched it" in result.output
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
    with in_process("okta-manual", tmp_path) as env:
        person = InterruptedAdmin()
        env.ui = person
        stopped = env.cli("run", "reprovision", "--targets", targets("okta-manual"), "--yes")
        assert stopped.exit_code == 130, stopped.output
        assert "provisioning is still paused in Okta" in stopped.output
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
        env.services_factory = _services(env.app, "http://sim.test", lossy, env.clock)
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
