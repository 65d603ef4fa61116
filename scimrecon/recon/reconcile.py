"""Reconciliation: join the IdP's users, the SCIM directory and the Atlassian accounts, and
give each identity one situation (after midPoint's linked/unlinked/unmatched/...).

A pure function over three plain lists, so support engineers can run it on a fixture world
and the tests can state exactly which planted case must come out as what. Each situation
names the playbook that fixes it, or says in a sentence what a person has to do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from scimrecon.identity import identity_key
from scimrecon.recon.billable import (
    RULES,
    account_is_billable,
    account_verdict,
    billable_only_through,
    world_sites,
)
from scimrecon.recon.classify import Candidate
from scimrecon.recon.model import product_name

LINKED = "linked"
UNLINKED = "unlinked"
UNMATCHED = "unmatched"
ORPHANED = "orphaned"
DUPLICATE = "duplicate"
EMAIL_DRIFT = "email-drift"
UNWANTED_ACCESS = "unwanted-access"
SITUATIONS = (UNLINKED, ORPHANED, UNMATCHED, DUPLICATE, EMAIL_DRIFT, UNWANTED_ACCESS, LINKED)

#: situation (or analysis class) -> the playbook that fixes it
PLAYBOOKS: dict[str, str] = {
    UNWANTED_ACCESS: "reprovision",
    ORPHANED: "deactivate-leavers",
    "inactive": "inactive-licences",
    "trello-only": "reprovision",
}
#: what to do when no playbook applies
ADVICE: dict[str, str] = {
    LINKED: "nothing to do: the IdP user, the SCIM entry and the account agree",
    UNLINKED: "manual: find out why the account is missing, then delete the stale SCIM entry "
    "or push the user again from the IdP",
    UNMATCHED: "manual: provision the user from the IdP (provision on demand) and read the "
    "provisioning logs for why it was skipped",
    DUPLICATE: "manual: confirm it is one person, move their content to the account the IdP "
    "provisions, then deactivate the other account",
    EMAIL_DRIFT: "manual: fix the IdP's attribute mapping or re-sync the user so the account "
    "email follows the IdP before running any playbook on it",
}


@dataclass(frozen=True, slots=True)
class Identity:
    """One person (or one stray record) and the situation it is in."""

    key: str
    situation: str
    reason: str
    email: str = ""
    account_id: str = ""
    name: str = ""
    scim_id: str = ""
    idp_object_id: str = ""
    #: the billable rule's answer for the identity's account (None: no account)
    billable: bool | None = None
    billable_why: str = ""

    @property
    def playbook(self) -> str | None:
        return PLAYBOOKS.get(self.situation)

    @property
    def fix(self) -> str:
        playbook = self.playbook
        return f"playbook {playbook}" if playbook else ADVICE[self.situation]

    def as_candidate(self) -> Candidate:
        return Candidate(self.email or self.key, self.account_id, self.name, self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "situation": self.situation,
            "reason": self.reason,
            "playbook": self.playbook,
            "fix": self.fix,
            "email": self.email or None,
            "account_id": self.account_id or None,
            "name": self.name or None,
            "scim_id": self.scim_id or None,
            "idp_object_id": self.idp_object_id or None,
            "billable": self.billable,
            "billable_why": self.billable_why or None,
        }


def _low(value: object) -> str:
    """An email / userName key under the identity rule (scimrecon.identity)."""
    return identity_key(str(value or "").strip())


def _person_name(value: object) -> str:
    """Names compared as people read them: no case, no accents, single spaces."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def _scim_emails(entry: Mapping[str, Any]) -> list[str]:
    return [_low(e.get("value")) for e in entry.get("emails") or [] if isinstance(e, Mapping)]


def _unwanted_reason(account: Mapping[str, Any], unwanted: frozenset[str]) -> str | None:
    keys = [str(p.get("key")) for p in account.get("product_access") or []]
    if account_is_billable(account) and billable_only_through(keys, unwanted):
        return f"billable only through {', '.join(sorted({product_name(k) for k in keys}))}"
    return None


def reconcile(
    idp_users: Sequence[Mapping[str, Any]],
    scim_users: Sequence[Mapping[str, Any]],
    accounts: Sequence[Mapping[str, Any]],
    *,
    unwanted: Iterable[str] = ("trello",),
    org_sites: Collection[str] | None = None,
) -> list[Identity]:
    """Give every identity one situation. Inputs use the fixture-world shapes (DESIGN.md).
    Each identity with an account also says whether, and why, it is billable (`org_sites`:
    the sites the org manages, to flag access it cannot remove).

    Joins: a SCIM entry finds its IdP user by externalId = object id (then by userName) and
    its account by account_id; an assigned IdP user without a SCIM entry is unmatched; an
    account no SCIM entry points at is a duplicate when it carries the name or an email of
    someone the IdP already provisions (other such accounts are outside the IdP's view and
    only reported when billable through an unwanted product).
    """
    bad = frozenset(u.lower() for u in unwanted)
    by_account = {str(a.get("account_id")): a for a in accounts if a.get("account_id")}
    by_email = {_low(a.get("email")): a for a in accounts if a.get("email")}
    idp_by_id = {str(u.get("object_id")): u for u in idp_users if u.get("object_id")}
    idp_by_name: dict[str, Mapping[str, Any]] = {}
    for u in idp_users:
        for value in (u.get("userName"), u.get("mail")):
            if value:
                idp_by_name.setdefault(_low(value), u)

    out: list[Identity] = []
    matched_idp: set[int] = set()
    linked_ids: set[str] = set()
    # person -> the account the IdP provisions for them, for the duplicate search
    people: list[tuple[set[str], set[str], Mapping[str, Any], int]] = []
    scim_rows: list[
        tuple[Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None]
    ] = []

    for entry in scim_users:
        idp = idp_by_id.get(str(entry.get("externalId") or "")) or idp_by_name.get(
            _low(entry.get("userName"))
        )
        if idp is not None:
            matched_idp.add(id(idp))
        account_id = str(entry.get("account_id") or "")
        account = by_account.get(account_id) if account_id else None
        if account is not None:
            linked_ids.add(account_id)
        scim_rows.append((entry, idp, account))

    for index, (entry, idp, account) in enumerate(scim_rows):
        if account is None:
            continue
        names = {_person_name(account.get("name")), _person_name(entry.get("displayName"))}
        emails = {_low(account.get("email")), _low(entry.get("userName")), *_scim_emails(entry)}
        if idp is not None:
            names.add(_person_name(idp.get("displayName")))
            emails |= {_low(idp.get("mail")), _low(idp.get("userName"))}
        people.append(({n for n in names if n}, {e for e in emails if e}, account, index))

    # strays: accounts no SCIM entry points at
    duplicates_of: dict[int, list[Mapping[str, Any]]] = {}
    stray_situations: list[Identity] = []
    idp_emails = {
        _low(u.get("mail") or u.get("userName")): u for u in idp_users if id(u) not in matched_idp
    }
    for account in accounts:
        account_id = str(account.get("account_id") or "")
        if account_id in linked_ids or _low(account.get("email")) in idp_emails:
            continue  # linked, or waiting for its unmatched IdP user (reported there)
        if account.get("managed") and account.get("status") != "closed":
            name = _person_name(account.get("name"))
            email = _low(account.get("email"))
            owners = [p for p in people if name in p[0] or email in p[1]]
            if owners:
                for _, _, _, index in owners:
                    duplicates_of.setdefault(index, []).append(account)
                first = owners[0][2]
                stray_situations.append(
                    Identity(
                        key=str(account.get("email") or account_id),
                        situation=DUPLICATE,
                        reason=f"second account for {first.get('name')}: the IdP provisions "
                        f"{first.get('email')}; this one has no SCIM entry",
                        email=str(account.get("email") or ""),
                        account_id=account_id,
                        name=str(account.get("name") or ""),
                    )
                )
                continue
        reason = _unwanted_reason(account, bad)
        if reason:
            stray_situations.append(
                Identity(
                    key=str(account.get("email") or account_id),
                    situation=UNWANTED_ACCESS,
                    reason=f"{reason} (no SCIM entry)",
                    email=str(account.get("email") or ""),
                    account_id=account_id,
                    name=str(account.get("name") or ""),
                )
            )

    for index, (entry, idp, account) in enumerate(scim_rows):
        scim_id = str(entry.get("id") or "")
        object_id = str(idp.get("object_id") or "") if idp is not None else ""
        if account is None:
            account_id = str(entry.get("account_id") or "")
            why = (
                f"links to account {account_id}, which does not exist"
                if account_id
                else "has no Atlassian account"
            )
            out.append(
                Identity(
                    key=str(entry.get("userName") or scim_id),
                    situation=UNLINKED,
                    reason=f"SCIM entry {scim_id} {why}",
                    name=str(entry.get("displayName") or ""),
                    scim_id=scim_id,
                    idp_object_id=object_id,
                )
            )
            continue
        common = {
            "key": str(account.get("email") or account.get("account_id")),
            "email": str(account.get("email") or ""),
            "account_id": str(account.get("account_id") or ""),
            "name": str(account.get("name") or ""),
            "scim_id": scim_id,
            "idp_object_id": object_id,
        }
        if idp is None:
            situation, reason = ORPHANED, f"the IdP has no user {entry.get('userName')} any more"
        elif not idp.get("assigned", True):
            situation, reason = ORPHANED, "the IdP user is no longer assigned to the app"
        elif index in duplicates_of:
            others = ", ".join(str(a.get("email")) for a in duplicates_of[index])
            situation, reason = DUPLICATE, f"the same person also has the account {others}"
        elif _low(idp.get("mail") or idp.get("userName")) != _low(account.get("email")):
            situation = EMAIL_DRIFT
            reason = (
                f"the IdP says {idp.get('mail') or idp.get('userName')}; "
                f"the account says {account.get('email')}"
            )
        else:
            unwanted_why = _unwanted_reason(account, bad)
            if unwanted_why:
                situation, reason = UNWANTED_ACCESS, unwanted_why
            else:
                situation, reason = LINKED, "IdP user, SCIM entry and account agree"
        if situation != LINKED and "admin" in str(account.get("org_role") or ""):
            # Playbooks skip admins (their live platformRoles): say so before anyone tries.
            reason += "; an admin: playbooks leave admins alone, fix it by hand"
        out.append(Identity(situation=situation, reason=reason, **common))

    for user in idp_users:
        if id(user) in matched_idp or not user.get("assigned", True):
            continue
        mail = str(user.get("mail") or user.get("userName") or "")
        existing = by_email.get(_low(mail))
        extra = (
            f"; the account {existing.get('email')} exists and will be linked"
            if existing is not None
            else ""
        )
        out.append(
            Identity(
                key=str(existing.get("email")) if existing else str(user.get("userName") or mail),
                situation=UNMATCHED,
                reason=f"assigned in the IdP but has no SCIM entry{extra}",
                email=str(existing.get("email")) if existing else mail,
                account_id=str(existing.get("account_id") or "") if existing else "",
                name=str(user.get("displayName") or ""),
                idp_object_id=str(user.get("object_id") or ""),
            )
        )
    out += stray_situations
    order = {s: n for n, s in enumerate(SITUATIONS)}
    return sorted(
        (_with_billable(i, by_account, org_sites) for i in out),
        key=lambda i: (order[i.situation], i.key.lower()),
    )


def _with_billable(
    identity: Identity,
    by_account: Mapping[str, Mapping[str, Any]],
    org_sites: Collection[str] | None,
) -> Identity:
    account = by_account.get(identity.account_id) if identity.account_id else None
    if account is None:
        return identity
    found = account_verdict(account, org_sites)
    return replace(identity, billable=found.billable, billable_why=found.why)


def billable_summary(
    accounts: Sequence[Mapping[str, Any]], org_sites: Collection[str] | None = None
) -> dict[str, Any]:
    """The billable figures over every account (the same rule and figures as `analyze`):
    the count, the count per rule, and who is billable through a site the org does not
    manage, and the billable external users whose external user policy the source does not
    name (read live, no API gives it: a non-billable one would take them off the bill)."""
    by_rule = dict.fromkeys(RULES, 0)
    count = 0
    unmanaged: list[dict[str, Any]] = []
    policy_unknown: list[str] = []
    for account in accounts:
        found = account_verdict(account, org_sites)
        by_rule[found.rule] += 1
        if found.billable:
            count += 1
            if account.get("external") and "policy" not in account:
                policy_unknown.append(str(account.get("email") or account.get("account_id")))
            if found.unmanaged:
                unmanaged.append(
                    {
                        "email": account.get("email") or None,
                        "account_id": account.get("account_id") or None,
                        "name": account.get("name") or None,
                        "reason": f"{found.rule}: {found.why}",
                    }
                )
    return {
        "billable": count,
        "by_rule": by_rule,
        "unmanaged_site_access": unmanaged,
        "external_policy_unknown": sorted(policy_unknown),
    }


def reconcile_world(
    world: Mapping[str, Any], *, unwanted: Iterable[str] = ("trello",)
) -> list[Identity]:
    """reconcile() over a fixture world's idp.users, scim_users and accounts."""
    return reconcile(
        (world.get("idp") or {}).get("users") or [],
        world.get("scim_users") or [],
        world.get("accounts") or [],
        unwanted=unwanted,
        org_sites=world_sites(world),
    )
