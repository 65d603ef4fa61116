"""Small helpers shared by the step library (no I/O of their own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from scimrecon.connectors.admin_records import DirectoryUser
from scimrecon.connectors.idp.base import IdpUser, UserDirectory
from scimrecon.engine.action import MissingOutput, Skip, StepContext, StepFailed
from scimrecon.errors import CredentialsRefused, RemoteError
from scimrecon.identity import matches_pattern, same_identity
from scimrecon.recon.roles import admin_role

T = TypeVar("T")


def require(ctx: StepContext, *names: str) -> tuple[Any, ...]:
    """Outputs of earlier steps this step cannot work without.

    A missing one means the playbook's order is wrong (or state was edited by hand); failing the
    target loudly beats guessing an account id.
    """
    missing = [n for n in names if ctx.target.get(n) in (None, "")]
    if missing:
        raise MissingOutput(
            f"step {ctx.step_id} needs {', '.join(missing)} from an earlier step, which is missing"
        )
    return tuple(ctx.target[n] for n in names)


def csv_param(ctx: StepContext, name: str, default: str) -> list[str]:
    """A parameter that may be a list or a comma-separated string, normalised to lower case."""
    value = ctx.param(name, default)
    items: Iterable[str] = value.split(",") if isinstance(value, str) else value
    return [item.strip().lower() for item in items if str(item).strip()]


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def target_email(ctx: StepContext) -> str:
    email = str(ctx.target.get("email") or ctx.target_key or "").strip()
    if not email:
        raise StepFailed("target has no email")
    return email


def is_not_found(exc: BaseException) -> bool:
    """Connectors signal a 404 with an exception carrying `status`; we only need to know that."""
    return getattr(exc, "status", None) in (404, "404")


def is_identity_mismatch(exc: BaseException) -> bool:
    """A remote answered with another identity than the one asked for (connectors mark such
    errors `identity_mismatch`; duck-typed so the step library does not import scim2 at start)."""
    return bool(getattr(exc, "identity_mismatch", False))


def skip_protected(ctx: StepContext, email: str, *found: str | None) -> None:
    """Admins named by the target list (`org_role`, `is_admin`) and `protect` patterns are
    never touched. The list can only add protection: the live role check (`skip_admin`) is
    what no list can take away. Patterns are matched on the identity rule's form
    (scimrecon.identity) of the target's email and of every name the remote answered with
    (`found`: the SCIM userName, the account's email), so a look-alike target cannot reach a
    protected account.
    """
    if as_bool(ctx.target.get("is_admin")) or "admin" in str(ctx.target.get("org_role", "")):
        raise Skip("protected: org admin")
    names = [n for n in (email, *found) if n]
    for pattern in csv_param(ctx, "protect", ""):
        hit = next((n for n in names if matches_pattern(n, pattern)), None)
        if hit is not None:
            whose = "" if hit == email else f" ({hit})"
            raise Skip(f"protected: matches {pattern}{whose}")


def idp_display_name(idp: Any) -> str:
    """How messages name the IdP."""
    return {"entra": "Entra ID", "okta": "Okta"}.get(idp.kind, "your IdP")


def reads_idp_directory(ctx: StepContext) -> bool:
    """Whether this IdP's users and assignments can be read by API (Entra, Okta; not manual)."""
    return isinstance(ctx.services.idp, UserDirectory)


def idp_users(ctx: StepContext, *, object_id: str | None, names: Iterable[str]) -> list[IdpUser]:
    """The IdP users that are this identity (by object id, then by UPN or mail); only for an
    IdP that `reads_idp_directory`."""
    idp = ctx.services.idp
    assert isinstance(idp, UserDirectory)
    return idp.find_users(object_id=object_id or None, names=[n for n in names if n])


def skip_admin(ctx: StepContext, account_id: str) -> None:
    """Read the account's role live (v2 directory user, `platformRoles`) and skip an admin.

    Org admins, site admins and user-access admins are never suspended, disabled or moved by
    a playbook, whatever the target list says. A role that cannot be read (not in the
    directory, a refusal, an outage) skips the target with that reason: an unknown role is
    never taken for a member's.
    """
    user = _role_read(account_id, ctx.services.admin.directory_user)
    if user.account_id != account_id:
        raise Skip(f"role of {account_id} cannot be read (the API answered for another account)")
    _skip_admin_role(user)


def live_directory_user(ctx: StepContext, account_id: str) -> DirectoryUser:
    """The account as the org's directory shows it now, with its roles and product access (one
    user search by account id), after `skip_admin`'s test: an admin, or a role that cannot be
    read, skips the target."""
    user = _role_read(account_id, ctx.services.admin.search_directory_user)
    if user is None:
        raise Skip(f"role of {account_id} cannot be read (not in the directory): not touching it")
    _skip_admin_role(user)
    return user


def _role_read(account_id: str, read: Callable[[str], T]) -> T:
    """`read(account_id)`; a failure skips the target with the reason (an unknown role is never
    taken for a member's), except refused credentials: nothing can be read, the run stops."""
    try:
        return read(account_id)
    except CredentialsRefused:
        raise
    except RemoteError as exc:
        raise _unreadable_role(account_id, exc) from None


def _unreadable_role(account_id: str, exc: RemoteError) -> Skip:
    detail = getattr(exc, "detail", "") or getattr(exc, "message", "") or str(exc)
    status = getattr(exc, "status", None)
    why = f"{status} {detail}".strip() if status else detail
    return Skip(f"role of {account_id} cannot be read ({why}): not touching it")


def _skip_admin_role(user: DirectoryUser) -> None:
    role = admin_role(user.platform_roles)
    if role:
        raise Skip(f"protected: {role}")


def same_account_as_listed(ctx: StepContext, email: str, account_id: str) -> None:
    """Fail the target when its list names another account id than the org's answer: a stale
    or hand-edited list must never point a change (or a notice) at someone else."""
    listed = ctx.target.get("account_id")
    if listed and listed != account_id:
        raise StepFailed(
            f"the target list says account {listed} for {email}, but the org says "
            f"{account_id}: nothing was changed for it; fix the list (or make it again) and "
            "start a new run with it"
        )


def unwanted_split(ctx: StepContext, keys: Iterable[str]) -> tuple[list[str], list[str], bool]:
    """A user's product keys as the playbooks for unwanted access judge them: (the unwanted
    ones held, the others, whether `include_licensed` lets the others pass). One definition for
    every look-up, so a playbook cannot forget the half that requires the unwanted product."""
    unwanted = set(csv_param(ctx, "unwanted", "trello"))
    held = sorted({k.lower() for k in keys})
    include = as_bool(ctx.param("include_licensed", False))
    return [k for k in held if k in unwanted], [k for k in held if k not in unwanted], include


def skip_service_account(user: Any) -> None:
    """Bots and integrations (an account type other than `atlassian`) are never a person's
    licence, notice or departure: no playbook touches them."""
    if (user.account_type or "atlassian") != "atlassian":
        raise Skip(f"protected: service account (account_type {user.account_type})")


def idp_still_provisions(
    ctx: StepContext, names: Iterable[str], object_id: str | None = None
) -> str | None:
    """Why the IdP would push this person (again), or None: assigned to the Atlassian app and
    not disabled, read live (Entra, Okta). A manual IdP cannot be asked: None."""
    if not reads_idp_directory(ctx):
        return None
    for user in idp_users(ctx, object_id=object_id, names=names):
        if user.provisioned:
            via = f" through group {user.assigned_via}" if user.assigned_via else ""
            return f"still assigned to the Atlassian app in the IdP ({ctx.services.idp.kind}){via}"
    return None


def org_member(ctx: StepContext, email: str) -> Any:
    """The target's managed account (an OrgUser) as the org answers now, proven to be the
    target's: a protected address, or no account, skips; an answer for another identity, or
    another account id than the target list names, fails the target (a stale list must never
    point a change at someone else)."""
    skip_protected(ctx, email)
    user = ctx.services.admin.find_org_user_by_email(email)
    if user is None:
        raise Skip("no managed account with this email in the org")
    if not same_identity(user.email, email):
        raise StepFailed(f"the org answered with {user.email!r} for {email!r}: not acting")
    same_account_as_listed(ctx, email, user.account_id)
    skip_protected(ctx, email, user.email)
    return user


def find_member(ctx: StepContext, email: str) -> Any:
    """The target's managed account (`org_member`), found live right before a change; admins
    (role read live) and accounts that are not active skip."""
    user = org_member(ctx, email)
    skip_admin(ctx, user.account_id)
    if (user.account_status or "").lower() != "active":
        raise Skip(f"account {user.account_id} is {user.account_status}: not billable")
    return user


def still_holds_address(ctx: StepContext, account_id: str, doing: str) -> None:
    """Right before a change, read the account live (not the run's cached user list) and fail
    the target unless it still has the target's address.

    The look-up found the account hours ago, perhaps: the run waited for its confirmation, or
    lay parked. If the address moved meanwhile (a re-provisioning parked the old account's), a
    change made by address (the policy task takes emails) would reach whoever holds it now, and
    one made by account id would act on someone the list no longer names.
    """
    email = target_email(ctx)
    now = ctx.services.admin.get_profile(account_id).email or ""
    if not same_identity(now, email):
        raise StepFailed(
            f"account {account_id} has address {now!r} now, not {email!r}: not {doing} anyone "
            "(the address may name someone else now); start a new run for it"
        )


def scim_entry(ctx: StepContext, user_name: str) -> Any:
    """The SCIM user with this userName (identity rule, see ScimDirectory.find_by_username),
    read once per attempt of the step: its `check` and its `apply` ask the same question a
    moment apart, and the runner empties `ctx.memo` before every attempt."""
    key = ("scim-user", user_name)
    if key not in ctx.memo:
        ctx.memo[key] = ctx.services.scim.find_by_username(user_name)
    return ctx.memo[key]


def account_profile(ctx: StepContext, account_id: str) -> Any:
    """The account's profile (email, status), read once per attempt of the step (as above)."""
    key = ("profile", account_id)
    if key not in ctx.memo:
        ctx.memo[key] = ctx.services.admin.get_profile(account_id)
    return ctx.memo[key]
