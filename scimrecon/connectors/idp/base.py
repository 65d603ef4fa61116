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
OPERATIONS: tuple[str, ...] = ("pause", "resume", "status", "provision_user")
UNKNOWN = "unknown"


class ManualOperation(ScimreconError):
    """An operation this IdP cannot do through an API; show `instructions` to a person."""


@runtime_checkable
class IdpAdapter(Protocol):
    kind: str
    capabilities: Mapping[str, Capability]

    def status(self) -> str:
        """Provisioning state ("Active", "Paused", ... or "unknown" when we cannot see it)."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def provision_user(self, user_name: str) -> None:
        """Push one user now instead of at the next cycle."""
        ...

    def instructions(self, operation: str, **kw: str) -> str:
        """What a person does in the IdP's console to perform `operation`."""
        ...


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
    "UserDirectory",
    "unknown_operation",
]
