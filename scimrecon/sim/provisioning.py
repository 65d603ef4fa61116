"""How a SCIM user comes to exist, and the IdP's provisioning cycle that keeps pushing them.

Both `POST /Users` and the IdP's push (cycle or provision-on-demand) end here, because in
Atlassian they are the same event: a SCIM entry is created and linked to *whichever account
currently holds the email*, or a new managed account is made. That linking rule is the whole
reason a playbook must pause provisioning and change the old email first; keeping it in one
function is what makes the simulator punish a playbook that forgets.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from scimrecon.sim.store import Record, Store, fold
from scimrecon.sim.value_formats import is_email
from scimrecon.sim.web import ApiError


def primary_email(emails: Sequence[Mapping[str, Any]] | None, fallback: str | None = None) -> str:
    """The address Atlassian links on: the primary email, else the first, else the userName."""
    emails = list(emails or [])
    for entry in emails:
        if entry.get("primary") and entry.get("value"):
            return str(entry["value"])
    for entry in emails:
        if entry.get("value"):
            return str(entry["value"])
    return fallback if fallback and is_email(fallback) else ""


# Record keys a client may set, in the order the fixture shape lists them.
USER_SLOTS = (
    "userName",
    "externalId",
    "emails",
    "displayName",
    "name",
    "nickName",
    "title",
    "department",
    "organization",
    "preferredLanguage",
    "timezone",
    "active",
)
EXTRA = "x-scim"


def write_slots(record: Record, fields: Mapping[str, Any]) -> None:
    """Replace every client-settable key of a record with `fields` (PUT semantics)."""
    keep = {k: v for k, v in record.items() if k not in (*USER_SLOTS, EXTRA)}
    record.clear()
    record.update({k: keep.pop(k) for k in ("id", "directory") if k in keep})
    for key in USER_SLOTS:
        if fields.get(key) is not None:
            record[key] = fields[key]
    record["active"] = bool(fields.get("active", True))
    record.update(keep)


def provision(store: Store, directory_id: str, fields: Mapping[str, Any]) -> Record:
    """Create a SCIM user, linked to the account holding its email or to a new managed one.

    `fields` are record fields (userName required; emails, displayName, active...). Raises
    ApiError 409 (uniqueness) when the userName exists in the directory, or when the account
    holding the email is already linked to another entry of this directory.
    """
    user_name = str(fields["userName"])
    active = bool(fields.get("active", True))
    display_name = fields.get("displayName")
    if store.scim_user_by_name(directory_id, user_name) is not None:
        raise ApiError(409, f"a user with userName {user_name!r} already exists", code="uniqueness")
    email = primary_email(fields.get("emails"), user_name)
    if not email:
        raise ApiError(
            400, "a user needs an email (emails or an email userName)", code="invalidValue"
        )
    account = store.account_by_email(email)
    if account is not None:
        taken = [
            u for u in store.scim_links(account["account_id"]) if u.get("directory") == directory_id
        ]
        if taken:
            raise ApiError(
                409,
                f"the account holding {email!r} is already linked to SCIM user "
                f"{taken[0].get('id')}",
                code="uniqueness",
            )
        if active and account.get("status") == "inactive":
            account["status"] = "active"
        elif not active and account.get("status") == "active":
            account["status"] = "inactive"
    else:
        account = {
            "account_id": store.new_account_id(),
            "email": email,
            "name": display_name or user_name,
            "status": "active" if active else "inactive",
            "managed": store.is_verified_email(email),
            "account_type": "atlassian",
            "added_to_org": store.today(),
            "org_role": "member",
            "product_access": [],
        }
        store.add("accounts", account)
    now = store.timestamp()
    record: Record = {"id": store.new_uuid(), "directory": directory_id}
    write_slots(record, fields)
    record["account_id"] = account["account_id"]
    record["meta"] = {"created": now, "lastModified": now}
    if fields.get(EXTRA):
        record[EXTRA] = dict(fields[EXTRA])
    store.add("scim_users", record)
    return record


def in_scope(idp_user: Mapping[str, Any]) -> bool:
    """Whether the IdP provisions this user: assigned, enabled, and passing scoping filters."""
    return (
        bool(idp_user.get("assigned", True))
        and idp_user.get("accountEnabled") is not False
        and idp_user.get("in_scope") is not False
    )


def push_idp_user(store: Store, idp_user: Mapping[str, Any]) -> dict[str, Any] | None:
    """Push one IdP user as the IdP would; None when there is nothing to do.

    A user who already has a SCIM entry (matched by userName) is left alone: the push creates,
    it never repairs. An unassigned user is out of scope.
    """
    directory_id = store.idp_directory_id()
    user_name = str(idp_user.get("userName") or "")
    if directory_id is None or not user_name or not in_scope(idp_user):
        return None
    if store.scim_user_by_name(directory_id, user_name) is not None:
        return None
    mail = idp_user.get("mail") or user_name
    before = {a.get("account_id") for a in store.accounts()}
    try:
        fields = {
            "userName": user_name,
            "externalId": idp_user.get("object_id"),
            "emails": [{"value": mail, "type": "work", "primary": True}],
            "displayName": idp_user.get("displayName"),
            "active": True,
        }
        record = provision(store, directory_id, fields)
    except ApiError as exc:
        return {"userName": user_name, "error": exc.message}
    return {
        "userName": user_name,
        "scim_id": record["id"],
        "account_id": record["account_id"],
        "new_account": record["account_id"] not in before,
    }


# -- groups: the IdP pushes its groups assigned to the app, with their members ----------------
#
# An IdP user's `groups` are the IdP groups assigned to the app that hold them; the IdP pushes
# each as a SCIM group of the same displayName (Entra matches groups by displayName and sends
# its objectId as externalId). A push creates; it never repairs, so a member whose SCIM entry
# was removed and re-created is NOT put back in its groups by pushing the user: Atlassian
# ("you will need to reprovision its group memberships separately"). Only a push of the group
# does that: Entra's provisionOnDemand with the group as subject and the member under
# links.members, a cycle that processes the group, or an admin's "push now" (/_sim/push).


def group_object_id(name: str) -> str:
    """The IdP object id of a group (stable, derived from its name)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scimrecon-sim:group:{name}"))


def idp_groups(store: Store) -> dict[str, str]:
    """Object id -> name of every IdP group assigned to the app and pushed to the directory
    (those named by a user's `groups`)."""
    names: dict[str, str] = {}
    for user in store.idp.get("users") or []:
        for name in user.get("groups") or []:
            names.setdefault(fold(name), str(name))
    return {group_object_id(name): name for name in names.values()}


def in_idp_group(idp_user: Mapping[str, Any], name: str) -> bool:
    return fold(name) in {fold(n) for n in idp_user.get("groups") or [] if n}


def push_group(store: Store, name: str, object_ids: Sequence[str]) -> dict[str, Any]:
    """Push one IdP group with these members (IdP object ids): the SCIM group is created if
    missing, and each member who is in the group in the IdP, in scope and already has a SCIM
    entry is added. Returns what was added and, by userName, why the others were not."""
    directory_id = store.idp_directory_id()
    if directory_id is None:
        return {"group": name, "added": [], "not_added": {}}
    group = store.group_by_name(directory_id, name)
    if group is None:
        group = {
            "id": store.new_uuid(),
            "directory": directory_id,
            "displayName": name,
            "externalId": group_object_id(name),
            "members": [],
        }
        store.world["groups"].append(group)
    members = list(group.get("members") or [])
    added: list[str] = []
    not_added: dict[str, str] = {}
    for object_id in object_ids:
        user = store.idp_user(object_id)
        if user is None:
            not_added[object_id] = "no such user in the IdP"
            continue
        user_name = str(user.get("userName") or object_id)
        entry = store.scim_user_by_name(directory_id, user_name)
        if not in_idp_group(user, name):
            not_added[user_name] = f"not a member of {name} in the IdP"
        elif not in_scope(user):
            not_added[user_name] = "not in provisioning scope (unassigned, disabled or filtered)"
        elif entry is None:
            not_added[user_name] = "has no SCIM entry yet (push the user first)"
        else:
            if entry["id"] not in members:
                members.append(entry["id"])
            added.append(user_name)
    store.set_group_members(group, members)
    return {"group": name, "added": added, "not_added": not_added}


def push_memberships(store: Store, idp_user: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Push every IdP group of one user, with that user as the member (an admin's push)."""
    names = {fold(n): str(n) for n in idp_user.get("groups") or []}
    object_id = str(idp_user.get("object_id"))
    return [push_group(store, name, [object_id]) for name in sorted(names.values())]


def deactivate_scim_user(store: Store, record: Record) -> None:
    """What an IdP's disable does: the SCIM user becomes inactive, and Atlassian deactivates
    the linked account with it (as a SCIM PATCH active=false does)."""
    with store.editing("scim_users", record):
        record["active"] = False
    record["meta"] = {**(record.get("meta") or {}), "lastModified": store.timestamp()}
    account = store.account(record.get("account_id"))
    if account is not None and account.get("status") == "active":
        account["status"] = "inactive"


def run_cycle(store: Store, changed: set[str] | None = None) -> list[dict[str, Any]]:
    """One provisioning cycle; what was pushed.

    Entra's cycles are incremental ("How application provisioning works"): after the initial
    cycle, only objects changed since the last watermark are processed. So `changed` names the
    IdP users (object ids) to process; None means a full cycle (initial, or after a restart).
    For each processed user: in scope without a SCIM entry -> pushed (linked by email); out of
    scope with an active entry -> disabled, as Entra disables users leaving scope. A user whose
    entry was removed behind Entra's back and who did not change is NOT pushed again: that is
    why Atlassian advises unassigning and reassigning the user (a change).
    """
    directory_id = store.idp_directory_id()
    if directory_id is None:
        return []
    present = store.scim_user_names(directory_id)
    pushed = []
    for idp_user in list(store.idp.get("users") or []):
        if changed is not None and idp_user.get("object_id") not in changed:
            continue
        has_entry = fold(idp_user.get("userName")) in present
        if not in_scope(idp_user):
            # Only a change takes a user out of scope; a full cycle leaves old entries alone.
            if has_entry and changed is not None:
                name = str(idp_user.get("userName") or "")
                entry = store.scim_user_by_name(directory_id, name)
                if entry is not None and entry.get("active", True):
                    deactivate_scim_user(store, entry)
            continue
        if has_entry:
            continue  # the common case, decided without a lookup per user
        outcome = push_idp_user(store, idp_user)
        if outcome is not None:
            pushed.append(outcome)
    if changed is None:
        _sync_groups(store, directory_id)
    return pushed


def _sync_groups(store: Store, directory_id: str) -> None:
    """A full cycle processes every group too: each IdP group's members in scope who have an
    entry are added to the SCIM group of that name (additions only; a group the directory
    does not hold is left alone)."""
    wanted: dict[str, list[str]] = {}
    for user in store.idp.get("users") or []:
        if not user.get("groups") or not in_scope(user):
            continue
        entry = store.scim_user_by_name(directory_id, str(user.get("userName") or ""))
        if entry is not None:
            for name in user["groups"]:
                wanted.setdefault(str(name), []).append(entry["id"])
    for name, ids in wanted.items():
        group = store.group_by_name(directory_id, name)
        if group is None:
            continue
        members = list(group.get("members") or [])
        missing = [i for i in ids if i not in set(members)]
        if missing:
            store.set_group_members(group, members + missing)


def job_active(store: Store) -> bool:
    job = store.idp.get("job") or {}
    return job.get("state") == "Active"
