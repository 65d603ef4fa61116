"""The billable rule, in one place: who counts towards the Atlassian Guard Standard bill, and why.

Both the simulator (its `access_billable`, its summary) and every analysis (`analyze`,
`reconcile`, `accounts show`, snapshots) call this module, so their counts can never disagree.
Each rule below names its public source; docs/analysis.md ("Billable rules") lists the same
sources for people. The rules are checked in this order, and the first that applies decides:

1. ``inactive``: an account that is not active (deactivated, closed, suspended, pending) is not
   billable. Sources: "Impact of Trello users on your Atlassian Guard bill" (support.atlassian.com/
   subscriptions-and-billing/docs/impact-of-trello-users-on-your-atlassian-guard-bill/:
   "deactivated accounts aren't billable"); the Organizations REST API v2 suspend endpoint
   ("You're not billed for a user when their access is suspended").
2. ``portal-only``: a Jira Service Management portal-only customer (account type ``customer``) is
   not billable. Source: jira.atlassian.com/browse/JSDCLOUD-10608 (portal-only accounts and the
   "Customer" role "are not billable for Atlassian Guard").
3. ``not-org-user``: an account that is neither managed by the org nor one of its external users
   is not on the org's bill. Source: "Manage your bill for Atlassian Guard Standard"
   (support.atlassian.com/subscriptions-and-billing/docs/manage-your-bill-for-atlassian-guard-standard):
   "you only pay once for each managed account and external user in your organization". An
   external user is an account the org does not manage (a domain it has not verified, or an
   account it has not claimed) that can access the org's apps ("What are managed accounts?",
   support.atlassian.com/user-management/docs/what-are-managed-accounts; "Who are external
   users?", support.atlassian.com/security-and-access-policies/docs/who-are-external-users).
   So where a source does not say (`external` None: a user export without our `External user`
   column, a world without the flag), an unmanaged account with access on a site of the org is
   one (`is_external_user`); access on other orgs' sites only, or the source's explicit "not
   external", makes it none. Without the org's sites every site counts as the org's: the
   cautious reading for a forecast, which counts rather than misses.
4. ``non-billable-policy``: a member of a non-billable authentication policy (managed accounts) or
   of a non-billable external user policy is not billable. Sources: atlassian.com/licensing/
   atlassian-guard ("Managed users in a non-billable authentication policy will not be
   considered billable users"); support.atlassian.com/security-and-access-policies/docs/
   what-is-an-external-user-security-policy ("Users in a non-billable external user policy
   don't count towards your Atlassian Guard Standard bill").
5. ``no-product``: without access to any product the account is not billable. Source:
   atlassian.com/licensing/atlassian-guard ("A billable account is any managed account and
   external user that has access to Jira, Confluence, Bitbucket, Jira Service Management
   (agents only), or Trello"). Cautious reading: access to a product we do not know also counts
   (a forecast that counts too many is a pleasant surprise on the bill, one that counts
   too few is not).
6. ``reported-not-billable``: Atlassian's own "not billable" (the export's Billable column, the
   org API's ``access_billable``) excludes: it knows policies and plans a source does not list
   (the v1 org user list names no policy). Source: the managed-accounts export ("Billable:
   members who count towards your Atlassian Guard Standard bill",
   support.atlassian.com/organization-administration/docs/export-managed-accounts/).
7. ``managed-with-access`` / ``external-with-access``: billable, through every product access
   the account has; Trello counts (the Trello page above, "Active managed Atlassian accounts with
   product access to Trello will be billed").

Access on a site the org does not manage still counts (issue 12, citing
jira.atlassian.com/browse/ACCESS-2576: the org admin cannot revoke it) and is flagged with
UNMANAGED_NOTE so nobody plans a removal that cannot work.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

INACTIVE: Final = "inactive"
PORTAL_ONLY: Final = "portal-only"
NOT_ORG_USER: Final = "not-org-user"
NON_BILLABLE_POLICY: Final = "non-billable-policy"
REPORTED_NOT_BILLABLE: Final = "reported-not-billable"
NO_PRODUCT: Final = "no-product"
MANAGED: Final = "managed-with-access"
EXTERNAL: Final = "external-with-access"
#: every rule id, in the order the rule checks them
RULES: Final = (
    INACTIVE,
    PORTAL_ONLY,
    NOT_ORG_USER,
    NON_BILLABLE_POLICY,
    NO_PRODUCT,
    REPORTED_NOT_BILLABLE,
    MANAGED,
    EXTERNAL,
)

UNMANAGED_NOTE: Final = (
    "access on a site you don't manage: only that site's admin or Atlassian support can remove it"
)
PORTAL_ACCOUNT_TYPE: Final = "customer"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The rule's answer for one account: billable or not, which rule decided, and why.

    `through` lists the (product key, site) pairs that make the account billable (empty when it
    is not); `unmanaged` those of them on a site the org does not manage (only known when the
    caller says which sites the org manages).
    """

    billable: bool
    rule: str
    through: tuple[tuple[str, str], ...] = ()
    unmanaged: tuple[tuple[str, str], ...] = ()

    @property
    def why(self) -> str:
        """One sentence for people: which rule, and through which product on which site."""
        if not self.billable:
            return _NOT_BILLABLE[self.rule]
        who = "managed account" if self.rule == MANAGED else "external user"
        parts = [f"{key} on {site}" if site else key for key, site in self.through]
        text = f"{who} with access to {', '.join(parts)}"
        if self.unmanaged:
            sites = ", ".join(sorted({s for _, s in self.unmanaged}))
            text += f"; {sites}: {UNMANAGED_NOTE}"
        return text


_NOT_BILLABLE: Final[dict[str, str]] = {
    INACTIVE: "not billable: the account is not active (deactivated or suspended)",
    PORTAL_ONLY: "not billable: a Jira Service Management portal-only customer",
    NOT_ORG_USER: "not billable: neither a managed account nor an external user of the org",
    NON_BILLABLE_POLICY: "not billable: member of a non-billable policy",
    REPORTED_NOT_BILLABLE: "not billable: Atlassian reports it so (Billable: No / "
    "access_billable: false; e.g. a non-billable policy the source does not name)",
    NO_PRODUCT: "not billable: no product access",
}


def verdict(
    *,
    managed: bool,
    status: str,
    products: Iterable[tuple[str, str]],
    external: bool | None = None,
    policy_billable: bool | None = None,
    account_type: str = "atlassian",
    org_sites: Collection[str] | None = None,
    reported_billable: bool | None = None,
) -> Verdict:
    """Apply the rules (module docstring) to one account's facts.

    `products` are (product key, site) pairs. `policy_billable` is False for a member of a
    non-billable policy, None when unknown (then the policy excludes nobody). `org_sites` are
    the sites the org manages; None when unknown (then nothing is flagged, and for rule 3 every
    access is on one of them). `reported_billable`
    is Atlassian's own answer (the export's Billable column, the org API's access_billable):
    its "no" excludes (it knows policies and plans a source may not list); its "yes" does not
    include (it is cross-checked instead: analyze warns when the counts differ).
    """
    if status != "active":
        return Verdict(False, INACTIVE)
    if account_type == PORTAL_ACCOUNT_TYPE:
        return Verdict(False, PORTAL_ONLY)
    # sorted: the same access reads the same whatever order the source lists it in
    through = tuple(sorted({(str(k), str(s or "")) for k, s in products}))
    known = None if org_sites is None else {s.lower() for s in org_sites}
    # access on a site the org does not manage (only known with its sites): flagged, and
    # no reason to call an account the org does not manage one of its external users
    elsewhere = tuple(
        p for p in through if known is not None and p[1] and p[1].lower() not in known
    )
    on_org_site = len(elsewhere) < len(through)
    if not managed and not is_external_user(said=external, uses_org_site=on_org_site):
        return Verdict(False, NOT_ORG_USER)
    if policy_billable is False:
        return Verdict(False, NON_BILLABLE_POLICY)
    if not through:
        return Verdict(False, NO_PRODUCT)
    if reported_billable is False:
        return Verdict(False, REPORTED_NOT_BILLABLE)
    return Verdict(True, MANAGED if managed else EXTERNAL, through, elsewhere)


def is_external_user(*, said: bool | None, uses_org_site: bool) -> bool:
    """Rule 3 for an account the org does not manage: is it one of the org's external users?

    The source's own answer wins (`said`: an `External user` column, a world's flag, the live
    user search's claim status); where it is silent, an account with access on a site of the
    org (or on one we cannot place) is one, since that is what Atlassian calls an external user.
    The callers that know where an access is (`verdict`, the analyzer's grouped marks) say so in
    `uses_org_site`.
    """
    return said if said is not None else uses_org_site


def is_billable(
    *,
    managed: bool,
    status: str,
    product_keys: Iterable[str],
    external: bool | None = None,
    policy_billable: bool | None = None,
    account_type: str = "atlassian",
    reported_billable: bool | None = None,
) -> bool:
    """Tell whether an account with these facts is billable (verdict() without the why)."""
    return verdict(
        managed=managed,
        status=status,
        products=((k, "") for k in product_keys),
        external=external,
        policy_billable=policy_billable,
        account_type=account_type,
        reported_billable=reported_billable,
    ).billable


def external_of(account: Mapping[str, Any]) -> bool | None:
    """A fixture-world account's `external`: None when the world does not say (the rule infers
    it from the access, rule 3)."""
    value = account.get("external")
    return None if value is None else bool(value)


def policy_billable_of(account: Mapping[str, Any]) -> bool | None:
    """A fixture-world account's policy: False for a non-billable one, None when none is set."""
    policy = account.get("policy")
    if isinstance(policy, Mapping) and "billable" in policy:
        return bool(policy["billable"])
    return None


def account_verdict(
    account: Mapping[str, Any], org_sites: Collection[str] | None = None
) -> Verdict:
    """Apply the rule to a fixture-world account (DESIGN.md, "Fixture world")."""
    return verdict(
        managed=bool(account.get("managed", False)),
        status=str(account.get("status", "")),
        products=[
            (str(p.get("key")), str(p.get("site") or ""))
            for p in account.get("product_access") or []
        ],
        external=external_of(account),
        policy_billable=policy_billable_of(account),
        account_type=str(account.get("account_type") or "atlassian"),
        org_sites=org_sites,
        reported_billable=_reported(account),
    )


def _reported(account: Mapping[str, Any]) -> bool | None:
    """An org API account's `access_billable` (fixture worlds have none: the rule decides)."""
    value = account.get("access_billable")
    return value if isinstance(value, bool) else None


def account_is_billable(
    account: Mapping[str, Any], org_sites: Collection[str] | None = None
) -> bool:
    """Apply the rule to a fixture-world account (see DESIGN.md, "Fixture world"); pass the
    world's sites (`world_sites`) where it lists them: they decide whether an account the org
    does not manage uses its apps (rule 3)."""
    return account_verdict(account, org_sites).billable


def world_sites(world: Mapping[str, Any]) -> frozenset[str] | None:
    """The sites a fixture world's org manages, or None when the world lists none."""
    sites = world.get("sites")
    if not isinstance(sites, list):
        return None
    return frozenset(str(s.get("name")) for s in sites if isinstance(s, Mapping))


def world_billable(world: Mapping[str, Any]) -> int:
    """How many of a fixture world's accounts are billable, read with the world's sites (they
    tell rule 3 whether an account the org does not manage uses the org's apps)."""
    sites = world_sites(world)
    return sum(1 for a in world.get("accounts") or [] if account_is_billable(a, sites))


def billable_only_through(product_keys: Iterable[str], unwanted: Iterable[str]) -> bool:
    """True when every product the user has is an unwanted one (e.g. only Trello).

    Such a user stops being billable once the unwanted access is gone, which is the saving the
    reprovision playbook exists to make.
    """
    keys = {k.lower() for k in product_keys}
    bad = {u.lower() for u in unwanted}
    return bool(keys) and keys <= bad
