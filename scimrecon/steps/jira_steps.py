"""Move a person's Jira / JSM tickets from their old account to the new one, and count what
Jira cannot move."""

from __future__ import annotations

from typing import Any

from scimrecon.connectors.jira import USER_FIELDS, JiraIssue, jql_quote, jql_user
from scimrecon.connectors.jira_history import stays_behind
from scimrecon.engine.action import Action, ReadAction, StepContext, StepFailed
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
    rate-limit tokens); issues a bulk task reports failed are retried one by one, once.

    Jira's search lags writes, so every "is anything left?" question is asked twice: the search
    finds candidates, and a consistent read (`reconcileIssues`) of exactly those says which are
    really still on the old account. Without it a ticket just moved would be reported "left
    behind", and on resume a stale index would make us move tickets twice.
    """

    name = "jira.reassign"
    idempotent = True

    def describe(self, ctx: StepContext) -> str:
        old = ctx.target.get("old_account_id", "the old account")
        new = ctx.target.get("new_account_id", "the new account")
        fields = ", ".join(_fields(ctx))
        return f"would move {fields} of {target_email(ctx)}'s tickets {old} → {new}"

    def _clause(self, field: str, old: str) -> str:
        if field == "participants":
            return f'"Request participants" = {jql_quote(old)}'
        return jql_user(field, old)

    def _left(
        self,
        ctx: StepContext,
        old: str,
        known: dict[str, list[JiraIssue]] | None = None,
        *,
        as_checked: bool = False,
    ) -> dict[str, list[JiraIssue]]:
        """Per field, the issues really still on `old`: the search's candidates plus `known`
        ones (a lagging index cannot show tickets we moved a moment ago), then a consistent
        read of exactly those.

        `as_checked`: the first question of `apply` is the one its `check` asked a moment
        before in the same attempt (two searches per field), so that answer is taken from
        `ctx.memo`, which the runner empties before every attempt. The question after the
        move is always asked anew."""
        memo_key = ("jira-left", old, _ids(known))
        if as_checked and memo_key in ctx.memo:
            return dict(ctx.memo.pop(memo_key))
        jira = ctx.services.jira
        left: dict[str, list[JiraIssue]] = {}
        for field in _fields(ctx):
            clause = self._clause(field, old)
            candidates = list(jira.search(clause, fields=USER_FIELDS))
            seen = {i.id for i in candidates}
            candidates += [i for i in (known or {}).get(field, []) if i.id not in seen]
            really = jira.matching_now(clause, candidates) if candidates else []
            if really:
                left[field] = really
        ctx.memo[memo_key] = dict(left)
        return left

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        old = ctx.target.get("old_account_id")
        if not old or not ctx.target.get("new_account_id"):
            return None
        if self._left(ctx, old):
            return None
        return {"tickets_moved": int(ctx.target.get("tickets_moved") or 0)}

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        old, new = require(ctx, "old_account_id", "new_account_id")
        moved = self._move(ctx, old, new)
        return {
            "tickets_moved": len({i.id for issues in moved.values() for i in issues}),
            **{f"moved_{field}": len(issues) for field, issues in moved.items()},
            # every field asked for, 0 included: the report says "reporter 3, assignee 0"
            "moved_by_field": {f: len(moved.get(f, [])) for f in _fields(ctx)},
            # exactly which, so that an undo finds them even before Jira's index shows them
            "moved_issues": {f: [[i.id, i.key] for i in issues] for f, issues in moved.items()},
        }

    def _move(
        self,
        ctx: StepContext,
        src: str,
        dst: str,
        known: dict[str, list[JiraIssue]] | None = None,
    ) -> dict[str, list[JiraIssue]]:
        """Move every ticket field of `src` to `dst` and verify none is left (consistently
        read); the issues moved, per field."""
        jira = ctx.services.jira
        threshold = int(ctx.param("bulk_threshold", 50))
        found = self._left(ctx, src, known, as_checked=True)
        refused: dict[str, str] = {}
        for field, issues in found.items():
            if field == "participants":
                for issue in issues:
                    jira.add_participants(issue.key, [dst])
                    jira.remove_participants(issue.key, [src])
                continue
            single = issues
            if len(issues) > threshold:
                result = jira.bulk_set([i.key for i in issues], field, dst)
                failed = {issue_id for issue_id, _ in result.failures}
                single = [i for i in issues if i.id in failed]  # retried once, one by one
            for issue in single:
                reason = jira.try_set(issue.key, field, dst)
                if reason is not None:
                    refused[issue.key] = reason
        left = self._left(ctx, src, found)
        if left:
            detail = "; ".join(
                f"{field}: " + ", ".join(_named(i.key, refused) for i in issues)
                for field, issues in left.items()
            )
            raise StepFailed(f"tickets still on account {src} after reassigning: {detail}")
        return found

    # -- undo: the tickets go back with the person (scimrecon undo) ------------------------
    #
    # Only ever together with abandoning the new account (the provision step's undo, which
    # comes next in reverse order): everything on the account being abandoned goes to the
    # account the person keeps, including tickets they made on it since.

    def undo_describe(self, ctx: StepContext) -> str:
        old = ctx.target.get("old_account_id", "the old account")
        new = ctx.target.get("new_account_id", "the new account")
        return f"would move {', '.join(_fields(ctx))} of the tickets of {new} back to {old}"

    def _recorded(self, ctx: StepContext) -> dict[str, list[JiraIssue]]:
        """The issues the forward step moved (its `moved_issues` output)."""
        recorded = ctx.target.get("moved_issues") or {}
        return {
            field: [
                JiraIssue(key=str(key), reporter=None, assignee=None, id=str(i)) for i, key in pairs
            ]
            for field, pairs in recorded.items()
            if isinstance(pairs, list)
        }

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        new = ctx.target.get("new_account_id")
        if not new:
            return {"tickets_returned": 0}
        if self._left(ctx, str(new), self._recorded(ctx)):
            return None
        return {"tickets_returned": int(ctx.target.get("tickets_moved") or 0)}

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        old, new = require(ctx, "old_account_id", "new_account_id")
        moved = self._move(ctx, new, old, self._recorded(ctx))
        return {"tickets_returned": len({i.id for issues in moved.values() for i in issues})}


class CountWhatStays(ReadAction):
    """Count what stays on the old account because Jira cannot reassign it: comments and
    worklogs it wrote, JSM approvals naming it, issues it watches (connectors/jira_history.py).

    A read, so the plan shows the counts and the run takes them over (engine/adopt.py) rather
    than searching again; placed right after the look-up, before the pause, where Jira has
    nothing else to do (decision 103). Not `fingerprinted`: a comment written between `plan`
    and `run --plan` changes a count in the report, not whom the run acts on, so it does not
    refuse the run. Counted before the tickets move (the reporter / assignee clauses still
    find the old account's issues); what the person writes on the old account after the count
    is not in it, which the report's "a floor" already says of comments.
    """

    name = "jira.count_what_stays"
    fingerprinted = False

    def describe(self, ctx: StepContext) -> str:
        old = ctx.target.get("old_account_id", "the old account")
        return f"count the comments, worklogs, approvals and watches that stay on {old}"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (old,) = require(ctx, "old_account_id")
        found = stays_behind(ctx.services.jira, str(old))
        out: dict[str, Any] = {
            "stays_on_old_account": found.counts,
            "stays_on_old_account_issues": found.issues,
        }
        if found.notes:
            out["stays_on_old_account_note"] = "; ".join(found.notes)
        return out


def _ids(known: dict[str, list[JiraIssue]] | None) -> frozenset[tuple[str, str | None]]:
    return frozenset((f, i.id) for f, issues in (known or {}).items() for i in issues)


def _named(key: str, refused: dict[str, str]) -> str:
    return f"{key} ({refused[key]})" if key in refused else key
