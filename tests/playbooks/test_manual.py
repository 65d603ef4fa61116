"""An IdP without an API scimrecon drives (idp.kind = "manual"): the playbook asks a person,
and only a typed confirmation moves it on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from scimrecon.connectors.scim import ScimUser
from scimrecon.connectors.services import Services
from scimrecon.errors import RefusedError
from tests.playbooks.harness import SimEnv, accounts_by_email, in_process, targets
from tests.playbooks.test_reprovision import EXPECTED, TARGETS, assert_reprovisioned


@dataclass
class IdpAdmin:
    """A person at the IdP's console: does what the instructions say, then types the word.

    Re-pushing a user is the IdP POSTing the user to the SCIM directory, so that is what
    this person's "push" does, through the product's own SCIM connector.
    """

    env: SimEnv
    services: Services
    seen: list[str] = field(default_factory=list)
    assume_yes: bool = True

    def confirm(self, message: str) -> bool:
        return True

    def manual(self, instructions: str, expect: str) -> None:
        self.seen.append(expect)
        if expect == "groups pushed":  # the console's "push now" on each group listed
            email = re.search(r"Push (\S+@\S+)'s group memberships", instructions).group(1)
            assert "    - atlassian-users" in instructions
            self.env.app.push(email)
        elif expect in ("pushed", "reassigned"):  # a reassignment makes the IdP push the user
            email = re.search(r"(?:Push|reassign) (\S+@\S+)", instructions).group(1)
            person = next(u for u in self.env.world()["idp"]["users"] if u["userName"] == email)
            self.services.scim.create(
                ScimUser.new(person["userName"], person["mail"], display_name=person["displayName"])
            )

    def info(self, message: str) -> None:
        pass


def test_manual_run_is_driven_by_typed_confirmations(tmp_path: Path) -> None:
    with in_process("manual", tmp_path) as env:
        before = env.world()
        admin = IdpAdmin(env, env.services_factory())
        env.ui = admin
        result = env.cli("run", "reprovision", "--targets", targets("manual"), "--yes")
        assert result.exit_code == 0, result.output
        assert admin.seen[:2] == ["paused", "resumed"]
        # each target: reassigned, then its groups pushed (Atlassian: memberships separately)
        assert sorted(admin.seen[2:]) == sorted(["reassigned", "groups pushed"] * len(TARGETS))
        assert_reprovisioned_manual(before, env)


def assert_reprovisioned_manual(before: dict, env: SimEnv) -> None:
    after = env.world()
    # a manual IdP has no sync job to check; everything else is as for Entra ID
    after["idp"]["job"] = before["idp"]["job"] = {"state": "Active"}
    assert_reprovisioned(before, after, "1")
    assert env.billable() == EXPECTED["billable"]["after"]


class NoTerminal:
    assume_yes = True

    def confirm(self, message: str) -> bool:
        return True

    def manual(self, instructions: str, expect: str) -> None:
        raise RefusedError("a manual step needs a person at a terminal")

    def info(self, message: str) -> None:
        pass


def test_without_a_person_the_manual_pause_refuses_before_any_change(tmp_path: Path) -> None:
    with in_process("manual", tmp_path) as env:
        before = accounts_by_email(env.world())
        env.ui = NoTerminal()
        result = env.cli("run", "reprovision", "--targets", targets("manual"), "--yes")
        assert result.exit_code == 4, result.output
        assert "a manual step needs a person at a terminal" in result.output
        assert env.writes() == []
        assert accounts_by_email(env.world()) == before
