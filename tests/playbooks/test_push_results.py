"""A push Microsoft answers with 200 but did not perform fails the target at once, with
Microsoft's reason, instead of waiting out await-new-account's two hours."""

from __future__ import annotations

import copy
import time
from pathlib import Path

from scimrecon.sim.world import load_world
from tests.playbooks.harness import in_process, targets

SAMIR = "samir.khan@acme.example"


def test_a_skipped_push_fails_that_target_within_seconds_with_microsofts_reason(
    tmp_path: Path,
) -> None:
    world = copy.deepcopy(load_world("acme-trello"))
    for user in world["idp"]["users"]:
        if user["userName"] == SAMIR:
            user["in_scope"] = False  # assigned, but a scoping filter leaves him out
    with in_process(world, tmp_path) as env:
        started, fake_start = time.monotonic(), env.clock.now()
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 1, result.output
        assert "5 done" in result.output
        assert f"failed {SAMIR} at provision" in result.output
        assert "Skipped - NotEffectivelyEntitled" in result.output
        # Failed at the push: no waiting, neither in real time nor on the simulator's clock.
        assert time.monotonic() - started < 60
        assert env.clock.now() - fake_start < 600


def test_a_user_assigned_through_a_group_is_skipped_before_anything_changes(tmp_path: Path) -> None:
    """Reassigning means removing the user's own assignment; a group assignment cannot be
    removed for one person, so the look-up skips them (nothing removed, nothing parked)."""
    world = copy.deepcopy(load_world("acme-trello"))
    for user in world["idp"]["users"]:
        if user["userName"] == SAMIR:
            user["assigned_via"] = "Atlassian users"
    pristine = copy.deepcopy(world)
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        assert "5 done" in result.output and "1 skipped" in result.output
        status = env.cli("status", "1", "--format", "json").output
        assert "assigned to the app through the group Atlassian users" in status
        assert "provision_mode=on-demand" in status
        after = env.world()
        samir = [a for a in after["accounts"] if a["email"] == SAMIR]
        assert samir == [a for a in before["accounts"] if a["email"] == SAMIR]
    with in_process(pristine, tmp_path / "again") as env:
        result = env.cli(
            "run",
            "reprovision",
            "--targets",
            targets("acme-trello"),
            "--yes",
            "--param",
            "provision_mode=on-demand",
        )
        assert result.exit_code == 0, result.output
        assert "6 done" in result.output
