"""The sections of a profile ([atlassian], [scim], [jira], [idp], [billing], [limits],
[smtp]): their typed keys, and the checks a table must pass to become one.

Every key is checked for its type, its range, and (a URL) that it may receive credentials
before anything is sent; every error names the file and the key path and never echoes the
value, which might be somebody's key pasted in the wrong place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from scimrecon.errors import InputError
from scimrecon.identity import email_syntax_problem
from scimrecon.limits import MAX_PRICE, MAX_USERS
from scimrecon.urlsafety import is_loopback_host, url_problem


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
class Section:
    """A TOML table with typed keys; subclasses list their required keys."""

    required: ClassVar[tuple[str, ...]] = ()
    urls: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class AtlassianConfig(Section):
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
class ScimConfig(Section):
    base_url: str
    directory_id: str | None = None
    required: ClassVar[tuple[str, ...]] = ("base_url",)
    urls: ClassVar[tuple[str, ...]] = ("base_url",)


@dataclass(frozen=True)
class JiraConfig(Section):
    base_url: str
    email: str
    required: ClassVar[tuple[str, ...]] = ("base_url", "email")
    urls: ClassVar[tuple[str, ...]] = ("base_url",)


IdpKind = Literal["entra", "okta", "manual"]
IDP_KINDS: tuple[str, ...] = ("entra", "okta", "manual")


@dataclass(frozen=True)
class IdpConfig(Section):
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
class BillingConfig(Section):
    tier: int | None = None
    price_per_user_month: float | None = None
    cycle_day: int | None = None


@dataclass(frozen=True)
class LimitsConfig(Section):
    """Client-side request rates (requests/s) per API, to stay under the provider's limit."""

    atlassian: float | None = None
    jira: float | None = None
    graph: float | None = None


#: How the SMTP connection is protected: STARTTLS on a plain port, TLS from the first byte
#: (port 465), or nothing, which only a loopback server may be (the simulator's).
SMTP_TLS_MODES: tuple[str, ...] = ("starttls", "implicit", "none")


@dataclass(frozen=True)
class SmtpConfig(Section):
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


SECTIONS: dict[str, type[Section]] = {
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


def build_section(
    section_cls: type[Section], name: str, table: Mapping[str, Any], where: str
) -> Section:
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
