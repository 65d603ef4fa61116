"""Steps that drive the identity provider: pause and resume provisioning, re-push a user.

Where the IdP has an API (Entra ID, Okta) the step calls it and verifies the new state. Where it
has none (any other IdP) the step shows the adapter's instructions and waits for the person to
type a confirmation: `--yes` never answers that, because we cannot verify it.

Okta's pause turns off several capabilities, some possibly off already, and resume must turn
back on exactly those that were on (decision 44). Which ones is read by `idp.snapshot`, a step
of its own before the pause, so it is in the run's recorded outputs before anything changes: a
crash in the middle of the pause cannot lose it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from scimrecon.connectors.idp.base import ReassignRefused, RestoresExactly
from scimrecon.engine.action import Action, ReadAction, Skip, StepContext, StepFailed
from scimrecon.errors import RefusedError
from scimrecon.steps._util import idp_display_name, scim_entry, target_email

RESTORE = "idp_restore"  # run output: what pause turned off (comma-separated), resume restores


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_manual(ctx: StepContext, operation: str) -> bool:
    return ctx.services.idp.capabilities.get(operation) != "api"


def _idp_name(ctx: StepContext) -> str:
    return _idp_name_of(ctx.services.idp)


PROVISION_MODES = ("reassign", "on-demand", "cycle")


def _mode(ctx: StepContext) -> str:
    """How the user is pushed back (docs/playbooks/reprovision.md):

    - reassign (default): unassign and reassign the user in the Atlassian Cloud app, as
      Atlassian documents, then push on demand;
    - on-demand: push only (Entra provisionOnDemand; a prompt for other IdPs) — Atlassian warns
      that an IdP's force push without reassignment "may have consequences";
    - cycle: reassign and leave the push to the IdP's next (incremental) cycle: Entra allows 5
      on-demand pushes per 10 s (1,000 users would take 33 minutes of them).
    """
    mode = str(ctx.param("provision_mode", "reassign"))
    if mode not in PROVISION_MODES:
        raise StepFailed(f"provision_mode must be one of {', '.join(PROVISION_MODES)}, not {mode}")
    return mode


def _by_cycle(ctx: StepContext) -> bool:
    return _mode(ctx) == "cycle"


def _resumed_since(ctx: StepContext) -> bool:
    """This run's last resume came after its last pause (ISO times compare as strings)."""
    resumed = ctx.run_outputs.get("resumed_at")
    return bool(resumed) and resumed >= str(ctx.run_outputs.get("paused_at") or "")


def paused_by_this_run(ctx: StepContext) -> bool:
    """This run's pause is done and no resume of it has come since: the IdP pushes nobody."""
    return bool(ctx.run_outputs.get("paused_at")) and not _resumed_since(ctx)


def _restore(ctx: StepContext) -> list[str] | None:
    """What this run recorded as on before its pause (None: nothing recorded)."""
    value = ctx.run_outputs.get(RESTORE)
    if value is None:
        return None
    return [name for name in str(value).split(",") if name]


class SnapshotProvisioning(ReadAction):
    """Record, before the pause, which provisioning capabilities are on (Okta), so that resume
    restores exactly those. A step of its own so that its outputs are committed before the pause
    changes anything; for an IdP whose pause is one switch (Entra, manual) it records nothing.
    """

    name = "idp.snapshot"

    def describe(self, ctx: StepContext) -> str:
        if isinstance(ctx.services.idp, RestoresExactly):
            return f"record which provisioning capabilities are on in {_idp_name(ctx)}"
        return f"nothing to record in {_idp_name(ctx)} (resume is one switch)"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        idp = ctx.services.idp
        if not isinstance(idp, RestoresExactly):
            return {}
        if PauseProvisioning.name in ctx.started_actions:
            return {}  # a pause of this run may be under way: what is on now is not the truth
        enabled = idp.enabled()
        if getattr(idp, "unassigns_to_repush", False) and "create" not in enabled:
            # A re-push is an assignment, and an assignment creates nobody while create is
            # off: the run would remove SCIM entries and then wait for users who never come.
            raise RefusedError(
                f"'Create Users' is off for the Atlassian Cloud app in {_idp_name(ctx)}, so "
                "re-assigned users would never be created again; nothing was changed: turn it "
                "on (Provisioning → To App) or leave these users alone"
            )
        return {RESTORE: ",".join(enabled)}


class PauseProvisioning(Action):
    """Stop the IdP from pushing users while their SCIM entries are being replaced.

    Without the pause, the next provisioning cycle pushes the user straight back onto the old
    account (same email), and the whole run is for nothing. The run only ever takes over a job
    it paused itself: a job someone else paused (or one in quarantine) is theirs to resume, so
    the run refuses rather than un-pause it later.
    """

    name = "idp.pause"
    window = "open"

    def describe(self, ctx: StepContext) -> str:
        how = "ask you to pause" if _is_manual(ctx, "pause") else "pause"
        return f"would {how} provisioning in {_idp_name(ctx)}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        paused = ctx.run_outputs.get("paused_at")
        if _is_manual(ctx, "pause"):
            # Paused by this run and not resumed since (a retried run may have resumed it).
            return {"paused_at": paused} if paused and not _resumed_since(ctx) else None
        state = ctx.services.idp.status()
        if state == "Paused" and (ctx.settling or paused):
            return {"paused_at": paused or _now()}  # ours; a crash may have swallowed the answer
        if state != "Active":
            then = (
                "plan again"
                if ctx.dry_run
                else (
                    f"carry on with the undo: scimrecon undo {ctx.run_id} (scimrecon abort "
                    f"{ctx.run_id} --undo for a run that has not ended)"
                )
                if ctx.undoing
                else f"scimrecon resume {ctx.run_id}"
            )
            raise RefusedError(
                f"{_idp_name(ctx)} provisioning is {state} before this run touched it; "
                "this run will not take it over (and would not know to leave it paused): "
                f"make it Active, or finish whatever paused it, then {then}"
            )
        idp = ctx.services.idp
        restore = _restore(ctx) if isinstance(idp, RestoresExactly) else None
        if restore is not None and set(idp.enabled()) != set(restore):
            # Refused here, before the pause's intent is recorded: this run's resume (and its
            # finally) then knows it paused nothing and turns nothing on.
            raise RefusedError(
                f"{_idp_name(ctx)}'s provisioning settings changed since this run recorded "
                f"them (recorded on: {', '.join(restore) or 'none'}; on now: "
                f"{', '.join(idp.enabled()) or 'none'}); nothing was changed: abort this run "
                "and start a new one"
            )
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        idp = ctx.services.idp
        if _is_manual(ctx, "pause"):
            ctx.ui.manual(idp.instructions("pause"), expect="paused")
        elif isinstance(idp, RestoresExactly):
            was = idp.pause(_restore(ctx))
            state = idp.status()
            if state != "Paused":
                raise StepFailed(f"{_idp_name(ctx)} provisioning is {state} after pausing it")
            return {"paused_at": _now(), RESTORE: ",".join(was)}
        else:
            idp.pause()
            state = idp.status()
            if state != "Paused":
                raise StepFailed(f"{_idp_name(ctx)} provisioning is {state} after pausing it")
        return {"paused_at": _now()}

    def left_changed(self, ctx: StepContext) -> str | None:
        """What a person must know if the run stops while provisioning is paused."""
        if ctx.run_outputs.get("resumed_at"):
            return None
        return f"provisioning is still paused in {_idp_name(ctx)} by run {ctx.run_id}"


class ResumeProvisioning(Action):
    """Turn provisioning back on if, and only if, this run paused it; report for how long.

    "Did this run pause it?" comes from the recorded intent of the pause step, which survives a
    crash in the middle of the pause (or a Ctrl-C at the manual prompt), not from its outputs.
    """

    name = "idp.resume"
    idempotent = True
    window = "close"

    def describe(self, ctx: StepContext) -> str:
        how = "ask you to resume" if _is_manual(ctx, "resume") else "resume"
        return f"would {how} provisioning in {_idp_name(ctx)}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        if PauseProvisioning.name not in ctx.started_actions:
            return {"resumed": "not paused by this run"}
        if _is_manual(ctx, "resume"):
            return self._outputs(ctx) if _resumed_since(ctx) else None
        idp = ctx.services.idp
        if isinstance(idp, RestoresExactly):
            restore = _restore(ctx)
            return self._outputs(ctx) if restore is not None and _restored(idp, restore) else None
        if idp.status() == "Active":
            return self._outputs(ctx)
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        idp = ctx.services.idp
        if _is_manual(ctx, "resume"):
            ctx.ui.manual(idp.instructions("resume"), expect="resumed")
        elif isinstance(idp, RestoresExactly):
            restore = _restore(ctx)
            if restore is None:
                raise StepFailed(
                    f"this run did not record which {_idp_name(ctx)} provisioning capabilities "
                    "were on before its pause, so it cannot restore them: turn them back on by "
                    f"hand ({idp.instructions('resume').splitlines()[1].strip()} ...), then "
                    f"scimrecon resume {ctx.run_id}"
                )
            idp.resume(restore)
            if not _restored(idp, restore):
                raise StepFailed(
                    f"{_idp_name(ctx)} provisioning capabilities {', '.join(restore)} are not "
                    "all on after resuming them"
                )
        else:
            idp.resume()
            state = idp.status()
            if state != "Active":
                raise StepFailed(f"{_idp_name(ctx)} provisioning is {state} after resuming it")
        return self._outputs(ctx)

    def _outputs(self, ctx: StepContext) -> dict[str, Any]:
        resumed = ctx.run_outputs.get("resumed_at") if _resumed_since(ctx) else None
        resumed = resumed or _now()
        outputs: dict[str, Any] = {"resumed_at": resumed}
        paused = ctx.run_outputs.get("paused_at")
        if paused:
            start = datetime.strptime(paused, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            end = datetime.strptime(resumed, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            outputs["paused_seconds"] = max(0, int((end - start).total_seconds()))
        return outputs


#: Where an abandoned new account's email moves to (same verified domain, never reused).
ABANDONED_TEMPLATE = "{local}+abandoned-{run}@{domain}"


def _reassign(ctx: StepContext, user_name: str) -> str:
    """Unassign and reassign, but only once the user has no SCIM entry on the old account:
    unassigning someone who still has one makes the IdP deactivate that account."""
    idp = ctx.services.idp
    entry = scim_entry(ctx, user_name)  # the step's own check read it a moment ago
    if entry is not None and entry.account_id == ctx.target.get("old_account_id"):
        raise StepFailed(
            f"{user_name} still has a SCIM entry linked to the old account: unassigning "
            "now would deactivate it"
        )
    if getattr(idp, "unassigns_to_repush", False):  # Okta: its push is the reassignment
        return "by push"
    if _is_manual(ctx, "reassign_user"):
        ctx.ui.manual(idp.instructions("reassign_user", user=user_name), expect="reassigned")
        return "manual"
    try:
        idp.reassign_user(user_name)
    except ReassignRefused as exc:
        raise StepFailed(str(exc)) from None
    return "api"


def request_push(ctx: StepContext, user_name: str, *, mode: str | None = None) -> dict[str, Any]:
    """Have the IdP push one user back (docs/playbooks/reprovision.md: reassign, on-demand or
    cycle); the outputs that say how. A push the IdP answers as not done fails the step at
    once with the IdP's reason: waiting for an account that will not come would take hours."""
    idp = ctx.services.idp
    mode = mode or _mode(ctx)
    if mode == "cycle" and getattr(idp, "unassigns_to_repush", False):
        raise StepFailed(
            f"{_idp_name(ctx)} has no provisioning cycle that would push {user_name} again: "
            "use provision_mode=reassign or on-demand"
        )
    reassigned = _reassign(ctx, user_name) if mode in ("reassign", "cycle") else None
    if mode == "cycle":
        return {"provisioned": "cycle", "reassigned": reassigned}
    # No read between the reassignment and the push: a cycle that pushed the user in that
    # instant makes Entra answer the push Skipped/RedundantExport, which the connector takes
    # as done (decision 48); asking the directory first cost a request for every target.
    if _is_manual(ctx, "provision_user"):
        if reassigned == "manual":  # a manual reassignment is the push
            return {"provisioned": "manual", "reassigned": reassigned}
        ctx.ui.manual(idp.instructions("provision_user", user=user_name), expect="pushed")
        return {"provisioned": "manual"}
    if getattr(idp, "unassigns_to_repush", False):
        _guard_unassign(ctx, user_name)
        try:
            idp.provision_user(user_name)
        except RefusedError as exc:  # assigned through a group: this target only
            raise StepFailed(exc.message) from None
        return {"provisioned": "reassigned", "provisioned_at": time.time()}
    pushed = idp.provision_user(user_name)
    if pushed is not None and not pushed.ok:
        raise StepFailed(f"{_idp_name(ctx)} did not provision {user_name}: {pushed.describe()}")
    outputs: dict[str, Any] = {"provisioned": "on-demand", "provisioned_at": time.time()}
    if reassigned is not None:
        outputs["reassigned"] = reassigned
    if pushed is not None:
        outputs["push_result"] = pushed.describe()
    return outputs


def _guard_unassign(ctx: StepContext, user_name: str) -> None:
    """Okta re-pushes by unassign/assign: only with no SCIM entry left, and with Create Users on
    (else the assignment would create nothing), both checked live (decision 45)."""
    idp = ctx.services.idp
    unsafe = still_linked(ctx.services, user_name)
    if unsafe:
        raise StepFailed(unsafe)
    if isinstance(idp, RestoresExactly) and "create" not in idp.enabled():
        raise StepFailed(
            f"'Create Users' is off for the Atlassian Cloud app in {_idp_name(ctx)}: "
            f"re-assigning {user_name} would create nothing; turn it on, then "
            f"scimrecon resume {ctx.run_id}"
        )


def _restored(idp: RestoresExactly, restore: Sequence[str]) -> bool:
    return set(restore) <= set(idp.enabled())


def still_linked(services: Any, user_name: str) -> str | None:
    """Why re-pushing `user_name` by unassign/assign would be unsafe now, or None.

    With Okta's deactivate capability on, unassigning a user deactivates the SCIM user Okta is
    linked to; and re-assigning links to whatever SCIM user has the userName. Both are harmless
    only once the user has no SCIM entry at all, by userName or by externalId (the IdP's id):
    checked live, right before the unassignment (decision 45).
    """
    idp, scim = services.idp, services.scim
    entry = scim.find_by_username(user_name)
    if entry is None:
        entry = scim.find_by_external_id(idp.object_id(user_name))
    if entry is None:
        return None
    return (
        f"{user_name} still has SCIM entry {entry.id} (account {entry.account_id or 'none'}): "
        f"re-pushing by unassign/assign in {_idp_name_of(idp)} would deactivate that account "
        "and link the user to it again; remove the entry first (the reprovision playbook does)"
    )


_idp_name_of = idp_display_name


class ProvisionUser(Action):
    """Ask the IdP to push the user now instead of waiting for the next cycle (up to 40 min)."""

    name = "idp.provision"

    def describe(self, ctx: StepContext) -> str:
        who, idp = target_email(ctx), _idp_name(ctx)
        mode = _mode(ctx)
        reassign = (
            "ask you to unassign and reassign"
            if _is_manual(ctx, "reassign_user")
            else ("unassign and reassign")
        )
        if mode == "cycle":
            return f"would {reassign} {who} in {idp}, then let its next cycle push them"
        push = "ask you to re-push" if _is_manual(ctx, "provision_user") else "provision on demand"
        if mode == "reassign":
            return f"would {reassign} {who} in {idp}, then {push.replace('ask you to ', '')}"
        return f"would {push} {who} in {idp}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        old = ctx.target.get("old_account_id")
        if not old:  # before the lookup ran, the SCIM entry we would find is the old one
            return None
        user_name = ctx.target.get("user_name") or target_email(ctx)
        user = scim_entry(ctx, user_name)
        if user is not None and user.account_id and user.account_id != old:
            return {"provisioned": "already"}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        user_name = ctx.target.get("user_name") or target_email(ctx)
        return request_push(ctx, user_name)

    # -- undo: abandon the new account (scimrecon undo) ----------------------------------
    #
    # The push made a new account holding the person's address. Taking the reprovision back
    # means that account steps aside, inside the window (provisioning paused, or the IdP would
    # push the person straight back onto it): its SCIM record removed, its email moved to an
    # unused address, then disabled. The old account gets the address back afterwards.
    undo_in_window = True

    def _user_name(self, ctx: StepContext) -> str:
        return str(ctx.target.get("user_name") or target_email(ctx))

    def _new_account(self, ctx: StepContext) -> str | None:
        """The account the push made: recorded by await-new-account, or found by userName."""
        new = ctx.target.get("new_account_id")
        if new:
            return str(new)
        user = ctx.services.scim.find_by_username(self._user_name(ctx))
        old = ctx.target.get("old_account_id")
        if user is not None and user.account_id and user.account_id != old:
            return str(user.account_id)
        return None

    def _aside(self, ctx: StepContext) -> str:
        from scimrecon.steps.account_steps import parked_email

        original = str(ctx.target.get("old_email") or target_email(ctx))
        return parked_email(ABANDONED_TEMPLATE, original, ctx.run_id)

    def undo_describe(self, ctx: StepContext) -> str:
        new = ctx.target.get("new_account_id") or "the new account"
        return (
            f"would abandon {new}: remove its SCIM record, move its email to "
            f"{self._aside(ctx)}, disable it"
        )

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        new = self._new_account(ctx)
        if new is None:
            return {"abandoned_account": ""}  # the push made no account: nothing to abandon
        admin = ctx.services.admin
        profile = admin.get_profile(new)
        email, aside = (profile.email or "").lower(), self._aside(ctx).lower()
        original = str(ctx.target.get("old_email") or target_email(ctx)).lower()
        if email not in (aside, original):
            raise Skip(
                f"the new account {new} has email {profile.email!r}, neither {original!r} nor "
                f"{aside!r}: changed since the run; not touching it"
            )
        retired = email == aside and profile.account_status != "active"
        if retired and not admin.scim_links_for_account(new):
            return {"abandoned_account": new}
        return None

    def undo_apply(self, ctx: StepContext) -> dict[str, Any]:
        new = self._new_account(ctx)
        if new is None:
            return {"abandoned_account": ""}
        admin = ctx.services.admin
        if admin.scim_links_for_account(new):
            admin.delete_scim_record_only(new)
        aside = self._aside(ctx)
        profile = admin.get_profile(new)
        if (profile.email or "").lower() != aside.lower():
            holder = admin.find_org_user_by_email(aside)
            if holder is not None and holder.account_id != new:
                raise StepFailed(f"{aside} already belongs to account {holder.account_id}")
            admin.set_email(new, aside)
        if profile.account_status == "active":
            old = ctx.target.get("old_account_id")
            admin.disable(
                new, f"Abandoned: the person is back on {old} (scimrecon undo {ctx.run_id})"
            )
        return {"abandoned_account": new}
