"""deactivate-unwanted proves again, right before each deactivation, what its look-up proved:
between the two the run waits for a confirmation (or lies parked after a crash), and an IdP may
link the account or someone may make the person an admin meanwhile."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from scimrecon.sim.world import load_world
from tests.playbooks.harness import SimEnv, accounts_by_email, in_process

EMAIL = "ada.lovelace@acme.example"  # Trello-only in acme-trello


def _unlinked_world() -> dict[str, Any]:
    """acme-trello with Ada's SCIM entry gone and her Entra assignment removed: her account is
    `invited` and no IdP will provision it, an option 4 target. (Still assigned, the look-up
    skips her: the IdP would bring her back; see the test below.)"""
    world = copy.deepcopy(load_world("acme-trello"))
    account = next(a for a in world["accounts"] if a["email"] == EMAIL)
    gone = {s["id"] for s in world["scim_users"] if s.get("account_id") == account["account_id"]}
    world["scim_users"] = [s for s in world["scim_users"] if s["id"] not in gone]
    for group in world["groups"]:
        group["members"] = [m for m in group["members"] if m not in gone]
    _idp_user(world)["assigned"] = False
    return world


def _idp_user(world: dict[str, Any]) -> dict[str, Any]:
    return next(u for u in world["idp"]["users"] if u["userName"] == EMAIL)


def test_an_account_the_idp_still_assigns_is_never_deactivated(tmp_path: Path) -> None:
    """No SCIM entry and `invited` in the directory, but Entra still assigns her: the next push
    would link her account again, so she is not an unwanted signup (trial 7, finding 2)."""
    world = _unlinked_world()
    _idp_user(world)["assigned"] = True
    with in_process(world, tmp_path) as env:
        env.ui = ChangesAtTheDisablePrompt(lambda: None)
        target = _run(env, tmp_path)
        assert (target["state"], target["reason"]) == (
            "skipped",
            "still assigned to the Atlassian app in the IdP (entra): the IdP will provision it; "
            "use the reprovision playbook or the IdP",
        )
        assert accounts_by_email(env.world())[EMAIL]["status"] == "active"
        assert not [r for r in env.app.log if r["path"].endswith("/lifecycle/disable")]


class ChangesAtTheDisablePrompt:
    """Answers yes; while the disable step waits for it, `change` alters the world."""

    assume_yes = True

    def __init__(self, change: Callable[[], None]) -> None:
        self.change = change

    def confirm(self, message: str) -> bool:
        if "step disable" in message:
            self.change()
        return True

    def manual(self, instructions: str, expect: str) -> None:
        raise AssertionError("no manual step in deactivate-unwanted")

    def info(self, message: str) -> None:
        pass


def _run(env: SimEnv, tmp_path: Path) -> dict[str, Any]:
    targets = tmp_path / "option4.csv"
    targets.write_text(f"email\n{EMAIL}\n", encoding="utf-8")
    result = env.cli("run", "deactivate-unwanted", "--targets", str(targets), "--yes")
    assert result.exit_code == 0, result.output
    (target,) = json.loads(env.cli("status", "1", "--format", "json").output)["targets"]
    return target


def test_an_account_the_idp_links_while_the_run_waits_is_not_deactivated(tmp_path: Path) -> None:
    with in_process(_unlinked_world(), tmp_path) as env:
        with httpx.Client(transport=httpx.WSGITransport(app=env.app), base_url="http://sim") as c:

            def push() -> None:  # the IdP admin assigns and pushes Ada: linked again
                _idp_user(env.app.store.world)["assigned"] = True
                assert c.post("/_sim/push", json={"user": EMAIL}).status_code == 200

            env.ui = ChangesAtTheDisablePrompt(push)
            target = _run(env, tmp_path)
        assert accounts_by_email(env.world())[EMAIL]["status"] == "active"
        assert target["state"] == "skipped"
        assert target["reason"].startswith("managed by an IdP (SCIM user ")
        assert not [r for r in env.app.log if r["path"].endswith("/lifecycle/disable")]


def test_a_person_made_admin_while_the_run_waits_is_not_deactivated(tmp_path: Path) -> None:
    with in_process(_unlinked_world(), tmp_path) as env:

        def promote() -> None:
            accounts_by_email(env.app.store.world)[EMAIL]["org_role"] = "admin"

        env.ui = ChangesAtTheDisablePrompt(promote)
        target = _run(env, tmp_path)
        assert accounts_by_email(env.world())[EMAIL]["status"] == "active"
        assert (target["state"], target["reason"]) == ("skipped", "protected: org admin")
        assert not [r for r in env.app.log if r["path"].endswith("/lifecycle/disable")]


def test_without_a_change_the_account_is_deactivated(tmp_path: Path) -> None:
    with in_process(_unlinked_world(), tmp_path) as env:
        env.ui = ChangesAtTheDisablePrompt(lambda: None)
        target = _run(env, tmp_path)
        assert target["state"] == "done"
        assert accounts_by_email(env.world())[EMAIL]["status"] == "inactive"
