"""`sim capture`: the simulator serving a fixture world is the "live" org; its twin must equal
the source in everything the playbooks read (ids of generated keys aside), be a valid world,
carry no original name or email with --redact, and restart where an interrupted capture
stopped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from scimrecon.recon.billable import world_billable
from scimrecon.sim.validate import validate_world
from scimrecon.sim.world import load_world
from tests.playbooks.harness import in_process, over_socket, targets

SECRET_FIELDS = ("api_key", "api_token", "client_secret")


def _capture(env: Any, tmp_path: Path, *args: str, name: str = "twin.json") -> dict[str, Any]:
    out = tmp_path / name
    result = env.cli("sim", "capture", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert load_world(out)  # `sim check` accepts it (the same loader, every problem listed)
    return json.loads(out.read_text("utf-8"))


def _accounts(world: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        a["account_id"]: (
            a["email"].lower(),
            a["name"],
            a["status"],
            a["managed"],
            a.get("account_type", "atlassian"),
            a.get("org_role", "member"),
            a.get("added_to_org"),
            sorted((p["key"], p["site"], p.get("last_active")) for p in a["product_access"]),
            "suspended_access" in a,
        )
        for a in world["accounts"]
    }


def _scim(world: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        u["id"]: (
            u["directory"],
            u["userName"],
            u.get("externalId"),
            [(e["value"], e.get("primary")) for e in u.get("emails") or []],
            u["active"],
            u["account_id"],
        )
        for u in world["scim_users"]
    }


def _idp(world: dict[str, Any]) -> tuple[Any, ...]:
    idp = world["idp"]
    users = {(u["object_id"], u["userName"], u.get("mail"), u["assigned"]) for u in idp["users"]}
    job = idp.get("job") or {}
    return (
        idp["kind"],
        idp.get("service_principal"),
        job.get("id"),
        job.get("state"),
        job.get("rule_id"),
        users,
    )


def _issues_of(world: dict[str, Any], people: set[str]) -> dict[str, tuple[Any, ...]]:
    return {
        i["key"]: (i["reporter"], i.get("assignee"), sorted(i.get("participants") or []))
        for i in world["jira"]["issues"]
        if people & {i["reporter"], i.get("assignee"), *(i.get("participants") or [])}
    }


def test_the_twin_of_a_served_world_equals_it_in_everything_playbooks_read(
    tmp_path: Path,
) -> None:
    source = load_world("acme-trello")
    with over_socket("acme-trello", tmp_path) as env:
        twin = _capture(env, tmp_path, "--targets", targets("acme-trello"))
        assert env.writes() == []  # read-only
    assert twin["org"]["id"] == source["org"]["id"]
    assert twin["org"]["domains"] == source["org"]["domains"]
    assert [d["id"] for d in twin["directories"]] == [d["id"] for d in source["directories"]]
    assert _accounts(twin) == _accounts(source)
    assert _scim(twin) == _scim(source)
    groups = {g["id"]: (g["displayName"], sorted(g["members"])) for g in source["groups"]}
    assert {g["id"]: (g["displayName"], sorted(g["members"])) for g in twin["groups"]} == groups
    assert _idp(twin) == _idp(source)
    # 41 managed and the unmanaged contractor with Jira on acme: an external user, whose
    # access the twin reads from the v2 search and places on acme through the workspaces
    assert world_billable(source) == world_billable(twin) == 42
    assert twin["billing"]["tier"] == 50  # the smallest standard tier over 42
    emails = {line.strip().lower() for line in Path(targets("acme-trello")).read_text().split()}
    people = {a["account_id"] for a in source["accounts"] if a["email"].lower() in emails}
    assert _issues_of(twin, people) == _issues_of(source, people)
    assert len(twin["jira"]["issues"]) == len(_issues_of(source, people))  # only theirs
    for key in SECRET_FIELDS:  # never the live keys: made-up ones
        text = json.dumps(twin)
        for secret in re.findall(rf'"{key}": "([^"]+)"', json.dumps(source)):
            assert secret not in text


def test_an_okta_org_captures_its_app_settings_and_its_people_from_scim(tmp_path: Path) -> None:
    source = load_world("okta")
    with in_process("okta", tmp_path) as env:
        twin = _capture(env, tmp_path, "--issues", "none")
    okta = twin["idp"]["okta"]
    assert okta["app_id"] == source["idp"]["okta"]["app_id"]
    assert okta["features"] == source["idp"]["okta"]["features"]
    assert okta["api_token"] != source["idp"]["okta"]["api_token"]
    scim_names = {u["userName"] for u in source["scim_users"] if u["active"]}
    assert {u["userName"] for u in twin["idp"]["users"] if u["assigned"]} == scim_names
    assert twin["jira"]["issues"] == []


def test_a_mapped_okta_twin_names_neither_the_okta_domain_nor_the_sites(tmp_path: Path) -> None:
    """--redact --map-domains on an Okta org: the Okta domain (NAME.okta.com) is the customer's
    name too (second review of session 6)."""
    with in_process("okta", tmp_path) as env:
        twin = _capture(env, tmp_path, "--issues", "none", "--redact", "--map-domains")
    assert twin["idp"]["okta"]["domain"] == "org1.okta.example"
    assert "acme" not in json.dumps(twin).lower()


def test_redact_leaves_no_original_name_or_email_and_keeps_each_person_whole(
    tmp_path: Path,
) -> None:
    source = load_world("drift")  # email drift, duplicates, unlinked entries: the hard cases
    with in_process("drift", tmp_path) as env:
        twin = _capture(env, tmp_path, "--redact", "--issues", "none")
    text = json.dumps(twin, ensure_ascii=False).lower()
    originals = {a["email"] for a in source["accounts"]} | {a["name"] for a in source["accounts"]}
    for user in source["scim_users"]:
        originals |= {user["userName"], user.get("displayName") or ""}
        originals |= {e["value"] for e in user.get("emails") or []}
    for user in source["idp"]["users"]:
        originals |= {user["userName"], user.get("mail") or "", user.get("displayName") or ""}
    originals.add((source.get("jira") or {}).get("email") or "")
    for value in sorted(v for v in originals if v):
        assert value.lower() not in text, value
    # one person, one pseudonym: a linked SCIM entry carries its account's, and so does the
    # IdP user behind it (externalId = object id)
    name_of = {a["account_id"]: a["name"] for a in twin["accounts"]}
    by_object = {u["object_id"]: u for u in twin["idp"]["users"]}
    linked = [u for u in twin["scim_users"] if u["account_id"]]
    assert linked
    for user in linked:
        assert user["displayName"] == name_of[user["account_id"]]
        if user.get("externalId") in by_object:
            assert by_object[user["externalId"]]["displayName"] == user["displayName"]
    # domains kept: the managed rule still holds (the world is valid) and so does billable
    assert twin["org"]["domains"] == source["org"]["domains"]
    assert world_billable(twin) == world_billable(source)


def test_redact_can_map_domains_and_write_the_targets_under_their_pseudonyms(
    tmp_path: Path,
) -> None:
    mapped_targets = tmp_path / "targets-redacted.csv"
    with in_process("acme-trello", tmp_path) as env:
        twin = _capture(
            env,
            tmp_path,
            "--redact",
            "--map-domains",
            "--targets",
            targets("acme-trello"),
            "--targets-out",
            str(mapped_targets),
        )
    assert not [a["email"] for a in twin["accounts"] if "acme" in a["email"]]
    assert twin["org"]["domains"] == ["org1.example"]
    # nothing else names the customer (trial 7): not its site, not its directory
    assert "acme" not in json.dumps(twin).lower()
    assert sorted(s["name"] for s in twin["sites"]) == ["site1", "trello"]
    assert twin["jira"]["site"] == "site1"
    emails = {a["email"] for a in twin["accounts"]}
    rows = mapped_targets.read_text("utf-8").split()
    assert rows[0] == "email" and len(rows) == 7
    assert set(rows[1:]) <= emails
    assert len(twin["jira"]["issues"]) > 0  # their tickets came along


def test_an_interrupted_capture_starts_again_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "twin.json"
    with in_process("acme-trello", tmp_path) as env:
        # the SCIM directory is unreachable (wrong key): the sections before it are kept
        good = env.app.store.world["directories"][0]["api_key"]
        env.app.store.world["directories"][0]["api_key"] = "sim-not-the-key"
        first = env.cli("sim", "capture", "--out", str(out), "--issues", "none")
        assert first.exit_code != 0
        assert not out.exists()
        checkpoint = json.loads((tmp_path / "twin.json.partial").read_text("utf-8"))
        assert {"directory", "org_users", "idp"} <= set(checkpoint["sections"])
        assert "api_key" not in json.dumps(checkpoint) and good not in json.dumps(checkpoint)
        env.app.store.world["directories"][0]["api_key"] = good
        seen = len(env.app.log)
        second = env.cli("sim", "capture", "--out", str(out), "--issues", "none")
        assert second.exit_code == 0, second.output
        again = [r["path"] for r in env.app.log[seen:]]
    assert "resuming; already read: started, directory, workspaces, org_users, idp" in second.output
    assert not any("/admin/" in p or "/graph/" in p for p in again), again
    assert any("/scim/" in p for p in again)
    assert not (tmp_path / "twin.json.partial").exists()
    assert validate_world(json.loads(out.read_text("utf-8"))) == []


def test_issues_by_jql_and_bad_combinations(tmp_path: Path) -> None:
    source = load_world("acme-trello")
    with in_process("acme-trello", tmp_path) as env:
        twin = _capture(env, tmp_path, "--issues", "project = HELP")
        lonely = env.cli("sim", "capture", "--out", str(tmp_path / "x.json"), "--targets-out", "t")
        auto = env.cli("sim", "capture", "--out", str(tmp_path / "y.json"), "--issues", "auto")
    assert [i["key"] for i in twin["jira"]["issues"]] == [
        i["key"] for i in source["jira"]["issues"] if i["project"] == "HELP"
    ]
    assert (lonely.exit_code, lonely.output) == (
        2,
        "error: --targets-out needs --redact and --targets\n",
    )
    assert auto.exit_code == 2
    assert "--issues auto needs --targets FILE" in auto.output
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()
