"""Each class of problem yields one exact message that names the JSON path of the bad field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scimrecon.errors import EXIT_USAGE, InputError
from scimrecon.sim.validate import faults_problems, render_path, validate_world
from scimrecon.sim.world import load_world
from tests.world.conftest import fixture_world

World = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[World], None]:
    """A mutation: set a dotted/indexed path such as `accounts.3.email`."""

    def apply(world: World) -> None:
        *parents, last = path.split(".")
        node: Any = world
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return apply


def _delete(path: str) -> Callable[[World], None]:
    def apply(world: World) -> None:
        *parents, last = path.split(".")
        node: Any = world
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return apply


def _copy_field(src: str, dst: str) -> Callable[[World], None]:
    def apply(world: World) -> None:
        node: Any = world
        for part in src.split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        _set(dst, node)(world)

    return apply


SCHEMA_CASES: list[tuple[str, Callable[[World], None], str]] = [
    ("bad email", _set("accounts.3.email", "x"), "accounts[3].email: 'x' is not an email"),
    (
        "policy without its type",
        _set("accounts.2.policy", {"name": "Frontline"}),
        "accounts[2].policy.billable: required field is missing",
    ),
    (
        "external as text",
        _set("accounts.2.external", "yes"),
        "accounts[2].external: expected a boolean, got a string 'yes'",
    ),
    (
        "missing field",
        _delete("accounts.5.status"),
        "accounts[5].status: required field is missing",
    ),
    (
        "enum",
        _set("accounts.6.status", "gone"),
        "accounts[6].status: 'gone' is not one of 'active', 'inactive', 'closed'",
    ),
    (
        "wrong type",
        _set("accounts.2.managed", "yes"),
        "accounts[2].managed: expected a boolean, got a string 'yes'",
    ),
    (
        "ids are strings",
        _set("jira.issues.0.reporter", 42),
        "jira.issues[0].reporter: expected a string or null, got a number 42",
    ),
    (
        "number given as text",
        _set("idp.cycle_seconds", "30"),
        "idp.cycle_seconds: expected a number, got a string '30'",
    ),
    (
        "bad date",
        _set("accounts.7.added_to_org", "2024-13-01"),
        "accounts[7].added_to_org: '2024-13-01' is not an ISO 8601 date",
    ),
    (
        "bad nested date",
        _set("accounts.0.product_access.1.last_active", "yesterday"),
        "accounts[0].product_access[1].last_active: 'yesterday' is not an ISO 8601 date",
    ),
    (
        "typo in a field name",
        _set("accounts.4.manged", True),
        "accounts[4].manged: unknown field (did you mean 'managed'?)",
    ),
    (
        "unknown top-level section",
        _set("jiraa", {}),
        "jiraa: unknown field (did you mean 'jira'?)",
    ),
    (
        "empty id",
        _set("org.id", ""),
        "org.id: must not be empty",
    ),
    (
        "job state enum",
        _set("idp.job.state", "Running"),
        "idp.job.state: 'Running' is not one of 'NotConfigured', 'NotRun', 'Active', "
        "'Paused', 'Quarantine'",
    ),
    (
        "idp kind enum",
        _set("idp.kind", "azure"),
        "idp.kind: 'azure' is not one of 'entra', 'okta', 'manual'",
    ),
    (
        "object_id must be a string",
        _set("idp.users.0.object_id", 7),
        "idp.users[0].object_id: expected a string, got a number 7",
    ),
    (
        "scim email",
        _set("scim_users.2.emails.0.value", "nobody"),
        "scim_users[2].emails[0].value: 'nobody' is not an email",
    ),
    (
        "issue key pattern",
        _set("jira.issues.0.key", "HELP-01"),
        "jira.issues[0].key: 'HELP-01' does not match ^[A-Z][A-Z0-9_]*-[1-9][0-9]*$",
    ),
    (
        "fault prefix",
        _set("faults./atlassian", {"error_rate": 2}),
        'faults["/atlassian"].error_rate: 2 is greater than the maximum of 1',
    ),
    (
        "fault typo",
        _set("faults./graph", {"latency": 5}),
        "faults[\"/graph\"].latency: unknown field (did you mean 'latency_ms'?)",
    ),
    (
        "billing tier",
        _set("billing.tier", 0),
        "billing.tier: 0 is less than the minimum of 1",
    ),
    (
        "top level not an object",
        lambda w: w.clear(),
        "org: required field is missing",
    ),
]

REFERENCE_CASES: list[tuple[str, Callable[[World], None], str]] = [
    (
        "SCIM user linked to no account",
        _set("scim_users.0.account_id", "712020:missing"),
        "scim_users[0].account_id: no account has id '712020:missing'",
    ),
    (
        "duplicate account id",
        _copy_field("accounts.0.account_id", "accounts.43.account_id"),
        "accounts[43].account_id: duplicate account id "
        "'712020:2f960063-bc67-4a94-a37d-6efa609e467a' (first at accounts[0].account_id)",
    ),
    (
        "duplicate email, other case",
        _set("accounts.9.email", "Priya.Raman@acme.example"),
        "accounts[9].email: duplicate email (emails are case-insensitive) "
        "'Priya.Raman@acme.example' (first at accounts[0].email)",
    ),
    (
        "duplicate userName in a directory",
        _set("scim_users.5.userName", "PRIYA.RAMAN@acme.example"),
        "scim_users[5].userName: duplicate userName in this directory "
        "'PRIYA.RAMAN@acme.example' (first at scim_users[0].userName)",
    ),
    (
        "duplicate issue key",
        _set("jira.issues.3.key", "HELP-1"),
        "jira.issues[3].key: duplicate issue key 'HELP-1' (first at jira.issues[0].key)",
    ),
    (
        "unknown reporter",
        _set("jira.issues.0.reporter", "nobody"),
        "jira.issues[0].reporter: no account has id 'nobody'",
    ),
    (
        "unknown assignee",
        _set("jira.issues.1.assignee", "nobody"),
        "jira.issues[1].assignee: no account has id 'nobody'",
    ),
    (
        "unknown participant",
        _set("jira.issues.0.participants", ["nobody"]),
        "jira.issues[0].participants[0]: no account has id 'nobody'",
    ),
    (
        "project does not match key",
        _set("jira.issues.0.project", "ENG"),
        "jira.issues[0].project: 'ENG' does not match key 'HELP-1'",
    ),
    (
        "group member that is not a SCIM user",
        _set("groups.1.members", ["ghost"]),
        "groups[1].members[0]: no SCIM user has id 'ghost'",
    ),
    (
        "entra without a job",
        _delete("idp.job"),
        "idp.job: required when idp.kind is 'entra'",
    ),
    (
        "entra without a client secret",
        _delete("idp.client_secret"),
        "idp.client_secret: required when idp.kind is 'entra'",
    ),
    (
        "duplicate IdP userName",
        _set("idp.users.3.userName", "priya.raman@acme.example"),
        "idp.users[3].userName: duplicate IdP userName 'priya.raman@acme.example' "
        "(first at idp.users[0].userName)",
    ),
    (
        "managed account off the org's domains",
        _set("accounts.2.email", "ada@gmail.example"),
        "accounts[2].managed: true, but 'ada@gmail.example' is not on the org's domains "
        "(acme.example)",
    ),
    (
        "external user that is managed",
        _set("accounts.0.external", True),
        "accounts[0].external: true, but the account is managed: an external user is an "
        "account the org does not manage",
    ),
    (
        "product the site does not have",
        _set("accounts.0.product_access.0.key", "jira-sofware"),
        "accounts[0].product_access[0].key: site 'acme' has no product 'jira-sofware'",
    ),
    (
        "one account linked twice in a directory",
        _copy_field("scim_users.0.account_id", "scim_users.1.account_id"),
        "scim_users[1].account_id: account '712020:2f960063-bc67-4a94-a37d-6efa609e467a' "
        "is already linked by scim_users[0] in the same directory",
    ),
]


@pytest.mark.parametrize(
    "mutate,expected", [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_schema_problem_message(
    acme: World, mutate: Callable[[World], None], expected: str
) -> None:
    mutate(acme)
    problems = validate_world(acme)
    assert problems[0] == expected
    if expected != "org: required field is missing":
        assert problems == [expected]


@pytest.mark.parametrize(
    "mutate,expected", [c[1:] for c in REFERENCE_CASES], ids=[c[0] for c in REFERENCE_CASES]
)
def test_reference_problem_message(
    acme: World, mutate: Callable[[World], None], expected: str | None
) -> None:
    mutate(acme)
    assert validate_world(acme) == [expected]


def test_cascading_reference_problems_are_all_listed(acme: World) -> None:
    """Ids in these messages are drawn from the fixture, so the expectations are built here."""
    scim0, scim1, scim4 = (acme["scim_users"][i]["id"] for i in (0, 1, 4))
    directory = acme["directories"][0]["id"]
    world = fixture_world("acme-trello")
    world["scim_users"][1]["directory"] = "dir-x"
    assert validate_world(world) == [
        "scim_users[1].directory: no directory has id 'dir-x'",
        f"groups[0].members[1]: SCIM user {scim1!r} is in another directory",
        f"groups[1].members[1]: SCIM user {scim1!r} is in another directory",
    ]
    world = fixture_world("acme-trello")
    world["scim_users"][4]["id"] = scim0
    assert validate_world(world) == [
        f"scim_users[4].id: duplicate SCIM user id {scim0!r} (first at scim_users[0].id)",
        f"groups[0].members[4]: no SCIM user has id {scim4!r}",
    ]
    world = fixture_world("acme-trello")
    world["directories"].append(dict(world["directories"][0]))
    assert validate_world(world) == [
        f"directories[1].id: duplicate directory id {directory!r} (first at directories[0].id)"
    ]


def test_an_empty_top_level_lists_every_required_section() -> None:
    assert validate_world({}) == [
        "org: required field is missing",
        "directories: required field is missing",
        "accounts: required field is missing",
        "scim_users: required field is missing",
    ]
    assert validate_world([]) == ["(top level): expected an object, got an array []"]


def test_all_problems_are_reported_at_once_in_document_order(acme: World) -> None:
    acme["scim_users"][0]["account_id"] = "nope"
    acme["accounts"][10]["status"] = "gone"
    acme["accounts"][3]["email"] = "x"
    acme["idp"]["users"][1]["assigned"] = "yes"
    del acme["idp"]["job"]
    assert validate_world(acme) == [
        "accounts[3].email: 'x' is not an email",
        "accounts[10].status: 'gone' is not one of 'active', 'inactive', 'closed'",
        "idp.users[1].assigned: expected a boolean, got a string 'yes'",
        "scim_users[0].account_id: no account has id 'nope'",
        "idp.job: required when idp.kind is 'entra'",
    ]


def test_load_world_raises_input_error_naming_file_and_paths(tmp_path: Path, acme: World) -> None:
    acme["accounts"][3]["email"] = "x"
    acme["jira"]["issues"][0]["reporter"] = "zz"
    path = tmp_path / "world.json"
    path.write_text(json.dumps(acme), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_world(path)
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.message.splitlines() == [
        f"{path}: 2 problems in the world",
        f"{path}: accounts[3].email: 'x' is not an email",
        f"{path}: jira.issues[0].reporter: no account has id 'zz'",
    ]


def test_a_long_list_of_problems_is_capped_but_counted(tmp_path: Path, acme: World) -> None:
    for account in acme["accounts"]:
        account["status"] = "gone"
    path = tmp_path / "w.json"
    path.write_text(json.dumps(acme), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_world(path)
    lines = caught.value.message.splitlines()
    assert lines[0] == f"{path}: 44 problems in the world"
    assert len(caught.value.problems) == 44  # type: ignore[attr-defined]
    assert len(lines) == 45


def test_extension_fields_and_optional_sections_are_accepted(acme: World) -> None:
    acme["x-note"] = "from ticket SUP-12"
    acme["accounts"][0]["x-source-row"] = 17
    acme["accounts"][0]["suspended_access"] = [{"key": "confluence", "site": "acme"}]
    acme["scim_users"][0]["attributes"] = {"title": "CTO"}
    acme["jira"]["issues"][0]["id"] = "10001"
    acme["idp"]["users"][0]["accountEnabled"] = False
    acme["faults"] = {"seed": 3, "/atlassian": {"rate_per_s": 5, "retry_after": False}}
    assert validate_world(acme) == []
    for section in ("jira", "idp", "billing", "faults", "groups", "sites"):
        del acme[section]
    assert validate_world(acme) == []


def test_billing_facts_are_expressible(acme: World) -> None:
    """External users, policy membership and access on a site the org does not manage
    (DESIGN.md's own example has `{"key": "trello", "site": "trello"}` with no such site)."""
    acme["accounts"][0]["product_access"].append({"key": "jira-software", "site": "globex"})
    acme["accounts"][1]["policy"] = {"name": "Frontline (non-billable)", "billable": False}
    external = next(a for a in acme["accounts"] if not a["managed"])
    external["external"] = True
    external["policy"] = {"name": "External user policy", "billable": True}
    assert validate_world(acme) == []
    del acme["sites"][1]  # trello: now a site the org does not list, still valid
    assert validate_world(acme) == []


def test_faults_alone_are_validated_with_the_same_rules() -> None:
    assert faults_problems({"seed": 1, "/jira": {"latency_ms": 10}}) == []
    assert faults_problems({"/jira": {"error_rate": -1}, "jira": {}}) == [
        "faults.jira: unknown field (allowed: seed)",
        'faults["/jira"].error_rate: -1 is less than the minimum of 0',
    ]
    assert faults_problems([]) == ["faults: expected an object, got an array []"]


@pytest.mark.parametrize(
    "parts,text",
    [
        ([], "(top level)"),
        (["accounts", 3, "email"], "accounts[3].email"),
        (["faults", "/atlassian", "latency_ms"], 'faults["/atlassian"].latency_ms'),
        (["accounts", 0, "x-source-row"], "accounts[0].x-source-row"),
        (["a b"], '["a b"]'),
    ],
)
def test_render_path(parts: list[str | int], text: str) -> None:
    assert render_path(parts) == text
