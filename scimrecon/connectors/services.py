"""The single entry point to every remote API for the step library and the CLI.

Connectors are built on first use, so a command that never touches Jira never needs the Jira
token (and a missing one is reported only when it matters). One `ApiClientFactory` is shared,
so every client of the same provider draws from the same rate budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from scimrecon.config import SMTP_PASSWORD, Profile, Secrets
from scimrecon.connectors.admin import AdminApi, seg
from scimrecon.connectors.auth_policy import AuthPolicies
from scimrecon.connectors.idp import EntraAdapter, IdpAdapter, ManualAdapter, OktaAdapter
from scimrecon.connectors.idp.base import UserDirectory
from scimrecon.connectors.idp.entra import (
    GRAPH_SCOPE,
    PROVISION_ON_DEMAND_LIMIT,
    PROVISION_ON_DEMAND_WINDOW,
)
from scimrecon.connectors.jira import JiraApi
from scimrecon.connectors.scim import ScimDirectory
from scimrecon.connectors.smtp import Mailer
from scimrecon.errors import InputError
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.http_auth import BasicAuth, BearerAuth, OAuth2ClientCredentials, SswsAuth

T = TypeVar("T")

# What people see in messages, per API.
SCIM_API = "SCIM directory"
ORG_API = "Atlassian org API"
JIRA_API = "Jira"
GRAPH_API = "Microsoft Graph"
LOGIN_API = "Entra login"
OKTA_API = "Okta"


class Services:
    """Lazily built connectors over one profile, one secret source and one transport."""

    def __init__(
        self,
        profile: Profile,
        secrets: Secrets,
        *,
        transport: httpx.BaseTransport | None = None,
        factory: ApiClientFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self.secrets = secrets
        #: Wall time, for steps that count days (a notice period). The test harness gives the
        #: simulator's clock, so a week's notice passes without a week's wait.
        self.clock = clock
        self.factory = factory or ApiClientFactory(
            settings=HttpSettings(transport=transport),
            rates={name: profile.rate_for(name) for name in ("atlassian", "jira", "graph")},
        )
        self._built: dict[str, Any] = {}
        self._lock = threading.RLock()

    @classmethod
    def load(
        cls, profile_path: Path | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> Services:
        """Profile from the usual places, secrets from env/keyring."""
        return cls(Profile.load(profile_path), Secrets(), transport=transport)

    def __repr__(self) -> str:
        return f"Services(profile={str(self.profile.source)!r}, built={sorted(self._built)})"

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]  # type: ignore[no-any-return]

    def forget_reads(self) -> None:
        """Drop what the connectors remember (the org user list, the IdP's directory).

        A run plans, then waits for a person to confirm, possibly for hours; the checks it
        makes before changing anything must read the world as it is then, not at plan time.
        """
        with self._lock:
            admin, idp = self._built.get("admin"), self._built.get("idp")
        if isinstance(admin, AdminApi):
            admin.refresh()
        if isinstance(idp, UserDirectory):
            idp.forget()

    # -- connectors ------------------------------------------------------------------------------

    @property
    def scim(self) -> ScimDirectory:
        def build() -> ScimDirectory:
            cfg = self.profile.require("scim", "the SCIM directory API")
            auth = BearerAuth(self.secrets.scim_token)
            return ScimDirectory(
                self.factory.make(SCIM_API, cfg.base_url, auth, rate_key="atlassian")
            )

        return self._get("scim", build)

    @property
    def admin(self) -> AdminApi:
        def build() -> AdminApi:
            cfg = self.profile.require("atlassian", "the Atlassian org admin API")
            auth = BearerAuth(self.secrets.org_api_key)
            http = self.factory.make(ORG_API, cfg.base_url, auth, rate_key="atlassian")
            return AdminApi(http, cfg.org_id, cfg.directory_id)

        return self._get("admin", build)

    @property
    def auth_policies(self) -> AuthPolicies:
        """Authentication policy membership (Admin Control API; the org API key)."""

        def build() -> AuthPolicies:
            cfg = self.profile.require("atlassian", "the Atlassian admin control API")
            auth = BearerAuth(self.secrets.org_api_key)
            http = self.factory.make(ORG_API, cfg.base_url, auth, rate_key="atlassian")
            settings = self.factory.settings
            return AuthPolicies(http, cfg.org_id, sleep=settings.sleep, clock=settings.clock)

        return self._get("auth_policies", build)

    @property
    def jira(self) -> JiraApi:
        def build() -> JiraApi:
            cfg = self.profile.require("jira", "Jira ticket reassignment")
            auth = BasicAuth(cfg.email, self.secrets.jira_token)
            http = self.factory.make(JIRA_API, cfg.base_url, auth, rate_key="jira")
            return JiraApi(
                http, sleep=self.factory.settings.sleep, clock=self.factory.settings.clock
            )

        return self._get("jira", build)

    @property
    def idp(self) -> IdpAdapter:
        def build() -> IdpAdapter:
            cfg = self.profile.idp
            if cfg is None or cfg.kind == "manual":
                return ManualAdapter()
            if cfg.kind == "okta":
                return self._okta()
            return self._entra()

        return self._get("idp", build)

    @property
    def mailer(self) -> Mailer:
        """The profile's SMTP server; the password only when a username is set."""

        def build() -> Mailer:
            cfg = self.profile.require("smtp", "sending notices (notify.email)")
            password = self.secrets.get(SMTP_PASSWORD) if cfg.username else None
            return Mailer(cfg, password)

        return self._get("mailer", build)

    def _entra(self) -> EntraAdapter:
        cfg = self.profile.require("idp", "Microsoft Entra ID")
        needed = ("graph_url", "login_url", "tenant", "client_id", "service_principal")
        missing = [f"idp.{k}" for k in needed if not getattr(cfg, k)]
        if missing:
            where = f"profile {self.profile.source}" if self.profile.source else "the profile"
            raise InputError(f'{where}: [idp] kind = "entra" needs {", ".join(missing)}')
        login = self.factory.make(LOGIN_API, cfg.login_url, None, rate_key="login")
        auth = OAuth2ClientCredentials(
            login,
            f"/{seg(cfg.tenant)}/oauth2/v2.0/token",
            cfg.client_id,
            self.secrets.entra_client_secret,
            GRAPH_SCOPE,
            clock=self.factory.settings.clock,
        )
        graph = self.factory.make(GRAPH_API, cfg.graph_url, auth, rate_key="graph")
        graph.add_secrets(auth.secret_values)
        self._built["login-http"] = login
        limiter = self.factory.window_limiter(
            "graph-provision-on-demand", PROVISION_ON_DEMAND_LIMIT, PROVISION_ON_DEMAND_WINDOW
        )
        return EntraAdapter(
            graph, cfg.service_principal, cfg.job_id, cfg.rule_id, on_demand_limiter=limiter
        )

    def _okta(self) -> OktaAdapter:
        cfg = self.profile.require("idp", "Okta")
        missing = [f"idp.{k}" for k in ("okta_url", "app_id") if not getattr(cfg, k)]
        if missing:
            where = f"profile {self.profile.source}" if self.profile.source else "the profile"
            raise InputError(f'{where}: [idp] kind = "okta" needs {", ".join(missing)}')
        auth = SswsAuth(self.secrets.okta_token)
        return OktaAdapter(
            self.factory.make(OKTA_API, cfg.okta_url, auth, rate_key="okta"), cfg.app_id
        )

    def close(self) -> None:
        with self._lock:
            for item in self._built.values():
                close = getattr(item, "close", None)
                if close is None:
                    close = getattr(getattr(item, "graph", None), "close", None)
                if close is not None:
                    close()
            self._built.clear()


__all__ = ["GRAPH_API", "JIRA_API", "LOGIN_API", "OKTA_API", "ORG_API", "SCIM_API", "Services"]
