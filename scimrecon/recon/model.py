"""The normalised user record every analysis works on, whatever the source.

Exports, the org admin API and fixture worlds all describe the same facts in different shapes;
turning each into one small record early keeps the classification and counting code free of
format quirks (and lets one test drive it with hand-made records).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Final, Literal, NamedTuple

from scimrecon.recon.billable import Verdict, billable_only_through, verdict

NEVER: Final = "never"
"""The export's "Never accessed": the user has the product but never opened it."""

LastSeen = date | Literal["never"] | None
"""A product's last-seen value: a date, NEVER, or None when the source does not say."""

STATUSES: Final = ("active", "inactive", "suspended", "closed", "pending")

# Atlassian's display names <-> the product keys the APIs and fixture worlds use. Unknown
# products are kept under a slug of their display name, so nothing the export lists is lost.
_KEY_BY_NAME: Final[dict[str, str]] = {
    "jira": "jira-software",
    "jira software": "jira-software",
    "jira service management": "jira-servicedesk",
    "jira service desk": "jira-servicedesk",
    "jira work management": "jira-core",
    "jira core": "jira-core",
    "jira product discovery": "jira-product-discovery",
    "confluence": "confluence",
    "trello": "trello",
    "bitbucket": "bitbucket",
    "opsgenie": "opsgenie",
    "statuspage": "statuspage",
    "compass": "compass",
    "loom": "loom",
    "atlassian analytics": "atlassian-analytics",
    "atlas": "townsquare",
}
_NAME_BY_KEY: Final[dict[str, str]] = {
    "jira-software": "Jira Software",
    "jira-servicedesk": "Jira Service Management",
    "jira-core": "Jira Work Management",
    "jira-product-discovery": "Jira Product Discovery",
    "confluence": "Confluence",
    "trello": "Trello",
    "bitbucket": "Bitbucket",
    "opsgenie": "Opsgenie",
    "statuspage": "Statuspage",
    "compass": "Compass",
    "loom": "Loom",
    "atlassian-analytics": "Atlassian Analytics",
    "townsquare": "Atlas",
}
_SLUG = re.compile(r"[^a-z0-9]+")
_KEY_CACHE: dict[str, str] = {}


def product_key(display_name: str) -> str:
    """The API/world key for a product display name ("Jira Software" -> "jira-software")."""
    cached = _KEY_CACHE.get(display_name)
    if cached is not None:
        return cached
    lowered = " ".join(display_name.lower().split())
    key = _KEY_BY_NAME.get(lowered) or _SLUG.sub("-", lowered).strip("-") or lowered
    if len(_KEY_CACHE) < 10_000:
        _KEY_CACHE[display_name] = key
    return key


def is_known_product(display_name: str) -> bool:
    """Whether the name is one of Atlassian's products (a bare column name in an export)."""
    return " ".join(display_name.lower().split()) in _KEY_BY_NAME


def product_name(key: str) -> str:
    """The display name an export uses for a product key (inverse of product_key)."""
    return _NAME_BY_KEY.get(key, key)


class ProductAccess(NamedTuple):
    """One product on one site that the user can use, and when they last used it.

    A named tuple rather than a dataclass: a million-row export creates millions of these.
    """

    product: str
    site: str
    last_seen: LastSeen

    @property
    def key(self) -> str:
        return product_key(self.product)


class UserRecord(NamedTuple):
    """One user, as every analysis sees it. `line` points back at the source for messages.

    A named tuple (immutable, built with `_make` in the export reader's hot loop): a
    million-row export makes a million of these, and a dataclass costs twice as much to build.
    """

    account_id: str
    name: str
    email: str
    status: str
    managed: bool
    products: tuple[ProductAccess, ...] = ()
    added_to_org: date | None = None
    org_role: str = "member"
    account_type: str = "atlassian"
    last_active: date | None = None
    reported_billable: bool | None = None
    groups: tuple[str, ...] = ()
    line: int = 0
    #: None when the source does not say (the billable rule infers it from the access)
    external: bool | None = None
    policy_billable: bool | None = None
    policy: str = ""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.org_role.lower()

    @property
    def is_app(self) -> bool:
        """Bots and integrations (account type `app`): never a licence to reclaim by hand."""
        return self.account_type not in ("atlassian", "")

    @property
    def product_keys(self) -> list[str]:
        return [p.key for p in self.products]

    @property
    def billable(self) -> bool:
        """The one billable rule (recon.billable), applied to this record."""
        return self.verdict().billable

    def verdict(self, org_sites: Collection[str] | None = None) -> Verdict:
        """The billable rule's answer for this record, with which rule and which access."""
        return verdict(
            managed=self.managed,
            status=self.status,
            products=[(p.key, p.site) for p in self.products],
            external=self.external,
            policy_billable=self.policy_billable,
            account_type=self.account_type,
            org_sites=org_sites,
            reported_billable=self.reported_billable,
        )

    def billable_only_through(self, unwanted: frozenset[str]) -> bool:
        """Billable, and only because of products in `unwanted` (keys, lower case)."""
        return self.billable and billable_only_through(self.product_keys, unwanted)
