"""What a handler is given: the request, the world, and the simulator's ephemeral runtime state.

Runtime state (issued Graph tokens, Jira bulk tasks, provision-on-demand windows) is not part of
the world on purpose: a real tenant does not keep it across a restart either, and the world
snapshot must stay in the fixture format.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request

from scimrecon.sim.store import Store


@dataclass
class Runtime:
    """State that lives as long as the SimApp, never in the world snapshot."""

    tokens: dict[str, float] = field(default_factory=dict)  # Graph access token -> expiry
    bulk_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # control API tasks
    on_demand: dict[str, deque[float]] = field(default_factory=dict)  # job id -> call times
    token_counter: int = 0
    jira_index: Any = None  # sim.jira_index.JiraIndex, made on first use with the world's lag
    #: IdP users changed since the last provisioning cycle (Entra's watermark): an incremental
    #: cycle processes only these. Assignment changes and `/_sim/touch` add to it.
    idp_changed: set[str] = field(default_factory=set)
    #: The next cycle processes everyone (after a job restart, as Entra's initial cycle does).
    idp_full_cycle: bool = False

    def idp_change(self, object_id: str) -> None:
        self.idp_changed.add(object_id)


@dataclass
class Ctx:
    """One request as a handler sees it; `prefix` is the API mount (for absolute links)."""

    request: Request
    store: Store
    runtime: Runtime
    prefix: str = ""

    @property
    def base_url(self) -> str:
        """Scheme + host + mount, so links in bodies point back at this simulator."""
        return self.request.host_url.rstrip("/") + self.prefix

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.request.args.get(name, default)
