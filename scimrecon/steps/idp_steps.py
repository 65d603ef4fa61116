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

from scimrecon.connectors.idp.base import RestoresExactly
from scimrecon.engine.action import Action, ReadAction, StepContext, StepFailed
from scimrecon.errors import RefusedError
from scimrecon.steps._util import target_email

RESTORE = "idp_restore"  # run output: what pause turned off (comma-separated), resume restores


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_manual(ctx: StepContext, operation: str) -> bool:
    return ctx.services.idp.capabilities.get(operation) != "api"


def _idp_name(ctx: StepContext) -> str:
    return _idp_name_of(ctx.services.idp)


def _by_cycle(ctx: StepContext) -> bool:
    """Leave the push to the IdP's own cycle: Entra allows 5 on-demand pushes per 10 s (a
    1,000-user batch would take 33 minutes of them), and a manual IdP would need 1,000 prompts."""
    return str(ctx.param("provision_mode", "on-demand")) == "cycle"


def _resumed_since(ctx: StepContext) -> bool:
    """This run's last resume came after its last pause (ISO times compare as strings)."""
    resumed = ctx.run_outputs.get("resumed_at")
    return bool(resumed) and resumed >= str(ctx.run_outputs.get("paused_at") or "")


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
            raise RefusedError(
                f"{_idp_name(ctx)} provisioning is {state} before this run touched it; "
                "this run will not take it over (and would not know to leave it paused): "
                "make it Active, or finish whatever paused it, then run again"
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
        return (
            f"provisioning is still paused in {_idp_name(ctx)}: "
            f"resume it (scimrecon resume {ctx.run_id}) or abort run {ctx.run_id}"
        )


class ResumeProvisioning(Action):
    """Turn provisioning back on if, and only if, this run paused it; report for how long.

    "Did this run pause it?" comes from the recorded intent of the pause step, which survives a
    crash in the middle of the pause (or a Ctrl-C at the manual prompt), not from its outputs.
    """

    name = "idp.resume"
    idempotent = True

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


def _idp_name_of(idp: Any) -> str:
    return {"entra": "Entra ID", "okta": "Okta"}.get(idp.kind, "your IdP")


class ProvisionUser(Action):
    """Ask the IdP to push the user now instead of waiting for the next cycle (up to 40 min)."""

    name = "idp.provision"

    def describe(self, ctx: StepContext) -> str:
        if _by_cycle(ctx):
            return f"would let {_idp_name(ctx)}'s next provisioning cycle push {target_email(ctx)}"
        verb = "ask you to re-push" if _is_manual(ctx, "provision_user") else "provision on demand"
        return f"would {verb} {target_email(ctx)} in {_idp_name(ctx)}"

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        old = ctx.target.get("old_account_id")
        if not old:  # before the lookup ran, the SCIM entry we would find is the old one
            return None
        user_name = ctx.target.get("user_name") or target_email(ctx)
        user = ctx.services.scim.find_by_username(user_name)
        if user is not None and user.account_id and user.account_id != old:
            return {"provisioned": "already"}
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        idp = ctx.services.idp
        user_name = ctx.target.get("user_name") or target_email(ctx)
        if _by_cycle(ctx):
            if getattr(idp, "unassigns_to_repush", False):
                raise StepFailed(
                    f"{_idp_name(ctx)} has no provisioning cycle that would push "
                    f"{user_name} again: use provision_mode=on-demand"
                )
            return {"provisioned": "cycle"}
        if _is_manual(ctx, "provision_user"):
            ctx.ui.manual(idp.instructions("provision_user", user=user_name), expect="pushed")
            return {"provisioned": "manual"}
        if getattr(idp, "unassigns_to_repush", False):
            unsafe = still_linked(ctx.services, user_name)
            if unsafe:
                raise StepFailed(unsafe)
            if isinstance(idp, RestoresExactly) and "create" not in idp.enabled():
                raise StepFailed(
                    f"'Create Users' is off for the Atlassian Cloud app in {_idp_name(ctx)}: "
                    f"re-assigning {user_name} would create nothing; turn it on, then "
                    f"scimrecon resume {ctx.run_id}"
                )
            try:
                idp.provision_user(user_name)
            except RefusedError as exc:  # assigned through a group: this target only
                raise StepFailed(exc.message) from None
            return {"provisioned": "reassigned", "provisioned_at": time.time()}
        idp.provision_user(user_name)
        return {"provisioned": "on-demand", "provisioned_at": time.time()}
