"""`analyze --live` against the simulator on a localhost socket: the same figures as the export
of the same world, and only the requests it needs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from scimrecon.cli.main import cli
from scimrecon.recon.live import records_from_org_users, site_of
from scimrecon.recon.model import NEVER

from .conftest import load_world

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


def _toml(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for section, values in doc.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, Path, dict[str, str]]]:
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.world import load_world as sim_world

    app = SimApp(sim_world("inactive-licences"), seed=1)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    profile = tmp_path / "profile.toml"
    profile.write_text(
        _toml(app.profile(f"http://127.0.0.1:{server.server_port}")), encoding="utf-8"
    )
    yield app, profile, {**app.secrets(), **NO_KEYRING}
    server.shutdown()
    server.server_close()


def test_live_matches_the_worlds_classes(served: tuple[Any, Path, dict[str, str]]) -> None:
    app, profile, env = served
    expected = json.loads(
        (
            Path(__file__).resolve().parents[2]
            / "scimrecon/fixtures/inactive-licences/expected.json"
        ).read_text(encoding="utf-8")
    )
    result = CliRunner().invoke(
        cli,
        [
            "--profile",
            str(profile),
            "analyze",
            "--live",
            "--as-of",
            "2026-11-23",
            "--protect",
            "svc-*@acme.example",
            "--format",
            "json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    classes = expected["classes"]
    assert doc["format"] == "org-api"
    # Admins are protected by their live platformRoles, without --protect.
    assert result.stderr == ""
    assert doc["billable"] == expected["billable"]
    assert [c["email"] for c in doc["classes"]["inactive"]] == (
        classes["inactive_90d"] + classes["inactive_180d"] + classes["never_accessed_old"]
    )
    assert sorted(c["email"] for c in doc["classes"]["protected"]) == sorted(classes["protected"])
    # one list walk, plus a join-date lookup only for users who never used anything
    paths = [r["path"] for r in app.log]
    lookups = [p for p in paths if p.endswith("/last-active-dates")]
    never = (
        classes["never_accessed_old"] + classes["never_accessed_new"] + ["svc-backup@acme.example"]
    )
    assert len(lookups) == len(never)
    # Roles from the v2 directory users, billable and activity from the v1 list.
    assert all(
        p.startswith(("/atlassian/admin/v1/orgs/", "/atlassian/admin/v2/orgs/")) for p in paths
    )
    assert any("/admin/v2/orgs/" in p and "/users" in p for p in paths)
    secrets = [v for k, v in env.items() if k.startswith("SCIMRECON_")]
    assert not any(s in result.output for s in secrets)


def test_org_users_translation() -> None:
    users = [
        {
            "account_id": "a1",
            "email": "a@x.example",
            "name": "A",
            "account_status": "active",
            "account_type": "atlassian",
            "access_billable": True,
            "last_active": "2026-11-01T10:00:00Z",
            "product_access": [
                {
                    "key": "jira-software",
                    "name": "Jira Software",
                    "url": "https://acme.atlassian.net",
                    "last_active": "2026-11-01",
                },
                {
                    "key": "trello",
                    "name": "Trello",
                    "url": "https://trello.com",
                    "last_active": None,
                },
            ],
        },
    ]
    (record,) = records_from_org_users(users, added_of=lambda _: pytest.fail("not needed"))
    assert [(p.product, p.site, p.last_seen) for p in record.products][1] == (
        "Trello",
        "trello",
        NEVER,
    )
    assert record.products[0].site == "acme" and record.billable and record.reported_billable
    assert site_of("https://beta.atlassian.net/wiki", "confluence") == "beta"


def test_live_and_export_agree_on_billable(
    served: tuple[Any, Path, dict[str, str]], tmp_path: Path
) -> None:
    from scimrecon.recon.world import export_from_world

    _, profile, env = served
    export = tmp_path / "users.csv"
    export.write_text(export_from_world(load_world("inactive-licences")), encoding="utf-8")
    common = ["--as-of", "2026-11-23", "--protect", "priya.raman@*", "--protect", "tom.becker@*"]
    runs = [
        CliRunner().invoke(
            cli,
            ["--profile", str(profile), "analyze", *args, *common, "--format", "json"],
            env=env,
        )
        for args in (["--live"], [str(export)])
    ]
    live, offline = (json.loads(r.stdout) for r in runs)
    assert live["billable"] == offline["billable"]
    assert live["classes"]["inactive"] == offline["classes"]["inactive"]
