"""Microsoft Entra ID: provisioning through Graph synchronization jobs.

Pause and start are the only job controls used. `restart` is deliberately absent: with
`ForceDeletes` it can wipe users in the target, and nothing here needs it.
provisionOnDemand is limited by Graph to 5 requests per 10 s, so it has its own client-side
bucket on top of the general Graph rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.connectors.idp.base import Capability, unknown_operation
from scimrecon.errors import InputError
from scimrecon.http import HttpClient, HttpError, WindowLimiter

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PROVISION_ON_DEMAND_LIMIT = 5  # calls ...
PROVISION_ON_DEMAND_WINDOW = 10.0  # ... per this many seconds

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
}


class EntraAdapter:
    """Graph synchronization job of the Atlassian Cloud enterprise app."""

    kind = "entra"
    capabilities: Mapping[str, Capability] = {
        "pause": "api",
        "resume": "api",
        "status": "api",
        "provision_user": "api",
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
        """The Entra object id of a user, by userPrincipalName."""
        body = self.graph.get(f"/users/{seg(user_name)}")
        object_id = body.get("id") if isinstance(body, dict) else None
        if not object_id:
            raise HttpError(
                f"{self.graph.api}: GET /users/{user_name} → 200: no id in the user",
                api=self.graph.api,
                method="GET",
                path=f"/users/{user_name}",
                status=200,
            )
        return str(object_id)

    def provision_user(self, user_name: str) -> None:
        if not self.rule_id:
            raise InputError(
                "set [idp].rule_id in the profile: provision on demand needs the "
                "synchronization rule id of the Atlassian Cloud job"
            )
        object_id = self.object_id(user_name)
        self._limiter.acquire()
        body = {
            "parameters": [
                {
                    "subjects": [{"objectId": object_id, "objectTypeName": "User"}],
                    "ruleId": self.rule_id,
                }
            ]
        }
        self.graph.post(f"{self._job()}/provisionOnDemand", json=body, retry_unsafe=True)

    def instructions(self, operation: str, **kw: str) -> str:
        if operation not in _ENTRA_TEXT:
            raise unknown_operation(operation)
        return _ENTRA_TEXT[operation].format(user=kw.get("user") or "the user")


__all__ = ["GRAPH_SCOPE", "EntraAdapter"]
