"""What every IdP adapter offers, and how it says which operations need a person.

The step library asks `capabilities[op]` first: "api" means the adapter can do it and verify it;
"manual" means a person must do it from `instructions(op)` and confirm; "none" means the IdP
cannot do it at all. Adapters never prompt: they do not know whether a TTY or a test is on the
other side, so the confirmation is the caller's job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from scimrecon.errors import ScimreconError
from scimrecon.identity import identity_key

Capability = Literal["api", "manual", "none"]
OPERATIONS: tuple[str, ...] = (
    "pause",
    "resume",
    "status",
    "provision_user",
    "reassign_user",
    "push_groups",
)
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
    """An IdP whose users and app assignments can be read through an API (Entra, Okta; a
    manual IdP is reconciled from an exported file)."""

    def read_users(self) -> IdpUsers: ...

    def find_users(
        self, *, object_id: str | None = None, names: Iterable[str] = ()
    ) -> list[IdpUser]: ...

    def forget(self) -> None: ...


@runtime_checkable
class RestoresExactly(Protocol):
    """An IdP whose pause turns several switches off (Okta: create users, update user
    attributes), some of which may have been off already: resume must turn back on exactly the
    ones that were on, and nothing more. The caller keeps that list where a crash cannot lose
    it (a run's recorded outputs) and hands it back."""

    def enabled(self) -> tuple[str, ...]:
        """The switches `pause` would turn off that are on now."""
        ...

    def pause(self, expected: Sequence[str] | None = None) -> tuple[str, ...]:
        """Turn them off; returns those that were on. With `expected`, refuses (changing
        nothing) when what is on now differs from it."""
        ...

    def resume(self, restore: Sequence[str] | None = None) -> None:
        """Turn `restore` back on (None: refused, the IdP cannot guess)."""
        ...


T = TypeVar("T")


class ReadOnce(Generic[T]):
    """A read made once and shared by a run's workers, under a lock so that concurrent first
    callers wait for one read instead of each making it. An error of the `keep` kind is
    remembered like a value: the same answer would come back for every target."""

    def __init__(self, read: Callable[[], T], keep: type[Exception]) -> None:
        self._read, self._keep = read, keep
        self._lock = threading.Lock()
        self._value: T | Exception | None = None

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                try:
                    self._value = self._read()
                except self._keep as exc:
                    self._value = exc
            if isinstance(self._value, Exception):
                raise self._value
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._value = None


@dataclass(frozen=True)
class DirectoryIndex:
    """One read of the IdP's users, indexed for look-ups by object id and by login or mail."""

    by_id: dict[str, IdpUser]
    by_name: dict[str, list[IdpUser]]

    @classmethod
    def of(cls, users: Iterable[IdpUser]) -> DirectoryIndex:
        by_id: dict[str, IdpUser] = {}
        by_name: dict[str, list[IdpUser]] = {}
        for user in users:
            by_id[user.object_id] = user
            for name in {identity_key(n) for n in (user.user_name, user.mail) if n}:
                by_name.setdefault(name, []).append(user)
        return cls(by_id, by_name)

    def find(self, object_id: str | None, names: Iterable[str]) -> list[IdpUser]:
        """The object id's user first, then those named by login or mail, without repeats."""
        found: list[IdpUser] = []
        for user in (
            self.by_id.get(object_id or ""),
            *(u for n in names for u in self.by_name.get(identity_key(n), ())),
        ):
            if user is not None and user not in found:
                found.append(user)
        return found


def format_instructions(text: str, **kw: str) -> str:
    """An instruction text filled in: `{user}`, and `{groups}` (one name a line: a group's
    name may hold a comma) as one indented line each."""
    groups = [g for g in str(kw.get("groups") or "").splitlines() if g.strip()]
    listed = "\n".join(f"    - {g.strip()}" for g in groups) or "    (none)"
    return text.format(user=kw.get("user") or "the user", groups=listed)


def unknown_operation(operation: str) -> ValueError:
    return ValueError(f"unknown IdP operation {operation!r} (one of {', '.join(OPERATIONS)})")


__all__ = [
    "OPERATIONS",
    "UNKNOWN",
    "Capability",
    "DirectoryIndex",
    "IdpAdapter",
    "IdpUser",
    "IdpUsers",
    "ManualOperation",
    "PushResult",
    "ReadOnce",
    "ReassignRefused",
    "RestoresExactly",
    "UserDirectory",
    "format_instructions",
    "unknown_operation",
]
