"""Profiles (endpoints and ids, from TOML) and secrets (from env vars or the OS keyring).

The split is deliberate: a profile is something people commit, paste into tickets and attach
to bug reports, so it must never be able to hold a key. A profile that tries to is refused with
the variable to use instead, rather than silently ignored, so the key does not linger in a file
the person thinks is being read.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal

from scimrecon.errors import InputError, MissingSecret
from scimrecon.limits import MAX_PRICE, MAX_USERS, load_toml, read_document
from scimrecon.recon.identity import email_syntax_problem
from scimrecon.urlsafety import is_loopback_host, url_problem

PROFILE_ENV = "SCIMRECON_PROFILE"
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

# The variable a secret-looking key in a section should have been, for the refusal message.
_SECTION_SECRET_VAR: dict[str, str] = {
    "atlassian": ORG_API_KEY,
    "scim": SCIM_TOKEN,
    "jira": JIRA_TOKEN,
    "idp": ENTRA_CLIENT_SECRET,
    "smtp": SMTP_PASSWORD,
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


# ----------------------------------------------------------------------------------------------
# Profile


def _url(value: str, where: str) -> str:
    """A base URL that may receive credentials (see urlsafety); the error never shows it."""
    problem = url_problem(value)
    if problem:
        raise InputError(f"{where} {problem}")
    return value.rstrip("/")


def _kind_of(value: Any) -> str:
    """What a TOML value is, for an error that must not echo the value itself."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a table"})
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class _Section:
    """A TOML table with typed keys; subclasses list their required keys."""

    required: ClassVar[tuple[str, ...]] = ()
    urls: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class AtlassianConfig(_Section):
    base_url: str
    org_id: str
    #: The org's verified domains: a user of an export counts as managed when on one of them.
    domains: tuple[str, ...] = ()
    #: The sites the org manages (e.g. "acme" for acme.atlassian.net): access on any other
    #: site is billable all the same but only that site's admin can remove it (flagged).
    sites: tuple[str, ...] = ()
    #: The org's user directory for the v2 directory APIs (`GET /v2/orgs/{org_id}/directories`
    #: lists them); "-" means "the only one" and is refused for changes in a multi-directory org.
    directory_id: str = "-"
    required: ClassVar[tuple[str, ...]] = ("base_url", "org_id")
    urls: ClassVar[tuple[str, ...]] = ("base_url",)


@dataclass(frozen=True)
class ScimConfig(_Section):
    base_url: str
    directory_id: str | None = None
    required: ClassVar[tuple[str, ...]] = ("base_url",)
    urls: ClassVar[tuple[str, ...]] = ("base_url",)


@dataclass(frozen=True)
class JiraConfig(_Section):
    base_url: str
    email: str
    required: ClassVar[tuple[str, ...]] = ("base_url", "email")
    urls: ClassVar[tuple[str, ...]] = ("base_url",)


IdpKind = Literal["entra", "okta", "manual"]
IDP_KINDS: tuple[str, ...] = ("entra", "okta", "manual")


@dataclass(frozen=True)
class IdpConfig(_Section):
    kind: str
    graph_url: str | None = None
    login_url: str | None = None
    tenant: str | None = None
    client_id: str | None = None
    service_principal: str | None = None
    job_id: str | None = None
    rule_id: str | None = None
    #: Okta: the org's URL (https://{yourOktaDomain}) and the Atlassian Cloud app's id.
    okta_url: str | None = None
    app_id: str | None = None
    required: ClassVar[tuple[str, ...]] = ("kind",)
    urls: ClassVar[tuple[str, ...]] = ("graph_url", "login_url", "okta_url")


@dataclass(frozen=True)
class BillingConfig(_Section):
    tier: int | None = None
    price_per_user_month: float | None = None
    cycle_day: int | None = None


@dataclass(frozen=True)
class LimitsConfig(_Section):
    """Client-side request rates (requests/s) per API, to stay under the provider's limit."""

    atlassian: float | None = None
    jira: float | None = None
    graph: float | None = None


#: How the SMTP connection is protected: STARTTLS on a plain port, TLS from the first byte
#: (port 465), or nothing, which only a loopback server may be (the simulator's).
SMTP_TLS_MODES: tuple[str, ...] = ("starttls", "implicit", "none")


@dataclass(frozen=True)
class SmtpConfig(_Section):
    """The mail server notices go through (`notify.email`); the password is a secret
    (SCIMRECON_SMTP_PASSWORD), needed only when `username` is set."""

    host: str
    sender: str
    port: int | None = None
    username: str | None = None
    tls: str = "starttls"
    required: ClassVar[tuple[str, ...]] = ("host", "sender")

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.tls == "implicit" else 587)


_SECTIONS: dict[str, type[_Section]] = {
    "atlassian": AtlassianConfig,
    "scim": ScimConfig,
    "jira": JiraConfig,
    "idp": IdpConfig,
    "billing": BillingConfig,
    "limits": LimitsConfig,
    "smtp": SmtpConfig,
}

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str | None": (str,),
    "int | None": (int,),
    "float | None": (int, float),
    "tuple[str, ...]": (list,),
}


@dataclass(frozen=True)
class Profile:
    """Where every API lives and which org/directory/site/job to act on. Never a secret."""

    atlassian: AtlassianConfig | None = None
    scim: ScimConfig | None = None
    jira: JiraConfig | None = None
    idp: IdpConfig | None = None
    billing: BillingConfig = field(default_factory=BillingConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    smtp: SmtpConfig | None = None
    source: Path | None = None

    @classmethod
    def load(cls, path: Path | None = None, *, env: Mapping[str, str] | None = None) -> Profile:
        """Find and read the profile: explicit path, $SCIMRECON_PROFILE, ./scimrecon.toml,
        then ~/.config/scimrecon/config.toml (first that applies wins)."""
        resolved = resolve_profile_path(path, env=env)
        try:
            data = load_toml(
                read_document(resolved, f"profile {resolved}", missing="file not found").decode(
                    "utf-8"
                ),
                f"profile {resolved}",
            )
        except UnicodeDecodeError:
            raise InputError(f"profile {resolved}: not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"profile {resolved}: invalid TOML: {exc}") from None
        return cls.from_dict(data, source=resolved)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: Path | None = None) -> Profile:
        """Validate a parsed profile; every error names the file and the key path."""
        where = f"profile {source}" if source else "profile"
        _refuse_secrets(data, where, ())
        built: dict[str, Any] = {}
        for name, value in data.items():
            section_cls = _SECTIONS.get(name)
            if section_cls is None:
                known = ", ".join(f"[{s}]" for s in _SECTIONS)
                raise InputError(f"{where}: unknown section [{name}] (known: {known})")
            if not isinstance(value, Mapping):
                raise InputError(f"{where}: {name} must be a table ([{name}])")
            built[name] = _build_section(section_cls, name, value, where)
        return cls(**built, source=source)

    def require(self, section: str, purpose: str) -> Any:
        """The section an API needs, or one clear line saying what to add to which file."""
        value = getattr(self, section)
        if value is None:
            where = f"profile {self.source}" if self.source else "the profile"
            raise InputError(f"{where} has no [{section}] section, needed for {purpose}")
        return value

    def rate_for(self, api: str) -> float | None:
        rate = getattr(self.limits, api, None)
        return float(rate) if rate else None


def _refuse_secrets(data: Mapping[str, Any], where: str, path: tuple[str, ...]) -> None:
    for key, value in data.items():
        key_path = (*path, str(key))
        if looks_like_secret_key(str(key)):
            var = _SECTION_SECRET_VAR.get(key_path[0]) if len(key_path) > 1 else None
            if key_path[0] == "idp" and data.get("kind") == "okta":
                var = OKTA_TOKEN
            instead = (
                f"set {var}"
                if var
                else "set the matching variable (" + ", ".join(SECRET_VARS) + ")"
            )
            raise InputError(
                f"{where}: key {'.'.join(key_path)} looks like a secret and profiles must never "
                f"hold secrets; remove it and {instead} in the environment or the OS keyring "
                f'(service "{KEYRING_SERVICE}")'
            )
        if isinstance(value, Mapping):
            _refuse_secrets(value, where, key_path)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    _refuse_secrets(item, where, key_path)


def _build_section(
    section_cls: type[_Section], name: str, table: Mapping[str, Any], where: str
) -> _Section:
    known = {f.name: f for f in fields(section_cls)}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        f = known.get(key)
        if f is None:
            allowed = ", ".join(known)
            raise InputError(f"{where}: unknown key {name}.{key} (allowed in [{name}]: {allowed})")
        expected = _TYPES[str(f.type)]
        if isinstance(value, bool) or not isinstance(value, expected):
            kind = "a number" if float in expected else _kind_of(expected[0]())
            raise InputError(f"{where}: {name}.{key} must be {kind}, got {_kind_of(value)}")
        if isinstance(value, str):
            value = value.strip()
            if key in section_cls.urls:
                value = _url(value, f"{where}: {name}.{key}")
        if isinstance(value, list):
            if not all(isinstance(item, str) and item.strip() for item in value):
                raise InputError(f"{where}: {name}.{key} must be a list of non-empty strings")
            value = tuple(item.strip().lower() for item in value)
        kwargs[key] = value
    missing = [k for k in section_cls.required if not kwargs.get(k)]
    if missing:
        raise InputError(f"{where}: [{name}] needs {', '.join(f'{name}.{k}' for k in missing)}")
    if section_cls is IdpConfig and kwargs["kind"] not in IDP_KINDS:
        raise InputError(f"{where}: idp.kind must be one of {', '.join(IDP_KINDS)}")
    if section_cls is BillingConfig:
        _check_range(kwargs, "tier", 1, MAX_USERS, where)
        _check_range(kwargs, "cycle_day", 1, 31, where)
        _check_range(kwargs, "price_per_user_month", 0, MAX_PRICE, where)
    if section_cls is SmtpConfig:
        _check_smtp(kwargs, where)
    if section_cls is LimitsConfig:
        for key, rate in kwargs.items():
            if not 0 < rate <= 10_000:  # nan and inf fail too
                raise InputError(
                    f"{where}: limits.{key} must be a positive requests/s rate, at most 10,000"
                )
    return section_cls(**kwargs)


def _check_smtp(values: Mapping[str, Any], where: str) -> None:
    """TLS unless the server is on this machine; a sender that is an address."""
    tls = values.get("tls", "starttls")
    if tls not in SMTP_TLS_MODES:
        raise InputError(f"{where}: smtp.tls must be one of {', '.join(SMTP_TLS_MODES)}")
    if tls == "none" and not is_loopback_host(values["host"]):
        raise InputError(
            f'{where}: smtp.tls = "none" is allowed only for a loopback host (127.0.0.0/8, '
            "::1, localhost): mail and the SMTP password would cross the network in clear text; "
            'use "starttls" or "implicit"'
        )
    if "port" in values and not 1 <= values["port"] <= 65535:
        raise InputError(f"{where}: smtp.port must be from 1 to 65535")
    problem = email_syntax_problem(values["sender"])
    if problem is not None:
        raise InputError(f"{where}: smtp.sender is not an email address: {problem}")


def _check_range(values: Mapping[str, Any], key: str, low: float, high: float, where: str) -> None:
    """A number from the profile within its sane range (TOML allows inf, nan and 1e308)."""
    if key in values and not low <= values[key] <= high:
        raise InputError(f"{where}: billing.{key} must be from {low:,} to {high:,}")


def resolve_profile_path(path: Path | None, *, env: Mapping[str, str] | None = None) -> Path:
    """Which profile file applies; an explicit choice that does not exist is an error."""
    env = os.environ if env is None else env
    if path is not None:
        return Path(path)
    if env.get(PROFILE_ENV):
        return Path(env[PROFILE_ENV])
    local = Path("scimrecon.toml")
    if local.is_file():
        return local
    xdg = env.get("XDG_CONFIG_HOME")
    home = Path(xdg) if xdg else Path.home() / ".config"
    user = home / "scimrecon" / "config.toml"
    if user.is_file():
        return user
    raise InputError(
        "no profile: pass --profile FILE, set SCIMRECON_PROFILE, or create ./scimrecon.toml "
        f"or {user}"
    )


# ----------------------------------------------------------------------------------------------
# Secrets

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


__all__ = [
    "ENTRA_CLIENT_SECRET",
    "IDP_KINDS",
    "JIRA_TOKEN",
    "KEYRING_SERVICE",
    "OKTA_TOKEN",
    "ORG_API_KEY",
    "PROFILE_ENV",
    "SCIM_TOKEN",
    "SECRET_VARS",
    "SMTP_PASSWORD",
    "AtlassianConfig",
    "BillingConfig",
    "IdpConfig",
    "JiraConfig",
    "LimitsConfig",
    "Profile",
    "ScimConfig",
    "Secret",
    "Secrets",
    "SmtpConfig",
    "looks_like_secret_key",
    "resolve_profile_path",
]
