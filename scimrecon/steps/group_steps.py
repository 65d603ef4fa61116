"""Steps that keep a reprovisioned user's SCIM group memberships (issue 13, point 1).

Removing a SCIM entry drops its group memberships with it, and pushing the user again does not
bring them back: "If reprovisioning a user after it has been deleted, you will need to
reprovision its group memberships separately" (Atlassian). Product access for IdP-managed users
usually comes from those groups, so a membership left behind is access lost. So the run records
the memberships while the old entry still exists (`memberships_before`), has the IdP push those
groups again once the new entry exists, and reads them back from the SCIM directory
(`memberships_after`); a group that does not come back fails the target, named.
"""

from __future__ import annotations

import threading
from typing import Any

from scimrecon.connectors.scim import ScimGroup
from scimrecon.engine.action import Action, ReadAction, StepContext, StepFailed
from scimrecon.errors import RefusedError
from scimrecon.steps._util import idp_display_name, is_not_found, require, target_email

NOT_BACK = "memberships not back after re-push"


def _names(groups: list[ScimGroup]) -> list[str]:
    return sorted({g.display_name for g in groups})


class RecordMemberships(ReadAction):
    """Read the old entry's groups before anything changes; the outputs are the list the run
    must restore, and the audit line keeps each group's id (by which the IdP's id for it, the
    externalId, is read when the group is pushed)."""

    name = "scim.record_memberships"
    # Whether a person is there to push groups by hand is the run's to answer, not the plan's.
    adoptable = False

    def describe(self, ctx: StepContext) -> str:
        return f"record {target_email(ctx)}'s SCIM group memberships"

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        (scim_id,) = require(ctx, "scim_id")
        seen = ctx.target.get("scim_groups")  # read with the entry by the look-up, just now
        if isinstance(seen, dict):
            groups = [ScimGroup(str(i), str(n)) for n, i in seen.items()]
        else:
            groups = ctx.services.scim.groups_of(str(scim_id))
        idp = ctx.services.idp
        nobody = getattr(ctx.ui, "interactive", True) is False
        if groups and nobody and not ctx.dry_run and idp.capabilities.get("push_groups") != "api":
            # Decided before the pause: later, the run would stop half-way at the prompt.
            raise RefusedError(
                f"{target_email(ctx)} is in SCIM groups ({', '.join(_names(groups))}) that a "
                f"person must push again in {idp_display_name(idp)} after the re-push; nothing "
                "was changed: run this interactively (--yes never answers manual steps)"
            )
        return {
            "memberships_before": _names(groups),
            "membership_ids": {g.display_name: g.id for g in groups},
        }


class RestoreMemberships(Action):
    """Have the IdP push the recorded groups again, then prove it in the SCIM directory.

    Entra ID: each missing group is pushed on demand with the user as its member (one
    provisionOnDemand per group, Microsoft's "group and up to five members"), in every
    provision_mode: an incremental cycle processes only objects changed since its watermark,
    and the groups did not change. Okta and other IdPs: a person is shown exactly which groups
    to push and confirms. Either way the memberships are then read back; any still missing
    fails the target with their names.
    """

    name = "idp.restore_memberships"
    idempotent = True

    def __init__(self) -> None:
        super().__init__()
        # check() reads the groups, apply() right after needs the same answer: one read, not two
        self._seen: dict[tuple[str, str | None], list[str]] = {}
        self._lock = threading.Lock()

    def _api(self, ctx: StepContext) -> bool:
        return ctx.services.idp.capabilities.get("push_groups") == "api"

    def describe(self, ctx: StepContext) -> str:
        before = ctx.target.get("memberships_before")
        groups = ", ".join(before) if before else "none recorded yet"
        how = "push on demand" if self._api(ctx) else "ask you to push"
        return (
            f"would {how} {target_email(ctx)}'s groups again and check them in the SCIM "
            f"directory ({groups})"
        )

    def _now(self, ctx: StepContext, scim_id: str) -> list[str]:
        return _names(ctx.services.scim.groups_of(scim_id))

    def check(self, ctx: StepContext) -> dict[str, Any] | None:
        new, before = ctx.target.get("new_scim_id"), ctx.target.get("memberships_before")
        if not new or before is None:
            return None
        seen = ctx.target.get("new_memberships")  # the entry as the wait found it
        if not before and isinstance(seen, list):
            # In no group before: nothing to push back or prove; what the new entry has is
            # what the wait read a moment ago (one SCIM read a target fewer).
            return {"memberships_after": [str(g) for g in seen]}
        if isinstance(seen, list) and not set(before) <= set(seen):
            # Some were missing then: the push is needed, and apply reads them back after it.
            # (That answer is never taken as proof a group is there: only a read now is.)
            with self._lock:
                self._seen[(ctx.run_id, ctx.target_key)] = [str(g) for g in seen]
            return None
        now = self._now(ctx, str(new))
        if set(before) <= set(now):
            return {"memberships_after": now}
        with self._lock:
            self._seen[(ctx.run_id, ctx.target_key)] = now
        return None

    def apply(self, ctx: StepContext) -> dict[str, Any]:
        new, before = require(ctx, "new_scim_id", "memberships_before")  # [] is recorded too
        with self._lock:
            now = self._seen.pop((ctx.run_id, ctx.target_key), None)
        if now is None:
            now = self._now(ctx, str(new))
        missing = [g for g in before if g not in now]
        if not missing:
            return {"memberships_after": now}
        pushed = missing
        why = push_groups(ctx, pushed)
        now = self._now(ctx, str(new))
        missing = [g for g in before if g not in now]
        if missing:
            detail = "; ".join(f"{g}: {why[g]}" for g in missing if why.get(g))
            raise StepFailed(
                f"{NOT_BACK}: {', '.join(missing)}"
                + (f" ({detail})" if detail else "")
                + f". Put {target_email(ctx)} back in them in the IdP and push them, then "
                f"scimrecon resume {ctx.run_id} --retry-failed"
            )
        return {"memberships_after": now, "memberships_pushed": pushed}

    # -- undo: the memberships belong to the new entry, and go with it -------------------------
    #
    # Undoing the re-push abandons the new account: its SCIM record is removed (the provision
    # step's undo), and a SCIM record's group memberships go with it. So there is nothing to
    # take back here; what the old account needs once the IdP links it again is its groups
    # pushed again (scim.remove's undo does that).
    undo_in_window = True

    def undo_describe(self, ctx: StepContext) -> str:
        return "nothing to undo: the memberships go with the new entry when it is abandoned"

    def undo_check(self, ctx: StepContext) -> dict[str, Any] | None:
        return {"memberships": "go with the new entry"}

    def undo(self, ctx: StepContext) -> None:
        return None


def push_groups(ctx: StepContext, groups: list[str]) -> dict[str, str]:
    """Have the IdP push `groups` with the target's user as member (Entra: on demand; other
    IdPs: a person, shown exactly these groups); group -> why it could not be pushed."""
    idp = ctx.services.idp
    user_name = str(ctx.target.get("user_name") or target_email(ctx))
    if idp.capabilities.get("push_groups") != "api":
        text = idp.instructions("push_groups", user=user_name, groups="\n".join(groups))
        ctx.ui.manual(text, expect="groups pushed")
        return {}
    ids = dict(ctx.target.get("membership_ids") or {})
    member = idp.object_id(user_name)
    why: dict[str, str] = {}
    for group in groups:
        try:  # the IdP's id for the group is its externalId (Entra: the group's objectId)
            external = (
                ctx.services.scim.group(str(ids[group])).external_id if group in ids else None
            )
        except Exception as exc:
            if not is_not_found(exc):
                raise
            why[group] = "the group no longer exists in the SCIM directory"
            continue
        if not external:
            why[group] = "no externalId: not a group the IdP provisions"
            continue
        result = idp.push_group(str(external), [member])
        if not result.ok:
            why[group] = f"the IdP answered {result.describe()}"
    return why


def groups_after_relink(ctx: StepContext, account_id: str) -> dict[str, Any]:
    """Once an undo has the IdP link the old account again: its recorded groups pushed again
    (the relinked entry is a new SCIM record, with no memberships). An entry the IdP links only
    later (its cycle, or a person) gets the list to push; a group that does not come back is
    said, with the command that works, but does not undo the relink."""
    before = list(ctx.target.get("memberships_before") or [])
    if not before:
        return {}
    user_name = str(ctx.target.get("user_name") or target_email(ctx))
    entry = ctx.services.scim.find_by_username(user_name)
    if entry is None or entry.account_id != account_id:
        ctx.ui.info(
            f"undo {target_email(ctx)}: once {account_id} is linked again, push its groups in "
            f"the IdP: {', '.join(before)}"
        )
        return {"memberships_to_push": before}
    now = _names(ctx.services.scim.groups_of(entry.id))
    missing = [g for g in before if g not in now]
    if missing:
        push_groups(ctx, missing)
        now = _names(ctx.services.scim.groups_of(entry.id))
        missing = [g for g in before if g not in now]
    if missing:
        ctx.ui.info(
            f"undo {target_email(ctx)}: {account_id} is linked again, but {NOT_BACK}: "
            f"{', '.join(missing)}; push them in the IdP"
        )
        return {"memberships_after": now, "memberships_missing": missing}
    return {"memberships_after": now}
