"""Steps over the SCIM directory: find the user, remove the entry, wait for the fresh link."""

from __future__ import annotations

import time
from typing import Any

from scimrecon.engine.action import Action, ReadAction, Skip, StepContext, StepFailed
from scimrecon.identity import same_identity
from scimrecon.steps._util import (
    csv_param,
    idp_users,
    is_identity_mismatch,
    is_not_found,
    live_directory_user,
    reads_idp_directory,
    require,
    skip_protected,
    target_email,
    unwanted_split,
)

SCIM_REMOVAL_MODES = ("unlink", "delete")
#: Output of scim.remove: when this run removed the entry (epoch seconds).
REMOVED_AT = "scim_removed_at"


class LookupUser(ReadAction):
    """Find the target's SCIM entry and Atlassian account, and decide whether it is worth it.

    All reads happen here, before provisioning is paused, so the pause lasts as short as possible
    and every skip is decided while nothing has changed yet.
    """

    name = "scim.lookup"

    def describe(self, ctx: StepContext) -> str:
        return f"look up {target_email(ctx)} in the SCIM directory and the org"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        services = ctx.services
        email = target_email(ctx)
        try:
            user = services.scim.find_by_username(email)
        except Exception as exc:
            if not is_identity_mismatch(exc):
                raise
            raise Skip(f"not the same person: {exc}") from None
        if user is None:
            raise Skip(f"no SCIM user with userName {email!r}")
        skip_protected(ctx, email, user.user_name, user.primary_email)
        # The entry's extension carries the account id; the links are asked only without it.
        account_id = user.account_id or _linked_account(ctx, email, user.id)
        if not account_id:
            raise Skip(f"SCIM user {user.id} is not linked to an Atlassian account")
        # Role, status and product access in one read (no listing of the whole org first).
        member = live_directory_user(ctx, account_id)
        account_email, status = member.email, member.account_status
        _require_same_person(ctx, email, user, account_id, account_email)
        _require_assigned(ctx, user.external_id, user.user_name or email)
        products = [key for _, key, _ in member.product_access]
        skip_protected(ctx, email, account_email)
        if status != "active":
            raise Skip(f"account {account_id} is {status}: not billable")
        unwanted, licensed, include = unwanted_split(ctx, products)
        if not unwanted:
            names = "/".join(csv_param(ctx, "unwanted", "trello"))
            raise Skip(f"no {names} access: nothing to remove")
        if licensed and not include:
            raise Skip(
                f"billable anyway through {', '.join(licensed)} (no saving; "
                "--param include_licensed=true to include)"
            )
        seen = user.group_names()
        return {
            **({"scim_groups": seen} if seen is not None else {}),
            "scim_id": user.id,
            "user_name": user.user_name,
            "external_id": user.external_id,
            "old_account_id": account_id,
            "old_email": account_email,
            "products_before": ",".join(sorted([*unwanted, *licensed])),
        }


def _require_same_person(
    ctx: StepContext, email: str, user: Any, account_id: str, account_email: str | None
) -> None:
    """The account the SCIM entry links to must hold the target's own address (its userName),
    or, where the IdP's userName is not the mail (an Entra UPN), the entry's primary email
    when that address is nobody else's: no other SCIM entry has it as its userName, and no
    other account of the org holds the target's own address.

    Every later step acts on that account: the email is parked from it, the tickets move off
    it, it is disabled. A link to somebody else's account (links swapped by hand, an earlier
    half-done fix, an address changed in Atlassian only, mail attributes swapped in the IdP)
    would make those steps act on the wrong person. The entry's userName matching the target
    is not enough; the account's own email decides, under the identity rule, and an account
    whose email cannot be read is not assumed to be the target's.
    """
    if account_email and same_identity(account_email, email):
        return
    held = f"whose email is {account_email!r}" if account_email else "whose email cannot be read"
    why = f"links account {account_id}, {held}"
    entry_email = user.primary_email
    if account_email and entry_email and same_identity(account_email, entry_email):
        why = _someone_elses(ctx, email, user.id, account_id, entry_email)
        if why is None:
            return
    raise Skip(
        f"not the same person: SCIM user {user.id} ({email}) {why}; check the link by hand: "
        f"scimrecon accounts show {email}"
    )


def _someone_elses(
    ctx: StepContext, email: str, scim_id: str, account_id: str, entry_email: str
) -> str | None:
    """Why the entry's own email may name another person, or None when it is this one's: the
    rare UPN-is-not-the-mail case pays two reads, the usual one none."""
    try:
        other = ctx.services.scim.find_by_username(entry_email)
    except Exception as exc:
        if not is_identity_mismatch(exc):
            raise
        other = exc  # an answer for another identity: somebody's, not ours
    if other is not None and getattr(other, "id", None) != scim_id:
        return f"has the email {entry_email!r}, which is another SCIM user's userName"
    holder = ctx.services.admin.find_org_user_by_email(email)
    if holder is not None and holder.account_id != account_id:
        return (
            f"links account {account_id} ({entry_email!r}), while {email!r} is the address of "
            f"account {holder.account_id}"
        )
    return None


def _linked_account(ctx: StepContext, email: str, scim_id: str) -> str | None:
    """The account this SCIM user's own link points at (another entry with the same address
    is not ours)."""
    links = ctx.services.admin.scim_links_for_email(email)
    return next((link.account_id for link in links if link.scim_user_id == scim_id), None)


def _require_assigned(ctx: StepContext, object_id: str | None, user_name: str) -> None:
    """Only a user the IdP still provisions will come back on a new account.

    Removing the SCIM entry of someone unassigned (or disabled) in the IdP would leave them with
    no link and a parked email while the run waits, for hours, for a push that never comes:
    that is a leaver (deactivate-leavers), not a reprovision. An IdP whose directory cannot be
    read (a manual IdP) is trusted; its provision step is confirmed by a person.
    """
    if not reads_idp_directory(ctx):
        return
    name = ctx.services.idp.kind
    found = idp_users(ctx, object_id=object_id, names=[user_name, target_email(ctx)])
    if not found:
        raise Skip(f"no user {user_name!r} in the IdP ({name}): orphaned SCIM entry, a leaver")
    # The entry's own object id (listed first when found) decides; otherwise the name must
    # point at exactly one person.
    user = found[0]
    if len(found) > 1 and user.object_id != object_id:
        ids = ", ".join(u.object_id for u in found)
        raise Skip(f"{user_name} matches several users in the IdP ({name}): {ids}; check by hand")
    if not user.assigned:
        raise Skip(
            f"{user_name} is not assigned to the Atlassian app in the IdP ({name}): it would "
            "never be provisioned again (a leaver: deactivate-leavers)"
        )
    if user.account_enabled is False:
        raise Skip(f"{user_name} is disabled in the IdP ({name}): it would not come back active")
    mode = str(ctx.param("provision_mode", "reassign"))
    if user.assigned_via and mode in ("reassign", "cycle"):
        # Decided here, before anything changes: at the push it would leave them half-moved.
        raise Skip(
            f"{user_name} is assigned to the app through the group {user.assigned_via}, and "
            f"provision_mode={mode} reassigns the user's own assignment: run them with "
            "--param provision_mode=on-demand"
        )


class RemoveEntry(Action):
    """Remove the SCIM entry so the IdP can push the user again as a new identity.

    `unlink` (onlyDeleteUserInDB) keeps the old account working until its tickets have moved;
    `delete` also deactivates it at once and cannot be undone.
    """

    name = "scim.remove"
    destructive = True
    idempotent = True
    # The look-up found the entry before the pause; on an entry gone since, the removal
    # answers 404 and the runner's settle-by-check after the error records it as done.
    check_first_time = False

    def _mode(self, ctx: StepContext) -> str:
        mode = str(ctx.param("scim_removal", "unlink"))
        if mode not in SCIM_REMOVAL_MODES:
            raise StepFailed(f"scim_removal must be one of {', '.join(SCIM_REMOVAL_MODES)}")
        return mode

    def describe(self, ctx: StepContext) -> str:
        scim_id = ctx.target.get("scim_id")
        who = f"SCIM user {scim_id}" if scim_id else "the SCIM user"
        how = "unlink (onlyDeleteUserInDB)" if self._mode(ctx) == "unlink" else "DELETE"
        return f"would remove {who} ({target_email(ctx)}) by {how}"

    def _account_field(self, ctx: StepContext) -> str:
        return str(ctx.param("account_field", "old_account_id"))

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        scim_id = ctx.target.get("scim_id")
        account_id = ctx.target.get(self._account_field(ctx))
        if not scim_id or not account_id:
            return None
        try:
            ctx.services.scim.get(scim_id)
            return None
        except Exception as exc:
            if not is_not_found(exc):
                raise
        if ctx.services.admin.scim_links_for_account(account_id):
            return None
        return {"scim_removed": self._mode(ctx)}

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        scim_id, account_id = require(ctx, "scim_id", self._account_field(ctx))
        if self._mode(ctx) == "unlink":
            ctx.services.admin.delete_scim_record_only(account_id)
        else:
            ctx.services.scim.delete(scim_id)
        # When: the next step trusts a removal made moments ago, inside the pause window.
        return {"scim_removed": self._mode(ctx), REMOVED_AT: time.time()}

    # -- undo: the IdP links the old account again (scimrecon undo) ------------------------
    #
    # There is no API that puts a SCIM record back. What brings it back is the IdP's push,
    # which links by email to whichever account holds the address: so the old account must
    # have its own address back first (the park-email undo), and the push must come from the
    # IdP — after the window closes (provisioning resumed), or on demand.
    undo_after_window = True

    def irreversible(self, ctx: StepContext) -> str | None:
        if self._mode(ctx) == "delete":
            return (
                f"SCIM DELETE removed SCIM user {ctx.target.get('scim_id') or '?'} and "
                "deactivated the account (scim_removal=delete); Atlassian cannot undo it"
            )
        if not ctx.target.get("user_name"):
            return (
                "no IdP user was recorded for this entry (an orphaned entry: the IdP no "
                "longer provisions it), so nothing can push it back"
            )
        return None

    def undo_describe(self, ctx: StepContext) -> str:
        old = ctx.target.get(self._account_field(ctx), "the old account")
        groups = ctx.target.get("memberships_before")
        again = f", and its groups again ({', '.join(groups)})" if groups else ""
        return f"would have the IdP push {ctx.target.get('user_name')} again, linking {old}{again}"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        (account_id, user_name) = require(ctx, self._account_field(ctx), "user_name")
        user = ctx.services.scim.find_by_username(str(user_name))
        if user is None or not user.account_id:
            return None
        if user.account_id != account_id:
            raise Skip(
                f"SCIM user {user.id} ({user_name}) links account {user.account_id}, not the "
                f"old account {account_id}: the IdP pushed it onto another account; not "
                "touching it"
            )
        return {"relinked_scim_id": user.id}

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        from scimrecon.steps.group_steps import groups_after_relink
        from scimrecon.steps.idp_steps import request_push

        (account_id, user_name) = require(ctx, self._account_field(ctx), "user_name")
        original = str(ctx.target.get("old_email") or target_email(ctx))
        email = ctx.services.admin.get_profile(str(account_id)).email or ""
        if email.lower() != original.lower():
            raise StepFailed(
                f"account {account_id} has email {email!r}, not {original!r}: a push now would "
                "create a new account; the address must go back first"
            )
        pushed = request_push(ctx, str(user_name))
        return {
            "relink": str(pushed.get("provisioned")),
            **{k: v for k, v in pushed.items() if k != "provisioned"},
            **groups_after_relink(ctx, str(account_id)),
        }


class AwaitNewAccount(Action):
    """Wait until the IdP has pushed the user again, and prove it landed on a *new* account.

    If it relinked to the old account, the old email was not changed in time (or provisioning was
    never paused): the saving is lost and a person must fix it, so the target fails loudly.
    """

    name = "scim.await_new_account"
    idempotent = True
    has_effect = False

    def describe(self, ctx: StepContext) -> str:
        return f"wait for {target_email(ctx)} to be provisioned again onto a new account"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        old = ctx.target.get("old_account_id")
        if not old:  # nothing to compare with yet: the entry found now is the old one
            return None
        user_name = ctx.target.get("user_name") or target_email(ctx)
        user = ctx.services.scim.find_by_username(user_name)
        if user is None or not user.account_id:
            return None
        if user.account_id == old:
            raise StepFailed(
                f"{user_name} was provisioned back onto its OLD account {old}: the old email was "
                "not changed before provisioning resumed. Fix: pause provisioning, unlink SCIM "
                f"user {user.id}, change the old account's email, then "
                f"scimrecon resume {ctx.run_id} --retry-failed"
            )
        seen = user.group_names()
        return {
            "new_account_id": user.account_id,
            "new_scim_id": user.id,
            # what restore-groups needs first: which groups the new entry has (none, usually)
            **({"new_memberships": sorted(seen)} if seen is not None else {}),
        }

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        outputs = self.check(ctx)
        if outputs is None:
            raise StepFailed(f"{target_email(ctx)} has not been provisioned again yet")
        return outputs
