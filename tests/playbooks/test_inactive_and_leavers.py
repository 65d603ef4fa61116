"""inactive-licences and deactivate-leavers against their fixture worlds."""

from __future__ import annotations

import json
from pathlib import Path

from scimrecon.recon.billable import world_billable
from tests.playbooks.harness import FIXTURES, accounts_by_email, over_socket

INACTIVE = json.loads((FIXTURES / "inactive-licences" / "expected.json").read_text())["classes"]
DRIFT = json.loads((FIXTURES / "drift" / "expected.json").read_text())["situations"]


def test_inactive_licences_suspends_only_the_inactive_and_spares_the_protected(
    tmp_path: Path,
) -> None:
    chosen = INACTIVE["inactive_90d"] + INACTIVE["inactive_180d"] + INACTIVE["never_accessed_old"]
    spared = {
        "priya.raman@acme.example": "admin",  # an admin, rarely active
        "svc-backup@acme.example": "member",  # a service account (account_type app)
        "svc-ci-bot@acme.example": "member",  # a service account by name pattern
        "umar.farouk@acme.example": "member",  # never accessed, but added 3 days ago
        "ada.lovelace@acme.example": "member",  # active this month
    }
    rows = ["email,org_role", *(f"{e},member" for e in chosen)]
    rows += [f"{email},{role}" for email, role in spared.items()]
    target_file = tmp_path / "targets.csv"
    target_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with over_socket("inactive-licences", tmp_path) as env:
        before = accounts_by_email(env.world())
        result = env.cli(
            "run",
            "inactive-licences",
            "--targets",
            str(target_file),
            "--yes",
            "--param",
            "as_of=2026-11-23",
        )
        assert result.exit_code == 0, result.output
        after = accounts_by_email(env.world())
        for email in chosen:
            assert not after[email]["product_access"], email
            assert after[email]["status"] == "active"  # the identity stays; only the licence goes
        for email in spared:
            assert after[email] == before[email], email
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        reasons = {t["key"]: t["reason"] for t in status["targets"] if t["state"] == "skipped"}
        assert reasons == {
            "priya.raman@acme.example": "protected: org admin",
            "svc-backup@acme.example": "protected: service account (account_type app)",
            "svc-ci-bot@acme.example": "protected: matches svc-*",
            "umar.farouk@acme.example": ("protected: added to the org 2026-11-20, within 30 days"),
            "ada.lovelace@acme.example": reasons["ada.lovelace@acme.example"],
        }
        assert reasons["ada.lovelace@acme.example"].startswith("active since the list was made")
        billable = world_billable(env.world())
        assert billable == len(before) - len(chosen)


def test_deactivate_leavers_disables_orphans_and_removes_their_scim_entries(
    tmp_path: Path,
) -> None:
    leavers = sorted(e for e, situation in DRIFT.items() if situation == "orphaned")
    assert leavers, "the drift world plants orphaned users"
    target_file = tmp_path / "leavers.csv"
    target_file.write_text("email\n" + "\n".join(leavers) + "\n", encoding="utf-8")
    with over_socket("drift", tmp_path) as env:
        before = env.world()
        result = env.cli(
            "run",
            "deactivate-leavers",
            "--targets",
            str(target_file),
            "--yes",
            "--param",
            "remove_scim=true",
        )
        assert result.exit_code == 0, result.output
        after = env.world()
        now = accounts_by_email(after)
        scim_names = {u["userName"].lower() for u in after["scim_users"]}
        for email in leavers:
            assert now[email]["status"] == "inactive"
            assert email not in scim_names
        others = [a for a in before["accounts"] if a["email"].lower() not in leavers]
        assert [now[a["email"].lower()] for a in others] == others
