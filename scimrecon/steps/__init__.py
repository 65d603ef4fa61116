"""The step library: every action a playbook may name, registered by name.

The CLI hands `REGISTRY` to the engine; the engine never imports this package.
"""

from scimrecon.engine.action import ActionRegistry
from scimrecon.steps.account_steps import (
    AwaitLogin,
    DisableAccount,
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
from scimrecon.steps.jira_steps import CountWhatStays, ReassignTickets
from scimrecon.steps.leaver_steps import DeactivateLinked, LookupLeaver
from scimrecon.steps.notify_steps import AwaitNoticeEnd, NotifyEmail, RecheckAfterNotice
from scimrecon.steps.org_steps import CountBillable
from scimrecon.steps.policy_steps import LookupPolicyMember, MoveToPolicy
from scimrecon.steps.scim_steps import AwaitNewAccount, LookupUser, RemoveEntry
from scimrecon.steps.trello_steps import LookupTrelloOnly, RecheckTrello
from scimrecon.steps.unwanted_steps import DisableUnwanted, LookupUnwanted

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
            CountWhatStays,
            AwaitLogin,
            DisableAccount,
            RecheckInactive,
            SuspendAccess,
            LookupLeaver,
            DeactivateLinked,
            CountBillable,
            NotifyEmail,
            AwaitNoticeEnd,
            RecheckAfterNotice,
            LookupTrelloOnly,
            RecheckTrello,
            LookupPolicyMember,
            MoveToPolicy,
            LookupUnwanted,
            DisableUnwanted,
        )
    }
)

__all__ = ["REGISTRY"]
