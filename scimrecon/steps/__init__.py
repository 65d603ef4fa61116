"""The step library: every action a playbook may name, registered by name.

The CLI hands `REGISTRY` to the engine; the engine never imports this package.
"""

from scimrecon.engine.action import ActionRegistry
from scimrecon.steps.account_steps import (
    AwaitLogin,
    DisableAccount,
    LookupLeaver,
    ParkOldEmail,
    RecheckInactive,
    SuspendAccess,
)
from scimrecon.steps.group_steps import RecordMemberships, RestoreMemberships
from scimrecon.steps.idp_steps import (
    PauseProvisioning,
    ProvisionUser,
    ResumeProvisioning,
    SnapshotProvisioning,
)
from scimrecon.steps.jira_steps import ReassignTickets
from scimrecon.steps.org_steps import CountBillable
from scimrecon.steps.scim_steps import AwaitNewAccount, LookupUser, RemoveEntry

REGISTRY = ActionRegistry(
    {
        cls.name: cls
        for cls in (
            LookupUser,
            RecordMemberships,
            SnapshotProvisioning,
            PauseProvisioning,
            RemoveEntry,
            ParkOldEmail,
            ResumeProvisioning,
            ProvisionUser,
            AwaitNewAccount,
            RestoreMemberships,
            ReassignTickets,
            AwaitLogin,
            DisableAccount,
            RecheckInactive,
            SuspendAccess,
            LookupLeaver,
            CountBillable,
        )
    }
)

__all__ = ["REGISTRY"]
