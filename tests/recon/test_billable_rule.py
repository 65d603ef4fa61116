"""The billable rule (recon/billable.py) against an independent reading of Atlassian's pages.

The oracle below is written from the sources (docs/analysis.md, "Billable rules"), as a table
of exclusions checked in the documented order, not by calling the code under test; the
properties then hold the rule, the analyser and the export round trip to it.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimrecon.cli.main import cli
from scimrecon.recon.analysis import Analyzer
from scimrecon.recon.billable import UNMANAGED_NOTE, account_verdict, verdict
from scimrecon.recon.classify import Policy
from scimrecon.recon.export import read_records
from scimrecon.recon.model import ProductAccess, UserRecord, product_name
from scimrecon.recon.world import export_from_world

STATUSES = ("active", "inactive", "closed", "suspended", "pending")
TYPES = ("atlassian", "app", "customer")
KEYS = ("jira-software", "confluence", "trello", "jira-servicedesk", "bitbucket", "loom")
SITES = ("acme", "trello", "globex", "initech")
ORG_SITES = frozenset({"acme", "trello"})

# The exclusions, each with the words of its source, in the order the sources are applied.
EXCLUSIONS: list[tuple[str, Any]] = [
    # "deactivated accounts aren't billable"; "not billed ... when their access is suspended"
    ("inactive", lambda f: f["status"] != "active"),
    # portal-only customers "are not billable for Atlassian Guard" (JSDCLOUD-10608)
    ("portal-only", lambda f: f["account_type"] == "customer"),
    # "you only pay once for each managed account and external user"; an external user is one
    # the org does not manage who uses its apps ("Users in an external user policy count
    # towards your ... bill"): where the source does not say, access on an org site makes one
    ("not-org-user", lambda f: not (f["managed"] or _external(f))),
    # "Managed users in a non-billable authentication policy will not be considered billable"
    ("non-billable-policy", lambda f: f["policy_billable"] is False),
    # "A billable account is any managed account and external user that has access to ..."
    ("no-product", lambda f: len(f["products"]) == 0),
    # Atlassian's own "Billable: No" is its verdict
    ("reported-not-billable", lambda f: f["reported"] is False),
]


def _external(facts: dict[str, Any]) -> bool:
    if facts["external"] is not None:
        return bool(facts["external"])
    return any(site in ORG_SITES for _, site in facts["products"])


def oracle(facts: dict[str, Any]) -> tuple[bool, str]:
    for rule, excluded in EXCLUSIONS:
        if excluded(facts):
            return False, rule
    return True, "managed-with-access" if facts["managed"] else "external-with-access"


facts_strategy = st.fixed_dictionaries(
    {
        "status": st.sampled_from(STATUSES),
        "account_type": st.sampled_from(TYPES),
        "managed": st.booleans(),
        "external": st.sampled_from((None, True, False)),
        "policy_billable": st.sampled_from((None, True, False)),
        "reported": st.sampled_from((None, True, False)),
        "products": st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(SITES)), max_size=4),
    }
)


def _verdict(f: dict[str, Any], org_sites: frozenset[str] | None = ORG_SITES) -> Any:
    return verdict(
        managed=f["managed"],
        status=f["status"],
        products=f["products"],
        external=f["external"],
        policy_billable=f["policy_billable"],
        account_type=f["account_type"],
        reported_billable=f["reported"],
        org_sites=org_sites,
    )


@given(facts_strategy)
def test_rule_and_reason_follow_the_sources(f: dict[str, Any]) -> None:
    found = _verdict(f)
    assert (found.billable, found.rule) == oracle(f)


@given(facts_strategy)
def test_billable_through_every_access_and_flags_exactly_the_other_sites(f: dict[str, Any]) -> None:
    found = _verdict(f)
    if not found.billable:
        assert found.through == () and found.unmanaged == ()
        return
    assert set(found.through) == set(f["products"])  # every access, each once
    assert len(found.through) == len(set(f["products"]))
    elsewhere = {(k, s) for k, s in f["products"] if s not in ORG_SITES}
    assert set(found.unmanaged) == elsewhere
    for key, site in f["products"]:
        assert f"{key} on {site}" in found.why
    assert (UNMANAGED_NOTE in found.why) == bool(elsewhere)
    # the flag never changes the count: the same facts without known sites are as billable
    assert _verdict(f, org_sites=None).billable and _verdict(f, org_sites=None).unmanaged == ()


@given(facts_strategy, st.tuples(st.sampled_from(KEYS), st.sampled_from(SITES)))
def test_more_access_never_makes_a_user_less_billable(f: dict[str, Any], extra: Any) -> None:
    more = {**f, "products": [*f["products"], extra]}
    assert _verdict(more).billable >= _verdict(f).billable
    assert _verdict({**f, "products": list(reversed(f["products"]))}).billable == (
        _verdict(f).billable
    )


# Rule 3's inference on its own ("What are managed accounts?": an account the org has not
# claimed "we consider ... an external user"; "Who are external users?": they "can access your
# organization's data"): an unmanaged account with access on an org site is an external user,
# billable like a managed account, unless its source says otherwise.
_on_org = st.tuples(st.sampled_from(KEYS), st.sampled_from(sorted(ORG_SITES)))
_elsewhere = st.tuples(st.sampled_from(KEYS), st.sampled_from(("globex", "initech")))
_billable_otherwise = st.fixed_dictionaries(
    {
        "status": st.just("active"),
        "account_type": st.sampled_from(("atlassian", "app")),
        "managed": st.just(False),
        "policy_billable": st.sampled_from((None, True)),
        "reported": st.sampled_from((None, True)),
    }
)


@given(_billable_otherwise, st.lists(_on_org, min_size=1, max_size=3), st.lists(_elsewhere))
def test_an_unmanaged_account_with_org_site_access_is_a_billable_external_user(
    f: dict[str, Any], mine: list[Any], others: list[Any]
) -> None:
    facts = {**f, "external": None, "products": [*mine, *others]}
    for sites in (ORG_SITES, None):  # without the org's sites, every site is taken as its own
        found = _verdict(facts, org_sites=sites)
        assert (found.billable, found.rule) == (True, "external-with-access")
        assert set(found.through) == set(mine) | set(others)
    analysed = Analyzer(Policy(as_of=date(2026, 11, 23), org_sites=ORG_SITES)).add_all(
        [_record(1, facts)]
    )
    assert analysed.result(fmt="test", tier=None).billable_by_rule["external-with-access"] == 1


@given(_billable_otherwise, st.lists(_elsewhere, max_size=3))
def test_an_unmanaged_account_only_on_other_orgs_sites_is_not_the_orgs_user(
    f: dict[str, Any], others: list[Any]
) -> None:
    facts = {**f, "external": None, "products": others}
    assert (_verdict(facts).billable, _verdict(facts).rule) == (False, "not-org-user")
    analysed = Analyzer(Policy(as_of=date(2026, 11, 23), org_sites=ORG_SITES)).add_all(
        [_record(1, facts)]
    )
    assert analysed.result(fmt="test", tier=None).billable == 0


@given(
    _billable_otherwise,
    st.lists(st.one_of(_on_org, _elsewhere), min_size=1, max_size=4),
    st.booleans(),
    st.sampled_from((ORG_SITES, None)),
)
def test_what_the_source_says_about_external_wins(
    f: dict[str, Any], products: list[Any], said: bool, sites: frozenset[str] | None
) -> None:
    found = _verdict({**f, "external": said, "products": products}, org_sites=sites)
    assert (found.billable, found.rule) == (
        (True, "external-with-access") if said else (False, "not-org-user")
    )
    # a managed account is never judged as an external user, whatever the flag says
    managed = _verdict({**f, "managed": True, "external": said, "products": products}, sites)
    assert (managed.billable, managed.rule) == (True, "managed-with-access")


def _record(n: int, f: dict[str, Any]) -> UserRecord:
    return UserRecord(
        account_id=f"u{n}",
        name=f"User {n}",
        email=f"u{n}@acme.example",
        status=f["status"],
        managed=f["managed"],
        products=tuple(ProductAccess(product_name(k), s, None) for k, s in f["products"]),
        account_type=f["account_type"],
        reported_billable=f["reported"],
        external=f["external"],
        policy_billable=f["policy_billable"],
    )


@given(st.lists(facts_strategy, max_size=30))
def test_analyzer_counts_what_the_sources_say(people: list[dict[str, Any]]) -> None:
    policy = Policy(as_of=date(2026, 11, 23), org_sites=ORG_SITES)
    result = (
        Analyzer(policy)
        .add_all(_record(n, f) for n, f in enumerate(people))
        .result(fmt="test", tier=None)
    )
    expected = [oracle(f) for f in people]
    assert result.billable == sum(b for b, _ in expected)
    for rule in {r for _, r in expected}:
        assert result.billable_by_rule[rule] == sum(1 for _, r in expected if r == rule)
    flagged = {
        f"u{n}@acme.example"
        for n, f in enumerate(people)
        if oracle(f)[0] and any(s not in ORG_SITES for _, s in f["products"])
    }
    assert {c.email for c in result.unmanaged_site_access} == flagged


world_account = st.fixed_dictionaries(
    {
        "status": st.sampled_from(("active", "inactive", "closed")),
        "account_type": st.sampled_from(TYPES),
        "managed": st.booleans(),
        "external": st.sampled_from((None, True, False)),
        "policy": st.sampled_from((None, True, False)),
        "products": st.lists(
            st.tuples(st.sampled_from(KEYS), st.sampled_from(SITES)), max_size=3, unique=True
        ),
    }
).filter(lambda a: not (a["managed"] and a["external"]))


def _world(people: list[dict[str, Any]]) -> dict[str, Any]:
    accounts = []
    for n, a in enumerate(people):
        account: dict[str, Any] = {
            "account_id": f"u{n}",
            "email": f"u{n}@{'acme' if a['managed'] else 'partner'}.example",
            "name": f"User {n}",
            "status": a["status"],
            "managed": a["managed"],
            **({"external": a["external"]} if a["external"] is not None else {}),
            "account_type": a["account_type"],
            "product_access": [
                {"key": k, "site": s, "last_active": "2026-11-01"} for k, s in a["products"]
            ],
        }
        if a["policy"] is not None:
            account["policy"] = {"name": "P", "billable": a["policy"]}
        accounts.append(account)
    return {"sites": [{"name": s, "products": list(KEYS)} for s in sorted(ORG_SITES)],
            "accounts": accounts}  # fmt: skip


def _facts(a: dict[str, Any]) -> dict[str, Any]:
    return {**a, "policy_billable": a["policy"], "reported": None}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(world_account, min_size=1, max_size=12))
def test_export_of_a_world_gives_the_sources_count(
    tmp_path_factory: Any, people: list[dict[str, Any]]
) -> None:
    world = _world(people)
    expected = sum(oracle(_facts(a))[0] for a in people)
    assert sum(account_verdict(a, ORG_SITES).billable for a in world["accounts"]) == expected
    path = Path(tmp_path_factory.mktemp("export")) / "users.csv"
    path.write_text(export_from_world(world), encoding="utf-8")
    args = ["analyze", str(path), "--as-of", "2026-11-23", "--site", "acme", "--site", "trello"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["billable"] == expected


@given(st.lists(st.sampled_from(("acme", "globex", "initech", "acme.atlassian.net")), min_size=1))
def test_multi_site_cells_give_one_access_a_site(sites: list[str]) -> None:
    """A managed-accounts product cell lists the sites: "acme, globex"."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Name", "Email", "Atlassian ID", "Status", "Claimed", "Jira"])
    writer.writerow(["A", "a@acme.example", "u-a", "Active", "Yes", ", ".join(sites)])
    expected = list(dict.fromkeys(s.removesuffix(".atlassian.net") for s in sites))
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "managed.csv"
        file.write_text(buf.getvalue(), encoding="utf-8")
        (record,) = read_records(file)
    assert [(p.key, p.site) for p in record.products] == [("jira-software", s) for s in expected]


def test_candidate_lists_say_when_a_playbook_cannot_end_the_billing() -> None:
    from scimrecon.recon.classify import classify

    record = UserRecord(
        account_id="u1",
        name="Maria",
        email="maria@acme.example",
        status="active",
        managed=True,
        products=(
            ProductAccess("Jira Software", "acme", date(2026, 1, 2)),
            ProductAccess("Confluence", "globex", date(2026, 2, 3)),
        ),
        added_to_org=date(2023, 1, 1),
    )
    policy = Policy(as_of=date(2026, 11, 23), org_sites=ORG_SITES)
    (candidate,) = classify(record, policy).values()
    assert candidate.reason == (
        f"last seen 2026-02-03, 293 days before 2026-11-23 (also has access on globex: "
        f"{UNMANAGED_NOTE}; stays billable)"
    )
    unknown = Policy(as_of=date(2026, 11, 23))  # the org's sites not known: no note
    assert classify(record, unknown)["inactive"].reason == (
        "last seen 2026-02-03, 293 days before 2026-11-23"
    )
