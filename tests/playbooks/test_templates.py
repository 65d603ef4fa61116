"""Templates fill placeholders, nothing else (issue 11, point 4)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.http import HttpError
from scimrecon.sim.world import load_world
from scimrecon.steps.account_steps import parked_email
from scimrecon.steps.templates import fill, template_problem
from tests.playbooks.harness import in_process, targets

ALLOWED = ("local", "domain", "run")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{local}+old-{run}@{domain}", None),
        ("{local}+{{old}}@{domain}", None),
        ("{local.__class__}@{domain}", "{local.__class__} is not a placeholder"),
        ("{local!r}@{domain}", "{local!r} is not a placeholder"),
        ("{local:>40}@{domain}", "{local:>40} is not a placeholder"),
        ("{0}@{domain}", "{0} is not a placeholder"),
        ("{}@{domain}", "{} is not a placeholder"),
        ("{local}@{domain", "a lone '{' at character 9; write {{ for a brace"),
        ("{local}}@{domain}", "a lone '}' at character 8; write }} for a brace"),
    ],
)
def test_only_named_placeholders_are_templates(template: str, problem: str | None) -> None:
    found = template_problem(template, ALLOWED)
    assert found == problem if problem is None else (found is not None and problem in found)


def test_values_are_never_parsed_again() -> None:
    values = {"local": "{run}", "domain": "{local.__class__}", "run": "7"}
    assert fill("t", "{local}/{domain}/{run}/{{x}}", values) == "{run}/{local.__class__}/7/{x}"


_pieces = st.sampled_from([*"ab{}.!:_0", "{local}", "{run}", "{local.__class__}"])


@given(st.lists(_pieces, max_size=12).map("".join))
def test_fill_never_reaches_python_formatting(template: str) -> None:
    """Whatever the text, it is either refused or filled without attribute access."""
    if template_problem(template, ALLOWED) is None:
        out = fill("t", template, {"local": "L", "domain": "D", "run": "R"})
        assert "class" not in out


def test_the_parked_address_keeps_the_verified_domain() -> None:
    email = "ada.lovelace@acme.example"
    assert parked_email("{local}+old-{run}@{domain}", email, "12") == (
        "ada.lovelace+old-12@acme.example"
    )


@pytest.mark.parametrize(
    ("param", "says"),
    [
        (
            "email_template={local.__class__}@{domain}",
            "error: parameter 'email_template': '{local.__class__}@{domain}': "
            "{local.__class__} is not a placeholder (only {local}, {domain}, {run} are filled in)",
        ),
        (
            "email_template=old-{run}@{domain}",
            "error: parameter 'email_template': 'old-{run}@{domain}' has no {local}: "
            "every old account would get one address",
        ),
        (
            "email_template={local}@{domain}",
            "error: parameter 'email_template': '{local}@{domain}' gives every old account its "
            "own address back ('a@acme.example' for 'a@acme.example'): the old address must be "
            "freed for the new account; add something to {local}, such as the default's "
            "+old-{run}",
        ),
        (
            "email_template={local}+old@elsewhere.example",
            "error: parameter 'email_template': '{local}+old@elsewhere.example': the domain "
            "must be {domain} or a verified domain of the org ('elsewhere.example' is not; "
            "the profile's verified domains: acme.example)",
        ),
        (
            "email_template={local} old@{domain}",
            "error: parameter 'email_template': '{local} old@{domain}' gives addresses like "
            "'a old@acme.example': ' ' is not allowed in an email address",
        ),
        (
            "disable_message=Replaced in run {run!r}",
            "error: parameter 'disable_message': 'Replaced in run {run!r}': {run!r} is not a "
            "placeholder (only {run} is filled in)",
        ),
    ],
)
def test_a_bad_template_is_a_usage_error_when_planning(
    tmp_path: Path, param: str, says: str
) -> None:
    with in_process("acme-trello", tmp_path) as env:
        before = env.world()
        for command in ("plan", "run"):
            args = [command, "reprovision", "--targets", targets("acme-trello"), "--param", param]
            result = env.cli(*args, *(["--yes"] if command == "run" else []))
            assert result.exit_code == 2, result.output
            assert result.stderr.strip() == says
        assert env.writes() == []
        assert env.world() == before


def test_a_literal_verified_domain_is_accepted(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        result = env.cli(
            "plan",
            "reprovision",
            "--targets",
            targets("acme-trello"),
            "--param",
            "email_template={local}+parked-{run}@ACME.example",
        )
        assert result.exit_code == 0, result.output
        assert "samir.khan+parked-<run>@ACME.example" in result.output


def test_the_simulator_refuses_an_invalid_email_like_the_real_api(tmp_path: Path) -> None:
    with in_process("acme-trello", tmp_path) as env:
        services = env.services_factory()
        account = next(a for a in env.world()["accounts"] if a["email"].startswith("samir."))
        services.admin.delete_scim_record_only(account["account_id"])  # as reprovision does
        with pytest.raises(HttpError) as err:
            services.admin.set_email(account["account_id"], "<class 'str'>@acme.example")
        assert err.value.status == 400
        now = next(a for a in env.world()["accounts"] if a["account_id"] == account["account_id"])
        assert now["email"] == account["email"]
        put = [r for r in env.app.log if r["method"] == "PUT" and r["path"].endswith("/email")]
        assert [r["status"] for r in put] == [400]
        # and the world still loads (the saved world of the issue did not)
        body = httpx.Client(transport=httpx.WSGITransport(app=env.app)).get(
            "http://sim.localhost/_sim/world"
        )
        assert body.status_code == 200


def test_the_plan_checks_the_parked_address_with_the_widest_run_id() -> None:
    """A 57-byte local part fits `+old-1` but not `+old-12` (64 bytes at most): the plan
    cannot know the run id, so it checks with the widest one (the review of session 6: the
    sample id 1 let the plan pass and the run fail after its unlink)."""
    from scimrecon.engine.action import StepContext, StepFailed
    from scimrecon.steps.account_steps import ParkOldEmail

    email = "b" * 57 + "@acme.example"
    ctx = StepContext(run_id="", step_id="park-email", params={}, services=None, ui=None,
                      target_key=email, target={"email": email}, dry_run=True)  # fmt: skip
    with pytest.raises(StepFailed):
        ParkOldEmail().describe(ctx)
    assert parked_email("{local}+old-{run}@{domain}", email, "1")  # fits with a short id


def test_a_target_whose_parked_address_cannot_exist_is_not_started(tmp_path: Path) -> None:
    """Ada's local part is 59 characters: `+old-1` makes it longer than the 64 an address
    allows, so park-email would fail. The plan says so, and the run (confirmed at once, its
    reads adopted from the plan) does not start her: no pause, no unlink (review of session 6:
    the adopted reads had set her back to pending)."""
    long = "a" * 59 + "@acme.example"
    world = json.loads(json.dumps(load_world("acme-trello")).replace("ada.lovelace@", long[:60]))
    with in_process(world, tmp_path) as env:
        before = env.world()
        path = tmp_path / "t.csv"
        path.write_text(f"email\n{long}\n", encoding="utf-8")
        plan = env.cli("plan", "reprovision", "--targets", str(path), "--format", "json")
        assert plan.exit_code == 1, plan.output
        park = next(e for e in json.loads(plan.stdout)["entries"] if e["step"] == "park-email")
        assert park["status"] == "error" and park["text"].startswith("would fail: "), park
        result = env.cli("run", "reprovision", "--targets", str(path), "--yes")
        assert result.exit_code == 0, result.output
        status = json.loads(env.cli("status", "1", "--format", "json").stdout)
        (target,) = status["targets"]
        assert target["state"] == "skipped"
        assert target["reason"] == (
            f"not started: the plan shows park-email: {park['text'].removeprefix('would fail: ')}"
            "; nothing was changed"
        )
        assert env.writes() == []
        assert env.world() == before
