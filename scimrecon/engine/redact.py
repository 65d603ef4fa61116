"""Keep secrets out of everything the engine writes (state, audit, plans, messages).

Connectors already redact what they log, but an exception message from a library can still
quote a URL or a header. Every text the engine stores passes through `redact` first: the values
of the documented secret variables and anything that looks like an auth header are masked.
"""

from __future__ import annotations

import os
import re

SECRET_VARS = (
    "SCIMRECON_SCIM_TOKEN",
    "SCIMRECON_ORG_API_KEY",
    "SCIMRECON_JIRA_TOKEN",
    "SCIMRECON_ENTRA_CLIENT_SECRET",
)
_AUTH = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
MAX_TEXT = 500


def redact(text: str, limit: int = MAX_TEXT) -> str:
    """`text` with secret values masked and cut to `limit` characters."""
    for var in SECRET_VARS:
        value = os.environ.get(var)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    text = _AUTH.sub(lambda m: f"{m.group(1)} ***", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
