"""`reconcile --live` without `--idp`: the IdP's users and assignments read from Entra (Graph).

Every test runs the real command line against the simulator on a localhost socket, with a
profile and secrets written the way `sim serve` writes them, and checks what came out, what
the simulator was asked, and that nothing was changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scimrecon.cli.main import cli
from scimrecon.sim.generate import generate_world
from scimrecon.sim.profile_toml import profile_toml
from scimrecon.sim.provisioning import group_object_id
from scimrecon.sim.world import load_world
from tests.playbooks.harness import FIXTURES, SimEnv, over_socket

EXPECTED = json.loads((FIXTURES / "drift" / "expected.json").read_text())["situations"]
PLANTED = {k: v for k, v in EXPECTED.items() if v != "linked"}

Invoke = Callable[..., Result]


@contextmanager
def live(
    world: str | dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SimEnv, Invoke]]:
    """The simulator on a socket, and `scimrecon --profile P ARGS` pointed at it."""
    with over_socket(world, tmp_path) as env:
        profile_file = tmp_path / "profile.toml"
        served = env.services_factory().profile.atlassian.base_url.removesuffix("/atlassian")
        profile_file.write_text(profile_toml(env.app.profile(served)), encoding="utf-8")
        for name, value in env.app.secrets().items():
            monkeypatch.setenv(name, value)

        def invoke(*args: str) -> Result:
            return CliRunner().invoke(cli, ["--profile", str(profile_file), *args])

        yield env, invoke


def identities(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["identities"]


def from_world_file(world: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    """What `reconcile --world` says of the same world: the reference for the live read."""
    path = tmp_path / "world-file.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    args = ["reconcile", "--world", str(path), "--format", "json"]
    return identities(CliRunner().invoke(cli, args))


def graph_reads(env: SimEnv) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in env.app.log if r["prefix"] == "/graph"]


def test_drift_live_from_entra_finds_exactly_the_planted_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live("drift", tmp_path, monkeypatch) as (env, invoke):
        before = env.world()
        got = identities(invoke("reconcile", "--live", "--format", "json"))

        assert {i["key"]: i["situation"] for i in got if i["situation"] != "linked"} == PLANTED
        assert {i["key"]: i["situation"] for i in got} == EXPECTED
        # the same identities, reasons and ids as the world file gives, field for field
        assert got == from_world_file(before, tmp_path)
        reads = graph_reads(env)
        assert {p.split("?")[0].rsplit("/", 1)[-1] for _, p, _ in reads} == {
            "appRoleAssignedTo",
            "users",
        }
        assert all(m == "GET" and s == 200 for m, _, s in reads)
        assert env.writes() == []
        assert env.world() == before


def okta_world(name: str) -> dict[str, Any]:
    """A fixture world with Okta instead of Entra: same users, same assignments."""
    world = copy.deepcopy(load_world(name))
    users = world["idp"]["users"]
    world["idp"] = {
        "kind": "okta",
        "okta": {"api_token": "00sim-okta-token", "app_id": "0oaAtlassianCloud1"},
        "users": users,
    }
    return world


def test_drift_live_from_okta_finds_the_same_cases_as_from_entra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live(okta_world("drift"), tmp_path, monkeypatch) as (env, invoke):
        before = env.world()
        got = identities(invoke("reconcile", "--live", "--format", "json"))

        assert {i["key"]: i["situation"] for i in got} == EXPECTED
        assert got == from_world_file(before, tmp_path)
        reads = [(r["method"], r["path"].split("?")[0]) for r in env.app.log]
        okta = [p for m, p in reads if p.startswith("/okta/")]
        assert set(okta) == {"/okta/api/v1/users", "/okta/api/v1/apps/0oaAtlassianCloud1/users"}
        assert all(m == "GET" for m, p in reads if p.startswith("/okta/"))
        assert env.writes() == []


def test_group_assigned_users_stay_linked_and_an_unassigned_user_comes_out_orphaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = copy.deepcopy(load_world("drift"))
    users = {u["userName"]: u for u in world["idp"]["users"]}
    for name in ("ada.lovelace@acme.example", "alan.turing@acme.example"):
        users[name]["assigned_via"] = "Atlassian Cloud users"
    users["grace.hopper@acme.example"]["assigned"] = False  # her SCIM entry is still there

    with live(world, tmp_path, monkeypatch) as (env, invoke):
        result = invoke("reconcile", "--live", "--format", "json")
        got = {i["key"]: i for i in identities(result)}

        assert got["ada.lovelace@acme.example"]["situation"] == "linked"
        assert got["alan.turing@acme.example"]["situation"] == "linked"
        grace = got["grace.hopper@acme.example"]
        assert grace["situation"] == "orphaned"
        assert grace["reason"] == "the IdP user is no longer assigned to the app"
        assert grace["playbook"] == "deactivate-leavers"
        expected = {**EXPECTED, "grace.hopper@acme.example": "orphaned"}
        assert {k: i["situation"] for k, i in got.items()} == expected
        assert result.stderr == ""  # direct members only: nothing to warn about
        group = group_object_id("Atlassian Cloud users")
        assert ("GET", f"/graph/groups/{group}/members", 200) in [
            (m, p.split("?")[0], s) for m, p, s in graph_reads(env)
        ]
        assert env.writes() == []


def test_many_pages_and_a_503_and_a_429_mid_paging_are_read_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = generate_world(1200, 11)
    assert len(world["idp"]["users"]) > 999  # more than one page of Graph's largest
    world["faults"] = {
        "seed": 22,  # its draws: the first page of users passes, the second meets a 503
        "/graph/users": {"error_rate": 0.35, "error_statuses": [503]},
        # one request a second: the second page of assignments meets a 429 + Retry-After
        "/graph/servicePrincipals": {"rate_per_s": 1, "burst": 1},
    }
    reference = from_world_file(world, tmp_path)

    with live(world, tmp_path, monkeypatch) as (env, invoke):
        got = identities(invoke("reconcile", "--live", "--format", "json"))

        assert got == reference
        reads = graph_reads(env)
        users = [("skiptoken" in p, s) for _, p, s in reads if p.startswith("/graph/users?")]
        assert users == [(False, 200), (True, 503), (True, 200)]
        assigned = [("skiptoken" in p, s) for _, p, s in reads if "appRoleAssignedTo" in p]
        assert assigned == [(False, 200), (True, 429), (True, 200)]
        assert env.writes() == []


def test_a_manual_idp_profile_is_refused_in_one_line_before_anything_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live("manual", tmp_path, monkeypatch) as (env, invoke):
        result = invoke("reconcile", "--live")

        assert result.exit_code == 2
        assert result.stderr == (
            "error: --live reads IdP users only from Microsoft Entra ID or Okta (the profile's "
            "IdP is manual): pass --idp FILE exported from the IdP\n"
        )
        assert result.stdout == ""
        assert env.app.log == []


def test_a_profile_without_an_idp_is_refused_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = copy.deepcopy(load_world("drift"))
    del world["idp"]
    with live(world, tmp_path, monkeypatch) as (env, invoke):
        result = invoke("reconcile", "--live")

        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            "error: --live reads IdP users only from Microsoft Entra ID or Okta (the profile's "
            "IdP is not configured ([idp])): pass --idp FILE exported from the IdP"
        ]
        assert env.app.log == []


def test_live_with_scim_or_accounts_files_is_a_usage_error(tmp_path: Path) -> None:
    dump = tmp_path / "scim.json"
    dump.write_text("[]", encoding="utf-8")
    result = CliRunner().invoke(cli, ["reconcile", "--live", "--scim", str(dump)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --live reads SCIM and accounts itself: give no --scim or --accounts "
        "(only --idp FILE, for an IdP it cannot read)"
    ]


def test_an_app_with_nobody_assigned_is_refused_rather_than_everyone_orphaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scoped to "all users and groups", Entra lists no assignments: reading that as "nobody is
    assigned" would make every SCIM entry orphaned, a list for the disable playbook."""
    world = copy.deepcopy(load_world("drift"))
    for user in world["idp"]["users"]:
        user["assigned"] = False
    with live(world, tmp_path, monkeypatch) as (env, invoke):
        result = invoke("reconcile", "--live", "--format", "json")
        writes = env.writes()

    assert result.exit_code == 4
    assert result.stderr == (
        "error: Entra ID reports nobody assigned to the Atlassian Cloud app, so scimrecon cannot "
        "tell whom it provisions (is the provisioning scope 'all users and groups'?); nothing "
        "was changed: check the app's assignments, or reconcile from an exported user list "
        "(--idp FILE)\n"
    )
    assert result.stdout == ""
    assert writes == []
