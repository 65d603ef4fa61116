"""Okta through its API: the reprovision story runs with nobody at the terminal, pauses and
restores exactly the capabilities that were on, and re-pushes by unassign/assign."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scimrecon.engine.action import Action, StepContext
from tests.playbooks.harness import SimEnv, in_process, over_socket, targets
from tests.playbooks.test_reprovision import EXPECTED, TARGETS, assert_reprovisioned

APP = "/okta/api/v1/apps/"


def features(world: dict[str, Any]) -> dict[str, str]:
    return world["idp"]["okta"]["features"]


def assert_reprovisioned_okta(before: dict[str, Any], after: dict[str, Any]) -> None:
    # an Okta world has no sync job; what stands for it is checked by the callers
    after["idp"]["job"] = before["idp"]["job"] = {"state": "Active"}
    assert_reprovisioned(before, after, "1")
    assigned = {u["userName"] for u in after["idp"]["users"] if u["assigned"]}
    assert set(TARGETS) <= assigned
    assert not any(u.get("okta_pending") for u in after["idp"]["users"])


def okta_calls(env: SimEnv) -> list[tuple[str, str]]:
    """(method, path after the app id or /api/v1) of every Okta call, in order."""
    out = []
    for r in env.app.log:
        if r["prefix"] != "/okta":
            continue
        path = r["path"].split("?")[0]
        path = path.split(APP, 1)[1].split("/", 1)[1] if APP in path else path[len("/okta") :]
        out.append((r["method"], path))
    return out


def test_okta_reprovision_over_a_real_socket_needs_nobody(tmp_path: Path) -> None:
    with over_socket("okta", tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert result.exit_code == 0, result.output
        assert "run 1 completed: 6 done" in result.output
        after = env.world()
        assert features(after) == features(before)  # exactly as it was: create, profile on
        assert env.billable() == EXPECTED["billable"]["after"]
        assert_reprovisioned_okta(before, after)
        calls = okta_calls(env)
        puts = [i for i, c in enumerate(calls) if c[0] == "PUT"]
        assert len(puts) == 2  # one pause, one resume
        pause, resume = puts
        assert calls[pause][0] == calls[resume][0] == "PUT" and pause < resume
        # every unassignment comes after the resume, and is followed by the re-assignment
        unassigns = [i for i, c in enumerate(calls) if c[0] == "DELETE"]
        assigns = [i for i, c in enumerate(calls) if c == ("POST", "users")]
        assert len(unassigns) == len(assigns) == 6
        assert all(resume < u for u in unassigns)
        assert all(u < a for u, a in zip(unassigns, assigns, strict=True))
        # nothing was deactivated by an unassignment: the old accounts are disabled by the run,
        # each after its tickets moved (their status is asserted by assert_reprovisioned)


def test_only_the_capabilities_that_were_on_come_back(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        features(env.app.world)["profile"] = "DISABLED"  # an admin keeps profile pushes off
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert result.exit_code == 0, result.output
        assert features(env.world()) == features(before)
        assert features(env.world())["profile"] == "DISABLED"
        assert_reprovisioned_okta(before, env.world())


def test_with_create_off_the_run_refuses_before_any_change(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        features(env.app.world)["create"] = "DISABLED"
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert result.exit_code == 4, result.output
        assert "'Create Users' is off for the Atlassian Cloud app in Okta" in result.output
        assert env.writes() == []


def test_a_user_whose_scim_entry_is_still_there_is_never_unassigned(tmp_path: Path) -> None:
    """The order that keeps Okta's deactivate away from the old account is checked live: a
    SCIM entry that came back (or was never removed) stops the re-push for that user."""
    with in_process("okta", tmp_path) as env:
        from scimrecon.steps.idp_steps import still_linked

        services = env.services_factory()
        ada = TARGETS[0]
        message = still_linked(services, ada)
        entry = services.scim.find_by_username(ada)
        assert message == (
            f"{ada} still has SCIM entry {entry.id} (account {entry.account_id}): re-pushing by "
            "unassign/assign in Okta would deactivate that account and link the user to it "
            "again; remove the entry first (the reprovision playbook does)"
        )
        # a removal that silently did nothing: every re-push must stop, nobody is unassigned
        env.extra_registry = {"scim.remove": ForgetfulRemoval}
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert result.exit_code == 1, result.output
        assert not [c for c in okta_calls(env) if c[0] in ("DELETE", "POST")]
        assert all(u["assigned"] for u in env.world()["idp"]["users"])


class ForgetfulRemoval(Action):
    name = "scim.remove"
    destructive = True

    def describe(self, ctx: StepContext) -> str:
        return "pretend to remove the SCIM entry"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        return {"scim_removed": "pretended"}


class ChangesSettingsAtThePrompt:
    """While the run waits at the pause's confirmation, another admin turns profile pushes off."""

    assume_yes = True

    def __init__(self, env: SimEnv) -> None:
        self.env = env

    def confirm(self, message: str) -> bool:
        if "step pause" in message:
            features(self.env.app.world)["profile"] = "DISABLED"
        return True

    def manual(self, instructions: str, expect: str) -> None:
        raise AssertionError("no manual step with Okta")

    def info(self, message: str) -> None:
        pass


def test_settings_changed_before_the_pause_are_refused_and_never_restored(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        env.ui = ChangesSettingsAtThePrompt(env)
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes")
        assert result.exit_code == 4, result.output
        assert "provisioning settings changed since this run recorded them" in result.output
        aborted = env.cli("abort", "1", "--yes")
        assert aborted.exit_code == 0, aborted.output
        assert [
            c for c in okta_calls(env) if c[0] != "GET"
        ] == []  # paused nothing, restored nothing
        assert features(env.world())["profile"] == "DISABLED"
        assert env.writes() == []
