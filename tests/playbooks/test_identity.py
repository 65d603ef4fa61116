"""A target matches only itself (issue 11, point 1), end to end on the acme-trello fixture.

The loader refuses look-alike target lines (exit 2). To prove the second line of defence, a
test forces a look-alike past the loader and puts a *loose* directory in front of the
simulator (a transport that folds the filter value with NFKC + casefold, as the simulator did
before): the directory then answers with somebody else, and no step may act on that account.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimrecon.connectors.idp.entra import EntraAdapter
from scimrecon.connectors.scim import IdentityMismatch, ScimDirectory
from scimrecon.engine import targets as targets_module
from scimrecon.engine.action import Skip, StepContext
from scimrecon.http import HttpClient, HttpError, HttpSettings
from scimrecon.identity import identity_key, key_problem, same_identity
from scimrecon.retry import RetryPolicy
from scimrecon.sim.world import load_world
from scimrecon.steps.scim_steps import LookupUser
from tests.playbooks.harness import SimEnv, _services, in_process

SAMIR = "samir.khan@acme.example"
LONG_S = "\u017famir.khan@acme.example"
#: Look-alikes a careless server might fold onto their Latin letters (a TR39 skeleton, small).
_SKELETON = str.maketrans({"\u0455": "s", "\u0430": "a", "\u0435": "e", "\u043e": "o"})


def loose(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold().translate(_SKELETON)


class LooseDirectory(httpx.BaseTransport):
    """A SCIM directory whose userName filter folds more than the identity rule does."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        text = request.url.params.get("filter")
        if request.url.path.endswith("/Users") and text and text.startswith("userName eq "):
            value = json.loads(text[len("userName eq ") :])
            url = request.url.copy_set_param("filter", f"userName eq {json.dumps(loose(value))}")
            request = httpx.Request(request.method, url, headers=request.headers)
        return self.inner.handle_request(request)


def write_targets(tmp: Path, *emails: str) -> str:
    path = tmp / "targets.csv"
    path.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    return str(path)


def loose_env(env: SimEnv) -> SimEnv:
    """The same simulator, reached through a loose directory."""
    transport = LooseDirectory(httpx.WSGITransport(app=env.app))
    env.services_factory = _services(env.app, "http://sim.localhost", transport, env.clock)
    return env


def skip_reason(env: SimEnv) -> str:
    status = env.cli("status", "1", "--format", "json")
    (target,) = json.loads(status.stdout)["targets"]
    assert target["state"] == "skipped", target
    return str(target["reason"])


def person(world: dict[str, Any], email: str) -> dict[str, Any]:
    """Everything the world holds about one person (account, SCIM entry, tickets)."""
    account = next(a for a in world["accounts"] if a["email"] == email)
    ours = account["account_id"]
    issues = world["jira"]["issues"]
    return {
        "account": account,
        "scim": [u for u in world["scim_users"] if u.get("account_id") == ours],
        "tickets": sorted(i["key"] for i in issues if ours in (i["reporter"], i["assignee"])),
    }


def test_a_long_s_target_is_refused_when_the_list_is_loaded(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        path = write_targets(tmp_path, "ada.lovelace@acme.example", LONG_S)
        result = env.cli("run", "reprovision", "--targets", path, "--yes")
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines()[-1] == (
            f"error: targets.csv:3: email {LONG_S!r}: holds U+017F LATIN SMALL LETTER LONG S, "
            "a variant of 's': retype it as 's'"
        )
        assert env.writes() == []
        assert env.world() == before


def test_forced_past_the_loader_a_look_alike_changes_nothing_for_samir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(targets_module, "_vet", lambda *args: None)
    with in_process("acme-trello", tmp_path) as env:
        loose_env(env)
        before = person(env.world(), SAMIR)
        assert before["tickets"], "the fixture gives samir tickets to move"
        result = env.cli(
            "run", "reprovision", "--targets", write_targets(tmp_path, LONG_S), "--yes"
        )
        assert result.exit_code == 0, result.output
        reason = skip_reason(env)
        assert reason.startswith("not the same person: "), reason
        assert "samir.khan@acme.example" in reason  # the answer is named
        assert person(env.world(), SAMIR) == before
        touched = [r for r in env.writes() if before["account"]["account_id"] in r["path"]]
        assert touched == []
        scim_ids = {u["id"] for u in before["scim"]}
        assert [r for r in env.writes() if any(i in r["path"] for i in scim_ids)] == []


def _as_service_account(name: str) -> dict[str, Any]:
    """acme-trello with samir.khan renamed to a service account name everywhere."""
    text = json.dumps(load_world("acme-trello")).replace(SAMIR, name)
    return json.loads(text)


def test_protect_svc_cannot_be_bypassed_by_a_look_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = "svc-khan@acme.example"
    look_alike = "\u0455vc-khan@acme.example"  # Cyrillic dze
    assert key_problem(look_alike) is not None  # the loader refuses it...
    monkeypatch.setattr(targets_module, "_vet", lambda *args: None)  # ...forced past it here
    with in_process(_as_service_account(svc), tmp_path) as env:
        loose_env(env)
        before = person(env.world(), svc)
        result = env.cli(
            "run", "reprovision", "--targets", write_targets(tmp_path, look_alike), "--yes"
        )
        assert result.exit_code == 0, result.output
        assert skip_reason(env).startswith("not the same person: ")
        assert person(env.world(), svc) == before
        assert [r for r in env.writes() if before["account"]["account_id"] in r["path"]] == []


def test_protect_svc_still_protects_the_real_name_in_any_case(tmp_path: Path) -> None:
    svc = "svc-khan@acme.example"
    with in_process(_as_service_account(svc), tmp_path) as env:
        before = person(env.world(), svc)
        targets = write_targets(tmp_path, "SVC-Khan@Acme.Example")
        result = env.cli("plan", "reprovision", "--targets", targets, "--format", "json")
        assert result.exit_code == 0, result.output
        plan = json.loads(result.stdout)
        lookup = next(e for e in plan["entries"] if e["step"] == "lookup")
        assert lookup["status"] == "skip"
        assert lookup["text"].startswith("skip: protected: matches svc-*")
        assert person(env.world(), svc) == before


def _links_swapped(first: str, second: str) -> dict[str, Any]:
    """acme-trello with the SCIM entries of two people linked to each other's accounts (as a
    hand-made link, or an earlier fix stopped half-way, can leave them)."""
    world = load_world("acme-trello")
    account_of = {a["email"]: a["account_id"] for a in world["accounts"]}
    swap = {first: account_of[second], second: account_of[first]}
    for entry in world["scim_users"]:
        if entry["userName"] in swap:
            entry["account_id"] = swap[entry["userName"]]
    return world


def test_a_scim_entry_linked_to_another_persons_account_changes_nothing(tmp_path: Path) -> None:
    """The entry's userName is the target, the account it links to is somebody else's: the
    look-up compares the account's own email, and nobody is touched (before: Diego's and the
    org admin's accounts were renamed, Fatima's and Priya's entries unlinked)."""
    fatima, diego = "fatima.okafor@acme.example", "diego.alvarez@acme.example"
    priya, ada = "priya.raman@acme.example", "ada.lovelace@acme.example"
    world = _links_swapped(fatima, diego)
    world = json.loads(json.dumps(world))  # a plain copy for the second swap
    for entry, other in ((priya, ada), (ada, priya)):
        linked = next(u for u in world["scim_users"] if u["userName"] == entry)
        linked["account_id"] = next(a for a in world["accounts"] if a["email"] == other)[
            "account_id"
        ]
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli("run", "reprovision", "--targets", write_targets(tmp_path, fatima, priya),
                         "--yes")  # fmt: skip
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").stdout)
        reasons = {t["key"]: t["reason"] for t in status["targets"]}
        account_of = {a["email"]: a["account_id"] for a in before["accounts"]}
        scim_of = {u["userName"]: u["id"] for u in before["scim_users"]}
        assert reasons == {
            fatima: (
                f"not the same person: SCIM user {scim_of[fatima]} ({fatima}) links account "
                f"{account_of[diego]}, whose email is {diego!r}; check the link by hand: "
                f"scimrecon accounts show {fatima}"
            ),
            priya: (
                f"not the same person: SCIM user {scim_of[priya]} ({priya}) links account "
                f"{account_of[ada]}, whose email is {ada!r}; check the link by hand: "
                f"scimrecon accounts show {priya}"
            ),
        }
        assert env.writes() == []
        assert env.world() == before


def test_a_upn_that_is_not_the_mail_still_finds_its_own_account(tmp_path: Path) -> None:
    """Entra's userName is the UPN, which need not be the mail: Ada's entry says
    `ada.l@acme.example`, its primary email and her account say `ada.lovelace@...`. The entry's
    own email is the account's: the same person, so the look-up goes on (the review of the
    first version, which compared only the userName, refused every such user)."""
    world = load_world("acme-trello")
    entry = next(u for u in world["scim_users"] if u["userName"].startswith("ada."))
    idp = next(u for u in world["idp"]["users"] if u["userName"].startswith("ada."))
    entry["userName"] = idp["userName"] = "ada.l@acme.example"
    with in_process(world, tmp_path) as env:
        plan = env.cli(
            "plan", "reprovision", "--targets", write_targets(tmp_path, "ada.l@acme.example"),
            "--format", "json",
        )  # fmt: skip
        assert plan.exit_code == 0, plan.output
        lookup = next(e for e in json.loads(plan.stdout)["entries"] if e["step"] == "lookup")
        assert lookup["status"] == "would", lookup  # read, not skipped
        park = next(e for e in json.loads(plan.stdout)["entries"] if e["step"] == "park-email")
        assert "ada.lovelace+old-" in park["text"], park


def test_mail_swapped_in_the_idp_does_not_make_another_person_the_target(
    tmp_path: Path,
) -> None:
    """Fatima's and Diego's mail swapped in the IdP: each SCIM entry carries the other's address
    and links the other's account (Atlassian links by email). Fatima's entry's own email is
    Diego's address, which is Diego's entry's userName: nobody is touched (the second review of
    session 6 reproduced Diego's account planned for parking and disabling)."""
    fatima, diego = "fatima.okafor@acme.example", "diego.alvarez@acme.example"
    world = _links_swapped(fatima, diego)
    entries = {u["userName"]: u for u in world["scim_users"]}
    entries[fatima]["emails"], entries[diego]["emails"] = (
        entries[diego]["emails"],
        entries[fatima]["emails"],
    )
    with in_process(world, tmp_path) as env:
        before = env.world()
        result = env.cli(
            "run", "reprovision", "--targets", write_targets(tmp_path, fatima), "--yes"
        )
        assert result.exit_code == 0, result.output
        assert skip_reason(env) == (
            f"not the same person: SCIM user {entries[fatima]['id']} ({fatima}) has the email "
            f"{diego!r}, which is another SCIM user's userName; check the link by hand: "
            f"scimrecon accounts show {fatima}"
        )
        assert env.writes() == []
        assert env.world() == before


# -- the property: no step acts on an account whose address differs from the target ----------

_letters = st.sampled_from(
    [*"samirkhnSAK.", "\u017f", "\u212a", "\u0455", "\u0430", "\u00df", "\u00e9", "\u200b"]
)
_addresses = st.lists(_letters, min_size=1, max_size=10).map(
    lambda chars: "".join(chars) + "@acme.example"
)


class AnswersWith:
    """A directory that answers every look-up with one fixed user: the loosest server."""

    def __init__(self, user_name: str) -> None:
        self.user_name = user_name

    def __call__(self, request: httpx.Request) -> httpx.Response:
        resource = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u-1",
            "userName": self.user_name,
            "active": True,
            "urn:scim:schemas:extension:atlassian-external:1.0": {"atlassianAccountId": "acc-1"},
        }
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": [resource],
        }
        return httpx.Response(200, json=body)


def _directory(user_name: str) -> ScimDirectory:
    settings_ = HttpSettings(
        transport=httpx.MockTransport(AnswersWith(user_name)), retry=RetryPolicy(attempts=1)
    )
    return ScimDirectory(
        HttpClient("SCIM directory", "https://scim.example/d1", None, settings=settings_)
    )


class Untouchable:
    """Any use of another service is a step acting on the account: the test fails."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a step went on to use {name} for another person's account")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_addresses, _addresses)
def test_no_step_acts_on_an_account_whose_address_differs(answer: str, target: str) -> None:
    directory = _directory(answer)
    services = SimpleNamespace(scim=directory, admin=Untouchable(), idp=Untouchable())
    ctx = StepContext(
        run_id="1",
        step_id="lookup",
        params={"protect": ""},
        services=services,
        ui=None,
        target_key=target,
        target={"email": target},
    )
    if same_identity(answer, target):
        assert directory.find_by_username(target) is not None
        return
    with pytest.raises(IdentityMismatch):
        directory.find_by_username(target)
    with pytest.raises(Skip) as skip:
        LookupUser().apply(ctx)
    assert skip.value.reason.startswith("not the same person")
    assert identity_key(answer) != identity_key(target)


def test_entra_never_pushes_a_user_whose_upn_is_another_person() -> None:
    """Graph answers GET /users/{upn} by its own matching; the adapter checks the answer."""

    def graph(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "obj-1", "userPrincipalName": SAMIR})

    settings_ = HttpSettings(transport=httpx.MockTransport(graph), retry=RetryPolicy(attempts=1))
    http = HttpClient("Microsoft Graph", "https://graph.example/v1.0", None, settings=settings_)
    adapter = EntraAdapter(http, "sp-1", "job-1", "rule-1")
    with pytest.raises(HttpError, match="not the same person"):
        adapter.object_id(LONG_S)
    assert adapter.object_id("Samir.Khan@ACME.example") == "obj-1"
