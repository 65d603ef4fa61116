"""Okta: no API pauses SCIM provisioning for the Atlassian Cloud app, and re-pushing a user by
unassign/assign deprovisions them first, so every operation is a person in the Admin Console."""

from __future__ import annotations

from collections.abc import Mapping

from scimrecon.connectors.idp.manual import ManualAdapter

_OKTA: dict[str, str] = {
    "pause": (
        "Pause provisioning to Atlassian in Okta (Okta has no API for this):\n"
        "  1. Okta Admin Console → Applications → Applications → Atlassian Cloud.\n"
        "  2. Provisioning tab → To App → Edit.\n"
        "  3. Untick 'Create Users', 'Update User Attributes' and 'Deactivate Users'; Save.\n"
        "  Note which boxes were ticked: resume must restore exactly those."
    ),
    "resume": (
        "Resume provisioning to Atlassian in Okta:\n"
        "  1. Okta Admin Console → Applications → Applications → Atlassian Cloud.\n"
        "  2. Provisioning tab → To App → Edit.\n"
        "  3. Tick again 'Create Users', 'Update User Attributes' and 'Deactivate Users'\n"
        "     (the ones that were ticked before the pause); Save."
    ),
    "status": (
        "Okta does not report provisioning state through an API: check Applications →\n"
        "Atlassian Cloud → Provisioning → To App to see which operations are enabled."
    ),
    "provision_user": (
        "Push {user} to Atlassian again from Okta:\n"
        "  1. Okta Admin Console → Applications → Applications → Atlassian Cloud → Assignments.\n"
        "  2. Find {user}, click the pencil (Edit) icon, and Save without changing anything:\n"
        "     Okta pushes the user again (a failed push shows under Dashboard → Tasks: Retry).\n"
        "  Do NOT unassign and reassign {user}: Okta deprovisions (deactivates) the user in\n"
        "  Atlassian on unassignment."
    ),
}


class OktaAdapter(ManualAdapter):
    kind = "okta"
    _texts: Mapping[str, str] = _OKTA
    _idp_name = "Okta"


__all__ = ["OktaAdapter"]
