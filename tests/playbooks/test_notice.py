"""Issue 16 points 3-5: notice before removal, over the simulator's real SMTP server.

The simulator runs in-process on a fake clock (a week's notice passes by moving the clock);
its SMTP server (aiosmtpd) listens on a real loopback socket, because notices go out through
smtplib like they would to a company's mail server. Expected mail text is built here from the
template file with plain `str.replace`, not with the product's template code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from scimrecon.engine.state import StateStore
from scimrecon.steps.notice_templates import SHIPPED
from tests.playbooks.harness import FIXTURES, SimEnv, accounts_by_email, in_process

INACTIVE = json.loads((FIXTURES / "inactive-licences" / "expected.json").read_text())["classes"]
CHOSEN = sorted(INACTIVE["inactive_90d"])
JULIA = "julia.rossi@acme.example"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()
DAY = 86400.0
#: Display names of the fixture's product keys (Atlassian's names, as the export uses them).
NAMES = {"jira-software": "Jira Software", "confluence": "Confluence", "trello": "Trello"}


def _targets(tmp: Path, emails: list[str]) -> str:
    path = tmp / "targets.csv"
    path.write_text("email\n" + "\n".join(emails) + "\n", encoding="utf-8")
    return str(path)


def _expected_mail(template: str, email: str, products: list[str], days: int, act_on: str):
    text = (SHIPPED / f"{template}.txt").read_text(encoding="utf-8")
    values = {
        "{email}": email,
        "{products}": ", ".join(sorted(NAMES[p] for p in products)),
        "{notice_days}": str(days),
        "{act_on}": act_on,
        "{run}": "1",
        "{sender}": "it-admin@acme.example",
    }
    for key, value in values.items():
        text = text.replace(key, value)
    subject_line, _, body = text.partition("\n\n")
    return subject_line.removeprefix("Subject: "), body.strip("\n") + "\n"


def _run_notice(env: SimEnv, targets: str, *extra: str):
    return env.cli(
        "run", "inactive-licences", "--targets", targets, "--yes",
        "--param", "as_of=2026-11-23", "--param", "notice_days=7", *extra,
    )  # fmt: skip


def _products(env: SimEnv) -> dict[str, list[str]]:
    return {
        email: [p["key"] for p in a.get("product_access") or []]
        for email, a in accounts_by_email(env.world()).items()
    }


def _reasons(env: SimEnv) -> dict[str, tuple[str, str | None]]:
    status = json.loads(env.cli("status", "1", "--format", "json").output)
    return {t["key"]: (t["state"], t["reason"]) for t in status["targets"]}


def test_notice_period_keeps_who_logs_in_and_suspends_the_others(tmp_path: Path) -> None:
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        env.clock.t = START
        before = _products(env)
        result = _run_notice(env, _targets(tmp_path, CHOSEN))
        assert result.exit_code == 3, result.output  # parked for the notice period
        assert "resume with `scimrecon resume 1`" in result.output
        assert _products(env) == before  # nobody loses anything before the notice ends

        mail = env.mail()
        assert sorted(m["to"][0] for m in mail) == CHOSEN
        for message in mail:
            (to,) = message["to"]
            subject, body = _expected_mail("inactive-notice", to, before[to], 7, "2026-11-30")
            assert message["from"] == "it-admin@acme.example"
            assert message["subject"] == subject
            assert message["body"] == body
            assert message["at"] == "2026-11-23T09:00:00Z"

        # Day 3: Julia reads the mail and logs in. Day 7: the period is over, but the activity
        # data may be a day behind, so the run still waits; nothing is sent again.
        env.clock.t = START + 3 * DAY
        env.control("POST", "/_sim/login", {"user": JULIA})
        env.clock.t = START + 7 * DAY + 3600
        again = env.cli("resume", "--all", "--yes")
        assert again.exit_code == 0, again.output
        assert "run 1 parked" in again.output
        assert _products(env) == before

        env.clock.t = START + 8 * DAY
        done = env.cli("resume", "--all", "--yes")
        assert done.exit_code == 0, done.output
        assert "run 1 completed: 3 done, 1 skipped" in done.output
        after = _products(env)
        assert after[JULIA] == before[JULIA]
        for email in CHOSEN:
            if email != JULIA:
                assert after[email] == [], email
        assert _reasons(env)[JULIA] == ("skipped", "kept: active on 2026-11-26, after the notice")
        assert len(env.mail()) == len(CHOSEN)  # each notice sent once


def test_dry_run_sends_no_mail(tmp_path: Path) -> None:
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        env.clock.t = START
        result = _run_notice(env, _targets(tmp_path, CHOSEN), "--dry-run")
        assert result.exit_code == 0, result.output
        assert f"would email {CHOSEN[0]} the notice" in result.output
        assert env.mail() == []
        assert env.writes() == []
        assert not env.state.exists()


def test_a_refused_recipient_fails_that_target_only(tmp_path: Path) -> None:
    refused = CHOSEN[1]
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        env.clock.t = START
        env.control("PUT", "/_sim/mail/reject", {"recipients": [refused]})
        before = _products(env)
        first = _run_notice(env, _targets(tmp_path, CHOSEN))
        assert first.exit_code == 3, first.output
        assert sorted(m["to"][0] for m in env.mail()) == [e for e in CHOSEN if e != refused]
        state, reason = _reasons(env)[refused]
        assert state == "failed"
        assert reason.startswith("notify: notice not sent: 127.0.0.1:")
        assert f"refused {refused}: 550 5.1.1 mailbox unavailable (simulated)" in reason

        env.clock.t = START + 8 * DAY
        done = env.cli("resume", "1", "--yes")
        assert done.exit_code == 1, done.output  # one target failed
        assert f"failed {refused} at notify" in done.output
        after = _products(env)
        assert after[refused] == before[refused]  # never suspended without its notice
        assert all(after[e] == [] for e in CHOSEN if e != refused)


def test_resume_all_skips_finished_runs_and_says_when_none_is_parked(tmp_path: Path) -> None:
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        env.clock.t = START
        assert env.cli("resume", "--all").output.startswith("no parked runs")
        assert _run_notice(env, _targets(tmp_path, CHOSEN[:1])).exit_code == 3
        both = env.cli("resume", "--all", "7")
        assert both.exit_code == 2
        assert "resume --all takes no RUN_ID" in both.output
        early = env.cli("resume", "--all", "--format", "json")
        assert early.exit_code == 0, early.output
        doc = json.loads(early.stdout)
        assert [(r["run"], r["state"]) for r in doc["runs"]] == [("1", "parked")]
        assert (doc["not_resumed"], doc["exit_code"]) == ([], 0)
        env.clock.t = START + 8 * DAY
        assert env.cli("resume", "--all", "--yes").exit_code == 0
        assert env.cli("resume", "--all").output.startswith("no parked runs")


def test_resume_all_goes_on_past_a_run_it_cannot_take(tmp_path: Path) -> None:
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        env.clock.t = START
        assert _run_notice(env, _targets(tmp_path, CHOSEN[:1])).exit_code == 3
        assert _run_notice(env, _targets(tmp_path, CHOSEN[1:2])).exit_code == 3
        env.clock.t = START + 8 * DAY
        holder = StateStore.open(env.state)  # another process driving run 1 right now
        try:
            holder.acquire("1")
            result = env.cli("resume", "--all", "--yes")
        finally:
            holder.release("1")
            holder.close()
        assert result.exit_code == 4, result.output
        assert "run 1 not resumed: run 1 is in use by pid" in result.output
        assert "run 2 completed: 1 done" in result.output
        assert _products(env)[CHOSEN[1]] == []
        assert _products(env)[CHOSEN[0]] != []


def test_a_bad_notice_template_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    template = tmp_path / "notice.txt"
    template.write_text("Subject: Hello {name}\n\nBye\n", encoding="utf-8")
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        result = _run_notice(
            env, _targets(tmp_path, CHOSEN), "--param", f"notice_template={template}"
        )
        assert result.exit_code == 2
        assert f"notice template {template}: the subject: {{name}} is not a placeholder" in (
            result.output
        )
        assert env.mail() == []
        assert env.writes() == []


def test_notify_trello_owners_mails_the_steps_and_lists_who_still_has_trello(
    tmp_path: Path,
) -> None:
    expected = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text())
    trello_only = sorted(expected["trello_only"])
    also_jira = "chloe.martin@acme.example"  # Trello and Jira: deleting Trello changes nothing
    gone = trello_only[0]
    with in_process("acme-trello", tmp_path, smtp=True) as env:
        env.clock.t = START
        targets = _targets(tmp_path, [*trello_only, also_jira])
        first = env.cli("run", "notify-trello-owners", "--targets", targets, "--yes")
        assert first.exit_code == 3, first.output
        mail = env.mail()
        assert sorted(m["to"][0] for m in mail) == trello_only
        for message in mail:
            (to,) = message["to"]
            subject, body = _expected_mail("trello-workspace", to, ["trello"], 14, "2026-12-07")
            assert (message["subject"], message["body"]) == (subject, body)
        assert _reasons(env)[also_jira] == (
            "skipped",
            "billable through Confluence, Jira Software too: deleting a Trello workspace would "
            "not take them off the bill",
        )

        env.clock.t = START + 5 * DAY
        env.control("POST", "/_sim/drop-product", {"user": gone, "product": "trello"})
        env.clock.t = START + 15 * DAY
        done = env.cli("resume", "--all", "--yes")
        assert done.exit_code == 0, done.output
        assert f"{trello_only[1]} still has Trello access" in done.output
        report = json.loads(env.cli("report", "1", "--format", "json").output)
        rows = {r["key"]: r["outputs"] for r in report["targets"]}
        assert rows[gone]["trello_access"] == "gone"
        assert all(rows[e]["trello_access"] == "still" for e in trello_only[1:])
        assert "trello_access" not in rows[also_jira]
        assert len(env.mail()) == len(trello_only)


def test_the_smtp_password_is_used_but_never_recorded(tmp_path: Path) -> None:
    password = "s3cret-smtp-Pa55word"
    with in_process("inactive-licences", tmp_path, smtp_login=("notices", password)) as env:
        env.clock.t = START
        result = _run_notice(env, _targets(tmp_path, CHOSEN))
        assert result.exit_code == 3, result.output
        assert len(env.mail()) == len(CHOSEN)  # the server let the product log in
        log = env.cli("log", "1")
        assert "notify" in log.output and "notice_message_id=<scimrecon.1.notify." in log.output
        for text in (result.output, log.output, env.state.read_bytes().decode("latin-1")):
            assert password not in text


def test_a_notice_without_an_smtp_section_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    with in_process("inactive-licences", tmp_path) as env:  # no [smtp] in the profile
        result = _run_notice(env, _targets(tmp_path, CHOSEN))
        assert result.exit_code == 2
        assert "has no [smtp] section, needed for sending notices (notify.email)" in result.output
        assert env.writes() == []
        without = env.cli(
            "run", "inactive-licences", "--targets", _targets(tmp_path, CHOSEN[:1]), "--yes",
            "--param", "as_of=2026-11-23",
        )  # fmt: skip
        assert without.exit_code == 0, without.output  # notice_days = 0: no mail, no [smtp]


def test_notify_trello_owners_takes_the_options_list_and_checks_its_account_ids(
    tmp_path: Path,
) -> None:
    """`scimrecon options --option 3 --targets-out` writes email,account_id,name,reason."""
    expected = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text())
    first, second = sorted(expected["trello_only"])[:2]
    with in_process("acme-trello", tmp_path, smtp=True) as env:
        env.clock.t = START
        ids = {e: a["account_id"] for e, a in accounts_by_email(env.world()).items()}
        targets = tmp_path / "option3.csv"
        targets.write_text(
            "email,account_id,name,reason\n"
            f"{first},{ids[first]},A,billable only through Trello\n"
            f"{second},{ids[first]},B,billable only through Trello\n",  # a wrong id
            encoding="utf-8",
        )
        plan = env.cli(
            "plan", "notify-trello-owners", "--targets", str(targets), "--format", "json"
        )
        assert plan.exit_code == 1, plan.output  # the plan says so, and plans nothing after it
        planned = [e for e in json.loads(plan.stdout)["entries"] if e["target"] == second]
        assert [(e["step"], e["status"]) for e in planned] == [("lookup", "error")]
        assert planned[0]["text"].startswith("fails here: the target list says account ")
        result = env.cli("run", "notify-trello-owners", "--targets", str(targets), "--yes")
        assert result.exit_code == 3, result.output
        assert [m["to"] for m in env.mail()] == [[first]]
        assert _reasons(env)[second] == (
            "failed",
            f"lookup: the target list says account {ids[first]} for {second}, but the org "
            f"says {ids[second]}: nothing was changed for it; fix the list (or make it again) "
            "and start a new run with it",
        )


def test_an_address_moved_during_the_notice_is_not_suspended(tmp_path: Path) -> None:
    """The notice went to an address; if that address moves to someone else before the period
    ends, the account is not suspended as the list's person (trial 7, finding 1)."""
    moved = next(e for e in CHOSEN if e != JULIA)
    with in_process("inactive-licences", tmp_path, smtp=True) as env:
        env.clock.t = START
        before = _products(env)
        result = _run_notice(env, _targets(tmp_path, [moved]))
        assert result.exit_code == 3, result.output
        env.clock.t = START + 3 * DAY
        account = accounts_by_email(env.app.store.world)[moved]
        account["email"] = "renamed." + moved
        env.clock.t = START + 8 * DAY
        done = env.cli("resume", "--all", "--yes")
        assert done.exit_code == 1, done.output
        state, reason = _reasons(env)[moved]
        assert state == "failed", reason
        assert reason is not None and f"has address 'renamed.{moved}' now, not '{moved}'" in reason
        assert _products(env)["renamed." + moved] == before[moved]  # nothing suspended
