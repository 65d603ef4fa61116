"""Okta through its API: the reprovision story runs with nobody at the terminal, pauses and
restores exactly the capabilities that were on, and re-pushes by unassign/assign."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.engine.action import Action, StepContext
from tests.playbooks.harness import SimEnv, in_process, over_socket, targets
from tests.playbooks.test_manual import NoTerminal
from tests.playbooks.test_reprovision import (
    EXPECTED,
    TARGETS,
    assert_memberships_back,
    assert_reprovisioned,
)

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


class GroupPusher:
    """The one thing a person does in an Okta run: Push Groups → Push now, for the groups the
    run lists (Okta has no API scimrecon uses for it); `scimrecon sim push` stands for it."""

    assume_yes = True
    interactive = True

    def __init__(self, env: SimEnv, url: str | None = None) -> None:
        self.env, self.url = env, url
        self.listed: list[str] = []

    def confirm(self, message: str) -> bool:
        return True

    def manual(self, instructions: str, expect: str) -> None:
        assert expect == "groups pushed", instructions
        email = re.search(r"Push (\S+@\S+)'s group memberships", instructions).group(1)
        self.listed += re.findall(r"^    - (\S+)$", instructions, flags=re.M)
        if self.url is None:  # in-process: the control endpoint's own function
            self.env.app.push(email)
            return
        result = CliRunner().invoke(cli, ["sim", "push", email, "--url", self.url])
        assert result.exit_code == 0 and "groups pushed: atlassian-users" in result.output

    def info(self, message: str) -> None:
        pass


def test_okta_reprovision_over_a_real_socket_needs_a_person_only_for_groups(
    tmp_path: Path,
) -> None:
    with over_socket("okta", tmp_path) as env:
        before = env.world()
        url = env.services_factory().profile.atlassian.base_url.removesuffix("/atlassian")
        env.ui = GroupPusher(env, url)
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert result.exit_code == 0, result.output
        assert "run 1 completed: 6 done" in result.output
        assert env.ui.listed == ["atlassian-users"] * len(TARGETS)
        after = env.world()
        assert_memberships_back(before, after)
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


class NoPerson(NoTerminal):
    interactive = False  # says so up front, as a terminal-less ClickInteraction does


def test_without_a_person_for_the_groups_okta_refuses_before_any_change(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        before = env.world()
        env.ui = NoPerson()
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes")
        assert result.exit_code == 4, result.output
        assert (
            "is in SCIM groups (atlassian-users) that a person must push again in Okta after "
            "the re-push; nothing was changed: run this interactively" in result.output
        )
        assert env.writes() == []
        assert env.world() == before


def test_only_the_capabilities_that_were_on_come_back(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        features(env.app.world)["profile"] = "DISABLED"  # an admin keeps profile pushes off
        env.ui = GroupPusher(env)
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert result.exit_code == 0, result.output
        assert features(env.world()) == features(before)
        assert features(env.world())["profile"] == "DISABLED"
        assert_reprovisioned_okta(before, env.world())


def test_with_create_off_the_run_refuses_before_any_change(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        features(env.app.world)["create"] = "DISABLED"
        env.ui = GroupPusher(env)
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
        env.ui = GroupPusher(env)
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
