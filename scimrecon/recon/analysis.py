"""One pass over user records -> the figures `analyze` prints (and its JSON contract).

The aggregator keeps counters and the candidate lists only, never the records, so it runs in
memory proportional to the number of candidates, not to the size of the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scimrecon.recon.classify import CLASSES, Candidate, Policy, classify
from scimrecon.recon.model import NEVER, UserRecord
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

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "format": self.format,
            "source": self.source,
            "users": self.users,
            "active": self.active,
            "billable": self.billable,
            "billable_reported_by_export": self.reported_billable,
            "products": [p.as_dict() for p in self.products],
            "tier": self.tier.as_dict(),
            "classes": {cls: [c.as_dict() for c in self.classes.get(cls, [])] for cls in CLASSES},
            "settings": {
                "unwanted": sorted(self.policy.unwanted),
                "inactive_days": self.policy.inactive_days,
                "grace_days": self.policy.grace_days,
            },
            "warnings": list(self.warnings),
        }


class Analyzer:
    """Feed records with add(); read the result with result()."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.users = 0
        self.active = 0
        self.billable = 0
        self.managed = 0
        self.reported: int | None = None
        self.products: dict[tuple[str, str], ProductStats] = {}
        self.classes: dict[str, list[Candidate]] = {cls: [] for cls in CLASSES}
        self._as_of_ord = policy.as_of.toordinal()

    def add(self, record: UserRecord) -> None:
        self.users += 1
        if record.status == "active":
            self.active += 1
        if record.managed:
            self.managed += 1
        if record.billable:
            self.billable += 1
        if record.reported_billable is not None:
            self.reported = (self.reported or 0) + (1 if record.reported_billable else 0)
        as_of = self._as_of_ord
        for access in record.products:
            key = (access.product, access.site)
            stats = self.products.get(key)
            if stats is None:
                stats = self.products[key] = ProductStats(access.product, access.site)
            stats.users += 1
            seen = access.last_seen
            if seen == NEVER:
                stats.never_accessed += 1
            elif seen is not None:
                assert isinstance(seen, date)
                age = as_of - seen.toordinal()
                if age < 90:
                    stats.active_90d += 1
                    if age < 30:
                        stats.active_30d += 1
        if record.products:
            for cls, candidate in classify(record, self.policy).items():
                self.classes[cls].append(candidate)

    def add_all(self, records: Iterable[UserRecord]) -> Analyzer:
        for record in records:
            self.add(record)
        return self

    def result(self, *, fmt: str, tier: int | None, source: str = "") -> Analysis:
        warnings: list[str] = []
        if self.users and not self.managed:
            warnings.append(
                "no user counts as managed (no Claimed column and no --domain matched), "
                "so nobody is billable: pass --domain with the org's verified domains"
            )
        if self.reported is not None and self.reported != self.billable:
            warnings.append(
                f"the export's own Billable column says {self.reported}, the Guard rule "
                f"gives {self.billable}"
            )
        return Analysis(
            as_of=self.policy.as_of,
            format=fmt,
            users=self.users,
            active=self.active,
            billable=self.billable,
            products=sorted(self.products.values(), key=lambda p: (p.product, p.site)),
            tier=tier_usage(self.billable, tier),
            classes=self.classes,
            policy=self.policy,
            source=source,
            reported_billable=self.reported,
            warnings=warnings,
        )
