"""Okta: provisioning to the Atlassian Cloud app through Okta's management API (SSWS token).

- *Pause / resume* is the app's USER_PROVISIONING feature (Application Features API,
  `GET/PUT /api/v1/apps/{appId}/features/USER_PROVISIONING`, partial updates): pause turns off
  `create.lifecycleCreate` and `update.profile` and says which of them were on; resume turns
  back on exactly those. `update.lifecycleDeactivate` and `update.password` are never touched.
- *Re-push* is what Okta's console does for a user: unassign from the app
  (`DELETE /api/v1/apps/{appId}/users/{userId}?sendEmail=false`) and assign again
  (`POST /api/v1/apps/{appId}/users`), which makes Okta create the user in Atlassian (a SCIM
  POST). With deactivate on, the unassignment makes Okta deactivate the SCIM user it is linked
  to, so the caller must have removed that link first (decision 45): this adapter never checks
  Atlassian, the step and `idp provision` do, right before calling it.
- *Directory reads*: `GET /api/v1/users` (every user, then the DEPROVISIONED ones, which Okta
  leaves out of a plain list) and `GET /api/v1/apps/{appId}/users` (the assignments), paged by
  Okta's `Link: <...>; rel="next"` headers.

Okta documents the Features API for a short list of apps; an app it refuses it for is told
apart from an outage, and the refusal names `idp.kind = "manual"` as the way on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from scimrecon.connectors.admin import seg
from scimrecon.connectors.idp.base import (
    Capability,
    DirectoryIndex,
    IdpUser,
    IdpUsers,
    ReadOnce,
    format_instructions,
    unknown_operation,
)
from scimrecon.connectors.idp.graph_pages import link_under
from scimrecon.errors import InputError, RefusedError, ScimreconError
from scimrecon.http import HttpClient, HttpError

FEATURE = "USER_PROVISIONING"
#: What pause turns off, by short name -> (group, key) in Okta's capabilities object.
SWITCHES: dict[str, tuple[str, str]] = {
    "create": ("create", "lifecycleCreate"),
    "profile": ("update", "profile"),
}
#: Every capability `status` shows.
CAPABILITIES: dict[str, tuple[str, str]] = {
    **SWITCHES,
    "deactivate": ("update", "lifecycleDeactivate"),
    "password": ("update", "password"),
}
LABELS = {
    "create": "Create Users",
    "profile": "Update User Attributes",
    "deactivate": "Deactivate Users",
    "password": "Sync Password",
}
USERS_PAGE = 200  # Okta's largest page for /api/v1/users
APP_USERS_PAGE = 500  # ... and for /api/v1/apps/{appId}/users
DISABLED_STATUSES = frozenset({"SUSPENDED", "DEPROVISIONED"})
ROLE_HINT = (
    "the API token acts with its creator's admin role, which must be able to manage the "
    "Atlassian Cloud app (Super Administrator, or an Application Administrator role for it)"
)

_OKTA_TEXT: dict[str, str] = {
    "pause": (
        "Pause provisioning to Atlassian in Okta:\n"
        "  Okta Admin Console → Applications → Applications → Atlassian Cloud → Provisioning →\n"
        "  To App → Edit: untick 'Create Users' and 'Update User Attributes'; Save.\n"
        "  Note which were ticked: resume must tick exactly those again."
    ),
    "resume": (
        "Resume provisioning to Atlassian in Okta:\n"
        "  Okta Admin Console → Applications → Applications → Atlassian Cloud → Provisioning →\n"
        "  To App → Edit: tick again 'Create Users' and 'Update User Attributes' (only those\n"
        "  that were ticked before the pause); Save."
    ),
    "status": (
        "Okta Admin Console → Applications → Applications → Atlassian Cloud → Provisioning →\n"
        "To App shows which operations are enabled."
    ),
    "provision_user": (
        "Push {user} to Atlassian again from Okta (only once {user}'s SCIM entry is gone):\n"
        "  Okta Admin Console → Applications → Applications → Atlassian Cloud → Assignments:\n"
        "  unassign {user}, then assign {user} again (Assign → Assign to People)."
    ),
    "push_groups": (
        "Push {user}'s group memberships to Atlassian again from Okta. {user} must be back\n"
        "in exactly these groups:\n"
        "{groups}\n"
        "  Okta Admin Console → Applications → Applications → Atlassian Cloud → Push Groups:\n"
        "  for each group above (with {user} a member in Okta), choose Push now."
    ),
}


class OktaAdapter:
    """The Atlassian Cloud app in one Okta org."""

    kind = "okta"
    capabilities: Mapping[str, Capability] = {
        "pause": "api",
        "resume": "api",
        "status": "api",
        "provision_user": "api",
        "push_groups": "manual",
    }
    #: A re-push unassigns the user first: callers must check that no SCIM entry is left for
    #: Okta's deactivate capability to reach (decision 45).
    unassigns_to_repush = True

    def __init__(self, http: HttpClient, app_id: str) -> None:
        self.http = http
        self.app_id = app_id
        self._directory = ReadOnce(
            lambda: DirectoryIndex.of(self.read_users().users), ScimreconError
        )

    def __repr__(self) -> str:
        return f"OktaAdapter(app_id={self.app_id!r}, {self.http!r})"

    def close(self) -> None:
        self.http.close()

    @property
    def _app(self) -> str:
        return f"/api/v1/apps/{seg(self.app_id)}"

    # -- errors ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        """One call; a 403 names the admin role the token needs."""
        try:
            return self.http.request_json(method, path, **kw)
        except HttpError as exc:
            if exc.status != 403:
                raise
            raise exc.with_hint(f" ({ROLE_HINT})") from None

    # -- the provisioning feature ----------------------------------------------------------------

    def provisioning(self) -> dict[str, str]:
        """The feature's status and each capability's, by short name ("ENABLED"/"DISABLED").

        400 or 404 on the feature is Okta refusing the Features API for this app (or the app
        id being wrong): that is a refusal to change anything, not an outage to retry.
        """
        path = f"{self._app}/features/{FEATURE}"
        try:
            body = self._call("GET", path)
        except HttpError as exc:
            if exc.status not in (400, 404):
                raise
            raise RefusedError(
                f"Okta answered {exc.status} for the provisioning settings of app "
                f"{self.app_id} ({exc.detail or 'no detail'}): check [idp].app_id, and that "
                "provisioning To App is on; Okta offers its Application Features API only "
                'for some apps: if not for this one, set [idp] kind = "manual" and pause by '
                "hand (scimrecon idp pause prints how); nothing was changed"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("capabilities"), dict):
            raise self.http.unexpected("GET", path, "no capabilities object")
        caps = body["capabilities"]
        out = {"status": str(body.get("status") or "")}
        for name, (group, key) in CAPABILITIES.items():
            setting = (caps.get(group) or {}).get(key)
            out[name] = str(setting.get("status") or "") if isinstance(setting, dict) else ""
        return out

    def enabled(self) -> tuple[str, ...]:
        """The capabilities pause turns off that are on now (none while the feature is off)."""
        state = self.provisioning()
        if state["status"] != "ENABLED":
            return ()
        return tuple(name for name in SWITCHES if state[name] == "ENABLED")

    def status(self) -> str:
        """Active (create or profile updates on), Paused (both off), NotConfigured (the
        feature itself is off: Okta provisions nothing to the app)."""
        state = self.provisioning()
        if state["status"] != "ENABLED":
            return "NotConfigured"
        return "Active" if any(state[n] == "ENABLED" for n in SWITCHES) else "Paused"

    def _set(self, names: Iterable[str], status: str) -> None:
        body: dict[str, dict[str, Any]] = {}
        for name in names:
            group, key = SWITCHES[name]
            body.setdefault(group, {})[key] = {"status": status}
        if body:
            # a partial update of the same settings: repeating it after a lost answer is safe
            self._call("PUT", f"{self._app}/features/{FEATURE}", json=body)

    def pause(self, expected: Sequence[str] | None = None) -> tuple[str, ...]:
        """Turn off create and profile updates; returns those that were on.

        `expected` is what a run recorded before it asked to pause: anything else on now means
        someone changed the settings since, and restoring the recorded list would be wrong, so
        nothing is changed. Everything already off (a retry after a lost answer) is a no-op.
        """
        now = self.enabled()
        if expected is not None:
            want = tuple(n for n in SWITCHES if n in set(expected))
            if not now:
                return want
            if set(now) != set(want):
                raise RefusedError(
                    f"Okta's provisioning settings changed since this run recorded them "
                    f"(recorded on: {describe(want)}; on now: {describe(now)}); nothing was "
                    "changed: abort this run and start a new one"
                )
        self._set(SWITCHES, "DISABLED")
        return now

    def resume(self, restore: Sequence[str] | None = None) -> None:
        """Turn back on exactly `restore` (what pause said was on)."""
        if restore is None:
            raise InputError(
                "Okta: say which capabilities to turn back on (those pause turned off, as "
                "it printed): scimrecon idp resume --restore create,profile"
            )
        unknown = [n for n in restore if n not in SWITCHES]
        if unknown:
            raise InputError(
                f"Okta: cannot restore {', '.join(unknown)} (one of {', '.join(SWITCHES)})"
            )
        self._set([n for n in SWITCHES if n in set(restore)], "ENABLED")

    # -- re-push -----------------------------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        """The Okta user with this login (Okta takes an id, a login or its short name)."""
        body = self._call("GET", f"/api/v1/users/{seg(login)}")
        if not isinstance(body, dict) or not body.get("id"):
            raise self.http.unexpected("GET", f"/api/v1/users/{login}", "no id in the user")
        return body

    def object_id(self, login: str) -> str:
        """The Okta user id of a login (what Okta sends to Atlassian as the externalId)."""
        return str(self.user(login)["id"])

    def app_user(self, user_id: str) -> dict[str, Any] | None:
        """The user's assignment to the app, or None when not assigned."""
        try:
            body = self._call("GET", f"{self._app}/users/{seg(user_id)}")
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise
        return body if isinstance(body, dict) else None

    def provision_user(self, user_name: str) -> None:
        """Unassign the user from the app and assign them again, so Okta creates them anew.

        Only call this once the user's SCIM entry is gone from Atlassian (decision 45): with
        deactivate on, the unassignment deactivates whatever Okta is linked to. A user assigned
        through a group cannot be unassigned on their own and is refused, changing nothing.
        Safe to repeat: a missing assignment is not unassigned again.
        """
        user_id = str(self.user(user_name)["id"])
        current = self.app_user(user_id)
        if current is not None and str(current.get("scope") or "USER") != "USER":
            raise RefusedError(
                f"{user_name} is assigned to the Atlassian Cloud app in Okta through a group: "
                "re-push them by hand (remove them from the group and add them back), nothing "
                "was changed"
            )
        if current is not None:
            try:
                self._call(
                    "DELETE", f"{self._app}/users/{seg(user_id)}", params={"sendEmail": "false"}
                )
            except HttpError as exc:
                if exc.status != 404:  # gone already: a retry after a lost answer
                    raise
        body = {"id": user_id, "scope": "USER", "credentials": {"userName": user_name}}
        try:
            self._call("POST", f"{self._app}/users", json=body)
        except HttpError as exc:
            raise exc.with_hint(
                f"; {user_name} is now unassigned from the Atlassian Cloud app in Okta: assign "
                "them again (Applications → Atlassian Cloud → Assignments → Assign), or run the "
                "step again"
            ) from None

    # -- directory reads ---------------------------------------------------------------------------

    def read_users(self) -> IdpUsers:
        """Every Okta user, each marked assigned when the app is assigned to them (directly or
        through a group: Okta's app user says which by its `scope`)."""
        users = list(self._pages("/api/v1/users", {"limit": str(USERS_PAGE)}))
        seen = {str(u.get("id")) for u in users}
        gone = self._pages(
            "/api/v1/users", {"filter": 'status eq "DEPROVISIONED"', "limit": str(USERS_PAGE)}
        )
        users += [u for u in gone if str(u.get("id")) not in seen]
        assigned = {
            str(a.get("id")): str(a.get("scope") or "USER")
            for a in self._pages(f"{self._app}/users", {"limit": str(APP_USERS_PAGE)})
        }
        found = okta_users(users, assigned)
        if found.users and not any(u.assigned for u in found.users):
            raise RefusedError(
                "Okta reports nobody assigned to the Atlassian Cloud app, so scimrecon cannot "
                "tell whom it provisions (is [idp].app_id the right app?); nothing was changed"
            )
        return found

    def find_users(
        self, *, object_id: str | None = None, names: Iterable[str] = ()
    ) -> list[IdpUser]:
        """As Entra's: the id's user, then those named by login or email; read once."""
        return self._directory.get().find(object_id, names)

    def forget(self) -> None:
        self._directory.forget()

    def _pages(self, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Items of an Okta list, following `Link: <...>; rel="next"` to the last page; a link
        to anywhere but this org is refused (it would receive the token)."""
        url: str = path.lstrip("/")
        seen = {url}
        first: dict[str, str] | None = params
        while True:
            response = self.http.send("GET", url, params=first)
            body = self.http.decode("GET", response)
            if not isinstance(body, list):
                raise self.http.unexpected("GET", path, "not a list")
            yield from (item for item in body if isinstance(item, dict))
            link = next_link(response.headers.get("link", ""))
            if not link:
                return
            following = link_under(self.http.base_url, link)
            if following is None:
                raise self.http.unexpected(
                    "GET", path, "the next link points outside the Okta org URL"
                )
            if following in seen:
                raise self.http.unexpected("GET", path, "the next link repeats an earlier page")
            seen.add(following)
            url, first = following, None

    def instructions(self, operation: str, **kw: str) -> str:
        if operation not in _OKTA_TEXT:
            raise unknown_operation(operation)
        return format_instructions(_OKTA_TEXT[operation], **kw)


def describe(names: Iterable[str]) -> str:
    """Capability short names as the Okta console labels them."""
    shown = [f"'{LABELS[n]}'" for n in names if n in LABELS]
    return " and ".join(shown) if shown else "none"


def next_link(header: str) -> str | None:
    """The `rel="next"` URL of an RFC 8288 Link header, or None."""
    for part in header.split(","):
        target, _, rest = part.partition(";")
        target = target.strip()
        if (
            target.startswith("<")
            and target.endswith(">")
            and 'rel="next"' in rest.replace(" ", "")
        ):
            return target[1:-1]
    return None


def okta_users(users: Iterable[Mapping[str, Any]], assigned: Mapping[str, str]) -> IdpUsers:
    """Okta users and app assignments (user id -> scope) -> IdpUsers. Pure."""
    out: list[IdpUser] = []
    for item in users:
        user_id = str(item.get("id") or "")
        if not user_id:
            continue
        profile = item.get("profile") if isinstance(item.get("profile"), dict) else {}
        status = str(item.get("status") or "")
        scope = assigned.get(user_id)
        out.append(
            IdpUser(
                object_id=user_id,
                user_name=str(profile.get("login") or ""),
                mail=profile.get("email") or None,
                display_name=profile.get("displayName")
                or " ".join(p for p in (profile.get("firstName"), profile.get("lastName")) if p)
                or None,
                account_enabled=None if not status else status not in DISABLED_STATUSES,
                assigned=scope is not None,
                assigned_via="a group" if scope == "GROUP" else None,
            )
        )
    return IdpUsers(tuple(out))


__all__ = ["CAPABILITIES", "SWITCHES", "OktaAdapter", "describe", "next_link", "okta_users"]
