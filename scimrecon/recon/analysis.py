"""One pass over user records -> the figures `analyze` prints (and its JSON contract).

The aggregator keeps counters and the candidate lists only, never the records, so it runs in
memory proportional to the number of candidates, not to the size of the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scimrecon.recon.billable import RULES, Verdict, verdict
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
        """The documented document. With `lazy`, the class lists are iterators (for
        streaming output of very large exports) instead of lists."""

        def wrap(items: list[Candidate]) -> Any:
            return map(Candidate.as_dict, items) if lazy else [c.as_dict() for c in items]

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


class Analyzer:
    """Feed records with add(); read the result with result().

    The hot path does the least it can per row: each distinct ProductAccess (exports repeat a
    few hundred) is looked at once and then only counted, and the full classification runs
    only for users who could be on a list (some product unused for long, unknown or unwanted).
    """

    def __init__(self, policy: Policy, *, explain: bool = False) -> None:
        self.policy = policy
        self.by_rule: dict[str, int] = {}
        self.unmanaged: list[Candidate] = []
        #: with `explain`, every billable user with the rule's why (memory grows with them)
        self.explained: list[Candidate] | None = [] if explain else None
        self.users = 0
        self.active = 0
        self.billable = 0
        self.managed = 0
        self.reported: int | None = None
        #: the rule's billable count over the same users `reported` counts (those with an
        #: answer of Atlassian's own): externals read live have none, so `billable` may differ
        self.billable_checked = 0
        self.classes: dict[str, list[Candidate]] = {cls: [] for cls in CLASSES}
        self._as_of_ord = policy.as_of.toordinal()
        # ProductAccess -> [users counted, last-seen ordinal (0: none or never), unwanted?, key]
        self._seen: dict[ProductAccess, list[Any]] = {}
        # id(ProductAccess) -> the same info: the reader hands out one shared object per
        # distinct value, and looking up an int is much cheaper than hashing the tuple. The
        # objects are pinned so an id cannot be reused while it is a key; the map is capped
        # for sources that do not share objects (the value lookup still works there).
        self._by_id: dict[int, list[Any]] = {}
        self._pinned: list[ProductAccess] = []
        # (managed, status, ..., product keys...) -> the billable rule's verdict for those facts
        self._billable: dict[tuple[Any, ...], Verdict] = {}

    def _info(self, access: ProductAccess) -> list[Any]:
        seen = access.last_seen
        ordinal = seen.toordinal() if isinstance(seen, date) else 0
        key = access.key
        sites = self.policy.org_sites
        elsewhere = sites is not None and bool(access.site) and access.site.lower() not in sites
        info = [0, ordinal, key in self.policy.unwanted, key, elsewhere]
        self._seen[access] = info
        return info

    def add(self, record: UserRecord) -> None:
        self.add_all((record,))

    def add_all(self, records: Iterable[UserRecord]) -> Analyzer:
        """Count every record. One loop with its state in locals: for a large export this
        loop is half the work, and attribute lookups would be most of that."""
        users = active = billable = managed = checked = 0
        reported = self.reported
        infos, new_info = self._seen, self._info
        as_of, inactive_days = self._as_of_ord, self.policy.inactive_days
        policy, classes = self.policy, self.classes
        rule_memo = self._billable
        by_id, pinned = self._by_id, self._pinned
        by_rule, explained = self.by_rule, self.explained
        try:
            for record in records:
                users += 1
                is_active = record.status == "active"
                if is_active:
                    active += 1
                if record.managed:
                    managed += 1
                if record.reported_billable is not None:
                    reported = (reported or 0) + (1 if record.reported_billable else 0)
                products = record.products
                latest = 0
                all_unwanted = True
                elsewhere = False
                facts = [
                    record.managed,
                    record.status,
                    record.external,
                    record.policy_billable,
                    record.account_type,
                    record.reported_billable,
                ]
                for access in products:
                    info = by_id.get(id(access))
                    if info is None:
                        info = infos.get(access) or new_info(access)
                        if len(by_id) < 100_000:
                            by_id[id(access)] = info
                            pinned.append(access)
                    info[0] += 1
                    facts.append(info[3])
                    if info[1] > latest:
                        latest = info[1]
                    if not info[2]:
                        all_unwanted = False
                    if info[4]:
                        elsewhere = True
                # the billable rule is a pure function of these facts, and a whole export has
                # only a handful of distinct combinations: ask it once for each
                memo_key = tuple(facts)
                found = rule_memo.get(memo_key)
                if found is None:
                    found = rule_memo[memo_key] = verdict(
                        managed=facts[0],
                        status=facts[1],
                        external=facts[2],
                        policy_billable=facts[3],
                        account_type=facts[4],
                        reported_billable=facts[5],
                        products=[(k, "") for k in facts[6:]],
                    )
                rule = found.rule
                by_rule[rule] = by_rule.get(rule, 0) + 1
                if found.billable:
                    billable += 1
                    if facts[5] is not None:
                        checked += 1
                    if elsewhere or explained is not None:
                        self._explain(record, elsewhere)
                if not products:
                    continue
                if not is_active:
                    continue  # neither list takes inactive, suspended or closed accounts
                if not all_unwanted and latest and as_of - latest < inactive_days:
                    continue  # used a wanted product lately: on no list (classify agrees)
                for cls, candidate in classify(record, policy).items():
                    classes[cls].append(candidate)
        finally:
            self.users += users
            self.active += active
            self.billable += billable
            self.managed += managed
            self.billable_checked += checked
            self.reported = reported
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

    def result(self, *, fmt: str, tier: int | None, source: str = "") -> Analysis:
        warnings: list[str] = []
        if self.users and not self.managed:
            warnings.append(
                "no user counts as managed (no Claimed column and no --domain matched), "
                "so nobody is billable: pass --domain with the org's verified domains"
            )
        if self.reported is not None and self.reported != self.billable_checked:
            own = "the export's own Billable column"
            if fmt == "org-api":
                own = "the org API's access_billable"
            warnings.append(
                f"{own} says {self.reported}, the Guard rule gives {self.billable_checked}"
            )
        return Analysis(
            as_of=self.policy.as_of,
            format=fmt,
            users=self.users,
            active=self.active,
            billable=self.billable,
            products=self.product_stats(),
            tier=tier_usage(self.billable, tier),
            classes=self.classes,
            policy=self.policy,
            source=source,
            reported_billable=self.reported,
            warnings=warnings,
            billable_by_rule=dict(self.by_rule),
            unmanaged_site_access=self.unmanaged,
            billable_users=self.explained,
        )
