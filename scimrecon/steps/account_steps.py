"""Steps on Atlassian accounts: move the old email aside, wait for a login, disable, suspend."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scimrecon.engine.action import Action, ReadAction, Skip, StepContext, StepFailed
from scimrecon.errors import InputError
from scimrecon.identity import email_syntax_problem, same_identity
from scimrecon.steps._util import (
    account_profile,
    require,
    same_account_as_listed,
    skip_admin,
    skip_protected,
    skip_service_account,
    still_holds_address,
    target_email,
)
from scimrecon.steps.idp_steps import paused_by_this_run
from scimrecon.steps.scim_steps import REMOVED_AT
from scimrecon.steps.templates import check_template, fill

DEFAULT_EMAIL_TEMPLATE = "{local}+old-{run}@{domain}"
EMAIL_PLACEHOLDERS = ("local", "domain", "run")
DEFAULT_DISABLE_MESSAGE = "Replaced by a new account (scimrecon run {run})"
#: A run id for checking a template before a run has one (digits, as real run ids are).
_SAMPLE_RUN = "1"
#: The widest run id a state file will reach, for the plan's check of a parked address's
#: length: the real id is only known once the run starts, after its first changes.
_WIDEST_RUN = "999999"


def verified_domains(ctx: StepContext) -> tuple[str, ...] | None:
    """The org's verified domains as the profile lists them (`[atlassian] domains`); None
    before services exist (the first, profile-free check of the parameters)."""
    if ctx.services is None:
        return None
    atlassian = getattr(getattr(ctx.services, "profile", None), "atlassian", None)
    return tuple(d.lower().lstrip("@") for d in getattr(atlassian, "domains", None) or ())


def check_email_template(template: str, domains: tuple[str, ...] | None) -> None:
    """Refuse (exit 2, naming the parameter) a template no target could use.

    Only `{local}`, `{domain}` and `{run}`; `{local}` must be there (otherwise every old
    account would get the same address); the domain must be `{domain}` (the old address's
    own domain, verified because the account is managed) or one of the profile's verified
    domains; and the result must be a valid address.
    """
    check_template("email_template", template, EMAIL_PLACEHOLDERS)
    bad = f"parameter 'email_template': {template!r}"
    if "{local}" not in template.replace("{{", "").replace("}}", ""):
        raise InputError(f"{bad} has no {{local}}: every old account would get one address")
    if template.count("@") != 1:
        raise InputError(f"{bad} must hold exactly one @")
    domain = template.rpartition("@")[2]
    if domain != "{domain}" and domains is not None and domain.lower() not in domains:
        known = (
            f"the profile's verified domains: {', '.join(domains)}"
            if domains
            else ("no verified domains are listed in the profile's [atlassian] domains")
        )
        raise InputError(
            f"{bad}: the domain must be {{domain}} or a verified domain of the org "
            f"({domain!r} is not; {known})"
        )
    sample = fill(
        "email_template", template, {"local": "a", "domain": "acme.example", "run": _SAMPLE_RUN}
    )
    problem = email_syntax_problem(sample)
    if problem is not None:
        raise InputError(f"{bad} gives addresses like {sample!r}: {problem}")
    if same_identity(sample, "a@acme.example"):
        raise InputError(
            f"{bad} gives every old account its own address back ({sample!r} for "
            "'a@acme.example'): the old address must be freed for the new account; add "
            "something to {local}, such as the default's +old-{run}"
        )


#: "The data for the last activity may be delayed by up to 24 hours" (Organizations REST API,
#: User's last active dates): a use in the last day may not show yet.
ACTIVITY_LAG = timedelta(hours=24)
LAG_NOTE = "last-active data can lag by up to 24 hours"


def parked_email(template: str, email: str, run_id: str) -> str:
    """The address the old account moves to, so the IdP's next push cannot match it by email.

    It stays on a verified domain because Atlassian refuses other domains for a managed
    account; `check_email_template` vetted the template when the plan was made.
    """
    local, _, domain = email.partition("@")
    if not local or not domain:
        raise StepFailed(f"cannot derive a parked email from {email!r}")
    try:
        result = fill("email_template", template, {"local": local, "domain": domain, "run": run_id})
    except InputError as exc:
        raise StepFailed(exc.message) from None
    problem = email_syntax_problem(result)
    if problem is not None:
        raise StepFailed(f"email_template {template!r} gives {result!r}: {problem}")
    if same_identity(result, email):
        raise StepFailed(f"email_template {template!r} gives {result!r}, not a new address")
    return result


#: How long after this run's own removal of the SCIM entry the link is not read again.
TRUST_REMOVAL_S = 30.0


def _removed_moments_ago(ctx: StepContext) -> bool:
    """This run removed the target's SCIM entry less than TRUST_REMOVAL_S ago, and its pause
    of provisioning holds (done, not resumed since): nothing can have pushed the person back
    since, so asking for the links again would only re-read our own successful write (the
    provisioning links answer at once: docs/fidelity.md PROV-3). A settled removal (no time
    recorded), a playbook without the pause, a resumed run or a retry reads the links."""
    removed = ctx.target.get(REMOVED_AT)
    if not isinstance(removed, int | float) or ctx.settling or not paused_by_this_run(ctx):
        return False
    return 0.0 <= time.time() - float(removed) < TRUST_REMOVAL_S


class ParkOldEmail(Action):
    """Change the old account's email to an unused address on the same domain."""

    name = "account.park_email"
    destructive = True
    idempotent = True
    # With provisioning running, the IdP's next cycle could push the person back onto the old
    # account before its address moves, or onto whichever account takes the address after.
    needs_window = True
    # Never started: the address with this run's id in it cannot be there yet; a PUT of an
    # address the account already holds is refused and then settled by check.
    check_first_time = False

    def validate(self, ctx: StepContext) -> None:
        template = str(ctx.param("email_template", DEFAULT_EMAIL_TEMPLATE))
        check_email_template(template, verified_domains(ctx))

    def _new_email(self, ctx: StepContext) -> str:
        template = str(ctx.param("email_template", DEFAULT_EMAIL_TEMPLATE))
        original = str(ctx.target.get("old_email") or target_email(ctx))
        if not ctx.dry_run:
            return parked_email(template, original, ctx.run_id)
        # A plan has no run id yet: check the address with the widest one (a parked address
        # too long for the real id would fail after the unlink), show where it goes.
        parked_email(template, original, _WIDEST_RUN)
        local, _, domain = original.partition("@")
        return fill("email_template", template, {"local": local, "domain": domain, "run": "<run>"})

    def describe(self, ctx: StepContext) -> str:
        old = ctx.target.get("old_account_id", "the old account")
        return f"would change the email of {old} to {self._new_email(ctx)}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id = ctx.target.get("old_account_id")
        if not account_id:
            return None
        new_email = self._new_email(ctx)
        if same_identity(ctx.services.admin.get_profile(account_id).email, new_email):
            return {"old_account_email": new_email}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (account_id,) = require(ctx, "old_account_id")
        new_email = self._new_email(ctx)
        if not _removed_moments_ago(ctx) and ctx.services.admin.scim_links_for_account(account_id):
            # Provisioning ran while this target was between unlink and here (a failed
            # attempt, retried later): the person is back on the old account, whole. Parking
            # its email now would strand them; a fresh run starts the fix from the top.
            raise StepFailed(
                f"account {account_id} is linked to SCIM again: once this run has ended, "
                f"scimrecon undo {ctx.run_id} closes this attempt; then start a new run for "
                f"{target_email(ctx)} (the retry cannot continue half-way)"
            )
        holder = ctx.services.admin.find_org_user_by_email(new_email)
        if holder is not None and holder.account_id != account_id:
            raise StepFailed(
                f"{new_email} already belongs to account {holder.account_id}; "
                "choose another --param email_template"
            )
        ctx.services.admin.set_email(account_id, new_email)
        return {"old_account_email": new_email}

    # -- undo: the old address back (scimrecon undo) ---------------------------------------

    def _undo_addresses(self, ctx: StepContext) -> tuple[str, str, str]:
        account_id, original = require(ctx, "old_account_id", "old_email")
        parked = str(ctx.target.get("old_account_email") or self._new_email(ctx))
        return str(account_id), str(original), parked

    def undo_describe(self, ctx: StepContext) -> str:
        account_id, original, _ = self._undo_addresses(ctx)
        return f"would change the email of {account_id} back to {original}"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id, original, parked = self._undo_addresses(ctx)
        email = ctx.services.admin.get_profile(account_id).email or ""
        if email.lower() == original.lower():
            return {"email_restored": original}
        if email.lower() != parked.lower():
            raise Skip(
                f"account {account_id} has email {email!r}, neither the parked {parked!r} "
                f"nor the original {original!r}: changed since the run; not touching it"
            )
        return None

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        account_id, original, _ = self._undo_addresses(ctx)
        holder = ctx.services.admin.find_org_user_by_email(original)
        if holder is not None and holder.account_id != account_id:
            raise Skip(
                f"{original} belongs to account {holder.account_id} now (provisioning created "
                f"it?): the address cannot go back to {account_id}"
            )
        ctx.services.admin.set_email(account_id, original)
        return {"email_restored": original}


def enabled_again(ctx: StepContext, account_id: str) -> dict[str, Any] | None:
    """The undo check of a disable: done when the account is active again; a Skip when it is
    neither active nor disabled (closed: not ours to touch)."""
    status = ctx.services.admin.get_profile(account_id).account_status
    if status == "active":
        return {"enabled_account": account_id}
    if status != "inactive":
        raise Skip(f"account {account_id} is {status} now, not disabled: not touching it")
    return None


class DisableAccount(Action):
    """Deactivate the old account once nothing depends on it any more."""

    name = "account.disable"
    destructive = True
    idempotent = True

    def _account(self, ctx: StepContext) -> str:
        return str(ctx.target.get(str(ctx.param("account_field", "old_account_id"))) or "")

    def describe(self, ctx: StepContext) -> str:
        return f"would disable {self._account(ctx) or 'the old account'} ({target_email(ctx)})"

    def validate(self, ctx: StepContext) -> None:
        check_template("disable_message", self._template(ctx), ("run",))

    def _template(self, ctx: StepContext) -> str:
        return str(ctx.param("disable_message", DEFAULT_DISABLE_MESSAGE))

    def _message(self, ctx: StepContext) -> str:
        try:
            return fill("disable_message", self._template(ctx), {"run": ctx.run_id})
        except InputError as exc:
            raise StepFailed(exc.message) from None

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id = self._account(ctx)
        if account_id and account_profile(ctx, account_id).account_status != "active":
            return {"disabled_account": account_id}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        account_id = self._account(ctx)
        if not account_id:
            raise StepFailed("no account id to disable")
        self._still_retired(ctx, account_id)
        ctx.services.admin.disable(account_id, self._message(ctx))
        return {"disabled_account": account_id}

    def _still_retired(self, ctx: StepContext, account_id: str) -> None:
        """An old account must still look retired: a run may have parked for days meanwhile.

        If someone relinked it to SCIM or gave it its address back, it is a person's only
        working login now, and disabling it would lock them out.
        """
        parked = ctx.target.get("old_account_email")
        if not parked:
            return
        email = account_profile(ctx, account_id).email or ""  # read by check a moment ago
        if not same_identity(email, str(parked)):
            raise StepFailed(
                f"account {account_id} has email {email!r} now, not the parked {parked!r}: "
                "someone changed it since; not disabling"
            )
        links = ctx.services.admin.scim_links_for_account(account_id)
        if links:
            raise StepFailed(
                f"account {account_id} is linked to SCIM user {links[0].scim_user_id} again: "
                "not disabling a linked account"
            )

    # -- undo: enable it again (scimrecon undo) -------------------------------------------

    def undo_describe(self, ctx: StepContext) -> str:
        return f"would enable {self._account(ctx) or 'the account'} again ({target_email(ctx)})"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id = self._account(ctx)
        if not account_id:
            raise Skip("no account id recorded for the disable")
        return enabled_again(ctx, account_id)

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        account_id = self._account(ctx)
        ctx.services.admin.enable(account_id)
        return {"enabled_account": account_id}


class AwaitLogin(Action):
    """Park the run until the user has logged in to the new account at least once.

    Disabling the old account before that would leave the person with no working login if the
    new account was never set up; waiting days is normal, which is why the run parks.
    """

    name = "account.await_login"
    idempotent = True
    has_effect = False

    def describe(self, ctx: StepContext) -> str:
        days = ctx.param("wait_login_days", 0)
        return f"wait up to {days} days for {target_email(ctx)} to log in to the new account"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id = ctx.target.get("new_account_id")
        if not account_id:
            return None
        seen = [p.last_active for p in ctx.services.admin.last_active_dates(account_id).products]
        seen = [s for s in seen if s]
        return {"first_login": max(seen)} if seen else None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        outputs = self.check(ctx)
        if outputs is None:
            raise StepFailed(
                f"{target_email(ctx)} has not logged in to the new account yet "
                f"({LAG_NOTE}: a login in the last day may not show yet)"
            )
        return outputs


def _parse_day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _today(ctx: StepContext) -> date:
    as_of = _parse_day(ctx.param("as_of", ""))
    return as_of or datetime.now(UTC).date()


class RecheckInactive(ReadAction):
    """Re-read activity live: a list made last week may name someone who logged in since."""

    name = "account.recheck_inactive"

    def describe(self, ctx: StepContext) -> str:
        days = ctx.param("inactive_days", 90)
        return (
            f"re-check that {target_email(ctx)} has been inactive for {days} days, and is no "
            f"admin ({LAG_NOTE})"
        )

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        email = target_email(ctx)
        user = ctx.services.admin.find_org_user_by_email(email)
        if user is None:
            raise Skip("no such account in the org")
        if not same_identity(user.email, email):
            raise StepFailed(f"the org answered with {user.email!r} for {email!r}: not acting")
        same_account_as_listed(ctx, email, user.account_id)
        skip_service_account(user)
        if user.account_status != "active":
            raise Skip(f"account is {user.account_status}")
        skip_protected(ctx, email)
        account_id = user.account_id
        skip_admin(ctx, account_id)
        today = _today(ctx)
        activity = ctx.services.admin.last_active_dates(account_id)
        added = _parse_day(activity.added_to_org)
        grace = int(ctx.param("grace_days", 30))
        if added and (today - added).days < grace:
            raise Skip(f"protected: added to the org {added.isoformat()}, within {grace} days")
        if not activity.products:
            raise Skip("no product access left: nothing to suspend")
        cutoff = today - timedelta(days=int(ctx.param("inactive_days", 90)))
        last = max((d for p in activity.products if (d := _parse_day(p.last_active))), default=None)
        if last and last > cutoff:
            raise Skip(f"active since the list was made (last active {last.isoformat()})")
        if last and last >= cutoff - ACTIVITY_LAG:
            # Days are whole dates and the data may be a day behind: this close to the
            # cut-off, the person may already be on the active side of it.
            days = int(ctx.param("inactive_days", 90))
            retry = last + timedelta(days=days) + 2 * ACTIVITY_LAG
            raise Skip(
                f"last active {last.isoformat()} is within 24 h of the cut-off "
                f"{cutoff.isoformat()} and {LAG_NOTE}: not judged; re-check from "
                f"{retry.isoformat()}"
            )
        return {
            "account_id": account_id,
            "last_active": last.isoformat() if last else "never",
            # Constant text: a plan's fingerprint covers read outputs, so no clock time here.
            "activity_note": f"{LAG_NOTE}: a use in the last day may not show",
        }


class SuspendAccess(Action):
    """Remove the account's product access (the licence) without touching the identity."""

    name = "account.suspend"
    destructive = True
    idempotent = True

    def describe(self, ctx: StepContext) -> str:
        return f"would suspend product access of {target_email(ctx)}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        account_id = ctx.target.get("account_id")
        if account_id and not ctx.services.admin.last_active_dates(account_id).products:
            return {"suspended": True}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (account_id,) = require(ctx, "account_id")
        # Read again right before the change: a plan can wait hours for its confirmation, and
        # a resumed run may reach this step days after the re-check (a notice period): the
        # role, and that the account still holds the address the notice went to.
        skip_admin(ctx, account_id)
        still_holds_address(ctx, account_id, "suspending")
        ctx.services.admin.suspend_access(account_id)
        return {"suspended": True}

    # -- undo: give the licence back (scimrecon undo) -------------------------------------

    def undo_describe(self, ctx: StepContext) -> str:
        return f"would restore product access of {target_email(ctx)}"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        (account_id,) = require(ctx, "account_id")
        if ctx.services.admin.last_active_dates(account_id).products:
            return {"restored": True}
        return None

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        (account_id,) = require(ctx, "account_id")
        ctx.services.admin.restore_access(account_id)
        return {"restored": True}
