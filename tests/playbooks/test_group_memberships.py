"""A reprovisioned user's SCIM group memberships, and the product access they give, survive.

Atlassian: "If reprovisioning a user after it has been deleted, you will need to reprovision its
group memberships separately", and product access for IdP users usually comes from those
groups. The run records them before the SCIM entry goes, has Entra push each group again with
the user as member, and reads them back; one that does not come back fails the target, named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scimrecon.sim.generate import ungroup
from scimrecon.sim.provisioning import group_object_id
from scimrecon.sim.validate import validate_world
from scimrecon.sim.world import load_world
from tests.playbooks.harness import accounts_by_email, in_process, targets
from tests.playbooks.test_reprovision import TARGETS

ADA, KENJI = "ada.lovelace@acme.example", "kenji.watanabe@acme.example"
CONFLUENCE = {"key": "confluence", "site": "acme"}


def entry(world: dict[str, Any], email: str) -> dict[str, Any]:
    return next(u for u in world["scim_users"] if u["userName"].lower() == email)


def groups_of(world: dict[str, Any], email: str) -> list[str]:
    me = entry(world, email)["id"]
    return sorted(g["displayName"] for g in world["groups"] if me in g["members"])


def with_confluence_group(*, in_idp: bool) -> dict[str, Any]:
    """acme-trello, plus a Entra-pushed group that gives Confluence, held by Ada in SCIM (and,
    when `in_idp`, in Entra too); Ada's account has Confluence through it."""
    world = load_world("acme-trello")
    world["groups"].append(
        {
            "id": "grp-confluence",
            "directory": world["directories"][0]["id"],
            "displayName": "confluence-users",
            "externalId": group_object_id("confluence-users"),
            "members": [entry(world, ADA)["id"]],
            "products": [CONFLUENCE],
        }
    )
    accounts_by_email(world)[ADA]["product_access"].append(dict(CONFLUENCE, last_active=None))
    ada = next(u for u in world["idp"]["users"] if u["userName"] == ADA)
    if in_idp:
        ada["groups"].append("confluence-users")
    else:  # so that the group stays one Entra pushes, someone else holds it in Entra
        next(u for u in world["idp"]["users"] if u["userName"] != ADA)["groups"].append(
            "confluence-users"
        )
    assert validate_world(world) == []
    return world


def write_targets(tmp: Path, *emails: str) -> str:
    path = tmp / "targets.csv"
    path.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return str(path)


def test_access_from_a_group_moves_to_the_new_account_with_the_membership(
    tmp_path: Path,
) -> None:
    world = with_confluence_group(in_idp=True)
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli(
            "run",
            "reprovision",
            "--targets",
            write_targets(tmp_path, ADA),
            "--yes",
            "--param",
            "include_licensed=true",  # Confluence makes Ada billable anyway: take her all the same
        )
        assert result.exit_code == 0, result.output
        after = env.world()
        assert (
            groups_of(after, ADA)
            == groups_of(before, ADA)
            == [
                "atlassian-users",
                "confluence-users",
            ]
        )
        old = accounts_by_email(before)[ADA]["account_id"]
        new = accounts_by_email(after)[ADA]
        assert new["account_id"] != old
        # Confluence came with the group; Trello, which no group gives, did not
        assert new["product_access"] == [CONFLUENCE]
        parked = next(a for a in after["accounts"] if a["account_id"] == old)
        assert [p["key"] for p in parked["product_access"]] == ["trello"]
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        (ada,) = status["targets"]
        assert ada["outputs"]["memberships_before"] == ["atlassian-users", "confluence-users"]
        assert ada["outputs"]["memberships_after"] == ["atlassian-users", "confluence-users"]
        # each group pushed on demand with Ada as its one member (the user's push is another)
        pushes = [r for r in env.app.log if r["path"].endswith("/provisionOnDemand")]
        assert len(pushes) == 3


def test_a_membership_that_does_not_come_back_fails_the_target_naming_it(tmp_path: Path) -> None:
    world = with_confluence_group(in_idp=False)  # Entra does not hold Ada in confluence-users
    world["groups"].append(  # a group Entra never pushed: made in Atlassian by hand
        {
            "id": "grp-by-hand",
            "directory": world["directories"][0]["id"],
            "displayName": "design-team",
            "members": [entry(world, KENJI)["id"]],
        }
    )
    with in_process(world, tmp_path) as env:
        args = ("--targets", targets("acme-trello"), "--param", "include_licensed=true")
        result = env.cli("run", "reprovision", *args, "--yes")
        assert result.exit_code == 1, result.output
        assert "run 1 failed: 4 done, 2 failed" in result.output
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        by_key = {t["key"]: t for t in status["targets"]}
        assert by_key[ADA]["state"] == by_key[KENJI]["state"] == "incomplete"
        assert by_key[ADA]["reason"] == (
            "restore-groups: memberships not back after re-push: confluence-users "
            "(confluence-users: the IdP answered Failure (Update) - MembersNotProvisioned: "
            f"{ADA}: not a member of confluence-users in the IdP). Put {ADA} back in them in "
            "the IdP and push them, then scimrecon resume 1 --retry-failed"
        )
        assert by_key[KENJI]["reason"] == (
            "restore-groups: memberships not back after re-push: design-team (design-team: no "
            "externalId: not a group the IdP provisions). Put "
            f"{KENJI} back in them in the IdP and push them, then scimrecon resume 1 "
            "--retry-failed"
        )
        after = env.world()
        # the world shows what a lost membership costs: Ada's new account has no Confluence
        assert groups_of(after, ADA) == ["atlassian-users"]
        assert accounts_by_email(after)[ADA]["product_access"] == []
        for email in set(TARGETS) - {ADA, KENJI}:
            assert by_key[email]["outputs"]["memberships_after"] == ["atlassian-users"]


def test_someone_in_no_group_costs_no_read_of_groups_after_the_push(tmp_path: Path) -> None:
    """In no group before the run: nothing to push back or prove (decision 103), so the step
    after the wait does not read the new entry's groups again (a GET of the entry), and the
    report shows none before or after."""
    world = load_world("acme-trello")
    ungroup(world, [ADA])
    assert groups_of(world, ADA) == []
    with in_process(world, tmp_path) as env:
        result = env.cli("run", "reprovision", "--targets", write_targets(tmp_path, ADA), "--yes")
        assert result.exit_code == 0, result.output
        report = json.loads(env.cli("report", "1", "--format", "json").output)
        outputs = report["targets"][0]["outputs"]
        new_entry_reads = [
            r for r in env.app.log
            if r["method"] == "GET" and r["path"].endswith(f"/Users/{outputs['new_scim_id']}")
        ]  # fmt: skip
    assert new_entry_reads == []
    assert (outputs["memberships_before"], outputs["memberships_after"]) == ([], [])
    assert report["targets"][0]["what_moved"]["memberships"] == {
        "before": [],
        "after": [],
        "missing": [],
    }
