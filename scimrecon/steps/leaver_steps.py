"""The look-up of deactivate-leavers: a leaver is an account the IdP provisioned and no longer
does (reconcile's "orphaned"), proven live right before anything is disabled, because a leaver
list can be a week old and a wrong disable is the costly mistake."""

from __future__ import annotations

from typing import Any

from scimrecon.engine.action import Action, ReadAction, Skip, StepContext, StepFailed
from scimrecon.steps._util import (
    account_profile,
    idp_still_provisions,
    is_not_found,
    org_member,
    skip_admin,
    skip_service_account,
    target_email,
)
from scimrecon.steps.account_steps import enabled_again


def _own_entry(ctx: StepContext, scim_ids: list[str]) -> Any:
    """The account's SCIM entry in the profile's directory: the one whose IdP is read here, and
    the one `scim.deactivate` sets inactive. Linked only by another directory (another IdP),
    the account is no leaver of this one: skipped."""
    for scim_id in scim_ids:
        try:
            return ctx.services.scim.get(scim_id)
        except Exception as exc:
            if not is_not_found(exc):
                raise  # an entry of another directory than the profile's is a 404 here
    raise Skip(
        "linked only by another SCIM directory than the profile's: its IdP is not the one "
        "read here, so nothing proves a leaver"
    )


def _require_gone_from_idp(ctx: StepContext, entry: Any, email: str) -> None:
    """A leaver list can be a week old: someone re-hired or re-assigned since must not be
    disabled. Checked live where the IdP can be read (Entra, Okta); manual IdP lists are trusted.
    Any match still provisioned spares the account: a wrong disable is the costly mistake."""
    names = [email, entry.user_name or ""]
    why = idp_still_provisions(ctx, names, entry.external_id)
    if why is not None:
        raise Skip(f"{why}: not a leaver")


class LookupLeaver(ReadAction):
    """Find a leaver's account and SCIM entry, live, right before anything is changed."""

    name = "account.lookup_leaver"

    def describe(self, ctx: StepContext) -> str:
        return f"look up {target_email(ctx)}'s account and SCIM entry"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        email = target_email(ctx)
        user = org_member(ctx, email)
        skip_service_account(user)
        skip_admin(ctx, user.account_id)
        status = ctx.services.admin.get_profile(user.account_id).account_status
        if status != "active":
            raise Skip(f"account {user.account_id} is already {status}")
        links = ctx.services.admin.scim_links_for_account(user.account_id)
        if not links:
            # A leaver here is an account the IdP provisioned and no longer does (reconcile's
            # "orphaned"): an account with no SCIM entry was never the IdP's to take away.
            raise Skip(
                "no SCIM entry: the IdP never provisioned this account, so it is no leaver of it "
                "(an unmanaged account: deactivate-unwanted, or by hand)"
            )
        entry = _own_entry(ctx, [link.scim_user_id for link in links])
        _require_gone_from_idp(ctx, entry, email)
        return {"account_id": user.account_id, "scim_id": entry.id}


class DeactivateLinked(Action):
    """Deactivate a leaver's account the way its IdP would: `active: false` on its SCIM entry.

    Atlassian lets the organization change a SCIM-managed account only through its directory
    (the user management API's reason `externalDirectory.scim`, docs/fidelity.md UM-4): the
    account follows its entry's `active`, and the undo sets it back.
    """

    name = "scim.deactivate"
    destructive = True
    idempotent = True

    def _ids(self, ctx: StepContext) -> tuple[str, str]:
        return str(ctx.target.get("account_id") or ""), str(ctx.target.get("scim_id") or "")

    def describe(self, ctx: StepContext) -> str:
        account_id, scim_id = self._ids(ctx)
        return (
            f"would deactivate {account_id or 'the account'} ({target_email(ctx)}) through its "
            f"SCIM entry {scim_id or '?'} (active: false)"
        )

    def _entry(self, ctx: StepContext) -> Any:
        """The SCIM entry, proven still the account's: a list can be old, a link can move."""
        account_id, scim_id = self._ids(ctx)
        if not account_id or not scim_id:
            raise StepFailed("no account id or SCIM entry recorded by the look-up")
        entry = ctx.services.scim.get(scim_id)
        if entry.account_id != account_id:
            raise StepFailed(
                f"SCIM entry {scim_id} links account {entry.account_id or 'none'} now, not "
                f"{account_id}: not touching it"
            )
        return entry

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id, scim_id = self._ids(ctx)
        if account_id and account_profile(ctx, account_id).account_status != "active":
            return {"disabled_account": account_id, "deactivated_scim_id": scim_id}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        entry = self._entry(ctx)
        ctx.services.scim.set_active(entry.id, False)
        account_id = entry.account_id
        status = ctx.services.admin.get_profile(account_id).account_status
        if status == "active":
            raise StepFailed(
                f"SCIM entry {entry.id} is inactive but account {account_id} is still active: "
                "Atlassian has not applied it yet; `resume --retry-failed` checks again"
            )
        return {"disabled_account": account_id, "deactivated_scim_id": entry.id}

    # -- undo: the entry active again, and with it the account (scimrecon undo) --------------

    def undo_describe(self, ctx: StepContext) -> str:
        account_id, scim_id = self._ids(ctx)
        who = f"{account_id}, {target_email(ctx)}"
        return f"would set SCIM entry {scim_id or '?'} active again ({who})"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id, _ = self._ids(ctx)
        return enabled_again(ctx, account_id)

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        entry = self._entry(ctx)
        ctx.services.scim.set_active(entry.id, True)
        return {"enabled_account": entry.account_id}
