"""The simulator's HTTP plumbing: routes, replies, and the error every handler may raise.

The real APIs the simulator stands for disagree about almost everything (error shapes, auth,
content types), so handlers only say *what* went wrong (`ApiError`) and the API family they
belong to (`scimrecon.sim.apis`) decides how it looks on the wire. Keeping that split here lets
every handler stay a few lines of world logic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request


class ApiError(Exception):
    """A failure the API answers with a status and its own error body.

    `code` is the machine keyword of the family (SCIM scimType, Graph error code, OAuth error);
    `fields` carries Jira's per-field errors. `headers` go out with the error (Retry-After).
    `context` is the user management API's explanation of a refusal (`{allowed, reason}`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        context: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})
        self.context = context  # the user management API's `context` (why it refused)


@dataclass
class Reply:
    """What a handler answers: a status, a JSON-able body (None = empty) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler


class Router:
    """Method + path template -> handler; `{name}` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append(Route(method.upper(), re.compile(f"^{pattern}/?$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """Find the handler; 404 when no template fits, 405 when only the method is wrong."""
        path_known = False
        for route in self._routes:
            found = route.regex.match(path)
            if found is None:
                continue
            path_known = True
            if route.method == method.upper():
                return route.handler, found.groupdict()
        if path_known:
            raise ApiError(405, f"method {method} is not allowed on {path}", code="notAllowed")
        raise ApiError(404, f"no resource at {path}", code="notFound")


def json_body(request: Request, *, invalid_code: str | None = None) -> Any:
    """Parse the request body as JSON or answer 400, as every real API here does."""
    raw = request.get_data(cache=True)
    if not raw:
        raise ApiError(400, "the request body is empty; JSON expected", code=invalid_code)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, f"the request body is not valid JSON: {exc}", code=invalid_code
        ) from exc


def json_object(request: Request, *, invalid_code: str | None = None) -> dict[str, Any]:
    """Like `json_body`, but the body must be a JSON object."""
    body = json_body(request, invalid_code=invalid_code)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code=invalid_code)
    return body
