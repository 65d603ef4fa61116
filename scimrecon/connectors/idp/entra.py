"""Microsoft Entra ID: provisioning through Graph synchronization jobs.

Pause and start are the only job controls used. `restart` is deliberately absent: with
`ForceDeletes` it can wipe users in the target, and nothing here needs it.
provisionOnDemand is limited by Graph to 5 requests per 10 s, so it has its own client-side
bucket on top of the general Graph rate. Its `ruleId` is the job's synchronization rule from
Entra to the app: configured as `[idp].rule_id`, or else found once in the job's schema.

`read_users` is the one directory read: every user of the tenant, each marked assigned or not
to the Atlassian Cloud enterprise app, so `reconcile --live` can tell an orphaned SCIM entry
from a healthy one without an exported file.

Around the adapter: graph_pages.py reads Graph's paged collections (and names a missing
permission), entra_assignments.py tells who is assigned, entra_reassign.py is the re-push by
reassignment, entra_push_result.py reads what provisionOnDemand answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.connectors.idp.base import (
    Capability,
    DirectoryIndex,
    IdpUser,
    IdpUsers,
    PushResult,
    ReadOnce,
    format_instructions,
    unknown_operation,
)
from scimrecon.connectors.idp.entra_assignments import assigned_groups, resolve_assignments
from scimrecon.connectors.idp.entra_push_result import parse_push_result
from scimrecon.connectors.idp.entra_reassign import reassign
from scimrecon.connectors.idp.graph_pages import (
    PAGE_SIZE,
    READ_ASSIGNMENTS,
    READ_MEMBERS,
    READ_USERS,
    graph_pages,
)
from scimrecon.errors import InputError, RefusedError, ScimreconError
from scimrecon.http import HttpClient, HttpError
from scimrecon.identity import identity_key, same_identity
from scimrecon.ratelimit import WindowLimiter

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PROVISION_ON_DEMAND_LIMIT = 5  # calls ...
PROVISION_ON_DEMAND_WINDOW = 10.0  # ... per this many seconds
GROUP_MEMBERS_PER_PUSH = 5  # "a single group with up to 5 members at a time"
USER_SELECT = "id,userPrincipalName,mail,displayName,accountEnabled"
ASSIGNMENT_SELECT = "id,principalId,principalType,principalDisplayName"
# Names a synchronization schema gives Entra's own directory (the older one is still the usual).
ENTRA_DIRECTORIES = frozenset({"azure active directory", "microsoft entra id"})

_ENTRA_TEXT: dict[str, str] = {
    "pause": (
        "Pause provisioning in Microsoft Entra ID:\n"
        "  Entra admin center → Enterprise applications → Atlassian Cloud → Provisioning →\n"
        "  Stop provisioning."
    ),
    "resume": (
        "Resume provisioning in Microsoft Entra ID:\n"
        "  Entra admin center → Enterprise applications → Atlassian Cloud → Provisioning →\n"
        "  Start provisioning. (Never choose 'Restart provisioning' with 'clear state'.)"
    ),
    "status": (
        "Entra admin center → Enterprise applications → Atlassian Cloud → Provisioning shows\n"
        "the current status."
    ),
    "provision_user": (
        "Push {user} now from Microsoft Entra ID:\n"
        "  Entra admin center → Enterprise applications → Atlassian Cloud → Provisioning →\n"
        "  Provision on demand → select {user} → Provision."
    ),
    "push_groups": (
        "Push {user}'s group memberships now from Microsoft Entra ID. {user} must be back in\n"
        "exactly these groups:\n"
        "{groups}\n"
        "  Entra admin center → Enterprise applications → Atlassian Cloud → Provisioning →\n"
        "  Provision on demand → search each group above → select {user} → Provision."
    ),
}


class EntraAdapter:
    """Graph synchronization job of the Atlassian Cloud enterprise app."""

    kind = "entra"
    capabilities: Mapping[str, Capability] = {
        "pause": "api",
        "resume": "api",
        "status": "api",
        "provision_user": "api",
        "reassign_user": "api",
        "push_groups": "api",
    }

    def __init__(
        self,
        graph: HttpClient,
        service_principal: str,
        job_id: str | None,
        rule_id: str | None,
        *,
        on_demand_limiter: WindowLimiter | None = None,
    ) -> None:
        self.graph = graph
        self.service_principal = service_principal
        self._job_id = job_id
        self.rule_id = rule_id
        self._limiter = on_demand_limiter or WindowLimiter(
            PROVISION_ON_DEMAND_LIMIT, PROVISION_ON_DEMAND_WINDOW
        )
        # A failed directory read is kept (one outage: one error per target, not a re-read
        # each); for the rule only a refusal is (a failed read is tried again).
        self._directory = ReadOnce(self._read_directory, ScimreconError)
        self._rule = ReadOnce(self._discover_rule, InputError)
        # identity key of a UPN -> object id: an object id never changes, and a run needs each
        # user's more than once (the reassignment, the user's push, the push of their groups);
        # filled by `object_id` and by the directory read (decision 100)
        self._object_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"EntraAdapter(service_principal={self.service_principal!r}, {self.graph!r})"

    @property
    def _jobs(self) -> str:
        return f"/servicePrincipals/{seg(self.service_principal)}/synchronization/jobs"

    def job_id(self) -> str:
        """The configured job, or the only job of the service principal."""
        if self._job_id:
            return self._job_id
        body = self.graph.get(self._jobs)
        jobs = [j.get("id") for j in (body or {}).get("value") or [] if j.get("id")]
        if len(jobs) != 1:
            found = ", ".join(map(str, jobs)) or "none"
            raise InputError(
                f"set [idp].job_id in the profile: service principal {self.service_principal} "
                f"has {len(jobs)} synchronization jobs ({found})"
            )
        self._job_id = str(jobs[0])
        return self._job_id

    def _job(self) -> str:
        return f"{self._jobs}/{seg(self.job_id())}"

    def job(self) -> dict[str, Any]:
        body = self.graph.get(self._job())
        return body if isinstance(body, dict) else {}

    def status(self) -> str:
        code = (self.job().get("status") or {}).get("code")
        if not code:
            raise HttpError(
                f"{self.graph.api}: GET {self._job()} → 200: no status.code in the job",
                api=self.graph.api,
                method="GET",
                path=self._job(),
                status=200,
            )
        return str(code)

    def pause(self) -> None:
        # pausing a paused job is a no-op, so a retry after a lost answer is safe
        self.graph.post(f"{self._job()}/pause", retry_unsafe=True)

    def resume(self) -> None:
        # `start` resumes a paused job without clearing state; starting twice is a no-op
        self.graph.post(f"{self._job()}/start", retry_unsafe=True)

    def object_id(self, user_name: str) -> str:
        """The Entra object id of a user, by userPrincipalName.

        Graph matches the UPN case-insensitively by its own rules; an answer whose UPN is not
        `user_name` under the identity rule (scimrecon.identity) is somebody else, never pushed.
        """
        cached = self._object_ids.get(identity_key(user_name))
        if cached is not None:
            return cached
        body = self.graph.get(f"/users/{seg(user_name)}")
        upn = body.get("userPrincipalName") if isinstance(body, dict) else None
        if isinstance(upn, str) and not same_identity(upn, user_name):
            raise HttpError(
                f"{self.graph.api}: GET /users/{user_name} answered user {upn!r}: not the same "
                "person (NFC, then lower case); not provisioning it",
                api=self.graph.api,
                method="GET",
                path=f"/users/{user_name}",
                status=200,
            )
        object_id = body.get("id") if isinstance(body, dict) else None
        if not object_id:
            raise HttpError(
                f"{self.graph.api}: GET /users/{user_name} → 200: no id in the user",
                api=self.graph.api,
                method="GET",
                path=f"/users/{user_name}",
                status=200,
            )
        self._object_ids[identity_key(user_name)] = str(object_id)
        return str(object_id)

    def _read_directory(self) -> DirectoryIndex:
        """The directory, its users' object ids remembered on the way (decision 100).

        The look-up reads every user anyway; each target's reassignment and push then need
        that user's object id, which a `GET /users/{upn}` per target would read again. Only
        a UPN that exactly one user has under the identity rule is remembered; an id that
        disagrees with one read before is forgotten, so `object_id` asks Graph again.
        """
        users = self.read_users().users
        by_key: dict[str, set[str]] = {}
        for user in users:
            if user.user_name and user.object_id:
                by_key.setdefault(identity_key(user.user_name), set()).add(user.object_id)
        for key, ids in by_key.items():
            known = self._object_ids.get(key)
            if len(ids) == 1 and known in (None, *ids):
                self._object_ids[key] = next(iter(ids))
            else:
                self._object_ids.pop(key, None)
        return DirectoryIndex.of(users)

    def rule(self) -> str:
        """The configured rule, or the only rule of the job's schema from Entra to the app.

        The schema is read once per adapter, under a lock: provision on demand runs from many
        workers, and a thousand targets should cost one read, not one each. A schema without
        exactly one such rule is remembered too (it is the profile that must change, and
        every target would get the same answer); a failed read is not, so the next target
        tries again.
        """
        return self.rule_id or self._rule.get()

    def _discover_rule(self) -> str:
        job = self.job_id()
        path = f"{self._job()}/schema"
        body = self.graph.get(path)
        rules = body.get("synchronizationRules") if isinstance(body, dict) else None
        if not isinstance(rules, list):
            raise self.graph.unexpected("GET", path, "no synchronizationRules list")
        ids = [str(r["id"]) for r in rules if _outbound(r)]
        if len(ids) != 1:
            raise InputError(
                "set [idp].rule_id in the profile: provision on demand needs one rule, and "
                f"synchronization job {job} has {len(ids)} rules from Microsoft Entra ID to "
                f"the app ({', '.join(ids) or 'none'})"
            )
        return ids[0]

    def provision_user(self, user_name: str) -> PushResult:
        """provisionOnDemand, and what Microsoft says it did (the 200 alone means nothing)."""
        rule = self.rule()
        object_id = self.object_id(user_name)
        body = {
            "parameters": [
                {
                    "subjects": [{"objectId": object_id, "objectTypeName": "User"}],
                    "ruleId": rule,
                }
            ]
        }
        return self._push(body)

    def push_group(self, group_id: str, member_ids: Sequence[str]) -> PushResult:
        """provisionOnDemand with a group as the subject and its members under `links`: Entra
        pushes the group and adds those members in the app ("members aren't automatically
        provisioned", only those listed; up to five per call). `group_id` is the group's
        objectId, which Entra sends to Atlassian as the SCIM group's externalId."""
        if not 1 <= len(member_ids) <= GROUP_MEMBERS_PER_PUSH:
            raise ValueError(f"a group push takes 1 to {GROUP_MEMBERS_PER_PUSH} members")
        rule = self.rule()
        members = [{"objectId": m, "objectTypeName": "User"} for m in member_ids]
        subject = {"objectId": group_id, "objectTypeName": "Group", "links": {"members": members}}
        body = {"parameters": [{"subjects": [subject], "ruleId": rule}]}
        return self._push(body)

    def _push(self, body: dict[str, Any]) -> PushResult:
        """provisionOnDemand under Microsoft's 5 calls in 10 s: every attempt, retries
        included, waits for a place in our window, and a 429 (someone else's calls: another
        process, the portal) shuts the window for its Retry-After, or 10 s without one."""
        path = f"{self._job()}/provisionOnDemand"
        answer = self.graph.post(path, json=body, retry_unsafe=True, window=self._limiter)
        return parse_push_result(answer)

    def reassign_user(self, user_name: str) -> None:
        """Remove the user's own assignment to the Atlassian Cloud app and add it again
        (entra_reassign.reassign: only a direct assignment; the caller must make sure the
        user has no SCIM entry first), then forget the directory read."""
        reassign(self.graph, self.service_principal, self.object_id(user_name), user_name)
        self.forget()

    # -- directory reads ---------------------------------------------------------------------------

    def read_users(self, *, page_size: int = PAGE_SIZE) -> IdpUsers:
        """Every user of the tenant, marked assigned when the Atlassian Cloud app is assigned to
        them directly or through a group they are a *direct* member of.

        Entra provisions the direct members of an assigned group and nobody in groups nested
        inside it, so that is what "assigned" means here; a nested group is reported as a
        warning, never silently dropped. Reads assignments first, then the assigned groups'
        members, then the users: three paged collections, each page retried like any GET.
        """
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE}, not {page_size}")
        sp = seg(self.service_principal)
        assignments = list(
            graph_pages(
                self.graph,
                f"/servicePrincipals/{sp}/appRoleAssignedTo",
                f"$select={ASSIGNMENT_SELECT}&$top={page_size}",
                READ_ASSIGNMENTS,
            )
        )
        members = {
            group: list(
                graph_pages(
                    self.graph,
                    f"/groups/{seg(group)}/members",
                    f"$select={USER_SELECT}&$top={page_size}",
                    READ_MEMBERS,
                )
            )
            for group in assigned_groups(assignments)
        }
        users = graph_pages(
            self.graph, "/users", f"$select={USER_SELECT}&$top={page_size}", READ_USERS
        )
        found = resolve_assignments(users, assignments, members)
        if found.users and not any(u.assigned for u in found.users):
            # Scoped to "all users and groups", nobody is assigned: every SCIM entry would
            # look orphaned, and orphaned leads to a disable playbook.
            raise RefusedError(
                "Entra ID reports nobody assigned to the Atlassian Cloud app, so scimrecon "
                "cannot tell whom it provisions (is the provisioning scope 'all users and "
                "groups'?); nothing was changed: check the app's assignments, or reconcile "
                "from an exported user list (--idp FILE)"
            )
        return found

    def find_users(
        self, *, object_id: str | None = None, names: Iterable[str] = ()
    ) -> list[IdpUser]:
        """Every user that is this identity: the object id's (a SCIM entry's externalId) first,
        then those whose userPrincipalName or mail is one of `names`, without repeats.

        Several answers mean the identity is ambiguous (a re-hire with a new object id, a mail
        shared by two users); callers decide what that means for them. The directory is read
        once per adapter and reused until `forget()`: checking a thousand targets costs the
        pages of one read, not a call each. A failed read is remembered the same way, so one
        Graph outage is one error per target, not a full re-read per target.
        """
        return self._directory.get().find(object_id, names)

    def forget(self) -> None:
        """Drop the directory read (a run re-reads it right before it changes anything)."""
        self._directory.forget()

    def instructions(self, operation: str, **kw: str) -> str:
        if operation not in _ENTRA_TEXT:
            raise unknown_operation(operation)
        return format_instructions(_ENTRA_TEXT[operation], **kw)


def _outbound(rule: object) -> bool:
    """A rule that pushes from Entra's directory to another one (the app), with an id.

    Some apps' schemas also hold rules the other way (inbound provisioning into Entra); those
    are never the rule to provision a user *to* the app with.
    """
    if not isinstance(rule, Mapping) or not rule.get("id"):
        return False
    source = str(rule.get("sourceDirectoryName") or "").casefold()
    target = str(rule.get("targetDirectoryName") or "").casefold()
    return source in ENTRA_DIRECTORIES and bool(target) and target not in ENTRA_DIRECTORIES


__all__ = [
    "GRAPH_SCOPE",
    "EntraAdapter",
    "assigned_groups",
    "resolve_assignments",
]
