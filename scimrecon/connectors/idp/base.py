"""What every IdP adapter offers, and how it says which operations need a person.

The step library asks `capabilities[op]` first: "api" means the adapter can do it and verify it;
"manual" means a person must do it from `instructions(op)` and confirm; "none" means the IdP
cannot do it at all. Adapters never prompt: they do not know whether a TTY or a test is on the
other side, so the confirmation is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def unknown_operation(operation: str) -> ValueError:
    return ValueError(f"unknown IdP operation {operation!r} (one of {', '.join(OPERATIONS)})")


__all__ = [
    "OPERATIONS",
    "UNKNOWN",
    "Capability",
    "IdpAdapter",
    "ManualOperation",
    "unknown_operation",
]
