"""`scimrecon sim push`: the push an Okta or manual-IdP admin does by hand, performed on the
simulator, so the manual story runs to its end (a real socket, the real CLI)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from scimrecon.cli.main import cli
from tests.playbooks.harness import over_socket, targets
from tests.playbooks.test_manual import assert_reprovisioned_manual
from tests.playbooks.test_reprovision import TARGETS, assert_memberships_back


class ConsoleAdmin:
    """Types the expected word after doing the step; for "pushed", runs `scimrecon sim push`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pushed: list[str] = []
        self.assume_yes = True

    def confirm(self, message: str) -> bool:
        return True

    def manual(self, instructions: str, expect: str) -> None:
        assert expect != "groups pushed", "the push brought the memberships back with the user"
        if expect in ("pushed", "reassigned"):
            email = re.search(r"(?:Push|reassign) (\S+@\S+)", instructions).group(1)
            result = CliRunner().invoke(cli, ["sim", "push", email, "--url", self.url])
            assert result.exit_code == 0, result.output
            assert result.output.startswith(f"pushed {email}: SCIM entry ")
            assert "(a new account)" in result.output
            assert "groups pushed: atlassian-users" in result.output  # Okta's Push Groups
            self.pushed.append(email)

    def info(self, message: str) -> None:
        pass


def test_the_manual_story_completes_with_sim_push(tmp_path: Path) -> None:
    with over_socket("manual", tmp_path) as env:
        before = env.world()
        url = env.services_factory().profile.atlassian.base_url.removesuffix("/atlassian")
        admin = ConsoleAdmin(url)
        env.ui = admin
        result = env.cli("run", "reprovision", "--targets", targets("manual"), "--yes")
        assert result.exit_code == 0, result.output
        assert sorted(admin.pushed) == sorted(TARGETS)
        assert_reprovisioned_manual(before, env)
        assert_memberships_back(before, env.world())


def test_sim_push_refuses_unknown_users_and_remote_urls(tmp_path: Path) -> None:
    with over_socket("manual", tmp_path) as env:
        url = env.services_factory().profile.atlassian.base_url.removesuffix("/atlassian")
        result = CliRunner().invoke(cli, ["sim", "push", "nobody@acme.example", "--url", url])
        assert result.exit_code == 2
        assert "404: no IdP user 'nobody@acme.example' in this world" in result.output
    result = CliRunner().invoke(
        cli, ["sim", "push", "x@acme.example", "--url", "http://192.0.2.1:1"]
    )
    assert result.exit_code == 2 and "loopback only" in result.output
