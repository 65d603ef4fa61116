"""The six ways out of users billable only through an unwanted product, as one decision.

A partner's guide to streamlining Atlassian Guard billable users (DESIGN.md, issue 16) gives org
admins six options for such users: (1) don't claim their accounts, (2) move them to a
non-billable authentication policy, (3) ask them to delete their Trello workspace, (4)
deactivate accounts no IdP manages, (5) ask Atlassian support to delete the accounts, (6)
re-provision them through the IdP (`reprovision`). Each costs something different; this module
says, for every candidate of `analyze`'s trello-only class, which options apply and why, and
what each one saves at a price. It only decides: the CLI renders, the playbooks act.

Whether an IdP manages an account is read live (the v2 directory user's `managementSource`:
`synced` means pushed by an IdP over SCIM). An export does not say; then the options that
change an account (4) leave everyone out, and the others say the answer is not known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from scimrecon.identity import identity_key
from scimrecon.recon.classify import Candidate

UNKNOWN_IDP: Final = "an export does not say whether an IdP manages it; --live reads it"
_MONTHS: Final = 12


@dataclass(frozen=True, slots=True)
class Verdict:
    """One candidate under one option: does it apply, and the sentence that says why."""

    candidate: Candidate
    qualifies: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.candidate.email,
            "account_id": self.candidate.account_id,
            "reason": self.reason,
            "qualifies": self.qualifies,
        }


@dataclass(frozen=True)
class Option:
    """One row of `scimrecon options`."""

    number: int
    name: str
    gives_up: str
    who_acts: str
    next_command: str
    verdicts: tuple[Verdict, ...]
    yearly_saving: Decimal

    @property
    def users(self) -> int:
        return sum(1 for v in self.verdicts if v.qualifies)

    @property
    def qualifying(self) -> list[Candidate]:
        return [v.candidate for v in self.verdicts if v.qualifies]

    def as_dict(self) -> dict[str, Any]:
        return {
            "option": self.number,
            "name": self.name,
            "users": self.users,
            "yearly_saving": float(self.yearly_saving),
            "gives_up": self.gives_up,
            "who_acts": self.who_acts,
            "next_command": self.next_command,
            "user_list": [v.as_dict() for v in self.verdicts],
        }


#: account id -> True (an IdP manages it), False (none does); None for the whole map: unknown
IdpManaged = Callable[[str], bool] | None

_Rule = Callable[[Candidate, bool | None], tuple[bool, str]]


def _dont_claim(c: Candidate, idp: bool | None) -> tuple[bool, str]:
    if idp:
        return False, "an IdP provisions this account (SCIM): it stays managed whatever the claim"
    note = "" if idp is False else f" ({UNKNOWN_IDP}: an IdP-provisioned one stays managed)"
    return True, f"{c.reason}: left unclaimed it is not on the org's bill{note}"


def _policy(c: Candidate, idp: bool | None) -> tuple[bool, str]:
    return True, f"{c.reason}: a member of a non-billable policy is not billable"


def _workspace(c: Candidate, idp: bool | None) -> tuple[bool, str]:
    return True, f"{c.reason}: without a Trello workspace the access, and the bill, go"


def _deactivate(c: Candidate, idp: bool | None) -> tuple[bool, str]:
    if idp is None:
        return False, f"{UNKNOWN_IDP}: never deactivated on a guess"
    if idp:
        return False, "an IdP manages this account: deactivate it there, or use option 6"
    return True, f"{c.reason}; no IdP manages the account"


def _support(c: Candidate, idp: bool | None) -> tuple[bool, str]:
    return True, f"{c.reason}: a deleted account is not billable"


def _reprovision(c: Candidate, idp: bool | None) -> tuple[bool, str]:
    if idp is False:
        return False, "no IdP manages this account: there is nothing to re-provision"
    note = "" if idp else f" ({UNKNOWN_IDP}; the playbook's lookup checks)"
    return True, f"{c.reason}; the IdP can give the person a new, clean account{note}"


@dataclass(frozen=True)
class _Spec:
    number: int
    name: str
    gives_up: str
    who_acts: str
    next_command: str
    rule: _Rule


def _specs(source: str, live_source: str = "--live") -> tuple[_Spec, ...]:
    """The six options; `source` is how the next commands name the user source, and
    `live_source` how option 4's (always live) names it."""

    def out(n: int, where: str = source) -> str:
        return f"scimrecon options {where} --option {n} --targets-out option{n}.csv && "

    return (
        _Spec(
            1,
            "don't claim those accounts",
            "SSO, enforced two-step verification and the password policy for those users; "
            "the org can no longer edit, deactivate or delete their accounts",
            "org admin (Settings > Domains: claim or unclaim accounts with a CSV)",
            f"scimrecon options {source} --claim-list claim.csv",
            _dont_claim,
        ),
        _Spec(
            2,
            "move them to a non-billable authentication policy",
            "enforced SSO and two-step verification for those users (a non-billable policy "
            "enforces neither)",
            "org admin",
            f"{out(2)}scimrecon run non-billable-policy --targets option2.csv "
            "--param policy_id=POLICY_ID",
            _policy,
        ),
        _Spec(
            3,
            "ask them to delete their Trello workspace",
            "nothing the org owns; each user decides, and may not act",
            "each affected user (the org admin sends the request and re-checks)",
            f"{out(3)}scimrecon run notify-trello-owners --targets option3.csv",
            _workspace,
        ),
        _Spec(
            4,
            "deactivate the accounts no IdP manages",
            "the person's Atlassian account: no login to any product until enabled again",
            "org admin",
            # only the live read knows who an IdP manages: the list comes from it
            f"{out(4, live_source)}scimrecon run deactivate-unwanted --targets option4.csv",
            _deactivate,
        ),
        _Spec(
            5,
            "ask Atlassian support to delete the accounts",
            "the accounts for good: boards only they could see are deleted and their Jira/JSM "
            "ticket history shows a former user",
            "Atlassian support, on the org admin's reviewed request",
            f"scimrecon options {source} --support-request support-request.txt",
            _support,
        ),
        _Spec(
            6,
            "re-provision them through the IdP (new, clean account)",
            "the old account (its Trello boards stay with it); tickets move to the new account",
            "IdP admin (pause/resume provisioning) and org admin",
            f"{out(6)}scimrecon run reprovision --targets option6.csv",
            _reprovision,
        ),
    )


def decide(
    candidates: Sequence[Candidate],
    *,
    price_per_user_month: Decimal,
    idp_managed: IdpManaged = None,
    source: str = "EXPORT",
    live_source: str = "--live",
) -> list[Option]:
    """The six options for these candidates (the trello-only class, protected users already
    left out), each user's verdict and reason, and the yearly saving at the price.

    `idp_managed` answers per account id whether an IdP manages it; None when the source
    cannot say (an export). `source` is put into the next commands (`EXPORT` or `--live`).
    """
    options: list[Option] = []
    for spec in _specs(source, live_source):
        verdicts = []
        for c in candidates:
            known = idp_managed(c.account_id) if idp_managed is not None else None
            qualifies, reason = spec.rule(c, known)
            verdicts.append(Verdict(c, qualifies, reason))
        users = sum(1 for v in verdicts if v.qualifies)
        saving = (price_per_user_month * users * _MONTHS).quantize(Decimal("0.01"))
        options.append(
            Option(
                spec.number,
                spec.name,
                spec.gives_up,
                spec.who_acts,
                spec.next_command,
                tuple(verdicts),
                saving,
            )
        )
    return options


def claim_list(managed_emails: Iterable[str], left_out: Iterable[str]) -> list[str]:
    """The accounts to claim: every managed email except the affected users (option 1), in
    the order given, each once (compared under the identity rule, scimrecon.identity)."""
    skip = {identity_key(e) for e in left_out}
    seen: set[str] = set()
    kept = []
    for email in managed_emails:
        key = identity_key(email)
        if key and key not in skip and key not in seen:
            seen.add(key)
            kept.append(email)
    return kept
