"""Issue 11 point 3: `analyze --live --class inactive` then `run inactive-licences` must never
suspend an org admin. Roles are read live from the v2 directory users' `platformRoles`, and
the simulator's log shows only v2 suspend calls."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.sim.profile_toml import profile_toml
from tests.playbooks.harness import accounts_by_email, over_socket

ADMINS = {"priya.raman@acme.example", "tom.becker@acme.example"}


def test_inactive_list_then_run_suspends_no_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with over_socket("acme-trello", tmp_path) as env:
        profile_file = tmp_path / "profile.toml"
        served = env.services_factory().profile.atlassian.base_url.removesuffix("/atlassian")
        profile_file.write_text(profile_toml(env.app.profile(served)), encoding="utf-8")
        for name, value in env.app.secrets().items():
            monkeypatch.setenv(name, value)
        # Make both admins look inactive for a year: only their role can save them now.
        for account in env.app.store.world["accounts"]:
            if account["email"] in ADMINS:
                for access in account["product_access"]:
                    access["last_active"] = "2025-10-01"
        env.app.store.touch()
        targets = tmp_path / "inactive.csv"
        analyzed = CliRunner().invoke(
            cli,
            [
                "--profile", str(profile_file), "analyze", "--live", "--as-of", "2026-11-23",
                "--class", "inactive", "--targets-out", str(targets), "--format", "json",
            ],
        )  # fmt: skip
        assert analyzed.exit_code == 0, analyzed.output
        listed = {line.split(",")[0] for line in targets.read_text().splitlines()[1:]}
        assert not listed & ADMINS, "analyze --live lists admins as candidates"
        protected = json.loads(analyzed.stdout)["classes"]["protected"]
        assert {p["email"] for p in protected} >= ADMINS
        # The list as an attacker or a careless hand would make it: admins added back.
        targets.write_text(
            targets.read_text() + "".join(f"{email},,,\n" for email in sorted(ADMINS)),
            encoding="utf-8",
        )
        before = accounts_by_email(env.world())
        result = env.cli(
            "run", "inactive-licences", "--targets", str(targets), "--yes",
            "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        after = accounts_by_email(env.world())
        for email in ADMINS:
            assert after[email] == before[email], email
        status = json.loads(env.cli("status", "1", "--format", "json").output)
        reasons = {t["key"]: t["reason"] for t in status["targets"]}
        assert reasons["priya.raman@acme.example"] == "protected: org admin"
        assert reasons["tom.becker@acme.example"] == "protected: org admin"
        suspended = [e for e in listed if not after[e]["product_access"]]
        assert suspended, "the run suspended nobody: the test proves nothing"
        log = httpx.get(f"{served}/_sim/log").json()  # the simulator's own request log
        posts = [r["path"] for r in log if r["method"] == "POST"]
        suspends = [p for p in posts if "suspend" in p]
        assert len(suspends) == len(suspended)
        assert all("/admin/v2/orgs/" in p and p.endswith("/suspend") for p in suspends), suspends
        retired = [p for p in posts if p.endswith("/suspend-access") or "/v1/orgs/" in p]
        assert retired == []  # v1 suspend-access and users/search were retired in June 2026
        admin_ids = {before[e]["account_id"] for e in ADMINS}
        assert not any(any(a in p for a in admin_ids) for p in suspends)
