"""Org-wide facts a run records for its report."""

from __future__ import annotations

from typing import Any

from scimrecon.engine.action import ReadAction, StepContext


class CountBillable(ReadAction):
    """Count billable managed accounts (the org API's own `access_billable`) into a run output.

    Placed first and last in a playbook, it gives the report its "billable before / after",
    read from the source of truth, not inferred. The v1 list holds managed accounts only, so
    external users, billable too (decision 115), are not in this figure; the steps a playbook
    runs change managed accounts, so the difference before / after is the saving. The
    listing is remembered, so the steps that look an address up next do not read it again.
    """

    name = "org.count_billable"

    def _key(self, ctx: StepContext) -> str:
        return str(ctx.param("output", "billable"))

    def describe(self, ctx: StepContext) -> str:
        return f"count billable users in the org ({self._key(ctx)})"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        count = sum(1 for user in ctx.services.admin.org_users() if user.access_billable)
        return {self._key(ctx): count}

    def finish_early(self, ctx: StepContext) -> dict[str, Any] | None:
        """Read early (`start_after`): the listing `apply` read, with every write this run made
        since (the disables) applied, which is the org as the run leaves it. None (read it
        again) when the listing is no longer held."""
        users = ctx.services.admin.listed_org_users()
        if users is None:
            return None
        return {self._key(ctx): sum(1 for user in users if user.access_billable)}
