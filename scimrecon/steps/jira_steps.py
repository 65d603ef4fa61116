"""Move a person's Jira / JSM tickets from their old account to the new one."""

from __future__ import annotations

from typing import Any

from scimrecon.connectors.jira import USER_FIELDS, jql_quote, jql_user
from scimrecon.engine.action import Action, StepContext, StepFailed
from scimrecon.steps._util import csv_param, require, target_email


def _fields(ctx: StepContext) -> list[str]:
    fields = csv_param(ctx, "reassign", "reporter")
    unknown = [f for f in fields if f not in (*USER_FIELDS, "participants")]
    if unknown:
        raise StepFailed(f"reassign: unknown field(s) {', '.join(unknown)}")
    return fields


class ReassignTickets(Action):
    """Reassign reporter (and, by parameter, assignee and JSM participants), then verify.

    Edits use notifyUsers=false so a migration does not mail every watcher. Above
    `bulk_threshold` issues one bulk request replaces hundreds of edits (and hundreds of
    rate-limit tokens).
    """

    name = "jira.reassign"
    idempotent = True

    def describe(self, ctx: StepContext) -> str:
        old = ctx.target.get("old_account_id", "the old account")
        new = ctx.target.get("new_account_id", "the new account")
        fields = ", ".join(_fields(ctx))
        return f"would move {fields} of {target_email(ctx)}'s tickets {old} → {new}"

    def _left(self, ctx: StepContext, old: str) -> dict[str, list[str]]:
        jira = ctx.services.jira
        left: dict[str, list[str]] = {}
        for field in _fields(ctx):
            if field in USER_FIELDS:
                keys = [issue.key for issue in jira.search(jql_user(field, old), fields=(field,))]
                if keys:
                    left[field] = keys
        return left

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        old = ctx.target.get("old_account_id")
        if not old or not ctx.target.get("new_account_id"):
            return None
        if self._left(ctx, old) or self._participant_issues(ctx, old):
            return None
        return {"tickets_moved": int(ctx.target.get("tickets_moved") or 0)}

    def _participant_issues(self, ctx: StepContext, old: str) -> list[str]:
        if "participants" not in _fields(ctx):
            return []
        jql = f'"Request participants" = {jql_quote(old)}'
        return [issue.key for issue in ctx.services.jira.search(jql, fields=("key",))]

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        old, new = require(ctx, "old_account_id", "new_account_id")
        return {"tickets_moved": self._move(ctx, old, new)}

    def _move(self, ctx: StepContext, src: str, dst: str) -> int:
        """Move every ticket field of `src` to `dst`, verify none is left; how many moved."""
        jira = ctx.services.jira
        threshold = int(ctx.param("bulk_threshold", 50))
        moved: set[str] = set()
        for field, keys in self._left(ctx, src).items():
            if len(keys) > threshold:
                jira.bulk_set(keys, field, dst)
            else:
                for key in keys:
                    if field == "reporter":
                        jira.set_reporter(key, dst)
                    else:
                        jira.set_assignee(key, dst)
            moved.update(keys)
        for key in self._participant_issues(ctx, src):
            jira.add_participants(key, [dst])
            jira.remove_participants(key, [src])
            moved.add(key)
        remaining = self._left(ctx, src)
        if remaining:
            detail = "; ".join(f"{f}: {', '.join(k)}" for f, k in remaining.items())
            raise StepFailed(f"tickets still on account {src} after reassigning: {detail}")
        return len(moved)

    # -- undo: the tickets go back with the person (scimrecon undo) ------------------------
    #
    # Only ever together with abandoning the new account (the provision step's undo, which
    # comes next in reverse order): everything on the account being abandoned goes to the
    # account the person keeps, including tickets they made on it since.

    def undo_describe(self, ctx: StepContext) -> str:
        old = ctx.target.get("old_account_id", "the old account")
        new = ctx.target.get("new_account_id", "the new account")
        return f"would move {', '.join(_fields(ctx))} of the tickets of {new} back to {old}"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        new = ctx.target.get("new_account_id")
        if not new:
            return {"tickets_returned": 0}
        if self._left(ctx, str(new)) or self._participant_issues(ctx, str(new)):
            return None
        return {"tickets_returned": int(ctx.target.get("tickets_moved") or 0)}

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        old, new = require(ctx, "old_account_id", "new_account_id")
        return {"tickets_returned": self._move(ctx, new, old)}
