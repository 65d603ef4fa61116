"""A key the API refuses (401) stops the plan or the run with one line (exit 4); it never ends
as a run "completed" with every target skipped for an unreadable role (trial 6, finding 9: a
cron job or `resume --all` would have reported success)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.playbooks.harness import SimEnv, _services, in_process, targets

WRONG = "not-the-right-key"


def _wrong_key(env: SimEnv, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    good = env.app.secrets()
    monkeypatch.setattr(env.app, "secrets", lambda: {**good, name: WRONG})
    transport = httpx.WSGITransport(app=env.app)
    env.services_factory = _services(env.app, "http://sim.localhost", transport, env.clock)


@pytest.mark.parametrize(
    ("variable", "starts", "ends"),
    [
        (
            "SCIMRECON_ORG_API_KEY",
            "error: Atlassian org API: POST /admin/v2/orgs/",
            "→ 401: invalid credentials for the organization APIs",
        ),
        # the SCIM directory's bearer token too (trial 8: 18 "cannot check" lines, exit 1)
        ("SCIMRECON_SCIM_TOKEN", "error: SCIM directory: GET /Users", "→ 401"),
    ],
)
def test_a_refused_key_stops_plan_and_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, starts: str, ends: str
) -> None:
    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        _wrong_key(env, monkeypatch, variable)
        for command in ("plan", "run"):
            args = [command, "reprovision", "--targets", targets("acme-trello")]
            result = env.cli(*args, *(["--yes"] if command == "run" else []))
            assert result.exit_code == 4, result.output
            (line,) = result.stderr.strip().splitlines()[-1:]
            assert line.startswith(starts), line
            assert ends in line, line
            assert WRONG not in result.output
        assert env.writes() == []
        assert env.world() == before
        runs = env.cli("runs", "--format", "json")
        assert runs.exit_code == 0 and json.loads(runs.stdout) == []  # no run was started
