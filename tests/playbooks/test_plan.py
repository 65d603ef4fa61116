"""`plan` for reprovision reads only, names real ids, and guards `run --plan` against drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scimrecon.engine import adopt
from tests.playbooks.harness import FIXTURES, in_process, targets
from tests.playbooks.test_reprovision import TARGETS


def test_plan_names_the_real_ids_and_plans_every_change_after_the_pause(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        world = env.world()
        result = env.cli(
            "plan", "reprovision", "--targets", targets("acme-trello"), "--format", "json"
        )
        assert result.exit_code == 0, result.output
        assert env.writes() == []
        plan = json.loads(result.stdout)
        entries = {(e["target"], e["step"]): e for e in plan["entries"]}
        # provisioning is Active today, but the resume comes after a pause: it is planned
        assert entries[(None, "pause")]["status"] == "would"
        assert entries[(None, "resume")]["text"] == "would resume provisioning in Entra ID"
        scim = {u["userName"]: u for u in world["scim_users"]}
        for email in TARGETS:
            user = scim[email]
            local, domain = email.split("@")
            assert entries[(email, "remove-scim")]["text"] == (
                f"would remove SCIM user {user['id']} ({email}) by unlink (onlyDeleteUserInDB)"
            )
            assert entries[(email, "park-email")]["text"] == (
                f"would change the email of {user['account_id']} to {local}+old-<run>@{domain}"
            )
            assert entries[(email, "await-login")]["status"] == "n/a"


def test_run_with_a_saved_plan_refuses_once_the_world_has_moved(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    with in_process("acme-trello", tmp_path) as env:
        made = env.cli(
            "plan", "reprovision", "--targets", targets("acme-trello"), "--out", str(plan_file)
        )
        assert made.exit_code == 0, made.output
        # somebody removes Ada's Trello access before the run: her lookup now skips
        ada = next(
            a for a in env.app.store.world["accounts"] if a["email"] == "ada.lovelace@acme.example"
        )
        ada["product_access"] = []
        result = env.cli(
            "run",
            "reprovision",
            "--targets",
            targets("acme-trello"),
            "--yes",
            "--plan",
            str(plan_file),
        )
        assert result.exit_code == 4, result.output
        assert "plan.json is stale: the world changed" in result.output
        assert env.writes() == []


def test_a_plan_file_edited_after_it_was_made_is_refused(tmp_path: Path) -> None:
    """The reviewed file must say what runs: its params edited (scim_removal unlink -> delete,
    the fingerprint left alone) is refused, though the run would have used the command
    line's (trial 6). The same file untouched runs."""
    plan_file = tmp_path / "plan.json"
    with in_process("acme-trello", tmp_path) as env:
        made = env.cli(
            "plan", "reprovision", "--targets", targets("acme-trello"), "--out", str(plan_file)
        )
        assert made.exit_code == 0, made.output
        original = plan_file.read_text(encoding="utf-8")
        doc = json.loads(original)
        assert doc["params"]["scim_removal"] == "unlink"
        doc["params"]["scim_removal"] = "delete"
        plan_file.write_text(json.dumps(doc), encoding="utf-8")
        args = ["run", "reprovision", "--targets", targets("acme-trello"), "--yes"]
        result = env.cli(*args, "--plan", str(plan_file))
        assert result.exit_code == 4, result.output
        assert result.stderr.strip().splitlines()[-1] == (
            "error: plan.json was changed after it was made (its contents no longer match its "
            "fingerprint): what was reviewed is not what it says now; make a new plan"
        )
        assert env.writes() == []
        plan_file.write_text(original, encoding="utf-8")
        assert env.cli(*args, "--plan", str(plan_file)).exit_code == 0


def test_a_playbook_cannot_run_an_irreversible_action_without_flagging_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "quiet.toml").write_text(
        'id = "quiet"\ntitle = "t"\n[targets]\ncolumns = ["email"]\nkey = "email"\n'
        '[[steps]]\nid = "remove"\naction = "scim.remove"\nscope = "target"\n',
        "utf-8",
    )
    with in_process("acme-trello", tmp_path) as env:
        result = env.cli("playbooks", "show", "quiet", "--playbooks", str(tmp_path))
        assert result.exit_code == 2
        assert result.output == (
            "error: quiet.toml: steps[0] (remove).destructive: action 'scim.remove' "
            "cannot simply be undone: set destructive = true\n"
        )


def test_a_playbook_cannot_park_an_email_while_provisioning_runs(tmp_path: Path) -> None:
    """The shipped reprovision without its pause step (trial 6): refused when loaded, so the
    old address never moves while the IdP may push the person back."""
    shipped = (FIXTURES.parent / "playbooks" / "reprovision.toml").read_text("utf-8")
    start = shipped.index('[[steps]]\nid = "pause"')
    end = shipped.index("[[steps]]", start + 1)
    text = shipped[:start] + shipped[end:]
    (tmp_path / "nopause.toml").write_text(text.replace('id = "reprovision"', 'id = "np"', 1))
    # a pause that may not run (a `when` on it) opens nothing for sure either
    maybe = shipped.replace(
        'action = "idp.pause"\n', 'action = "idp.pause"\nwhen = "params.include_licensed"\n', 1
    )
    (tmp_path / "maybe.toml").write_text(maybe.replace('id = "reprovision"', 'id = "mp"', 1))
    with in_process("acme-trello", tmp_path) as env:
        for playbook, file, index in (("np", "nopause.toml", 6), ("mp", "maybe.toml", 7)):
            result = env.cli("playbooks", "show", playbook, "--playbooks", str(tmp_path))
            assert result.exit_code == 2
            assert result.output == (
                f"error: {file}: steps[{index}] (park-email).action: action "
                "'account.park_email' must run while provisioning is paused: place it after a "
                "step that pauses it (idp.pause) and before the one that resumes it\n"
            )


def test_ending_input_at_the_run_question_refuses_with_exit_4_and_changes_nothing(
    tmp_path: Path,
) -> None:
    from scimrecon.cli.interaction import ClickInteraction

    with in_process("acme-trello", tmp_path) as env:
        env.ui = ClickInteraction(assume_yes=False, interactive=True)
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), input="")
        assert result.exit_code == 4, result.output
        assert "not confirmed" in result.output
        assert env.writes() == []


def test_plan_reads_the_org_once_and_leaves_the_count_after_the_changes_unread(
    tmp_path: Path,
) -> None:
    """Counting billable users "after" against today's world answers nothing and, in a large
    org, costs hundreds of pages; the run counts for real once the changes are made."""
    with in_process("acme-trello", tmp_path) as env:
        result = env.cli(
            "plan", "reprovision", "--targets", targets("acme-trello"), "--format", "json"
        )
        assert result.exit_code == 0, result.output
        entries = {(e["target"], e["step"]): e for e in json.loads(result.stdout)["entries"]}
        assert entries[(None, "count-before")]["status"] == "would"
        assert entries[(None, "count-before")]["digest"] != ""  # read: its count is in the plan
        assert entries[(None, "count-after")] == {
            "target": None,
            "step": "count-after",
            "status": "would",
            "text": "count billable users in the org (billable_after)",
            "digest": "",
        }
        listings = [r for r in env.app.log if r["path"].endswith("/users") and "orgs" in r["path"]]
        assert len(listings) == 1


def test_a_run_lists_the_org_twice_not_once_more_for_the_email_checks(
    tmp_path: Path,
) -> None:
    with in_process("acme-trello", tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        first_pages = [
            r for r in env.app.log if r["path"].endswith("/users") and "/orgs/" in r["path"]
        ]
        # plan: count-before, taken over by the run confirmed at once (decision 70); its
        # listing also answers the look-ups and the email checks; run: count-after
        assert len(first_pages) == 2


def test_plan_with_a_missing_secret_says_so_once_and_plans_nothing(tmp_path: Path) -> None:
    from scimrecon.config import Secrets
    from scimrecon.connectors.services import Services

    with in_process("acme-trello", tmp_path) as env:
        full = env.services_factory()
        secrets = {k: v for k, v in env.app.secrets().items() if k != "SCIMRECON_SCIM_TOKEN"}
        env.services_factory = lambda: Services(
            full.profile, Secrets(secrets, keyring_lookup=None), factory=full.factory
        )
        result = env.cli("plan", "reprovision", "--targets", targets("acme-trello"))
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == (
            "error: SCIMRECON_SCIM_TOKEN is not set (SCIM directory API key (Bearer)): export "
            'it, or store it in the OS keyring with service "scimrecon" and username '
            '"SCIMRECON_SCIM_TOKEN"\n'
        )


def test_a_run_confirmed_slowly_reads_everything_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person may read the plan for an hour: then the plan's reads are stale and the run
    makes its own (decision 70). Here every answer counts as slow."""
    monkeypatch.setattr(adopt, "FRESH_FOR_S", -1.0)
    with in_process("acme-trello", tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", targets("acme-trello"), "--yes")
        assert result.exit_code == 0, result.output
        log = env.cli("log", "1")
        lookups = [r for r in env.app.log if "/scim/" in r["path"] and "filter=" in r["path"]]
        listings = [
            r for r in env.app.log if r["path"].endswith("/users") and "/orgs/" in r["path"]
        ]
    # each target's SCIM entry is asked for by the plan, the run's own look-up, the push's
    # check and the wait for the new account (taken over, the run's look-up is not sent)
    assert len(lookups) == 4 * 6
    assert len(listings) == 3  # plan, the run's own count-before, count-after
    assert "plan-reads-adopted" not in log.output
