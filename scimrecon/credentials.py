"""Secrets: the variables that hold them, a value that never prints, and where each is read.

A key is read from its environment variable, else from the OS keyring, and only when an API
is about to be used. It is wrapped in a Secret at once, so no str(), repr(), log line, report
or error can show it; only `reveal()` can, where a request is sent. The profile (config.py)
never holds one: `looks_like_secret_key` is how it tells a key that tries to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from scimrecon.errors import MissingSecret

KEYRING_SERVICE = "scimrecon"

SCIM_TOKEN = "SCIMRECON_SCIM_TOKEN"
ORG_API_KEY = "SCIMRECON_ORG_API_KEY"
JIRA_TOKEN = "SCIMRECON_JIRA_TOKEN"
ENTRA_CLIENT_SECRET = "SCIMRECON_ENTRA_CLIENT_SECRET"
OKTA_TOKEN = "SCIMRECON_OKTA_TOKEN"
SMTP_PASSWORD = "SCIMRECON_SMTP_PASSWORD"

#: Every secret the tool reads, with what it is for (shown by `config show`).
SECRET_VARS: dict[str, str] = {
    SCIM_TOKEN: "SCIM directory API key (Bearer)",
    ORG_API_KEY: "Atlassian organization API key (Bearer)",
    JIRA_TOKEN: "Jira API token (Basic, with [jira].email)",
    ENTRA_CLIENT_SECRET: "Entra app client secret (OAuth2 client credentials)",
    OKTA_TOKEN: "Okta API token (SSWS), of an admin who can manage the Atlassian Cloud app",
    SMTP_PASSWORD: "SMTP password of [smtp].username (notices to users)",
}

_SECRET_NAME = re.compile(
    r"^(api_?key|apikey|key|token|secret|password|passwd|pwd|client_secret|bearer|credentials?)$"
    r"|(_|-)(api_?key|token|secret|password|passwd)$"
    r"|^(api|access|auth|bearer|refresh)_?token",
    re.IGNORECASE,
)


class Secret:
    """A secret value that cannot leak through str(), repr(), f-strings or logging.

    Only `reveal()` gives the value, so every place that sends a secret is greppable.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled (it would end up in a file)")


def looks_like_secret_key(name: str) -> bool:
    """Tell whether a TOML key name suggests its value is a credential."""
    return bool(_SECRET_NAME.search(name))


KeyringLookup = Callable[[str, str], "str | None"]


def _system_keyring(service: str, username: str) -> str | None:
    """Ask the OS keyring; a machine without one simply has no stored secrets."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(service, username)
    except (KeyringError, RuntimeError, OSError):
        return None


class Secrets:
    """Each secret from its env var, else the OS keyring (service "scimrecon", username = the
    variable name). Looked up only when an API is used, so a command that never talks to Jira
    never asks for the Jira token."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        keyring_lookup: KeyringLookup | None = _system_keyring,
    ) -> None:
        self._env = os.environ if env is None else env
        self._keyring = keyring_lookup
        self._cache: dict[str, tuple[Secret | None, str | None]] = {}

    def _lookup(self, name: str) -> tuple[Secret | None, str | None]:
        if name not in self._cache:
            value = self._env.get(name)
            if value:
                self._cache[name] = (Secret(value), "env")
            else:
                stored = self._keyring(KEYRING_SERVICE, name) if self._keyring else None
                self._cache[name] = (Secret(stored), "keyring") if stored else (None, None)
        return self._cache[name]

    def get(self, name: str) -> Secret:
        """The secret, or an InputError telling the person exactly how to provide it."""
        secret, _ = self._lookup(name)
        if secret is None:
            what = SECRET_VARS.get(name, "secret")
            raise MissingSecret(
                f"{name} is not set ({what}): export it, or store it in the OS keyring "
                f'with service "{KEYRING_SERVICE}" and username "{name}"'
            )
        return secret

    def source(self, name: str) -> str | None:
        """Where the secret comes from ("env" or "keyring"), or None when it is unset."""
        return self._lookup(name)[1]

    def __repr__(self) -> str:
        return "Secrets(***)"

    @property
    def scim_token(self) -> Secret:
        return self.get(SCIM_TOKEN)

    @property
    def org_api_key(self) -> Secret:
        return self.get(ORG_API_KEY)

    @property
    def jira_token(self) -> Secret:
        return self.get(JIRA_TOKEN)

    @property
    def entra_client_secret(self) -> Secret:
        return self.get(ENTRA_CLIENT_SECRET)

    @property
    def okta_token(self) -> Secret:
        return self.get(OKTA_TOKEN)
