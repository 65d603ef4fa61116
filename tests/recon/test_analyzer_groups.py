"""The Analyzer counts records by group (decision 95): its every figure and list must be what a
plain loop gets by asking the rule and the classifier about each record on its own."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.recon.analysis import Analyzer
from scimrecon.recon.classify import CLASSES, Policy, classify
from scimrecon.recon.model import NEVER, ProductAccess, UserRecord

AS_OF = date(2026, 11, 23)
PRODUCTS = ("Jira Software", "Confluence", "Trello", "Loom")
SITES = ("acme", "trello", "globex")
ORG_SITES = frozenset({"acme", "trello"})

_SEEN = st.one_of(
    st.none(),
    st.just(NEVER),
    # around every inactive_days the test uses, where a screen off by one would show
    st.one_of(st.integers(0, 400), st.sampled_from((29, 30, 31, 89, 90, 91, 364, 365, 366))).map(
        lambda days: AS_OF - timedelta(days=days)
    ),
)
_ACCESS = st.builds(ProductAccess, st.sampled_from(PRODUCTS), st.sampled_from(SITES), _SEEN)


@st.composite
def _records(draw: st.DrawFn) -> list[UserRecord]:
    out = []
    for n in range(draw(st.integers(0, 25))):
        added = draw(st.one_of(st.none(), st.integers(0, 400)))
        out.append(
            UserRecord(
                account_id=f"u{n}",
                name=f"User {n}",
                email=f"u{n}@acme.example",
                status=draw(st.sampled_from(("active", "active", "inactive", "suspended"))),
                managed=draw(st.booleans()),
                products=tuple(draw(st.lists(_ACCESS, max_size=4))),
                added_to_org=None if added is None else AS_OF - timedelta(days=added),
                org_role=draw(st.sampled_from(("member", "org admin"))),
                account_type=draw(st.sampled_from(("atlassian", "app", "customer"))),
                reported_billable=draw(st.sampled_from((None, True, False))),
                external=draw(st.booleans()),
                policy_billable=draw(st.sampled_from((None, True, False))),
            )
        )
    return out


def _product_stats(records: list[UserRecord]) -> list[tuple[Any, ...]]:
    stats: dict[tuple[str, str], list[int]] = {}
    for record in records:
        for access in record.products:
            row = stats.setdefault((access.product, access.site), [0, 0, 0, 0])
            row[0] += 1
            seen = access.last_seen
            if seen == NEVER:
                row[3] += 1
            elif isinstance(seen, date):
                row[1] += (AS_OF - seen).days < 30
                row[2] += (AS_OF - seen).days < 90
    return sorted((*key, *row) for key, row in stats.items())


@settings(deadline=None)
@given(_records(), st.booleans(), st.sampled_from((30, 90, 365)))
def test_grouped_counts_are_the_per_record_answers(
    records: list[UserRecord], sites_known: bool, inactive_days: int
) -> None:
    policy = Policy(
        as_of=AS_OF,
        inactive_days=inactive_days,
        org_sites=ORG_SITES if sites_known else None,
    )
    half = len(records) // 2  # two add_all calls (as `analyze --live` makes) add up
    analyzer = Analyzer(policy, explain=True).add_all(records[:half]).add_all(records[half:])
    result = analyzer.result(fmt="test", tier=None)

    verdicts = [r.verdict(policy.org_sites) for r in records]
    assert result.users == len(records)
    assert result.active == sum(r.status == "active" for r in records)
    assert result.billable == sum(v.billable for v in verdicts)
    by_rule: dict[str, int] = {}
    for v in verdicts:
        by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
    assert result.billable_by_rule == by_rule
    said = [r.reported_billable for r in records if r.reported_billable is not None]
    assert result.reported_billable == (sum(said) if said else None)
    expected: dict[str, list[Any]] = {cls: [] for cls in CLASSES}
    for record in records:
        for cls, candidate in classify(record, policy).items():
            expected[cls].append(candidate)
    assert result.classes == expected
    billable = [(r, v) for r, v in zip(records, verdicts, strict=True) if v.billable]
    assert [c.email for c in result.billable_users or []] == [r.email for r, _ in billable]
    assert [c.email for c in result.unmanaged_site_access] == [
        r.email for r, v in billable if v.unmanaged
    ]
    assert [
        (p.product, p.site, p.users, p.active_30d, p.active_90d, p.never_accessed)
        for p in result.products
    ] == _product_stats(records)
