"""`scimrecon options` (issue 16): the six ways out, counted on the fixture worlds.

Every expected count and saving is computed here from the world file itself, with a few
lines of independent rule, never with scimrecon.recon: who is billable only through Trello,
and which of them an IdP manages (a SCIM entry links the account).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.cli.main import cli
from tests.recon.test_reconcile_live_entra import live

from .conftest import FIXTURES, load_world

AS_OF = date(2026, 11, 23)
PRICE = Decimal("8")
WORLDS = ["acme-trello", "drift", "guard-billing", "manual", "okta"]


def trello_only(world: dict[str, Any]) -> dict[str, bool]:
    """email -> is IdP-managed, for the accounts billable only through Trello that no
    protection keeps off the lists (admins, apps, added in the last 30 days)."""
    linked = {s.get("account_id") for s in world["scim_users"]}
    found = {}
    for a in world["accounts"]:
        keys = {p["key"] for p in a.get("product_access") or []}
        added = a.get("added_to_org")
        if (
            a["status"] == "active"
            and a.get("managed")
            and (a.get("policy") or {}).get("billable", True)
            and keys == {"trello"}
            and a.get("org_role", "member") == "member"
            and a.get("account_type", "atlassian") == "atlassian"
            and added
            and (AS_OF - date.fromisoformat(added[:10])).days >= 30
        ):
            found[a["email"]] = a["account_id"] in linked
    return found


def saving(users: int) -> float:
    return float(PRICE * users * 12)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def export_json(name: str, *extra: str) -> dict[str, Any]:
    code, out, err = run(
        "options",
        str(FIXTURES / name / "users-export.csv"),
        "--as-of",
        AS_OF.isoformat(),
        "--price",
        str(PRICE),
        "--domain",
        "acme.example",
        "--format",
        "json",
        *extra,
    )
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("name", WORLDS)
def test_counts_and_savings_from_an_export_match_the_world(name: str) -> None:
    expected = trello_only(load_world(name))
    doc = export_json(name)
    options = doc["options"]
    assert [o["option"] for o in options] == [1, 2, 3, 4, 5, 6]
    for o in options:
        assert set(o) >= {"option", "name", "users", "yearly_saving", "gives_up", "who_acts",
                          "next_command", "user_list"}  # fmt: skip
        assert {u["email"] for u in o["user_list"]} == set(expected), o["option"]
        assert all(set(u) >= {"email", "account_id", "reason"} for u in o["user_list"])
        # an export cannot say who an IdP manages: option 4 (deactivate) takes nobody
        users = 0 if o["option"] == 4 else len(expected)
        assert (o["users"], o["yearly_saving"]) == (users, saving(users)), o["option"]
    reasons = {u["reason"] for u in options[3]["user_list"]}
    assert all("never deactivated on a guess" in r for r in reasons)


def test_acme_trello_is_the_six_users_of_the_reprovision_story() -> None:
    expected = json.loads((FIXTURES / "acme-trello" / "expected.json").read_text())
    assert set(trello_only(load_world("acme-trello"))) == set(expected["trello_only"])
    doc = export_json("acme-trello")
    assert doc["options"][1]["users"] == 6 and doc["options"][1]["yearly_saving"] == 576.0
    assert doc["options"][1]["next_command"].endswith(
        "scimrecon run non-billable-policy --targets option2.csv --param policy_id=POLICY_ID"
    )
    assert "notify-trello-owners" in doc["options"][2]["next_command"]


def _two_not_idp_managed() -> tuple[dict[str, Any], list[str]]:
    """acme-trello where two of the six have no SCIM entry and no IdP user (invited)."""
    world = copy.deepcopy(load_world("acme-trello"))
    emails = sorted(trello_only(world))[:2]
    ids = {a["account_id"] for a in world["accounts"] if a["email"] in emails}
    world["scim_users"] = [s for s in world["scim_users"] if s.get("account_id") not in ids]
    world["idp"]["users"] = [u for u in world["idp"]["users"] if u.get("mail") not in emails]
    return world, emails


def test_live_knows_who_an_idp_manages_and_reads_the_price_from_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _ = _two_not_idp_managed()
    expected = trello_only(world)
    idp = {e for e, managed in expected.items() if managed}
    price = Decimal(str(world["billing"]["price_per_user_month"]))
    with live(world, tmp_path, monkeypatch) as (env, invoke):
        result = invoke("options", "--live", "--as-of", AS_OF.isoformat(), "--format", "json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert env.writes() == []  # options only reads
    got = {o["option"]: o for o in doc["options"]}
    qualifying = {n: {u["email"] for u in o["user_list"] if u["qualifies"]} for n, o in got.items()}
    assert qualifying == {
        1: set(expected) - idp,
        2: set(expected),
        3: set(expected),
        4: set(expected) - idp,
        5: set(expected),
        6: idp,
    }
    for n, o in got.items():
        assert o["yearly_saving"] == float(price * len(qualifying[n]) * 12)
    refused = {u["email"]: u["reason"] for u in got[4]["user_list"] if not u["qualifies"]}
    assert set(refused) == idp
    assert all(r.startswith("an IdP manages this account") for r in refused.values())


def test_claim_list_support_request_and_targets_are_written_and_read_back(
    tmp_path: Path,
) -> None:
    world = load_world("acme-trello")
    affected = trello_only(world)
    export = FIXTURES / "acme-trello" / "users-export.csv"
    with export.open(encoding="utf-8") as fh:
        managed = [r["email"] for r in csv.DictReader(fh) if r["Claimed"] == "Yes"]
    claim, request, targets = tmp_path / "claim.csv", tmp_path / "req.txt", tmp_path / "t.csv"
    code, _, err = run(
        "options", str(export), "--as-of", AS_OF.isoformat(), "--price", "8",
        "--domain", "acme.example", "--claim-list", str(claim),
        "--support-request", str(request), "--option", "2", "--targets-out", str(targets),
    )  # fmt: skip
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(claim.read_text(encoding="utf-8"))))
    assert rows[0] == ["email"]
    assert [r[0] for r in rows[1:]] == [e for e in managed if e not in affected]
    assert f"wrote {len(managed) - len(affected)} account(s) to claim to {claim}" in err
    assert "trade-off (option 1): the 6 affected user(s) are left out" in err
    assert "SSO, enforced two-step verification" in err
    text = request.read_text(encoding="utf-8")
    assert text.index("WARNING:") < text.index("1. account id:")
    assert "Boards, pages and issues only this person could see are deleted" in text
    assert "ticket" in text and "former user" in text
    by_email = {a["email"]: a for a in world["accounts"]}
    for email in affected:
        block = text[text.index(f"   email: {email}") - 80 :]
        assert f"account id: {by_email[email]['account_id']}" in block.split("email:")[0]
    assert text.count("   products: Trello (trello)") == len(affected)
    with targets.open(encoding="utf-8") as fh:
        listed = list(csv.DictReader(fh))
    assert {r["email"] for r in listed} == set(affected)
    assert {r["account_id"] for r in listed} == {by_email[e]["account_id"] for e in affected}


def test_table_shows_one_row_per_option_with_the_price(tmp_path: Path) -> None:
    code, out, err = run(
        "options", str(FIXTURES / "acme-trello" / "users-export.csv"),
        "--as-of", AS_OF.isoformat(), "--price", "8", "--domain", "acme.example",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("price: 8.00 per user and month; saving = users x price x 12")
    for n in range(1, 7):
        assert f"\noption {n}: " in out
    assert "576.00" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--option", "2"], "--targets-out and --option go together"),
        ([], "--price is needed"),
        (["--live"], "give an EXPORT file or --live, not both"),
    ],
)
def test_bad_usage_is_one_clear_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no profile around
    monkeypatch.delenv("SCIMRECON_PROFILE", raising=False)
    export = str(FIXTURES / "acme-trello" / "users-export.csv")
    if "--option" in args:
        args = [*args, "--price", "8"]
    code, _, err = run("options", export, "--domain", "acme.example", *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_claim_list_over_10000_addresses_is_split_into_files(tmp_path: Path) -> None:
    from scimrecon.recon.option_files import claim_parts

    emails = [f"user{n}@acme.example" for n in range(10_001)]
    parts = claim_parts(tmp_path / "claim.csv", emails)
    assert [p.name for p, _ in parts] == ["claim.csv", "claim-2.csv"]
    first, second = (list(csv.reader(io.StringIO(text))) for _, text in parts)
    assert first[0] == second[0] == ["email"]
    assert [r[0] for r in first[1:] + second[1:]] == emails
    assert len(first) - 1 == 10_000


candidates = st.lists(
    st.tuples(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.booleans()),
    unique_by=lambda t: t[0],
    max_size=30,
)


@given(candidates, st.decimals(min_value=0, max_value=1000, places=2), st.booleans())
def test_option_counts_and_savings_add_up(
    people: list[tuple[str, bool]], price: Decimal, known: bool
) -> None:
    from scimrecon.recon.classify import Candidate
    from scimrecon.recon.options import decide

    found = [
        Candidate(f"{n}@acme.example", n, n, "billable only through Trello") for n, _ in people
    ]
    idp = {n for n, managed in people if managed}
    options = decide(
        found,
        price_per_user_month=price,
        idp_managed=(lambda account_id: account_id in idp) if known else None,
    )
    users = {o.number: o.users for o in options}
    n = len(people)
    assert users[2] == users[3] == users[5] == n
    if known:
        assert users[1] == users[4] == n - len(idp) and users[6] == len(idp)
    else:
        assert users[1] == users[6] == n and users[4] == 0
    for o in options:
        assert o.yearly_saving == price * o.users * 12
        assert len(o.verdicts) == n and all(v.reason for v in o.verdicts)


@given(
    st.lists(st.from_regex(r"[A-Za-z]{1,6}@acme\.example", fullmatch=True), max_size=40),
    st.lists(st.from_regex(r"[A-Za-z]{1,6}@acme\.example", fullmatch=True), max_size=10),
)
def test_the_claim_list_leaves_out_exactly_the_affected_users(
    managed: list[str], affected: list[str]
) -> None:
    from scimrecon.identity import identity_key
    from scimrecon.recon.options import claim_list

    kept = claim_list(managed, affected)
    left_out = {identity_key(e) for e in affected}
    keys = [identity_key(e) for e in kept]
    assert len(keys) == len(set(keys))  # each account once
    assert not set(keys) & left_out
    assert set(keys) == {identity_key(e) for e in managed} - left_out


def test_an_address_a_spreadsheet_reads_as_a_formula_is_left_out_and_named(
    tmp_path: Path,
) -> None:
    """A `'` before `-ann@...` would keep a spreadsheet safe but change the address Atlassian
    reads; such an address is left out of the claim list and named instead."""
    source = (FIXTURES / "acme-trello" / "users-export.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(source)))
    victim = next(r["email"] for r in rows if r["Claimed"] == "Yes" and "admin" not in r["email"])
    export = tmp_path / "export.csv"
    export.write_text(source.replace(victim, "-" + victim), encoding="utf-8")
    claim = tmp_path / "claim.csv"
    code, _, err = run(
        "options", str(export), "--as-of", AS_OF.isoformat(), "--price", "8",
        "--domain", "acme.example", "--claim-list", str(claim),
    )  # fmt: skip
    assert code == 0, err
    written = [r[0] for r in csv.reader(io.StringIO(claim.read_text(encoding="utf-8")))]
    assert "-" + victim not in written and "'-" + victim not in written
    assert f"warning: left out of the claim list, claim by hand: -{victim} (" in err
