"""Candidate classes: who is billable only through an unwanted product, who is inactive, and
who is protected from both lists. Each answer carries the sentence that justifies it.

The lists feed playbooks that change people's access, so every rule leans towards leaving a
user off: a product whose last use is unknown keeps its user off the inactive list, and a user
added within the grace period is never a candidate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scimrecon.recon.billable import UNMANAGED_NOTE
from scimrecon.recon.model import NEVER, UserRecord, product_key, product_name
from scimrecon.recon.protect import Protector

TRELLO_ONLY = "trello-only"
INACTIVE = "inactive"
PROTECTED = "protected"
CANDIDATE_CLASSES = (TRELLO_ONLY, INACTIVE)
CLASSES = (TRELLO_ONLY, INACTIVE, PROTECTED)


def unwanted_keys(names: Iterable[str]) -> frozenset[str]:
    """`--unwanted` values (keys or display names, any case) as product keys."""
    return frozenset(product_key(n) for n in names if n.strip())


@dataclass(frozen=True)
class Policy:
    """Everything that decides the classes; `as_of` makes the answer reproducible."""

    as_of: date
    unwanted: frozenset[str] = frozenset({"trello"})
    inactive_days: int = 90
    grace_days: int = 30
    protect: Protector = field(default_factory=Protector)
    #: the sites the org manages (access anywhere else is flagged); None: not known
    org_sites: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One line of a class list (and of a target list)."""

    email: str
    account_id: str
    name: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "account_id": self.account_id,
            "name": self.name,
            "reason": self.reason,
        }

    def json_text(self) -> str:
        """as_dict() as compact JSON (", " and ": " separators, non-ASCII kept): what the
        streamed JSON writes for a list item (cli/render.py). Four C calls instead of a dict
        and an encoder run; `analyze` writes a hundred thousand of these for a large export."""
        return _CANDIDATE_JSON % (
            _quote(self.email),
            _quote(self.account_id),
            _quote(self.name),
            _quote(self.reason),
        )


_CANDIDATE_JSON = '{"email": %s, "account_id": %s, "name": %s, "reason": %s}'
_quote = json.encoder.encode_basestring  # a JSON string literal, non-ASCII kept


def _days(as_of: date, then: date) -> str:
    n = (as_of - then).days
    return "1 day" if n == 1 else f"{n} days"


def unwanted_reason(record: UserRecord, policy: Policy, billable: bool | None = None) -> str | None:
    """Why the user is billable only through unwanted products, or None when they are not.

    `billable` is the billable rule's answer for this record when the caller already has it
    (the Analyzer has it for a whole group of alike records); None: worked out here.
    """
    unwanted = policy.unwanted
    products = record.products
    for access in products:
        if product_key(access.product) not in unwanted:
            return None  # a wanted product: the common case, decided without the full rule
    if not products:
        return None
    if not (record.billable if billable is None else billable):
        return None
    shown = tuple(access.product for access in products)
    text = _UNWANTED_TEXT.get(shown)
    if text is None:
        names = sorted({product_name(product_key(product)) for product in shown})
        text = f"billable only through {', '.join(names)}"
        if len(_UNWANTED_TEXT) < 1_000:
            _UNWANTED_TEXT[shown] = text
    return text


# the sentences the lists repeat, made once: a large export lists a hundred thousand users
# with a few hundred distinct dates and a few product sets
_UNWANTED_TEXT: dict[tuple[str, ...], str] = {}
_LAST_SEEN_TEXT: dict[tuple[date, date], str] = {}


def _last_seen_text(latest: date, as_of: date) -> str:
    text = _LAST_SEEN_TEXT.get((latest, as_of))
    if text is None:
        ago = _days(as_of, latest)
        text = f"last seen {latest.isoformat()}, {ago} before {as_of.isoformat()}"
        if len(_LAST_SEEN_TEXT) < 10_000:
            _LAST_SEEN_TEXT[(latest, as_of)] = text
    return text


def inactive_reason(record: UserRecord, policy: Policy) -> str | None:
    """Why an active user with product access counts as inactive, or None.

    Inactive: no product used in the last `inactive_days` (last seen that many days or more
    before as_of), or never accessed at all once added more than `inactive_days` ago. An
    unknown last use (a product without a date) or an unknown added date keeps the user off.
    """
    if record.status != "active" or not record.products:
        return None
    latest: date | None = record.last_active
    unknown = False
    for access in record.products:
        seen = access.last_seen
        if seen is None:
            unknown = True
        elif seen != NEVER:
            assert isinstance(seen, date)
            if latest is None or seen > latest:
                latest = seen
    limit = policy.inactive_days
    if latest is not None:
        if (policy.as_of - latest).days < limit:
            return None
        if unknown and record.last_active is None:
            return None
        return _last_seen_text(latest, policy.as_of)
    if unknown:
        return None
    added = record.added_to_org
    if added is None or (policy.as_of - added).days <= limit:
        return None  # never used, but maybe only just added: not a candidate
    ago = _days(policy.as_of, added)
    return f"never accessed any product; added {added.isoformat()}, {ago} before {policy.as_of}"


def protection_reason(record: UserRecord, policy: Policy) -> str | None:
    """Why the user must stay off every candidate list, or None."""
    added = record.added_to_org
    if (
        not policy.protect.rules  # the usual answer, without building the sentence
        and not record.is_admin
        and not record.is_app
        and (added is None or (policy.as_of - added).days >= policy.grace_days)
    ):
        return None
    reasons: list[str] = []
    if record.is_admin:
        reasons.append(f"org role {record.org_role!r}")
    if record.is_app:
        reasons.append(f"account type {record.account_type!r}")
    rule = policy.protect.match(record.email, record.account_id)
    if rule is not None:
        reasons.append(f"matches protect pattern {rule.pattern!r} ({rule.origin})")
    if added is not None and (policy.as_of - added).days < policy.grace_days:
        reasons.append(
            f"added {added.isoformat()}, within the {policy.grace_days}-day grace period"
        )
    return "; ".join(reasons) or None


def _sites_not_managed(record: UserRecord, policy: Policy) -> str:
    """The record's sites the org does not manage, comma-joined ("" when none or unknown)."""
    sites = policy.org_sites
    if sites is None:
        return ""
    other = sorted({p.site for p in record.products if p.site and p.site.lower() not in sites})
    return ", ".join(other)


def classify(
    record: UserRecord, policy: Policy, *, billable: bool | None = None
) -> dict[str, Candidate]:
    """The classes this user is on, each with its reason. A protected user is only PROTECTED,
    with the classes they were kept off named in the reason. `billable`: as for
    unwanted_reason (the rule's answer when the caller has it)."""
    found: dict[str, str] = {}
    reason = unwanted_reason(record, policy, billable)
    if reason:
        found[TRELLO_ONLY] = reason
    reason = inactive_reason(record, policy)
    if reason:
        found[INACTIVE] = reason
    if not found:
        return {}
    elsewhere = _sites_not_managed(record, policy) if policy.org_sites is not None else ""
    if elsewhere:  # a playbook here cannot take that access away: say so on the list
        note = f" (also has access on {elsewhere}: {UNMANAGED_NOTE}; stays billable)"
        found = {cls: text + note for cls, text in found.items()}
    guard = protection_reason(record, policy)
    if guard:
        kept_off = "; ".join(f"would be {c}: {r}" for c, r in found.items())
        found = {PROTECTED: f"protected ({guard}); {kept_off}"}
    email, account_id, name = record.email, record.account_id, record.name
    lines: dict[str, Candidate] = {}
    for cls, text in found.items():  # a loop, not a comprehension (its own frame a call)
        lines[cls] = Candidate(email, account_id, name, text)
    return lines
