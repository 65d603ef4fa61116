"""Any IdP without an API we drive: every operation is a person following instructions."""

from __future__ import annotations

from collections.abc import Mapping

from scimrecon.connectors.idp.base import (
    UNKNOWN,
    Capability,
    ManualOperation,
    format_instructions,
    unknown_operation,
)

_GENERIC: dict[str, str] = {
    "pause": (
        "Pause SCIM provisioning to Atlassian in your identity provider:\n"
        "  1. Open your IdP's admin console and find the Atlassian Cloud application.\n"
        "  2. On its provisioning settings, stop automatic provisioning (or turn off creating,\n"
        "     updating and deactivating users), and save.\n"
        "  3. Make sure no provisioning cycle is running right now."
    ),
    "resume": (
        "Resume SCIM provisioning to Atlassian in your identity provider:\n"
        "  1. Open the Atlassian Cloud application's provisioning settings.\n"
        "  2. Turn automatic provisioning back on (creating, updating and deactivating users),\n"
        "     exactly as it was before, and save."
    ),
    "status": (
        "Check in your IdP's admin console whether provisioning to the Atlassian Cloud\n"
        "application is running or paused; scimrecon cannot see it."
    ),
    "provision_user": (
        "Push {user} to Atlassian again from your identity provider:\n"
        "  1. Open the Atlassian Cloud application and find {user} among its assigned users.\n"
        "  2. Use the IdP's 'provision now' / 'push' / 'sync this user' action.\n"
        "  If your IdP has no such action, unassign and reassign the user instead (below)."
    ),
    "reassign_user": (
        "Unassign and reassign {user} in the Atlassian Cloud application of your identity\n"
        "provider (Atlassian's documented way to re-provision a user after deletion):\n"
        "  1. Open the Atlassian Cloud application's assignments and remove {user}.\n"
        "  2. Assign {user} to it again, with the same role and groups, and save.\n"
        "  This is safe now: {user}'s SCIM entry was already removed, so the unassignment cannot\n"
        "  deactivate the old account. Never do it while the user still has a SCIM entry."
    ),
    "push_groups": (
        "Push {user}'s group memberships to Atlassian again from your identity provider\n"
        '(Atlassian: after a re-provisioning, "you will need to reprovision its group\n'
        'memberships separately"). {user} must be back in exactly these groups:\n'
        "{groups}\n"
        "  1. Open the Atlassian Cloud application's pushed groups (Okta: Push Groups).\n"
        "  2. For each group above, check that {user} is a member in the IdP, then push the\n"
        "     group now ('Push now' / 'provision on demand' / 'sync this group')."
    ),
}


class ManualAdapter:
    """Every IdP, by hand. Status is unknown; pause/resume/provision are instructions."""

    kind = "manual"
    capabilities: Mapping[str, Capability] = {
        "pause": "manual",
        "resume": "manual",
        "status": "none",
        "provision_user": "manual",
        "reassign_user": "manual",
        "push_groups": "manual",
    }
    _texts: Mapping[str, str] = _GENERIC
    _idp_name = "your identity provider"

    def status(self) -> str:
        return UNKNOWN

    def _manual(self, operation: str) -> ManualOperation:
        return ManualOperation(
            f"{self._idp_name} has no API scimrecon can use to {operation.replace('_', ' ')}; "
            f"follow the instructions (scimrecon idp {operation.split('_')[0]})"
        )

    def pause(self) -> None:
        raise self._manual("pause")

    def resume(self) -> None:
        raise self._manual("resume")

    def provision_user(self, user_name: str) -> None:
        raise self._manual("provision_user")

    def reassign_user(self, user_name: str) -> None:
        raise self._manual("reassign_user")

    def instructions(self, operation: str, **kw: str) -> str:
        text = self._texts.get(operation) or _GENERIC.get(operation)
        if text is None:
            raise unknown_operation(operation)
        return format_instructions(text, **kw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


__all__ = ["ManualAdapter"]
