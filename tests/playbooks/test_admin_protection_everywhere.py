"""Every playbook that changes a person reads the role live and leaves admins alone:
reprovision and deactivate-leavers, with target lists that say nothing about roles."""

from __future__ import annotations

import json
from pathlib import Path

from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, in_process

DRIFT = json.loads((FIXTURES / "drift" / "expected.json").read_text())["situations"]


def _make_admin(world: dict, email: str) -> None:
    (account,) = [a for a in world["accounts"] if a["email"] == email]
    account["org_role"] = "admin"


def _reasons(env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    status = json.loads(env.cli("status", "1", "--format", "json").output)
    return {t["key"]: t["reason"] for t in status["targets"]}


def test_reprovision_skips_an_admin_before_anything_changes(tmp_path: Path) -> None:
    world = load_world("acme-trello")
    _make_admin(world, "ada.lovelace@acme.example")
    targets = tmp_path / "t.csv"
    targets.write_text("email\nada.lovelace@acme.example\n", encoding="utf-8")
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", str(targets), "--yes")
        assert result.exit_code == 0, result.output
        assert _reasons(env) == {"ada.lovelace@acme.example": "protected: org admin"}
        assert env.writes() == [] and env.world()["accounts"] == before["accounts"]


def test_deactivate_leavers_skips_an_admin(tmp_path: Path) -> None:
    leaver = sorted(e for e, situation in DRIFT.items() if situation == "orphaned")[0]
    world = load_world("drift")
    _make_admin(world, leaver)
    targets = tmp_path / "t.csv"
    targets.write_text(f"email\n{leaver}\n", encoding="utf-8")
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli("run", "deactivate-leavers", "--targets", str(targets), "--yes")
        assert result.exit_code == 0, result.output
        assert _reasons(env) == {leaver: "protected: org admin"}
        assert env.world()["accounts"] == before["accounts"]
