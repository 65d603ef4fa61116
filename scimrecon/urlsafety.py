"""Which URLs may carry our credentials: TLS, or plain HTTP to this machine only; never a URL
that holds a credential itself.

Every API the tool talks to receives a key (a Bearer header, Basic auth, or an OAuth client
secret in a form body). Over plain `http://` that key crosses the network in clear text, so
plain HTTP is allowed only to a loopback host (the simulator on 127.0.0.1, `localhost`, `::1`),
where nothing leaves the machine. A URL with a user or password, or with a query key that looks
like a credential (`?api_key=...`, `?sig=...`), would put the secret in a file people commit and
paste, in shell history and in proxy logs, so it is refused too.

Both the profile loader (config.py) and the HTTP client (http.py) ask `url_problem`, so a URL
that slipped past one (built in code, followed from a response) is still stopped before any
request is sent. Messages name the setting and the offending key, never a value.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

#: Query keys that hold a credential (compared lower-cased, `-` read as `_`).
CREDENTIAL_QUERY_KEYS = frozenset(
    {
        "access_token", "api_key", "apikey", "api_token", "apitoken", "auth", "auth_token",
        "authorization", "bearer", "client_secret", "code", "credential", "credentials", "jwt",
        "key", "pass", "passwd", "password", "private_key", "pwd", "refresh_token", "secret",
        "session", "sessionid", "sig", "signature", "sso_token", "token", "x_api_key",
    }
)  # fmt: skip
_CREDENTIAL_SUFFIX = re.compile(r"_(api_?key|key|token|secret|password|passwd|sig|signature)$")


def is_loopback_host(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also as an IPv4-mapped address), `localhost` and
    `*.localhost` (RFC 6761 reserves these names for the loopback interface)."""
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_credential_key(key: str) -> bool:
    """Whether a query key's name says its value is a credential."""
    norm = key.strip().lower().replace("-", "_")
    return norm in CREDENTIAL_QUERY_KEYS or bool(_CREDENTIAL_SUFFIX.search(norm))


def url_problem(url: str) -> str | None:
    """Why `url` must not be used to reach an API with our credentials, or None if it may.

    The answer names the part that is wrong, never the value, so it can be shown as is.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not carry a user or password in the URL; use the secret env vars"
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        if is_credential_key(key):
            return (
                f"must not carry a credential in the URL (query key {key!r}); "
                "use the secret env vars"
            )
    if parts.scheme == "http" and not is_loopback_host(host):
        return (
            "must use https:// (plain http:// would send credentials in clear text; it is "
            "allowed only for a loopback host: 127.0.0.0/8, ::1, localhost)"
        )
    return None


def display_url(url: str) -> str:
    """A URL fit to print: no user or password, and every query value masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    if port:
        netloc = f"{netloc}:{port}"
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


__all__ = [
    "CREDENTIAL_QUERY_KEYS",
    "display_url",
    "is_credential_key",
    "is_loopback_host",
    "url_problem",
]
