"""The auth schemes of the APIs we call: Bearer, Okta's SSWS, Basic, OAuth2 client credentials.

Each knows its secrets (`SecretAuth`), so the client scrubs them from every message, and none
shows them in a repr: people paste those into tickets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import httpx

from scimrecon.config import Secret
from scimrecon.http import HttpClient, HttpError, SecretAuth
from scimrecon.ratelimit import Clock


def _as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


class BearerAuth(SecretAuth):
    """`Authorization: Bearer <key>` (Atlassian org API key, SCIM directory key)."""

    def __init__(self, token: Secret | str) -> None:
        self._token = _as_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def secret_values(self) -> list[str]:
        return [self._token.reveal()]


class SswsAuth(SecretAuth):
    """`Authorization: SSWS <token>` (an Okta API token; Okta's own scheme, not Bearer)."""

    def __init__(self, token: Secret | str) -> None:
        self._token = _as_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"SSWS {self._token.reveal()}"
        yield request

    def secret_values(self) -> list[str]:
        return [self._token.reveal()]


class BasicAuth(SecretAuth):
    """Basic email + API token (Jira Cloud)."""

    def __init__(self, username: str, token: Secret | str) -> None:
        self._username = username
        self._token = _as_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        header = httpx.BasicAuth(self._username, self._token.reveal())._auth_header
        request.headers["Authorization"] = header
        yield request

    def secret_values(self) -> list[str]:
        raw = self._token.reveal()
        encoded = httpx.BasicAuth(self._username, raw)._auth_header.split(" ", 1)[1]
        return [raw, encoded]


class OAuth2ClientCredentials(SecretAuth):
    """Client-credentials token from the Entra login endpoint, cached until shortly before it
    expires (renewed `renew_before` seconds early so a long run never sends a stale token), and
    fetched once more if the API answers 401 to a cached token."""

    def __init__(
        self,
        token_client: HttpClient,
        token_path: str,
        client_id: str,
        client_secret: Secret | str,
        scope: str,
        *,
        clock: Clock = time.monotonic,
        renew_before: float = 300.0,
    ) -> None:
        self._client = token_client
        self._path = token_path
        self._client_id = client_id
        self._secret = _as_secret(client_secret)
        self._scope = scope
        self._clock = clock
        self._renew_before = renew_before
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.fetches = 0
        token_client.add_secrets(self.secret_values)

    def secret_values(self) -> list[str]:
        values = [self._secret.reveal()]
        if self._token is not None:
            values.append(self._token.reveal())
        return values

    def _fetch(self) -> None:
        body = self._client.request_json(
            "POST",
            self._path,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._secret.reveal(),
                "scope": self._scope,
            },
            retry_unsafe=True,  # asking for a token has no side effect
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise HttpError(
                f"{self._client.api}: POST {self._path} → 200: no access_token in the response",
                api=self._client.api,
                method="POST",
                path=self._path,
                status=200,
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = Secret(token)
        self._expires_at = self._clock() + lifetime
        self.fetches += 1

    def token(self, *, force: bool = False) -> Secret:
        with self._lock:
            stale = self._clock() >= self._expires_at - self._renew_before
            if force or self._token is None or stale:
                self._fetch()
            assert self._token is not None
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token.reveal()}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                if self._token == token:  # nobody renewed it meanwhile
                    self._token = None
            request.headers["Authorization"] = f"Bearer {self.token().reveal()}"
            yield request
