"""inactive-licences and deactivate-leavers against their fixture worlds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scimrecon.recon.billable import world_billable
from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, accounts_by_email, in_process, over_socket

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


def test_leavers_are_deactivated_through_scim_and_the_undo_brings_them_back(
    tmp_path: Path,
) -> None:
    """Atlassian refuses the user management API on an account a SCIM directory holds
    (`externalDirectory.scim`, UM-4), so a leaver is deactivated as the IdP would do it:
    `active: false` on its SCIM entry, and `undo` sets it back. No lifecycle call is made."""
    leavers = sorted(e for e, situation in DRIFT.items() if situation == "orphaned")
    target_file = tmp_path / "leavers.csv"
    target_file.write_text("email\n" + "\n".join(leavers) + "\n", encoding="utf-8")
    with in_process("drift", tmp_path) as env:
        before = env.world()
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        mid = env.world()
        entries = {u["account_id"]: u for u in mid["scim_users"]}
        for email in leavers:
            account = accounts_by_email(mid)[email]
            assert account["status"] == "inactive"
            assert entries[account["account_id"]]["active"] is False
        writes = [(r["method"], r["path"]) for r in env.writes()]
        assert not [p for _, p in writes if "/lifecycle/" in p]
        assert len([m for m, _ in writes if m == "PATCH"]) == len(leavers)
        undone = env.cli("undo", "1", "--yes")
        assert undone.exit_code == 0, undone.output
        after = env.world()

    def states(world: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        accounts = {a["account_id"]: a["status"] for a in world["accounts"]}
        return accounts, {u["id"]: (u["account_id"], u.get("active")) for u in world["scim_users"]}

    assert states(after) == states(before)


def test_deactivate_leavers_disables_no_one_the_idp_never_provisioned(tmp_path: Path) -> None:
    """A careless leaver list (trial 7, finding 3): tessa's second account (no SCIM entry,
    tessa still employed), two service accounts, one protected by name; only the real orphan
    (oscar: SCIM entry, IdP user gone) is disabled."""
    names = ["tbrown@acme.example", "svc-backup@acme.example", "oscar.dubois@acme.example"]
    with over_socket("drift", tmp_path) as env:
        world = env.app.store.world
        # two service accounts, as the inactive-licences world has them: one by type, one by
        # name (both with a SCIM entry, so only the protection can spare them)
        tessa = next(a for a in world["accounts"] if a["email"] == "tessa.brown@acme.example")
        for email, kind in (("svc-backup@acme.example", "atlassian"),
                            ("app-bot@acme.example", "app")):  # fmt: skip
            bot = {**tessa, "account_id": f"bot-{kind}", "email": email, "account_type": kind}
            world["accounts"].append(bot)
            entry = next(
                u for u in world["scim_users"] if u.get("account_id") == tessa["account_id"]
            )
            world["scim_users"].append(
                {**entry, "id": f"scim-{kind}", "userName": email, "account_id": bot["account_id"],
                 "externalId": f"gone-{kind}"}
            )  # fmt: skip
        names.append("app-bot@acme.example")
        before = accounts_by_email(env.world())
        target_file = tmp_path / "leavers.csv"
        target_file.write_text("email\n" + "\n".join(names) + "\n", encoding="utf-8")
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        reasons = {t["key"]: (t["state"], t["reason"]) for t in status["targets"]}
        assert reasons == {
            "tbrown@acme.example": (
                "skipped",
                "no SCIM entry: the IdP never provisioned this account, so it is no leaver of "
                "it (an unmanaged account: deactivate-unwanted, or by hand)",
            ),
            "svc-backup@acme.example": ("skipped", "protected: matches svc-*"),
            "app-bot@acme.example": (
                "skipped",
                "protected: service account (account_type app)",
            ),
            "oscar.dubois@acme.example": ("done", reasons["oscar.dubois@acme.example"][1]),
        }
        after = accounts_by_email(env.world())
        assert after["oscar.dubois@acme.example"]["status"] == "inactive"
        for email in names[:2] + names[3:]:
            assert after[email] == before[email], email


def test_inactive_licences_refuses_a_list_whose_account_id_is_someone_elses(
    tmp_path: Path,
) -> None:
    """A row naming one person's email and another's account id (a hand-edited or stale list)
    suspends nobody (trial 7, finding 1)."""
    email = sorted(INACTIVE["inactive_90d"])[0]
    with over_socket("inactive-licences", tmp_path) as env:
        before = accounts_by_email(env.world())
        other = next(a["account_id"] for e, a in before.items() if e != email)
        target_file = tmp_path / "targets.csv"
        target_file.write_text(f"email,account_id\n{email},{other}\n", encoding="utf-8")
        result = env.cli(
            "run", "inactive-licences", "--targets", str(target_file), "--yes",
            "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        (target,) = status["targets"]
        assert target["state"] == "failed"
        assert target["reason"] == (
            f"recheck: the target list says account {other} for {email}, but the org says "
            f"{before[email]['account_id']}: nothing was changed for it; fix the list (or make "
            "it again) and start a new run with it"
        )
        assert accounts_by_email(env.world()) == before


def test_a_leaver_linked_by_two_directories_is_deactivated_through_the_profiles(
    tmp_path: Path,
) -> None:
    """oscar's account is linked by an entry of another directory first, and by his own: the
    look-up records the entry of the profile's directory (the one `scim.deactivate` can set
    inactive), and the other directory's entry is left alone."""
    world = load_world("drift")
    other = {"id": "0ther-d1r", "name": "Okta", "api_key": "ATCTT3xFfGN0-sim-scim-key-other"}
    world["directories"].append(other)
    own = next(u for u in world["scim_users"] if u["userName"] == "oscar.dubois@acme.example")
    theirs = {**own, "id": "0ther-scim-oscar", "directory": other["id"]}
    world["scim_users"].insert(0, theirs)
    with in_process(world, tmp_path) as env:
        target_file = tmp_path / "leavers.csv"
        target_file.write_text("email\noscar.dubois@acme.example\n", encoding="utf-8")
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        after = env.world()
    entries = {u["id"]: u for u in after["scim_users"]}
    assert accounts_by_email(after)["oscar.dubois@acme.example"]["status"] == "inactive"
    assert entries[own["id"]]["active"] is False
    assert entries[theirs["id"]].get("active", True) is True


def test_a_leaver_linked_only_by_another_directory_is_not_disabled(tmp_path: Path) -> None:
    """Two SCIM directories (two IdPs): oscar's entry belongs to the other one, so this
    profile's IdP not knowing him proves nothing (second review of session 6)."""
    world = load_world("drift")
    other = {"id": "0ther-d1r", "name": "Okta", "api_key": "ATCTT3xFfGN0-sim-scim-key-other"}
    world["directories"].append(other)
    entry = next(u for u in world["scim_users"] if u["userName"] == "oscar.dubois@acme.example")
    entry["directory"] = other["id"]
    with over_socket(world, tmp_path) as env:
        before = accounts_by_email(env.world())
        target_file = tmp_path / "leavers.csv"
        target_file.write_text("email\noscar.dubois@acme.example\n", encoding="utf-8")
        result = env.cli("run", "deactivate-leavers", "--targets", str(target_file), "--yes")
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        (target,) = status["targets"]
        assert (target["state"], target["reason"]) == (
            "skipped",
            "linked only by another SCIM directory than the profile's: its IdP is not the one "
            "read here, so nothing proves a leaver",
        )
        assert accounts_by_email(env.world()) == before
