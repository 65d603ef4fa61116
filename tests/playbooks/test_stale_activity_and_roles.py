"""inactive-licences never acts on what it cannot know: a role it cannot read, or activity
too close to the cut-off for data that can lag by a day; await-login says the data lags."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scimrecon.sim.world import load_world
from tests.playbooks.harness import accounts_by_email, in_process

JULIA, KWAME = "julia.rossi@acme.example", "kwame.mensah@acme.example"


def _targets(tmp_path: Path, *emails: str) -> str:
    path = tmp_path / "targets.csv"
    path.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return str(path)


def _reasons(env: Any) -> dict[str, str]:
    status = json.loads(env.cli("status", "1", "--format", "json").output)
    return {t["key"]: t["reason"] for t in status["targets"]}


def _set_last_active(world: dict[str, Any], email: str, day: str) -> None:
    for account in world["accounts"]:
        if account["email"] == email:
            for access in account["product_access"]:
                access["last_active"] = day


def test_a_role_that_cannot_be_read_skips_the_target(tmp_path: Path) -> None:
    world = load_world("inactive-licences")
    world["faults"] = {"seed": 1, "/atlassian/admin/v2": {"error_rate": 1.0}}
    with in_process(world, tmp_path) as env:
        before = accounts_by_email(env.world())
        result = env.cli(
            "run", "inactive-licences", "--targets", _targets(tmp_path, JULIA), "--yes",
            "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        reason = _reasons(env)[JULIA]
        account_id = before[JULIA]["account_id"]
        assert reason.startswith(f"role of {account_id} cannot be read (5"), reason
        assert reason.endswith("): not touching it")
        assert accounts_by_email(env.world()) == before
        assert not [r for r in env.app.log if r["path"].endswith("/suspend")]


def test_activity_within_24_hours_of_the_cut_off_is_not_judged(tmp_path: Path) -> None:
    world = load_world("inactive-licences")
    # as of 2026-11-23, 90 days: the cut-off is 2026-08-25.
    _set_last_active(world, JULIA, "2026-08-24")  # a day before it: data may lag a day
    _set_last_active(world, KWAME, "2026-08-23")  # two days before it: inactive for sure
    with in_process(world, tmp_path) as env:
        before = accounts_by_email(env.world())
        plan = env.cli(
            "plan", "inactive-licences", "--targets", _targets(tmp_path, KWAME),
            "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert "last-active data can lag by up to 24 hours" in plan.output
        result = env.cli(
            "run", "inactive-licences", "--targets", _targets(tmp_path, JULIA, KWAME),
            "--yes", "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        reasons = _reasons(env)
        assert reasons[JULIA] == (
            "last active 2026-08-24 is within 24 h of the cut-off 2026-08-25 and last-active "
            "data can lag by up to 24 hours: not judged; re-check from 2026-11-24"
        )
        after = accounts_by_email(env.world())
        assert after[JULIA] == before[JULIA]
        assert after[KWAME]["product_access"] == [] and reasons[KWAME] is None


def test_await_login_says_a_recent_login_may_not_show_yet() -> None:
    from types import SimpleNamespace

    import pytest

    from scimrecon.connectors.admin_records import LastActive
    from scimrecon.engine.action import StepFailed
    from scimrecon.steps.account_steps import AwaitLogin

    admin = SimpleNamespace(last_active_dates=lambda account_id: LastActive([], None))
    ctx = SimpleNamespace(
        target={"new_account_id": "new-1", "email": JULIA},
        target_key=JULIA,
        services=SimpleNamespace(admin=admin),
    )
    with pytest.raises(StepFailed) as err:
        AwaitLogin().apply(ctx)  # type: ignore[arg-type]
    assert str(err.value) == (
        f"{JULIA} has not logged in to the new account yet (last-active data can lag by up to "
        "24 hours: a login in the last day may not show yet)"
    )


def test_site_and_user_access_admins_are_protected_like_org_admins(tmp_path: Path) -> None:
    world = load_world("inactive-licences")
    for account in world["accounts"]:
        if account["email"] == JULIA:
            account["platform_roles"] = ["atlassian/ai-access", "atlassian/user-access-admin"]
        if account["email"] == KWAME:
            account["platform_roles"] = ["atlassian/site-admin"]
    with in_process(world, tmp_path) as env:
        before = accounts_by_email(env.world())
        result = env.cli(
            "run", "inactive-licences", "--targets", _targets(tmp_path, JULIA, KWAME),
            "--yes", "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert _reasons(env) == {
            JULIA: "protected: user-access admin",
            KWAME: "protected: site admin",
        }
        assert accounts_by_email(env.world()) == before


def test_several_directories_without_a_directory_id_stop_the_run_before_a_change(
    tmp_path: Path,
) -> None:
    world = load_world("inactive-licences")
    world["org"]["user_directories"] = [{"id": "dir-a"}, {"id": "dir-b"}]
    with in_process(world, tmp_path) as env:
        env.services_factory = _with_directory(env.services_factory, "-")
        before = accounts_by_email(env.world())
        result = env.cli(
            "run", "inactive-licences", "--targets", _targets(tmp_path, KWAME), "--yes",
            "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert result.exit_code == 4, result.output
        assert "2 user directories (dir-a, dir-b): set [atlassian].directory_id" in result.output
        assert accounts_by_email(env.world()) == before
        assert not [r for r in env.app.log if r["method"] == "POST" and "/suspend" in r["path"]]


def _with_directory(factory: Any, directory_id: str) -> Any:
    """The harness's Services with the profile's directory_id replaced (as written by hand)."""

    def build() -> Any:
        from dataclasses import replace

        services = factory()
        atlassian = replace(services.profile.atlassian, directory_id=directory_id)
        services.profile = replace(services.profile, atlassian=atlassian)
        return services

    return build


def test_a_saved_inactive_licences_plan_stays_fresh_until_the_world_moves(
    tmp_path: Path,
) -> None:
    """The re-check's outputs (role read, activity note) are part of the plan's fingerprint:
    nothing in them may change from one read to the next while the world stays the same."""
    plan_file = tmp_path / "plan.json"
    with in_process("inactive-licences", tmp_path) as env:
        args = ("--targets", _targets(tmp_path, KWAME), "--param", "as_of=2026-11-23")
        made = env.cli("plan", "inactive-licences", *args, "--out", str(plan_file))
        assert made.exit_code == 0, made.output
        env.clock.sleep(3600)  # an hour to review it (the simulator's clock) ...
        time.sleep(1.1)  # ... and a wall-clock second, for anything that reads the real time
        result = env.cli("run", "inactive-licences", *args, "--yes", "--plan", str(plan_file))
        assert result.exit_code == 0, result.output
        assert accounts_by_email(env.world())[KWAME]["product_access"] == []
