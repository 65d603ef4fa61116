"""`reconcile --live --idp FILE`: SCIM and accounts read through the APIs, IdP users from the
file (it wins over the profile's Entra); exactly the planted drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.sim.profile_toml import profile_toml
from tests.playbooks.harness import FIXTURES, over_socket

EXPECTED = json.loads((FIXTURES / "drift" / "expected.json").read_text())["situations"]


def test_live_reconcile_finds_every_planted_case_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with over_socket("drift", tmp_path) as env:
        profile_file = tmp_path / "profile.toml"
        served = env.services_factory().profile.atlassian.base_url.removesuffix("/atlassian")
        profile_file.write_text(profile_toml(env.app.profile(served)), encoding="utf-8")
        for name, value in env.app.secrets().items():
            monkeypatch.setenv(name, value)
        idp_file = tmp_path / "idp.json"
        idp_file.write_text(json.dumps(env.world()["idp"]["users"]), encoding="utf-8")
        before = env.world()

        result = CliRunner().invoke(
            cli,
            [
                "--profile",
                str(profile_file),
                "reconcile",
                "--live",
                "--idp",
                str(idp_file),
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, result.output
        found = {
            i["key"]: i["situation"]
            for i in json.loads(result.stdout)["identities"]
            if i["situation"] != "linked"
        }
        planted = {k: v for k, v in EXPECTED.items() if v != "linked"}
        assert found == planted
        assert not [r for r in env.app.log if r["prefix"] in ("/graph", "/login")]
        assert env.writes() == []
        assert env.world() == before
