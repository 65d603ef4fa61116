"""What every IdP adapter offers, and how it says which operations need a person.

The step library asks `capabilities[op]` first: "api" means the adapter can do it and verify it;
"manual" means a person must do it from `instructions(op)` and confirm; "none" means the IdP
cannot do it at all. Adapters never prompt: they do not know whether a TTY or a test is on the
other side, so the confirmation is the caller's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from scimrecon.errors import ScimreconError

Capability = Literal["api", "manual", "none"]
OPERATIONS: tuple[str, ...] = ("pause", "resume", "status", "provision_user", "reassign_user")
UNKNOWN = "unknown"


class ManualOperation(ScimreconError):
    """An operation this IdP cannot do through an API; show `instructions` to a person."""


class ReassignRefused(ScimreconError):
    """A reassignment this adapter will not make (group assignment, unknown role)."""


@runtime_checkable
class IdpAdapter(Protocol):
    kind: str
    capabilities: Mapping[str, Capability]

    def status(self) -> str:
        """Provisioning state ("Active", "Paused", ... or "unknown" when we cannot see it)."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def provision_user(self, user_name: str) -> PushResult | None:
        """Push one user now instead of at the next cycle; the IdP's answer, or None when the
        IdP gives none to read."""
        ...

    def instructions(self, operation: str, **kw: str) -> str:
        """What a person does in the IdP's console to perform `operation`."""
        ...


@dataclass(frozen=True, slots=True)
class PushResult:
    """What the IdP says a push did. Entra answers provisionOnDemand with 200 even when nothing
    was provisioned, so the result must be read, never assumed from the status code."""

    result: str  # Success | Failure | Skipped (anything else is treated as a failure)
    action: str | None = None  # Create, Update, Disable, Other, ...
    error_code: str | None = None
    reason: str | None = None
    target_id: str | None = None

    @property
    def already_there(self) -> bool:
        """Skipped because source and target already match: the push's goal holds."""
        return self.result == "Skipped" and self.error_code == "RedundantExport"

    @property
    def ok(self) -> bool:
        return (self.result == "Success" and self.action != "Disable") or self.already_there

    def describe(self) -> str:
        words = [self.result]
        if self.action and self.action != "Other":
            words.append(f"({self.action})")
        if self.error_code or self.reason:
            words.append(f"- {': '.join(x for x in (self.error_code, self.reason) if x)}")
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class IdpUser:
    """One user of the IdP's directory, and whether the Atlassian app is assigned to them.

    `assigned_via` names the group that gives the assignment (None: assigned directly, or not
    at all), so a report can say why a user counts as assigned.
    """

    object_id: str
    user_name: str
    mail: str | None = None
    display_name: str | None = None
    account_enabled: bool | None = None
    assigned: bool = False
    assigned_via: str | None = None

    @property
    def provisioned(self) -> bool:
        """Whether the IdP pushes this user: assigned to the app and not disabled."""
        return self.assigned and self.account_enabled is not False


@dataclass(frozen=True, slots=True)
class IdpUsers:
    """Every IdP user, plus what the reader could not resolve and a person should know.

    Warnings travel with the users instead of being printed because adapters never talk to a
    terminal; the caller decides where they go.
    """

    users: tuple[IdpUser, ...]
    warnings: tuple[str, ...] = ()


@runtime_checkable
class UserDirectory(Protocol):
    """An IdP whose users and app assignments can be read through an API (Entra only: Okta
    and manual IdPs are reconciled from an exported file)."""

    def read_users(self) -> IdpUsers: ...

    def find_users(
        self, *, object_id: str | None = None, names: Iterable[str] = ()
    ) -> list[IdpUser]: ...

    def forget(self) -> None: ...


def unknown_operation(operation: str) -> ValueError:
    return ValueError(f"unknown IdP operation {operation!r} (one of {', '.join(OPERATIONS)})")


__all__ = [
    "OPERATIONS",
    "UNKNOWN",
    "Capability",
    "IdpAdapter",
    "IdpUser",
    "IdpUsers",
    "ManualOperation",
    "PushResult",
    "ReassignRefused",
    "UserDirectory",
    "unknown_operation",
]
