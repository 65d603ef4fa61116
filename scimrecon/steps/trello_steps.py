"""Option 3 of issue 16: ask users billable only through Trello to delete their workspace.

The org admin cannot delete a user's Trello workspace; the user can. These steps pick out, live,
who is billable through Trello alone (anyone with another product stays billable whatever
happens to Trello, so asking them would cost their boards for nothing), and after the wait
read again who still has Trello access, for the report.
"""

from __future__ import annotations

from typing import Any

from scimrecon.engine.action import Action, ReadAction, Skip, StepContext
from scimrecon.recon.model import product_name
from scimrecon.steps._util import (
    org_member,
    require,
    skip_admin,
    skip_service_account,
    target_email,
)

TRELLO = "trello"


class LookupTrelloOnly(ReadAction):
    """Find the account; go on only for an active member billable through Trello alone."""

    name = "trello.lookup_trello_only"

    def describe(self, ctx: StepContext) -> str:
        return f"check live that {target_email(ctx)} is billable only through Trello"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        email = target_email(ctx)
        user = org_member(ctx, email)
        skip_service_account(user)
        if user.account_status != "active":
            raise Skip(f"account is {user.account_status}: not billable")
        skip_admin(ctx, user.account_id)
        products = ctx.services.admin.last_active_dates(user.account_id).products
        keys = {p.key for p in products if p.key}
        if TRELLO not in keys:
            raise Skip("no Trello access: nothing to ask")
        others = sorted(product_name(k) for k in keys - {TRELLO})
        if others:
            raise Skip(
                f"billable through {', '.join(others)} too: deleting a Trello workspace would "
                "not take them off the bill"
            )
        return {"account_id": user.account_id}


class RecheckTrello(Action):
    """After the wait: read live whether the account still has Trello access (the report
    lists `trello_access` = still | gone for every target)."""

    name = "trello.recheck_access"
    idempotent = True
    has_effect = False

    def describe(self, ctx: StepContext) -> str:
        return f"re-check live whether {target_email(ctx)} still has Trello access"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        return None  # a read, made fresh every time

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (account_id,) = require(ctx, "account_id")
        products = ctx.services.admin.last_active_dates(account_id).products
        still = any(p.key == TRELLO for p in products)
        if still:
            ctx.ui.info(f"{target_email(ctx)} still has Trello access")
        return {"trello_access": "still" if still else "gone"}


__all__ = ["LookupTrelloOnly", "RecheckTrello"]
