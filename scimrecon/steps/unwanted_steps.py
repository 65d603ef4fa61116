"""Option 4 of `scimrecon options`: deactivate accounts that no IdP manages and that have only
unwanted access (e.g. a free Trello signup on a work address).

An account an IdP manages is never touched here: the IdP would re-create or re-link it, and
the person may depend on it; `reprovision` is that account's way out. "Managed by an IdP" is
read live, twice over: a SCIM link (provisioning admin API) or the v2 directory user's
`managementSource` `synced`; either one, or an answer that cannot be read, spares the account.

The proof is made twice: by the look-up, and again right before the deactivation. Between the
two a run waits for its confirmation (hours, if the admin is away) or lies parked after a
crash, and meanwhile an IdP may link the account (a provisioning cycle, a manual push) or
someone may make the person an admin; the deactivation believes only what it reads then.
"""

from __future__ import annotations

from typing import Any

from scimrecon.engine.action import ReadAction, Skip, StepContext, StepFailed
from scimrecon.errors import CredentialsRefused, RemoteError
from scimrecon.steps._util import (
    csv_param,
    find_member,
    idp_still_provisions,
    still_holds_address,
    target_email,
)
from scimrecon.steps.account_steps import DisableAccount


def prove_unwanted(ctx: StepContext) -> dict[str, Any]:
    """Find the target's account live and prove that no IdP manages it and that all its access
    is unwanted; Skip (with the reason) otherwise. Returns the account id and products."""
    user = find_member(ctx, target_email(ctx))
    account_id = user.account_id
    admin = ctx.services.admin
    links = admin.scim_links_for_account(account_id)
    if links:
        raise Skip(
            f"managed by an IdP (SCIM user {links[0].scim_user_id}): never deactivated "
            "here; use the reprovision playbook or the IdP"
        )
    try:
        source = admin.directory_user(account_id).management_source
    except CredentialsRefused:
        raise  # nothing can be read: the run stops
    except RemoteError as exc:
        why = f"how {account_id} is managed cannot be read ({exc}): not touching it"
        raise Skip(why) from None
    if source != "invited":
        raise Skip(
            f"management source {source or 'unknown'} (not 'invited'): an IdP may manage "
            "it; never deactivated here"
        )
    # The directory says `invited`, and no SCIM entry links the account; an IdP that still
    # assigns the person (an entry removed by hand, a push not yet made) would bring them back
    # as a managed account: this playbook never touches those (read live, Entra and Okta).
    why = idp_still_provisions(ctx, [target_email(ctx), user.email or ""])
    if why is not None:
        raise Skip(f"{why}: the IdP will provision it; use the reprovision playbook or the IdP")
    unwanted = set(csv_param(ctx, "unwanted", "trello"))
    keys = sorted({p.key.lower() for p in user.product_access})
    if not keys:
        raise Skip("no product access: not billable, nothing to save")
    wanted = [k for k in keys if k not in unwanted]
    if wanted:
        raise Skip(f"also uses {', '.join(wanted)}: not only unwanted access")
    return {"account_id": account_id, "products": ", ".join(keys)}


class LookupUnwanted(ReadAction):
    """Find the account and prove, live, that no IdP manages it and all its access is unwanted."""

    name = "account.lookup_unwanted"

    def describe(self, ctx: StepContext) -> str:
        return f"look up {target_email(ctx)}: no IdP may manage it, only unwanted access"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        return prove_unwanted(ctx)


class DisableUnwanted(DisableAccount):
    """`account.disable`, but only after proving again, live, what the look-up proved."""

    name = "account.disable_unwanted"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        found = prove_unwanted(ctx)["account_id"]
        listed = self._account(ctx)
        if listed and found != listed:
            raise StepFailed(
                f"{target_email(ctx)} is account {found} now, not {listed} as looked up: "
                "not disabling"
            )
        still_holds_address(ctx, found, "deactivating")  # live: the user list is cached
        return super().apply(ctx)
