"""One pass over user records -> the figures `analyze` prints (and its JSON contract).

The aggregator keeps counters and the candidate lists only, never the records, so it runs in
memory proportional to the number of candidates, not to the size of the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from scimrecon.recon.billable import RULES, is_external_user, verdict
from scimrecon.recon.classify import CLASSES, Candidate, Policy, classify
from scimrecon.recon.model import NEVER, ProductAccess, UserRecord
from scimrecon.recon.tier import TierUsage, tier_usage


@dataclass(slots=True)
class ProductStats:
    """Users of one product on one site, and how recently they used it."""

    product: str
    site: str
    users: int = 0
    active_30d: int = 0
    active_90d: int = 0
    never_accessed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "site": self.site,
            "users": self.users,
            "active_30d": self.active_30d,
            "active_90d": self.active_90d,
            "never_accessed": self.never_accessed,
        }


@dataclass
class Analysis:
    """Everything `analyze` reports. `as_json()` is the documented machine contract."""

    as_of: date
    format: str
    users: int
    active: int
    billable: int
    products: list[ProductStats]
    tier: TierUsage
    classes: dict[str, list[Candidate]]
    policy: Policy
    source: str = ""
    reported_billable: int | None = None
    warnings: list[str] = field(default_factory=list)
    billable_by_rule: dict[str, int] = field(default_factory=dict)
    unmanaged_site_access: list[Candidate] = field(default_factory=list)
    billable_users: list[Candidate] | None = None

    def as_json(self, *, lazy: bool = False) -> dict[str, Any]:
        """The documented document. With `lazy`, the class lists are iterators of the
        Candidates themselves (for streaming output of very large exports: cli/render.py's
        json_chunks writes each with its json_text()) instead of lists of dicts."""

        def wrap(items: list[Candidate]) -> Any:
            return iter(items) if lazy else [c.as_dict() for c in items]

        return {
            "as_of": self.as_of.isoformat(),
            "format": self.format,
            "source": self.source,
            "users": self.users,
            "active": self.active,
            "billable": self.billable,
            "billable_reported_by_export": self.reported_billable,
            "billable_by_rule": {rule: self.billable_by_rule.get(rule, 0) for rule in RULES},
            "org_sites": (
                sorted(self.policy.org_sites) if self.policy.org_sites is not None else None
            ),
            "unmanaged_site_access": [c.as_dict() for c in self.unmanaged_site_access],
            "products": [p.as_dict() for p in self.products],
            "tier": self.tier.as_dict(),
            "classes": {cls: wrap(self.classes.get(cls, [])) for cls in CLASSES},
            "settings": {
                "unwanted": sorted(self.policy.unwanted),
                "inactive_days": self.policy.inactive_days,
                "grace_days": self.policy.grace_days,
            },
            "warnings": list(self.warnings),
        } | (
            {"billable_users": wrap(self.billable_users)} if self.billable_users is not None else {}
        )


# The UserRecord fields the billable rule reads besides products, fetched in one C call a record
_RULE_FIELDS = (
    "managed",
    "status",
    "external",
    "policy_billable",
    "account_type",
    "reported_billable",
)
_rule_facts = itemgetter(*(UserRecord._fields.index(name) for name in _RULE_FIELDS))
_PRODUCTS = UserRecord._fields.index("products")
#: bit 0 of a product mark: access on a site the org does not manage; bit 1: access on one of
#: its sites (or one not known), which makes an unmanaged account an external user (billable
#: rule 3); the key bits start at 2
_ELSEWHERE = 1
_ON_ORG = 2
#: under Guard Standard a user with access is billable as a managed account or as an external
#: user alike, so without the split only the remediation is unknown (docs/analysis.md)
NO_MANAGED_WARNING = (
    "no user counts as managed (no Claimed column and no --domain matched): the billable "
    "count holds (with access, a managed account and an external user bill the same), but "
    "which users the org manages is unknown, and `options` and its claim list depend on it: "
    "pass --domain with the org's verified domains"
)
# what a group of alike records asks of the classifier (Analyzer._group)
_SKIP, _IF_STALE, _ALWAYS = 0, 1, 2


class Analyzer:
    """Feed records with add(); read the result with result().

    The hot path does the least it can per row. Each distinct ProductAccess (exports repeat a
    few hundred) is looked at once and then only counted; it carries a *mark*, one bit for its
    product key (bit 0 for a site the org does not manage, bit 1 for one it does or one not
    known). A record is then its rule facts (status, managed, ...) plus the OR of its
    products' marks, and a whole export has
    only a handful of distinct (facts, marks) pairs: each pair is a *group* that holds the
    billable rule's verdict, whether the classifier could want its records, and a count. The
    totals (users, active, billable, by rule) are sums over the groups at the end, and the
    full classification runs only for users who could be on a list (active, and some product
    unused for long, unknown or unwanted).
    """

    def __init__(self, policy: Policy, *, explain: bool = False) -> None:
        self.policy = policy
        self.unmanaged: list[Candidate] = []
        #: with `explain`, every billable user with the rule's why (memory grows with them)
        self.explained: list[Candidate] | None = [] if explain else None
        self.classes: dict[str, list[Candidate]] = {cls: [] for cls in CLASSES}
        self._as_of_ord = policy.as_of.toordinal()
        # ProductAccess -> [users counted, last-seen ordinal (0: none or never), mark]
        self._seen: dict[ProductAccess, list[Any]] = {}
        # id(ProductAccess) -> the same info: the reader hands out one shared object per
        # distinct value, and looking up an int is much cheaper than hashing the tuple. The
        # objects are pinned so an id cannot be reused while it is a key; the map is capped
        # for sources that do not share objects (the value lookup still works there).
        self._by_id: dict[int, list[Any]] = {}
        self._pinned: list[ProductAccess] = []
        # product key -> its bit in a mark, and the keys by bit position
        self._bits: dict[str, int] = {}
        self._keys: list[str] = []
        # (rule facts, OR of the marks) -> [records counted, explain?, screen, Verdict]
        self._groups: dict[tuple[Any, int], list[Any]] = {}

    def _info(self, access: ProductAccess) -> list[Any]:
        """The counter and mark of a product access, made on first sight."""
        info = self._seen.get(access)
        if info is None:
            seen = access.last_seen
            ordinal = seen.toordinal() if isinstance(seen, date) else 0
            key = access.key
            bit = self._bits.get(key)
            if bit is None:
                bit = self._bits[key] = 4 << len(self._keys)
                self._keys.append(key)
            sites = self.policy.org_sites
            elsewhere = sites is not None and bool(access.site) and access.site.lower() not in sites
            place = _ELSEWHERE if elsewhere else _ON_ORG
            info = self._seen[access] = [0, ordinal, bit | place]
        if len(self._by_id) < 100_000:
            self._by_id[id(access)] = info
            self._pinned.append(access)
        return info

    def _group(self, facts: tuple[Any, ...], marks: int) -> list[Any]:
        """What every record with these rule facts and product marks gets (made once)."""
        managed, status, external, policy_billable, account_type, reported = facts
        keys = [k for n, k in enumerate(self._keys) if marks & (4 << n)]
        if not managed:  # rule 3 from where the access is: the group's products have no site
            external = is_external_user(said=external, uses_org_site=bool(marks & _ON_ORG))
        found = verdict(
            managed=managed,
            status=status,
            external=external,
            policy_billable=policy_billable,
            account_type=account_type,
            reported_billable=reported,
            products=[(k, "") for k in keys],
        )
        elsewhere = bool(marks & _ELSEWHERE)
        explain = found.billable and (elsewhere or self.explained is not None)
        screen = _SKIP  # neither list takes users without products, or not active
        if keys and status == "active":
            all_unwanted = all(k in self.policy.unwanted for k in keys)
            screen = _ALWAYS if all_unwanted else _IF_STALE
        group = self._groups[(facts, marks)] = [0, explain, screen, found]
        return group

    def add(self, record: UserRecord) -> None:
        self.add_all((record,))

    def add_all(self, records: Iterable[UserRecord]) -> Analyzer:
        """Count every record. One loop with its state in locals: for a large export this
        loop is a third of the work, and attribute lookups would be most of that."""
        by_id, info_of = self._by_id, self._info
        groups, group_of, facts_of = self._groups, self._group, _rule_facts
        as_of, inactive_days = self._as_of_ord, self.policy.inactive_days
        policy, classes, explain = self.policy, self.classes, self._explain
        for record in records:
            latest = marks = 0
            for access in record[_PRODUCTS]:
                info = by_id.get(id(access)) or info_of(access)
                info[0] += 1
                marks |= info[2]
                if info[1] > latest:
                    latest = info[1]
            facts = facts_of(record)
            group = groups.get((facts, marks)) or group_of(facts, marks)
            group[0] += 1
            if group[1]:
                explain(record, bool(marks & _ELSEWHERE))
            screen = group[2]
            if screen == _SKIP:
                continue
            if screen == _IF_STALE and latest and as_of - latest < inactive_days:
                continue  # used a wanted product lately: on no list (classify agrees)
            for cls, candidate in classify(record, policy, billable=group[3].billable).items():
                classes[cls].append(candidate)
        return self

    def _explain(self, record: UserRecord, elsewhere: bool) -> None:
        """Record why a billable user is billable (the slow path: the full verdict, with
        sites); only for access on a site the org does not manage, or when asked to."""
        full = record.verdict(self.policy.org_sites)
        line = Candidate(record.email, record.account_id, record.name, f"{full.rule}: {full.why}")
        if elsewhere:
            self.unmanaged.append(line)
        if self.explained is not None:
            self.explained.append(line)

    def product_stats(self) -> list[ProductStats]:
        by_site: dict[tuple[str, str], ProductStats] = {}
        as_of = self._as_of_ord
        for access, (count, ordinal, *_) in self._seen.items():
            key = (access.product, access.site)
            stats = by_site.get(key)
            if stats is None:
                stats = by_site[key] = ProductStats(access.product, access.site)
            stats.users += count
            if access.last_seen == NEVER:
                stats.never_accessed += count
            elif ordinal:
                age = as_of - ordinal
                if age < 90:
                    stats.active_90d += count
                    if age < 30:
                        stats.active_30d += count
        return sorted(by_site.values(), key=lambda p: (p.product, p.site))

    def totals(self) -> dict[str, Any]:
        """users, active, managed, billable, reported (the export's own Billable column's
        count, None without one), checked (the rule's billable count over the same users
        `reported` counts: external users read live have no answer of Atlassian's own) and
        billable_by_rule: sums over the groups."""
        out: dict[str, Any] = {"users": 0, "active": 0, "managed": 0, "billable": 0, "checked": 0}
        reported: int | None = None
        by_rule: dict[str, int] = {}
        for ((managed, status, *_, said), _marks), (count, _, _, found) in self._groups.items():
            out["users"] += count
            out["active"] += count if status == "active" else 0
            out["managed"] += count if managed else 0
            out["billable"] += count if found.billable else 0
            if said is not None:
                reported = (reported or 0) + (count if said else 0)
                out["checked"] += count if found.billable else 0
            by_rule[found.rule] = by_rule.get(found.rule, 0) + count
        return out | {"reported": reported, "billable_by_rule": by_rule}

    def result(self, *, fmt: str, tier: int | None, source: str = "") -> Analysis:
        totals = self.totals()
        warnings: list[str] = []
        if totals["users"] and not totals["managed"]:
            warnings.append(NO_MANAGED_WARNING)
        reported, billable = totals["reported"], totals["billable"]
        if reported is not None and reported != totals["checked"]:
            own = (
                "the org API's access_billable"
                if fmt == "org-api"
                else ("the export's own Billable column")
            )
            warnings.append(f"{own} says {reported}, the Guard rule gives {totals['checked']}")
        return Analysis(
            as_of=self.policy.as_of,
            format=fmt,
            users=totals["users"],
            active=totals["active"],
            billable=billable,
            products=self.product_stats(),
            tier=tier_usage(billable, tier),
            classes=self.classes,
            policy=self.policy,
            source=source,
            reported_billable=reported,
            warnings=warnings,
            billable_by_rule=totals["billable_by_rule"],
            unmanaged_site_access=self.unmanaged,
            billable_users=self.explained,
        )
