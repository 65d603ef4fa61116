"""The API families on the simulator's port: which path belongs to which, how each one
authenticates, and how each one spells an error.

A connector must cope with each real API's own error shape and auth scheme; the simulator
reproduces them per family so the connectors' error handling is exercised, not bypassed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from scimrecon.sim import okta_api
from scimrecon.sim.context import Runtime
from scimrecon.sim.store import Store, fold
from scimrecon.sim.web import ApiError

HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# RFC 7644 section 3.12: the only scimType keywords a SCIM error may carry.
SCIM_TYPES = {
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
}


@dataclass(frozen=True)
class Family:
    """One API on the port. `prefix` is what the log and the faults key on."""

    name: str  # scim | atlassian | jira | graph | login | okta | control
    prefix: str  # /atlassian | /jira | /graph | /login | /okta | /_sim
    content_type: str = "application/json"


def classify(path: str) -> Family:
    if path.startswith("/atlassian/scim/"):
        return Family("scim", "/atlassian", "application/scim+json")
    if path.startswith("/atlassian/users/"):
        return Family("user-management", "/atlassian")
    if path.startswith("/atlassian/"):
        return Family("atlassian", "/atlassian")
    if path.startswith("/jira/"):
        return Family("jira", "/jira")
    if path.startswith("/graph/"):
        return Family("graph", "/graph")
    if path.startswith("/login/"):
        return Family("login", "/login")
    if path.startswith("/okta/"):
        return Family("okta", "/okta")
    if path.startswith("/_sim/"):
        return Family("control", "/_sim")
    return Family("unknown", "/")


def error_body(
    family: Family, exc: ApiError, *, now: dt.datetime, request_id: str
) -> dict[str, Any]:
    """The error document each real API returns for this failure."""
    title = HTTP_TITLES.get(exc.status, "Error")
    if family.name == "scim":
        body: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(exc.status),
        }
        if exc.code in SCIM_TYPES:
            body["scimType"] = exc.code
        body["detail"] = exc.message
        return body
    if family.name == "jira":
        return {"errorMessages": [exc.message] if exc.message else [], "errors": exc.fields}
    if family.name == "graph":
        return {
            "error": {
                "code": exc.code or title.replace(" ", ""),
                "message": exc.message,
                "innerError": {
                    "date": now.isoformat().replace("+00:00", "Z"),
                    "request-id": request_id,
                },
            }
        }
    if family.name == "login":
        return {
            "error": exc.code or "invalid_request",
            "error_description": exc.message,
            "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": request_id,
        }
    if family.name == "okta":
        return okta_api.error_body(exc, request_id)
    if family.name == "atlassian":
        code = exc.code or title.upper().replace(" ", "_")
        return {
            "errors": [
                {
                    "id": request_id,
                    "status": str(exc.status),
                    "code": code,
                    "title": title,
                    "detail": exc.message,
                }
            ]
        }
    if family.name == "user-management":
        return user_management_error(exc, title)
    return {"error": exc.message, "status": exc.status}


def user_management_error(exc: ApiError, title: str) -> dict[str, Any]:
    """The user management API's own error shape, `{key, context, errorKey, errorDetail}`,
    not the organizations API's `errors[]` (jira.atlassian.com/browse/AX-220 quotes one:
    `{"key":"forbidden.targetUnverified","context":"Error: Cannot perform action on
    unverified account","errorKey":"forbidden.target-unverified","errorDetail":"Error: ..."}`).
    A refusal's `context` says why (`{"allowed": false, "reason": {"key": ...}}`, as in the
    published ForbiddenActionResponse); otherwise it repeats the message."""
    key = exc.code or title
    if key[:1].isupper():  # the shared 401/403/500 codes ("Forbidden", "Not Found") read
        key = key.lower().replace(" ", ".")  # as this API spells them: "forbidden"
    error_key = re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", key).lower()
    context = exc.context if exc.context is not None else f"Error: {exc.message}"
    return {"key": key, "context": context, "errorKey": error_key, "errorDetail": exc.message}


# -- credentials ------------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _presented(request: Request) -> str | None:
    """Whatever secret the request carries, whichever the scheme (to tell 401 from 403)."""
    bearer = _bearer(request)
    if bearer:
        return bearer
    basic = _basic(request)
    return basic[1] if basic else None


def _known_keys(store: Store, runtime: Runtime) -> set[str]:
    keys = {str(d.get("api_key")) for d in store.world.get("directories") or [] if d.get("api_key")}
    for value in (
        store.org.get("api_key"),
        store.jira.get("api_token"),
        store.idp.get("client_secret"),
        (store.idp.get("okta") or {}).get("api_token"),
    ):
        if value:
            keys.add(str(value))
    keys.update(runtime.tokens)
    return keys


def _deny(store: Store, runtime: Runtime, request: Request, what: str) -> ApiError:
    """401 when nothing valid was presented, 403 when a valid key of another API was."""
    presented = _presented(request)
    if presented and presented in _known_keys(store, runtime):
        return ApiError(403, f"this credential is not valid for {what}", code="Forbidden")
    if not request.headers.get("Authorization"):
        return ApiError(
            401,
            f"authentication required for {what}",
            code="Unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return ApiError(
        401,
        f"invalid credentials for {what}",
        code="Unauthorized",
        headers={"WWW-Authenticate": "Bearer"},
    )


def authenticate(
    family: Family, request: Request, store: Store, runtime: Runtime, now: float
) -> None:
    """Raise ApiError 401/403 unless the request carries this family's own credential."""
    path = request.path
    if family.name == "scim":
        parts = path.split("/")
        directory = store.directory(parts[4]) if len(parts) > 4 else None
        expected = directory.get("api_key") if directory else None
        token = _bearer(request)
        if directory is None:
            if token and token in _known_keys(store, runtime):
                return  # authenticated; the handler answers 404 for the unknown directory
            raise _deny(store, runtime, request, "the SCIM directory")
        if token and expected and token == expected:
            return
        raise _deny(store, runtime, request, "the SCIM directory")
    if family.name in ("atlassian", "user-management"):
        token = _bearer(request)
        expected = store.org.get("api_key")
        if token and expected and token == expected:
            return
        raise _deny(store, runtime, request, "the organization APIs")
    if family.name == "jira":
        basic = _basic(request)
        email, api_token = store.jira.get("email"), store.jira.get("api_token")
        if basic and api_token and basic[1] == api_token:
            if fold(basic[0]) == fold(email):
                return
            raise ApiError(401, "the email does not match the API token", code="Unauthorized")
        raise _deny(store, runtime, request, "Jira")
    if family.name == "okta":
        okta_api.authenticate(store, request.headers.get("Authorization"), request.method)
        return
    if family.name == "graph":
        token = _bearer(request)
        expiry = runtime.tokens.get(token or "")
        if expiry is not None and now < expiry:
            return
        if expiry is not None:
            raise ApiError(
                401,
                "Lifetime validation failed, the token is expired.",
                code="InvalidAuthenticationToken",
            )
        error = _deny(store, runtime, request, "Microsoft Graph")
        if error.status == 401:
            error.code = "InvalidAuthenticationToken"
        raise error


Authenticator = Callable[[Family, Request, Store, Runtime, float], None]
