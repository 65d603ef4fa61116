"""Profiles (endpoints and ids, from TOML) and secrets (from env vars or the OS keyring).

The split is deliberate: a profile is something people commit, paste into tickets and attach
to bug reports, so it must never be able to hold a key. A profile that tries to is refused with
the variable to use instead, rather than silently ignored, so the key does not linger in a file
the person thinks is being read.

This module finds and reads the profile file and refuses one that holds a secret; the
sections and their checks are in profile_sections.py, the secrets in credentials.py. Callers
import all three from here (the names in __all__).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scimrecon.credentials import (
    ENTRA_CLIENT_SECRET,
    JIRA_TOKEN,
    KEYRING_SERVICE,
    OKTA_TOKEN,
    ORG_API_KEY,
    SCIM_TOKEN,
    SECRET_VARS,
    SMTP_PASSWORD,
    Secret,
    Secrets,
    looks_like_secret_key,
)
from scimrecon.errors import InputError
from scimrecon.limits import load_toml, read_document
from scimrecon.profile_sections import (
    IDP_KINDS,
    SECTIONS,
    AtlassianConfig,
    BillingConfig,
    IdpConfig,
    JiraConfig,
    LimitsConfig,
    ScimConfig,
    SmtpConfig,
    build_section,
)

PROFILE_ENV = "SCIMRECON_PROFILE"

# The variable a secret-looking key in a section should have been, for the refusal message.
_SECTION_SECRET_VAR: dict[str, str] = {
    "atlassian": ORG_API_KEY,
    "scim": SCIM_TOKEN,
    "jira": JIRA_TOKEN,
    "idp": ENTRA_CLIENT_SECRET,
    "smtp": SMTP_PASSWORD,
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
            section_cls = SECTIONS.get(name)
            if section_cls is None:
                known = ", ".join(f"[{s}]" for s in SECTIONS)
                raise InputError(f"{where}: unknown section [{name}] (known: {known})")
            if not isinstance(value, Mapping):
                raise InputError(f"{where}: {name} must be a table ([{name}])")
            built[name] = build_section(section_cls, name, value, where)
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
