"""non-billable-policy moves a user by email (the add-users API takes addresses), so right
before the move it checks that the address still belongs to the account it looked up: if the
address moved to another account meanwhile (a re-provisioning parked the old one's email),
that other person must not lose SSO and two-step verification."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.playbooks.harness import accounts_by_email, in_process
from tests.playbooks.test_unwanted_recheck import EMAIL, ChangesAtTheDisablePrompt

POLICY = "c3a9d2e4-51b7-4e0f-8c26-9b7d4a1f0e52"  # acme-trello's non-billable policy


class ChangesAtTheMovePrompt(ChangesAtTheDisablePrompt):
    def confirm(self, message: str) -> bool:
        if "step move" in message:
            self.change()
        return True


def test_an_address_that_moved_to_another_account_is_not_moved(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        old_id = accounts_by_email(env.world())[EMAIL]["account_id"]

        def email_moves() -> None:
            """What a re-provisioning does meanwhile, through the same APIs: the old account's
            SCIM record goes, its address is parked, and a push gives the address a new one."""
            services = env.services_factory()
            services.admin.delete_scim_record_only(old_id)
            services.admin.set_email(old_id, "ada.lovelace+old-7@acme.example")
            with httpx.Client(
                transport=httpx.WSGITransport(app=env.app), base_url="http://sim"
            ) as client:
                pushed = client.post("/_sim/push", json={"user": EMAIL}).json()
            assert pushed["new_account"], pushed

        env.ui = ChangesAtTheMovePrompt(email_moves)
        targets = tmp_path / "option2.csv"
        targets.write_text(f"email\n{EMAIL}\n", encoding="utf-8")
        result = env.cli(
            "run", "non-billable-policy", "--targets", str(targets), "--yes",
            "--param", f"policy_id={POLICY}",
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        assert not [r for r in env.app.log if r["path"].endswith("/add-users")]
        newcomer = accounts_by_email(env.world())[EMAIL]
        assert newcomer["account_id"] != old_id
        assert (newcomer.get("policy") or {}).get("id") != POLICY
        (target,) = json.loads(env.cli("status", "1", "--format", "json").output)["targets"]
        assert target["state"] == "failed"
        assert target["reason"].endswith(
            f"account {old_id} has address 'ada.lovelace+old-7@acme.example' now, not "
            f"{EMAIL!r}: not moving anyone (the address may name someone else now); start a "
            "new run for it"
        )


def test_undo_does_not_move_whoever_holds_the_address_now(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        old_id = accounts_by_email(env.world())[EMAIL]["account_id"]
        targets = tmp_path / "option2.csv"
        targets.write_text(f"email\n{EMAIL}\n", encoding="utf-8")
        moved = env.cli(
            "run", "non-billable-policy", "--targets", str(targets), "--yes",
            "--param", f"policy_id={POLICY}",
        )  # fmt: skip
        assert moved.exit_code == 0, moved.output
        services = env.services_factory()
        services.admin.delete_scim_record_only(old_id)
        services.admin.set_email(old_id, "ada.lovelace+old-7@acme.example")
        with httpx.Client(transport=httpx.WSGITransport(app=env.app), base_url="http://sim") as c:
            assert c.post("/_sim/push", json={"user": EMAIL}).json()["new_account"]
        adds = len([r for r in env.app.log if r["path"].endswith("/add-users")])
        undo = env.cli("undo", "1", "--yes")
        assert undo.exit_code != 0, undo.output
        assert len([r for r in env.app.log if r["path"].endswith("/add-users")]) == adds
        after = {a["account_id"]: a for a in env.world()["accounts"]}
        assert after[old_id]["policy"]["id"] == POLICY  # left where it was, said so
        assert "not moving anyone" in undo.output
