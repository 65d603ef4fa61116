"""The human part of an API's error body, in one line, for the shapes of the APIs we call.

Why: a failed call is reported in one line a person can act on; each vendor puts the reason in
another field (SCIM `detail`, Jira `errorMessages`, Graph `error.message`, Okta
`errorSummary`, ...), and a body may be anything, so this never fails and never runs long.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_DETAIL_LIMIT = 300


def one_line(text: str, limit: int = _DETAIL_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key in ("detail", "message", "title", "errorMessage"):
            if isinstance(value.get(key), str):
                yield value[key]
                return
        for key, item in value.items():
            if isinstance(item, str):
                yield f"{key}: {item}"


def detail_from_body(body: Any) -> str:
    """The human part of an error body, for the common shapes of the APIs we call: SCIM
    (detail, scimType), Atlassian (message / errors[].title+detail; user management
    {key, context, errorKey, errorDetail}), Jira (errorMessages,
    errors{field: msg}), Graph ({error: {code, message}}), OAuth (error_description)."""
    if not isinstance(body, dict):
        return one_line(str(body)) if body not in (None, "") else ""
    if "errorKey" in body or ("key" in body and "context" in body):
        return one_line(_user_management_detail(body))
    parts: list[str] = []
    if isinstance(body.get("errorSummary"), str):  # Okta: errorCode, errorSummary, errorCauses
        code = body.get("errorCode")
        parts.append(f"{code}: {body['errorSummary']}" if code else body["errorSummary"])
        causes = body.get("errorCauses")
        for cause in causes if isinstance(causes, list) else []:
            if isinstance(cause, dict) and isinstance(cause.get("errorSummary"), str):
                parts.append(cause["errorSummary"])
    if isinstance(body.get("error"), dict):
        err = body["error"]
        text = err.get("message") or ""
        code = err.get("code")
        parts.append(f"{code}: {text}" if code and text else str(code or text))
    for key in ("error_description", "detail", "message", "errorMessage"):
        if isinstance(body.get(key), str) and body[key]:
            parts.append(body[key])
            break
    for key in ("errorMessages", "errors"):
        if body.get(key):
            parts.extend(_strings(body[key]))
    if not parts and isinstance(body.get("error"), str):
        parts.append(body["error"])
    scim_type = body.get("scimType")
    text = "; ".join(p for p in parts if p)
    if scim_type:
        text = f"{text} (scimType {scim_type})" if text else f"scimType {scim_type}"
    return one_line(text)


def _user_management_detail(body: dict[str, Any]) -> str:
    """The user management API's `{key, context, errorKey, errorDetail}`: the key, the detail,
    and why a refusal was made (`context.reason.key`, e.g. `managedAccount`)."""
    key = str(body.get("errorKey") or body.get("key") or "")
    detail = body.get("errorDetail")
    context = body.get("context")
    if not detail and isinstance(context, str):
        detail = context
    reason = context.get("reason") if isinstance(context, dict) else None
    why = reason.get("key") if isinstance(reason, dict) else None
    text = f"{key}: {detail}" if key and detail else str(key or detail or "")
    return f"{text} (reason: {why})" if why else text
