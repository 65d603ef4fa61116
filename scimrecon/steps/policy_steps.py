"""Steps on authentication policies: move a user into a (non-billable) policy, and back.

Option 2 of `scimrecon options`: a managed account in a non-billable authentication policy is
not billable (atlassian.com/licensing/atlassian-guard), but that policy enforces neither SSO
nor two-step verification, which is why the move is confirmed with that sentence and can be
undone (the user goes back to the policy they were in, read before the move).
"""

from __future__ import annotations

from typing import Any

from scimrecon.engine.action import Action, ReadAction, Skip, StepContext, StepFailed
from scimrecon.errors import InputError
from scimrecon.identity import same_identity
from scimrecon.steps._util import (
    csv_param,
    find_member,
    require,
    skip_admin,
    still_holds_address,
    target_email,
    unwanted_split,
)

TRADE_OFF = "no enforced SSO or two-step verification for them there"


def _policy_id(ctx: StepContext) -> str:
    value = str(ctx.param("policy_id", "") or "").strip()
    if not value:
        raise InputError("parameter 'policy_id' is required: the id of the non-billable policy")
    return value


class LookupPolicyMember(ReadAction):
    """Find the managed account and the policy it is in now (what undo goes back to)."""

    name = "policy.lookup"

    def describe(self, ctx: StepContext) -> str:
        return f"look up {target_email(ctx)}'s account and authentication policy"

    def validate(self, ctx: StepContext) -> None:
        _policy_id(ctx)

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        user = find_member(ctx, target_email(ctx))
        _only_unwanted_access(ctx, user.product_access)
        current = ctx.services.auth_policies.policy_of(user.account_id)
        if current is None:
            raise StepFailed(f"the policy of {user.account_id} cannot be read: not moving it")
        if current.policy_id == _policy_id(ctx):
            raise Skip(f"already in policy {current.policy_name or current.policy_id}")
        return {
            "account_id": user.account_id,
            "previous_policy_id": current.policy_id,
            "previous_policy": current.policy_name or current.policy_id,
        }


def _only_unwanted_access(ctx: StepContext, access: list[Any]) -> None:
    """Skip anyone this playbook is not for: a user with no product access (not billable:
    nothing to save) and, unless `include_licensed`, a user of any product beyond the unwanted
    ones. The policy takes SSO and enforced two-step verification away; for a Trello-only
    signup that is the trade-off the option is chosen for, for someone who works in Jira or
    Confluence it is a security downgrade that a list typed by hand must not cause."""
    if not access:
        raise Skip("no product access: not billable, nothing to save")
    unwanted, licensed, include = unwanted_split(ctx, [p.key for p in access])
    if not unwanted:  # include_licensed or not: this option is for them alone
        names = "/".join(sorted(csv_param(ctx, "unwanted", "trello")))
        raise Skip(f"no {names} access: not billable through it")
    if licensed and not include:
        raise Skip(
            f"uses {', '.join(licensed)}: the policy would take SSO and two-step verification "
            "away from a product they use (--param include_licensed=true to move them anyway)"
        )


class MoveToPolicy(Action):
    """Add the user to the policy (an asynchronous task), then read the membership back."""

    name = "policy.move"
    destructive = True
    idempotent = True

    def describe(self, ctx: StepContext) -> str:
        policy = ctx.param("policy_id", "the policy")
        return f"would move {target_email(ctx)} to policy {policy} ({TRADE_OFF})"

    def validate(self, ctx: StepContext) -> None:
        _policy_id(ctx)

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id = ctx.target.get("account_id")
        if not account_id:
            return None
        current = ctx.services.auth_policies.policy_of(str(account_id))
        if current is not None and current.policy_id == _policy_id(ctx):
            return {"moved_to": current.policy_name or current.policy_id}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (account_id,) = require(ctx, "account_id")
        skip_admin(ctx, account_id)  # read again: a plan can wait hours for its confirmation
        still_holds_address(ctx, account_id, "moving")
        policy = _policy_id(ctx)
        return {"moved_to": _move(ctx, account_id, policy, saving=True)}

    # -- undo: back to the policy the user was in --------------------------------------------

    def undo_describe(self, ctx: StepContext) -> str:
        back = ctx.target.get("previous_policy") or "the previous policy"
        return f"would move {target_email(ctx)} back to policy {back}"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id, previous = require(ctx, "account_id", "previous_policy_id")
        current = ctx.services.auth_policies.policy_of(account_id)
        if current is not None and current.policy_id == previous:
            return {"moved_back_to": previous}
        if current is None or current.policy_id != _policy_id(ctx):
            where = current.policy_id if current else "no readable policy"
            raise Skip(f"{account_id} is in {where} now, not in {_policy_id(ctx)}: not touching it")
        return None

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        account_id, previous = require(ctx, "account_id", "previous_policy_id")
        still_holds_address(ctx, account_id, "moving")
        return {"moved_back_to": _move(ctx, account_id, previous, saving=False)}


def _move(ctx: StepContext, account_id: str, policy_id: str, *, saving: bool) -> str:
    """Start the add-users task, wait for its end, and believe only the membership read back;
    `saving`: the move is meant to take the user off the bill (a billable policy fails it)."""
    email = target_email(ctx)
    policies = ctx.services.auth_policies
    task_id = policies.add_users(policy_id, [email])
    task = policies.wait(task_id)
    mine = [e for e in task.errors if same_identity(str(e.get("user") or ""), email)]
    if mine or task.status == "FAILED":
        detail = str((mine or task.errors or [{}])[0].get("detail") or task.status)
        raise StepFailed(
            f"policy task {task_id} did not move {email}: {detail}. Fallback: add the user in "
            "admin.atlassian.com > Security > Authentication policies"
        )
    current = policies.policy_of(account_id)
    if current is None or current.policy_id != policy_id:
        now = current.policy_id if current else "no readable policy"
        raise StepFailed(
            f"policy task {task_id} ended {task.status}, but {email} is in {now}, not "
            f"{policy_id}: check in admin.atlassian.com > Security > Authentication policies"
        )
    if saving and current.billable is True:
        raise StepFailed(
            f"{email} is in policy {current.policy_name or policy_id} now, but that policy is "
            f"billable: nothing is saved; scimrecon undo {ctx.run_id} moves them back"
        )
    return current.policy_name or policy_id
