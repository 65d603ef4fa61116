"""Okta: the management API calls the Okta adapter uses, and what Okta does with them.

Served under `/okta` (standing for `https://{yourOktaDomain}`), with Okta's own auth
(`Authorization: SSWS <token>`), error shape (`errorCode`, `errorSummary`, `errorLink`,
`errorId`, `errorCauses`), paging (`limit`/`after` and a `Link: <...>; rel="next"` header) and
rate-limit headers (`X-Rate-Limit-Limit/-Remaining/-Reset`, the reset in epoch seconds).

Okta pushes on events, not in cycles (unlike Entra): so an Okta world has no job, and nothing
is pushed by `/_sim/tick`. What the simulator models:

- `PUT .../features/USER_PROVISIONING` turns the app's capabilities on and off. While
  `create.lifecycleCreate` is off, an assignment pushes nothing (the user waits, `okta_pending`);
  turning it back on pushes every waiting user. Turning `update.profile` back on pushes what
  changed: in the world, nothing changes a user's profile, so nothing is pushed.
- `POST .../apps/{appId}/users` (an assignment) pushes the user when create is on: a SCIM POST
  through `provisioning.provision`, which links to whichever account holds the email.
- `DELETE .../apps/{appId}/users/{userId}` (an unassignment), with `update.lifecycleDeactivate`
  on, deactivates the SCIM user Okta is linked to: the entry whose externalId is the Okta user
  id, else the one with the user's login as userName (harsher than Okta, which only knows the id
  it stored: never easier than reality).
- The Features API answers only for an app whose world gives it `features` (Okta documents the
  API for a short list of apps; an app outside it is refused here, not silently served).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from scimrecon.sim.context import Ctx
from scimrecon.sim.provisioning import push_idp_user
from scimrecon.sim.store import Record, Store, fold
from scimrecon.sim.web import ApiError, Reply, Router, json_object

PREFIX = "/okta"
APPS = f"{PREFIX}/api/v1/apps/{{app_id}}"
FEATURE = "USER_PROVISIONING"
STATUSES = ("ENABLED", "DISABLED")
# capability short name -> (section, key) in Okta's capabilities object
CAPABILITIES: dict[str, tuple[str, str]] = {
    "create": ("create", "lifecycleCreate"),
    "profile": ("update", "profile"),
    "deactivate": ("update", "lifecycleDeactivate"),
    "password": ("update", "password"),
}
DEFAULT_LIMIT = {"users": 200, "app_users": 50}
MAX_LIMIT = {"users": 200, "app_users": 500}
CREATED = "2024-01-01T00:00:00.000Z"  # the world has no Okta dates; a fixed one

# Okta's error codes for the failures the simulator produces.
ERROR_CODES = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
}


def register(router: Router) -> None:
    router.add("GET", f"{APPS}/features", list_features)
    router.add("GET", f"{APPS}/features/{{name}}", get_feature)
    router.add("PUT", f"{APPS}/features/{{name}}", update_feature)
    router.add("GET", f"{APPS}/users", list_app_users)
    router.add("POST", f"{APPS}/users", assign_user)
    router.add("GET", f"{APPS}/users/{{user_id}}", get_app_user)
    router.add("DELETE", f"{APPS}/users/{{user_id}}", unassign_user)
    router.add("GET", f"{PREFIX}/api/v1/users", list_users)
    router.add("GET", f"{PREFIX}/api/v1/users/{{id_or_login}}", get_user)


# -- errors, auth, rate-limit headers ------------------------------------------------------------


def error_body(exc: ApiError, request_id: str) -> dict[str, Any]:
    """Okta's error document: the code names the kind, the summary says what went wrong."""
    code, summary = ERROR_CODES.get(exc.status, ("E0000009", "Internal Server Error"))
    code = exc.code if exc.code and exc.code.startswith("E0") else code
    causes = [{"errorSummary": text} for text in exc.fields.values()]
    message = exc.message if exc.status not in (401, 429) else summary
    return {
        "errorCode": code,
        "errorSummary": message,
        "errorLink": code,
        "errorId": f"oae{hashlib.sha1(request_id.encode()).hexdigest()[:19]}",
        "errorCauses": causes,
    }


def okta(store: Store) -> Record:
    """The world's Okta org and app (`idp.okta`), or an empty one not added to the world."""
    section = store.idp.get("okta") if store.idp.get("kind") == "okta" else None
    return section if isinstance(section, dict) else {}


def authenticate(store: Store, authorization: str | None, method: str) -> None:
    """SSWS token: the admin token may do everything, a read-only token may only read."""
    scheme, _, value = (authorization or "").partition(" ")
    token = value.strip() if scheme == "SSWS" else ""
    org = okta(store)
    if token and token == org.get("api_token"):
        return
    if token and token == org.get("read_only_token"):
        if method in ("GET", "HEAD"):
            return
        raise ApiError(403, "You do not have permission to perform the requested action")
    raise ApiError(401, "Invalid token provided", headers={"WWW-Authenticate": "SSWS"})


def rate_headers(headers: Mapping[str, str], now: float) -> dict[str, str]:
    """The fault layer's generic rate headers in Okta's spelling: `X-Rate-Limit-*`, the reset
    in epoch seconds, and no Retry-After (Okta sends none)."""
    out = {k: v for k, v in headers.items() if not k.lower().startswith(("x-ratelimit", "retry"))}
    if "X-RateLimit-Limit" in headers:
        out["X-Rate-Limit-Limit"] = headers["X-RateLimit-Limit"]
        out["X-Rate-Limit-Remaining"] = headers.get("X-RateLimit-Remaining", "0")
        reset = headers.get("X-RateLimit-Reset")
        when = now
        if reset:
            when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
        out["X-Rate-Limit-Reset"] = str(int(when) + (0 if when == int(when) else 1))
    return out


# -- the app and its provisioning feature ------------------------------------------------------


def _app(ctx: Ctx, app_id: str) -> Record:
    org = okta(ctx.store)
    if not org or app_id != org.get("app_id"):
        raise ApiError(404, f"Not found: Resource not found: {app_id} (AppInstance)")
    return org


def _features(ctx: Ctx, app_id: str) -> dict[str, str]:
    """The app's USER_PROVISIONING settings; an app without them is refused as Okta refuses
    the Features API for an app it does not support or whose provisioning is off."""
    features = _app(ctx, app_id).get("features")
    if not isinstance(features, dict):
        raise ApiError(
            400,
            "Api validation failed: provisioning is not enabled for this app, or the app does "
            "not support the Application Features API",
        )
    return features


def _on(features: Mapping[str, str], name: str) -> bool:
    """A capability takes effect only while the feature itself is on."""
    return features.get("status", "ENABLED") == "ENABLED" and features.get(name) == "ENABLED"


def _feature_doc(ctx: Ctx, app_id: str, features: Mapping[str, str]) -> dict[str, Any]:
    base = f"{ctx.base_url}/api/v1/apps/{app_id}/features/{FEATURE}"

    def status(name: str) -> dict[str, Any]:
        return {"status": features.get(name, "DISABLED")}

    return {
        "name": FEATURE,
        "status": features.get("status", "ENABLED"),
        "description": "User provisioning settings from Okta to a downstream application",
        "capabilities": {
            "create": {"lifecycleCreate": status("create")},
            "update": {
                "profile": status("profile"),
                "lifecycleDeactivate": status("deactivate"),
                "password": {**status("password"), "seed": "RANDOM", "change": "KEEP_EXISTING"},
            },
        },
        "_links": {"self": {"href": base, "hints": {"allow": ["GET", "PUT"]}}},
    }


def list_features(ctx: Ctx, app_id: str) -> Reply:
    return Reply(200, [_feature_doc(ctx, app_id, _features(ctx, app_id))])


def get_feature(ctx: Ctx, app_id: str, name: str) -> Reply:
    features = _features(ctx, app_id)
    if name != FEATURE:
        raise ApiError(404, f"Not found: Resource not found: {name} (AppFeature)")
    return Reply(200, _feature_doc(ctx, app_id, features))


def _requested(body: Mapping[str, Any]) -> dict[str, str]:
    """Capability name -> new status from a (partial) capabilities object; 400 on anything
    Okta would not accept."""
    wanted: dict[str, str] = {}
    causes: dict[str, str] = {}
    known = {(section, key) for section, key in CAPABILITIES.values()}
    for section, value in body.items():
        if section not in ("create", "update") or not isinstance(value, dict):
            causes[section] = f"{section}: not a capability group (create, update)"
            continue
        for key, setting in value.items():
            if (section, key) not in known or not isinstance(setting, dict):
                causes[f"{section}.{key}"] = f"{section}.{key}: not a known capability"
                continue
            status = setting.get("status")
            if status not in STATUSES:
                causes[f"{section}.{key}"] = f"{section}.{key}.status: must be ENABLED or DISABLED"
                continue
            name = next(n for n, where in CAPABILITIES.items() if where == (section, key))
            wanted[name] = str(status)
    if causes or not wanted:
        raise ApiError(
            400, "Api validation failed: capabilities", fields=causes or {"body": "no capability"}
        )
    return wanted


def update_feature(ctx: Ctx, app_id: str, name: str) -> Reply:
    """Partial update of the capabilities; turning create or profile back on pushes what
    waited while they were off."""
    features = _features(ctx, app_id)
    if name != FEATURE:
        raise ApiError(404, f"Not found: Resource not found: {name} (AppFeature)")
    wanted = _requested(json_object(ctx.request))
    before = dict(features)
    features.update(wanted)
    if not _on(before, "create") and _on(features, "create"):
        for user in ctx.store.idp.get("users") or []:
            if user.get("okta_pending") and user.get("assigned"):
                _push(ctx.store, user)
    return Reply(200, _feature_doc(ctx, app_id, features))


# -- assignments -------------------------------------------------------------------------------


def _user(store: Store, id_or_login: str) -> Record | None:
    key = fold(id_or_login)
    for user in store.idp.get("users") or []:
        if user.get("object_id") == id_or_login or fold(user.get("userName")) == key:
            return user
    return None


def _linked_scim_user(store: Store, user: Record) -> Record | None:
    directory = store.idp_directory_id()
    if directory is None:
        return None
    for record in store.scim_users(directory):
        if record.get("externalId") == user.get("object_id"):
            return record
    return store.scim_user_by_name(directory, str(user.get("userName") or ""))


def _push(store: Store, user: Record) -> None:
    """Okta creating the user in the app: a SCIM POST, linked by email as Atlassian does."""
    outcome = push_idp_user(store, user)
    user.pop("okta_pending", None)
    if outcome is not None and "error" in outcome:
        user["x-okta-sync-error"] = outcome["error"]
    else:
        user.pop("x-okta-sync-error", None)


def _deactivate(store: Store, user: Record) -> None:
    """Okta's deprovisioning of an unassigned user: `active: false` on its linked SCIM user,
    which deactivates the Atlassian account it is linked to."""
    record = _linked_scim_user(store, user)
    if record is None:
        return  # Okta's call would answer 404: nothing in Atlassian changes
    record["active"] = False
    record["meta"] = {**(record.get("meta") or {}), "lastModified": store.timestamp()}
    account = store.account(record.get("account_id"))
    if account is not None and account.get("status") == "active":
        account["status"] = "inactive"


def _app_user_doc(ctx: Ctx, app_id: str, user: Record) -> dict[str, Any]:
    linked = _linked_scim_user(ctx.store, user)
    pending = bool(user.get("okta_pending"))
    error = user.get("x-okta-sync-error")
    status = "STAGED" if pending else "PROVISIONED" if linked is not None else "ACTIVE"
    base = f"{ctx.base_url}/api/v1"
    return {
        "id": user.get("object_id"),
        "externalId": linked.get("id") if linked is not None else None,
        "created": CREATED,
        "lastUpdated": CREATED,
        "scope": "GROUP" if user.get("assigned_via") else "USER",
        "status": status,
        "statusChanged": CREATED,
        "syncState": "ERROR" if error else "SYNCHRONIZED" if linked is not None else "DISABLED",
        "credentials": {"userName": user.get("userName")},
        "profile": {"email": user.get("mail"), "displayName": user.get("displayName")},
        "_links": {
            "app": {"href": f"{base}/apps/{app_id}"},
            "user": {"href": f"{base}/users/{user.get('object_id')}"},
        },
    }


def _limit(ctx: Ctx, kind: str) -> int:
    raw = ctx.arg("limit")
    if raw is None:
        return DEFAULT_LIMIT[kind]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(400, f"Api validation failed: limit {raw!r} must be a positive number")
    return min(value, MAX_LIMIT[kind])


def _page(ctx: Ctx, kind: str, items: list[Record], render: Any) -> Reply:
    """Okta's cursor paging: `after` is the id of the last item of the previous page, and the
    next page's URL comes in a `Link` header, never in the body."""
    limit = _limit(ctx, kind)
    after = ctx.arg("after")
    start = 0
    if after:
        ids = [str(i.get("object_id")) for i in items]
        if after not in ids:
            raise ApiError(400, f"Api validation failed: after {after!r} is not a valid cursor")
        start = ids.index(after) + 1
    chunk = items[start : start + limit]
    path = ctx.request.path[len(ctx.prefix) :]
    args = [(k, v) for k, v in ctx.request.args.items(multi=True) if k not in ("after", "limit")]
    links = []

    def link(extra: list[tuple[str, str]], rel: str) -> str:
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in [*args, *extra])
        return f'<{ctx.base_url}{path}?{query}>; rel="{rel}"'

    links.append(link([("limit", str(limit))], "self"))
    if start + limit < len(items) and chunk:
        links.append(
            link([("after", str(chunk[-1].get("object_id"))), ("limit", str(limit))], "next")
        )
    return Reply(200, [render(item) for item in chunk], headers={"Link": ", ".join(links)})


def list_app_users(ctx: Ctx, app_id: str) -> Reply:
    _app(ctx, app_id)
    users = [u for u in ctx.store.idp.get("users") or [] if u.get("assigned")]
    return _page(ctx, "app_users", users, lambda u: _app_user_doc(ctx, app_id, u))


def get_app_user(ctx: Ctx, app_id: str, user_id: str) -> Reply:
    _app(ctx, app_id)
    user = ctx.store.idp_user(user_id)
    if user is None or not user.get("assigned") or user.get("object_id") != user_id:
        raise ApiError(404, f"Not found: Resource not found: {user_id} (AppUser)")
    return Reply(200, _app_user_doc(ctx, app_id, user))


def assign_user(ctx: Ctx, app_id: str) -> Reply:
    """Assign a user directly; with create on, Okta pushes the user to the app at once."""
    org = _app(ctx, app_id)
    body = json_object(ctx.request)
    user_id = body.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise ApiError(400, "Api validation failed: id", fields={"id": "id: is required"})
    if body.get("scope", "USER") != "USER":
        raise ApiError(400, "Api validation failed: scope", fields={"scope": "scope: must be USER"})
    user = _user(ctx.store, user_id)
    if user is None or user.get("object_id") != user_id:
        raise ApiError(404, f"Not found: Resource not found: {user_id} (User)")
    if user.get("assigned"):
        return Reply(200, _app_user_doc(ctx, app_id, user))
    user["assigned"] = True
    user.pop("assigned_via", None)
    features = org.get("features") if isinstance(org.get("features"), dict) else {}
    if _on(features, "create"):
        _push(ctx.store, user)
    else:
        user["okta_pending"] = True
    return Reply(200, _app_user_doc(ctx, app_id, user))


def unassign_user(ctx: Ctx, app_id: str, user_id: str) -> Reply:
    """Unassign; with deactivate on, Okta deactivates the user it had pushed."""
    org = _app(ctx, app_id)
    user = _user(ctx.store, user_id)
    if user is None or not user.get("assigned") or user.get("object_id") != user_id:
        raise ApiError(404, f"Not found: Resource not found: {user_id} (AppUser)")
    if user.get("assigned_via"):
        raise ApiError(
            400,
            "Api validation failed: the user is assigned to the app through a group; remove "
            "the group assignment or the group membership instead",
        )
    features = org.get("features") if isinstance(org.get("features"), dict) else {}
    if _on(features, "deactivate") and not user.get("okta_pending"):
        _deactivate(ctx.store, user)
    user["assigned"] = False
    user.pop("okta_pending", None)
    return Reply(204)


# -- users -------------------------------------------------------------------------------------

_FIELDS = {
    "id": lambda u: u.get("object_id"),
    "status": lambda u: _status(u),
    "profile.login": lambda u: u.get("userName"),
    "profile.email": lambda u: u.get("mail"),
}


def _status(user: Record) -> str:
    return str(
        user.get("x-okta-status") or ("ACTIVE" if user.get("accountEnabled", True) else "SUSPENDED")
    )


def _user_doc(ctx: Ctx, user: Record) -> dict[str, Any]:
    name = str(user.get("displayName") or "")
    first, _, last = name.partition(" ")
    return {
        "id": user.get("object_id"),
        "status": _status(user),
        "created": CREATED,
        "activated": CREATED,
        "statusChanged": CREATED,
        "lastLogin": None,
        "lastUpdated": CREATED,
        "type": {"id": "oty1default"},
        "profile": {
            "login": user.get("userName"),
            "email": user.get("mail"),
            "firstName": first or None,
            "lastName": last or None,
            "displayName": user.get("displayName"),
        },
        "_links": {"self": {"href": f"{ctx.base_url}/api/v1/users/{user.get('object_id')}"}},
    }


def _expression(raw: str) -> tuple[str, str]:
    """`<field> eq "<value>"`: the one form of Okta's search/filter the simulator answers;
    anything else is refused rather than ignored (ignoring it would answer the wrong users)."""
    field, sep, rest = raw.strip().partition(" eq ")
    value = rest.strip()
    if (
        not sep
        or field.strip() not in _FIELDS
        or len(value) < 2
        or not (value.startswith('"') and value.endswith('"'))
    ):
        raise ApiError(
            400,
            f"Invalid search criteria: {raw!r} (the simulator answers only "
            f'<{"|".join(_FIELDS)}> eq "value")',
            code="E0000031",
        )
    return field.strip(), value[1:-1].replace('\\"', '"')


def list_users(ctx: Ctx) -> Reply:
    """`search` or `filter` with one `eq`; with neither, every user but DEPROVISIONED ones
    (as Okta lists them)."""
    users = list(ctx.store.idp.get("users") or [])
    raw = ctx.arg("search") or ctx.arg("filter")
    if raw:
        field, value = _expression(raw)
        get = _FIELDS[field]
        exact = field in ("id", "status")
        users = [u for u in users if (get(u) == value if exact else fold(get(u)) == fold(value))]
    else:
        users = [u for u in users if _status(u) != "DEPROVISIONED"]
    return _page(ctx, "users", users, lambda u: _user_doc(ctx, u))


def get_user(ctx: Ctx, id_or_login: str) -> Reply:
    user = _user(ctx.store, id_or_login)
    if user is None:
        raise ApiError(404, f"Not found: Resource not found: {id_or_login} (User)")
    return Reply(200, _user_doc(ctx, user))
