"""Microsoft Entra ID: provisioning through Graph synchronization jobs.

Pause and start are the only job controls used. `restart` is deliberately absent: with
`ForceDeletes` it can wipe users in the target, and nothing here needs it.
provisionOnDemand is limited by Graph to 5 requests per 10 s, so it has its own client-side
bucket on top of the general Graph rate. Its `ruleId` is the job's synchronization rule from
Entra to the app: configured as `[idp].rule_id`, or else found once in the job's schema.

`read_users` is the one directory read: every user of the tenant, each marked assigned or not
to the Atlassian Cloud enterprise app, so `reconcile --live` can tell an orphaned SCIM entry
from a healthy one without an exported file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from scimrecon.connectors.admin import seg
from scimrecon.connectors.idp.base import (
    Capability,
    DirectoryIndex,
    IdpUser,
    IdpUsers,
    PushResult,
    ReadOnce,
    ReassignRefused,
    format_instructions,
    unknown_operation,
)
from scimrecon.connectors.idp.entra_assignments import (
    assigned_groups,
    resolve_assignments,
    split_assignments,
)
from scimrecon.errors import InputError, RefusedError, ScimreconError
from scimrecon.http import HttpClient, HttpError
from scimrecon.ratelimit import WindowLimiter
from scimrecon.recon.identity import identity_key, same_identity

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PROVISION_ON_DEMAND_LIMIT = 5  # calls ...
PROVISION_ON_DEMAND_WINDOW = 10.0  # ... per this many seconds
GROUP_MEMBERS_PER_PUSH = 5  # "a single group with up to 5 members at a time"
PAGE_SIZE = 999  # Graph's largest page for users, assignments and members: fewest requests
USER_SELECT = "id,userPrincipalName,mail,displayName,accountEnabled"
ASSIGNMENT_SELECT = "id,principalId,principalType,principalDisplayName"
# The application permission each read needs (least privileged), named in a 403's message.
READ_USERS = "User.Read.All"
READ_ASSIGNMENTS = "Application.Read.All"
# a user's own assignments: the permission the reassignment writes with reads them too
READ_OWN_ASSIGNMENTS = "AppRoleAssignment.ReadWrite.All"
#: Rounds of the client's retries for putting a user's assignment back (see _assign_again).
REASSIGN_ROUNDS = 3
READ_MEMBERS = "GroupMember.Read.All"
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
        `user_name` under the identity rule (recon.identity) is somebody else, never pushed.
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
        self._limiter.acquire()
        body = {
            "parameters": [
                {
                    "subjects": [{"objectId": object_id, "objectTypeName": "User"}],
                    "ruleId": rule,
                }
            ]
        }
        path = f"{self._job()}/provisionOnDemand"
        return parse_push_result(self.graph.post(path, json=body, retry_unsafe=True))

    def push_group(self, group_id: str, member_ids: Sequence[str]) -> PushResult:
        """provisionOnDemand with a group as the subject and its members under `links`: Entra
        pushes the group and adds those members in the app ("members aren't automatically
        provisioned", only those listed; up to five per call). `group_id` is the group's
        objectId, which Entra sends to Atlassian as the SCIM group's externalId."""
        if not 1 <= len(member_ids) <= GROUP_MEMBERS_PER_PUSH:
            raise ValueError(f"a group push takes 1 to {GROUP_MEMBERS_PER_PUSH} members")
        rule = self.rule()
        self._limiter.acquire()
        members = [{"objectId": m, "objectTypeName": "User"} for m in member_ids]
        subject = {"objectId": group_id, "objectTypeName": "Group", "links": {"members": members}}
        body = {"parameters": [{"subjects": [subject], "ruleId": rule}]}
        path = f"{self._job()}/provisionOnDemand"
        return parse_push_result(self.graph.post(path, json=body, retry_unsafe=True))

    def reassign_user(self, user_name: str) -> None:
        """Remove the user's own assignment to the Atlassian Cloud app and add it again.

        Atlassian's documented way to re-provision a user after their SCIM entry was deleted
        ("unassign and reassign the user via the Atlassian Cloud app"): Entra sees a change, so
        its next (incremental) cycle, or an on-demand push, creates them. Only a *direct*
        assignment is touched: removing a group's assignment would unassign every member.
        Idempotent across a crash between the two calls: a user with no assignment left but
        still found by name gets the app's role again (from the app's other assignments).
        The caller must make sure the user has no SCIM entry first: unassigning someone who
        has one makes Entra disable it, and Atlassian deactivates that account.
        """
        object_id = self.object_id(user_name)
        path = f"/servicePrincipals/{seg(self.service_principal)}/appRoleAssignedTo"
        own, granted = self._assignments_of(object_id)
        if not own and granted:
            grant = granted[0]
            kind = "group" if grant.get("principalType") == "Group" else "assignment of"
            via = grant.get("principalDisplayName") or grant.get("principalId")
            raise ReassignRefused(
                f"{user_name} is assigned to the app through the {kind} {via}, not directly: "
                "reassigning would touch every member (use provision_mode=on-demand)"
            )
        if own:
            roles = {str(r["appRoleId"]) for r in own if r.get("appRoleId")}
        else:  # a crash between the DELETE and the POST: the role the app gives everyone
            rows = self._pages(path, f"$select=appRoleId&$top={PAGE_SIZE}", READ_ASSIGNMENTS)
            roles = {str(r["appRoleId"]) for r in rows if r.get("appRoleId")}
        if len(roles) != 1:
            raise ReassignRefused(
                f"cannot tell which app role to give {user_name} back "
                f"({len(roles)} roles among the {'user' if own else 'app'}'s assignments): "
                "assign them by hand"
            )
        for row in own:
            try:
                self.graph.request_json("DELETE", f"{path}/{seg(str(row['id']))}")
            except HttpError as exc:
                if exc.status != 404:  # gone already: a retried DELETE whose answer was lost
                    raise
        body = {
            "principalId": object_id,
            "resourceId": self.service_principal,
            "appRoleId": roles.pop(),
        }
        self._assign_again(path, body, user_name)
        self.forget()

    def _assign_again(self, path: str, body: dict[str, str], user_name: str) -> None:
        """POST the assignment back, harder than any other call: the user is unassigned until
        it lands. Safe to repeat (a second POST of the same assignment is refused as a
        duplicate, which means done), so a throttled or failing Graph gets a few more rounds of
        the client's own retries before the target fails with what to do."""
        for rounds_left in range(REASSIGN_ROUNDS - 1, -1, -1):
            try:
                self.graph.post(path, json=body, retry_unsafe=True)
                return
            except HttpError as exc:
                if exc.status == 400 and "already exists" in (exc.detail or exc.message):
                    return
                transient = exc.timed_out or exc.status in (None, 429, 500, 502, 503, 504)
                if transient and rounds_left:
                    continue
                raise ReassignRefused(
                    f"{user_name} was unassigned from the Atlassian Cloud app but could not be "
                    f"assigned again ({exc.message}): they stay unassigned until this step is "
                    "retried (resume --retry-failed) or they are assigned by hand"
                ) from None

    def _assignments_of(self, object_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The user's assignments to this app: (their own, those granted otherwise).

        One request where listing the app's assignments took a page per 999 of them: Graph
        filters a *user's* assignments by `resourceId` (Edm.Guid, unquoted), and "also returns
        app role assignments granted to groups that the user is a direct member of". Only a
        `User` row naming this very object id is the user's own; anything else (a `Group`, or
        a principal that is not them) is a grant that unassigning the user would not undo.
        """
        rows = self._pages(
            f"/users/{seg(object_id)}/appRoleAssignments",
            f"$filter=resourceId eq {self.service_principal}",
            READ_OWN_ASSIGNMENTS,
        )
        return split_assignments(rows, object_id, self.service_principal)

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
            self._pages(
                f"/servicePrincipals/{sp}/appRoleAssignedTo",
                f"$select={ASSIGNMENT_SELECT}&$top={page_size}",
                READ_ASSIGNMENTS,
            )
        )
        members = {
            group: list(
                self._pages(
                    f"/groups/{seg(group)}/members",
                    f"$select={USER_SELECT}&$top={page_size}",
                    READ_MEMBERS,
                )
            )
            for group in assigned_groups(assignments)
        }
        users = self._pages("/users", f"$select={USER_SELECT}&$top={page_size}", READ_USERS)
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

    def _pages(self, path: str, query: str, permission: str) -> Iterator[dict[str, Any]]:
        """The items of a Graph collection, following `@odata.nextLink` to the last page."""
        url = f"{path.lstrip('/')}?{query}"
        seen = {url}
        while True:
            try:
                body = self.graph.get(url)
            except HttpError as exc:
                if exc.status != 403:
                    raise
                raise HttpError(
                    f"{exc.message} (the app registration needs the {permission} application "
                    "permission, with admin consent)",
                    api=exc.api,
                    method=exc.method,
                    path=exc.path,
                    status=exc.status,
                    detail=exc.detail,
                ) from None
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise self.graph.unexpected("GET", path, "no value list")
            yield from (item for item in body["value"] if isinstance(item, dict))
            link = body.get("@odata.nextLink")
            if not link:
                return
            following = link_under(self.graph.base_url, str(link))
            if following is None:
                # following it would hand our token to whoever the link names
                raise self.graph.unexpected(
                    "GET", path, "@odata.nextLink points outside the Graph base URL"
                )
            url = following
            if url in seen:
                raise self.graph.unexpected("GET", path, "@odata.nextLink repeats an earlier page")
            seen.add(url)

    def instructions(self, operation: str, **kw: str) -> str:
        if operation not in _ENTRA_TEXT:
            raise unknown_operation(operation)
        return format_instructions(_ENTRA_TEXT[operation], **kw)


def link_under(base_url: str, link: str) -> str | None:
    """An absolute `link` as a path relative to `base_url` (query kept), or None when it points
    at another scheme, host or port, or outside the base path."""
    base, target = urlsplit(base_url), urlsplit(link)
    prefix = base.path.rstrip("/") + "/"
    if (target.scheme.lower(), target.netloc.lower()) != (
        base.scheme.lower(),
        base.netloc.lower(),
    ) or not target.path.startswith(prefix):
        return None
    relative = target.path[len(prefix) :]
    return f"{relative}?{target.query}" if target.query else relative


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
    "link_under",
    "resolve_assignments",
    "split_assignments",
]


def parse_push_result(body: Any) -> PushResult:
    """Read provisionOnDemand's answer: `key` and `value` are JSON *strings* (Graph docs); the
    outcome is `key.result` with `key.details.errorCode/errorMessage`, and `value` carries the
    action, statusInfo and the target's id. An answer we cannot read is a failure, never a
    success: the caller would otherwise wait hours for a push that never happened."""

    def loads(text: Any) -> dict[str, Any]:
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            data = None
        return data if isinstance(data, dict) else {}

    if not isinstance(body, dict):
        return PushResult("Failure", reason="provisionOnDemand answered without a JSON object")
    key, value = loads(body.get("key")), loads(body.get("value"))
    result = str(key.get("result") or "")
    if not result:
        return PushResult("Failure", reason="provisionOnDemand's answer has no result")
    details = key.get("details") if isinstance(key.get("details"), dict) else {}
    info = value.get("statusInfo") if isinstance(value.get("statusInfo"), dict) else {}
    target = value.get("targetIdentity") if isinstance(value.get("targetIdentity"), dict) else {}
    return PushResult(
        result=result,
        action=str(value["action"]) if value.get("action") else None,
        error_code=details.get("errorCode") or info.get("errorCode"),
        reason=details.get("errorMessage") or info.get("reason"),
        target_id=str(target["id"]) if target.get("id") else None,
    )
