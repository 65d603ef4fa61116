"""Atlassian org admin APIs: provisioning links, user management, organization directory.

Organization calls use the v2 directory APIs wherever Atlassian says v2 (users, roles,
suspend, restore); v1 only where it is still the documented way (the managed-accounts list
with `access_billable`, last-active dates). The v1 suspend/restore were retired after 30 June
2026 (Cloud Admin changelog).

Three API families share one org API key and one base URL (api.atlassian.com), so they share
one client and one rate budget. Ids are always put in the path as single, escaped segments so a
strange account id can never address another resource. What the calls answer is read into the
records of admin_records.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from scimrecon.connectors.admin_records import (
    AccountProfile,
    Directory,
    DirectoryUser,
    LastActive,
    OrgUser,
    ProductAccess,
    ScimLink,
    Workspace,
)
from scimrecon.errors import RefusedError
from scimrecon.http import HttpClient
from scimrecon.identity import identity_key

#: The v2 directory id that means "every directory the key can manage".
ALL_DIRECTORIES = "-"

# These POSTs end in the same state however often they are sent (disabled is disabled), so a
# retry after a lost response is safe.
_SAME_TWICE: dict[str, Any] = {"retry_unsafe": True}


def seg(value: str) -> str:
    """One path segment: everything that could end it or climb out of it is percent-encoded."""
    if value in ("", ".", ".."):
        raise ValueError(f"{value!r} cannot be used as an id")
    return quote(value, safe=":@!$&'()*+,;=")


class AdminApi:
    """Org admin + user management + organization APIs for one org."""

    def __init__(self, http: HttpClient, org_id: str, directory_id: str = ALL_DIRECTORIES) -> None:
        self.http = http
        self.org_id = org_id
        self.directory_id = directory_id or ALL_DIRECTORIES
        self._write_directory: str | None = None
        self._prov = f"/admin/user-provisioning/v1/org/{seg(org_id)}"
        self._orgs = f"/admin/v1/orgs/{seg(org_id)}"
        self._v2 = f"/admin/v2/orgs/{seg(org_id)}"
        self._users_cache: dict[str, OrgUser] | None = None
        self._email_of: dict[str, str] = {}  # account id -> key in _users_cache
        self._listed: dict[str, OrgUser] | None = None  # the same listing by account id
        self._cache_lock = threading.Lock()
        # One listing at a time; our writes made while it runs are replayed onto it.
        self._load_lock = threading.RLock()
        self._loading = False
        self._replay: list[tuple[str, dict[str, Any]]] = []
        self._discard = False

    def __repr__(self) -> str:
        return f"AdminApi(org_id={self.org_id!r}, {self.http!r})"

    @staticmethod
    def _manage(account_id: str) -> str:
        return f"/users/{seg(account_id)}/manage"

    # -- provisioning ----------------------------------------------------------------------------

    def _links(self, method: str, path: str, body: Any) -> list[ScimLink]:
        if not isinstance(body, dict) or not isinstance(body.get("scimLinks"), list):
            raise self.http.unexpected(method, path, "no scimLinks list")
        return [ScimLink.from_json(item) for item in body["scimLinks"]]

    def scim_links_for_email(self, email: str) -> list[ScimLink]:
        path = f"{self._prov}/get-scim-links-for-email"
        body = self.http.post(path, json={"email": email}, retry_unsafe=True)  # a read
        return self._links("POST", path, body)

    def scim_links_for_account(self, account_id: str) -> list[ScimLink]:
        path = f"{self._prov}/user/{seg(account_id)}/get-scim-links"
        return self._links("GET", path, self.http.get(path))

    def delete_scim_record_only(self, account_id: str) -> None:
        """Remove only the SCIM record (onlyDeleteUserInDB); the account keeps working."""
        self.http.delete(f"{self._prov}/user/{seg(account_id)}/onlyDeleteUserInDB")

    # -- user management -------------------------------------------------------------------------

    def get_profile(self, account_id: str) -> AccountProfile:
        path = f"{self._manage(account_id)}/profile"
        body = self.http.get(path)
        account = body.get("account") if isinstance(body, dict) else None
        if not isinstance(account, dict):
            raise self.http.unexpected("GET", path, "no account object")
        return AccountProfile(
            account_id=str(account.get("account_id") or account_id),
            email=account.get("email"),
            name=account.get("name"),
            account_status=account.get("account_status"),
            account_type=account.get("account_type"),
        )

    def set_email(self, account_id: str, email: str) -> None:
        """New address on a verified domain; ends the user's sessions."""
        self.http.put(f"{self._manage(account_id)}/email", json={"email": email})
        self._amend(account_id, email=email)

    def disable(self, account_id: str, message: str | None = None) -> None:
        body = {"message": message} if message else {}
        self.http.post(f"{self._manage(account_id)}/lifecycle/disable", json=body, **_SAME_TWICE)
        self._amend(account_id, account_status="inactive", access_billable=False)

    def enable(self, account_id: str) -> None:
        self.http.post(f"{self._manage(account_id)}/lifecycle/enable", json={}, **_SAME_TWICE)
        self._amend(account_id, account_status="active")

    # -- organization ----------------------------------------------------------------------------

    def iter_org_users(self) -> Iterator[OrgUser]:
        """Every managed account, following `links.next` cursors (the cursor only: a next link
        pointing at another host never gets our key).

        Streams: `analyze --live` reads a million users in constant memory.
        """
        path = f"{self._orgs}/users"
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params = {"cursor": cursor} if cursor else None
            # a next page goes ahead of the queue: it can only come one after another
            body = self.http.get(path, params=params, ahead=cursor is not None)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise self.http.unexpected("GET", path, "no data list")
            for item in body["data"]:
                yield OrgUser.from_json(item)
            following = (body.get("links") or {}).get("next")
            if not following:
                return
            cursor = (parse_qs(urlsplit(str(following)).query).get("cursor") or [None])[0]
            if not cursor or cursor in seen:
                raise self.http.unexpected("GET", path, "links.next without a new cursor")
            seen.add(cursor)

    def org_users(self) -> list[OrgUser]:
        """Every org user, listed now; the listing also becomes the email look-up cache.

        A large org is hundreds of pages, and a run that counts billable users first need not
        read them all again to check an address is free. Listings take turns (concurrent
        first look-ups wait for one instead of each reading every page); our own writes made
        while one runs are replayed onto it, and a `refresh()` meanwhile discards it, so a
        listing never brings back what we changed since its first page.
        """
        with self._load_lock:
            with self._cache_lock:
                self._loading, self._replay, self._discard = True, [], False
            try:
                users = list(self.iter_org_users())
            finally:
                with self._cache_lock:
                    self._loading = False
            with self._cache_lock:
                replay, self._replay = self._replay, []
                if not self._discard:
                    self._users_cache = {identity_key(u.email): u for u in users if u.email}
                    self._email_of = {u.account_id: k for k, u in self._users_cache.items()}
                    self._listed = {u.account_id: u for u in users}
                    for account_id, changes in replay:
                        self._amend_cache(account_id, changes)
            # The answer too: a count read while our own changes go on (the billable count
            # after, read early: decision 104) shows each account as we left it.
            changed: dict[str, dict[str, Any]] = {}
            for account_id, changes in replay:
                changed.setdefault(account_id, {}).update(changes)
            return [
                replace(u, **changed[u.account_id]) if u.account_id in changed else u for u in users
            ]

    def refresh(self) -> None:
        """Forget the cached org user list (after any change, or to see others' changes)."""
        with self._cache_lock:
            self._users_cache = self._listed = None
            self._discard = self._loading

    def _amend(self, account_id: str, **changes: Any) -> None:
        """Keep the cached user list true to our own writes without re-reading every page.

        Re-reading after each change made a 1,000-target run read the whole org 1,000 times
        (and serialised the run behind the cache lock). Others' changes still need `refresh()`.
        """
        with self._cache_lock:
            if self._loading:
                self._replay.append((account_id, changes))
            self._amend_cache(account_id, changes)

    def _amend_cache(self, account_id: str, changes: dict[str, Any]) -> None:
        """`_amend`'s work, with the cache lock held."""
        if self._listed is not None and account_id in self._listed:
            self._listed[account_id] = replace(self._listed[account_id], **changes)
        if self._users_cache is None:
            return
        key = self._email_of.pop(account_id, None)
        if key is None or key not in self._users_cache:
            return
        user = replace(self._users_cache.pop(key), **changes)
        new_key = identity_key(user.email) if user.email else key
        self._users_cache[new_key] = user
        self._email_of[account_id] = new_key

    def find_org_user_by_email(self, email: str) -> OrgUser | None:
        """Look an email up in the org's user list (fetched once per instance; `refresh()`)."""
        with self._load_lock:
            with self._cache_lock:
                cache = self._users_cache
            if cache is None:
                users = self.org_users()
                with self._cache_lock:
                    cache = self._users_cache
                if cache is None:  # refreshed while it listed: answer from it, uncached
                    cache = {identity_key(u.email): u for u in users if u.email}
            with self._cache_lock:
                return cache.get(identity_key(email))

    def listed_org_users(self) -> list[OrgUser] | None:
        """Every org user as the last listing read them, with our own writes since applied;
        None when no listing is held (none read, or `refresh()` since). Nothing is read here.
        What a count read early gives back at the end of the changes (decision 104)."""
        with self._cache_lock:
            return list(self._listed.values()) if self._listed is not None else None

    def last_active_dates(self, account_id: str) -> LastActive:
        path = f"{self._orgs}/directory/users/{seg(account_id)}/last-active-dates"
        body = self.http.get(path)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise self.http.unexpected("GET", path, "no data object")
        return LastActive(
            products=[ProductAccess.from_json(p) for p in data.get("product_access") or []],
            added_to_org=data.get("added_to_org"),
        )

    # -- organization v2: directories and their users --------------------------------------------

    def _pages(
        self, path: str, params: dict[str, Any] | None = None, *, search: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Items of a v2 list, following `links.next`. There it is an opaque cursor, sent back
        as `cursor` (a full URL's `cursor` parameter is accepted too, never the URL itself: a
        next link pointing at another host never gets our key). A `search` is a POST whose
        filters and cursor travel in the JSON body."""
        cursor: str | None = None
        seen: set[str] = set()
        method = "POST" if search else "GET"
        while True:
            query = {**(params or {}), **({"cursor": cursor} if cursor else {})}
            ahead = cursor is not None  # a next page: it can only come one after another
            if search:
                body = self.http.post(path, json=query, ahead=ahead, **_SAME_TWICE)
            else:
                body = self.http.get(path, params=query or None, ahead=ahead)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise self.http.unexpected(method, path, "no data list")
            for item in body["data"]:
                if isinstance(item, dict):
                    yield item
            following = (body.get("links") or {}).get("next")
            if not following:
                return
            text = str(following)
            if text.startswith(("http://", "https://", "/")):
                text = (parse_qs(urlsplit(text).query).get("cursor") or [""])[0]
            if not text or text in seen:
                raise self.http.unexpected(method, path, "links.next without a new cursor")
            seen.add(text)
            cursor = text

    def directories(self) -> list[Directory]:
        """The org's user directories (GET /v2/orgs/{orgId}/directories)."""
        return [
            Directory(str(d.get("directoryId") or ""), d.get("name"))
            for d in self._pages(f"{self._v2}/directories")
        ]

    def _users_path(self, directory_id: str | None = None) -> str:
        return f"{self._v2}/directories/{seg(directory_id or self.directory_id)}/users"

    def iter_directory_users(self, directory_id: str | None = None) -> Iterator[DirectoryUser]:
        """Every user of `directory_id` (default: the profile's; `-`: of every directory),
        managed or not, with roles and product access, streamed. Through the user search (a
        POST that reads): the `GET .../users` list "will no longer work after June 30, 2027"."""
        params = {"expand": ["platformRoles", "productAccess"], "limit": 100}
        for item in self._pages(f"{self._users_path(directory_id)}/search", params, search=True):
            yield DirectoryUser.from_json(item)

    def workspaces(self) -> list[Workspace]:
        """The org's workspaces (one per product instance): what a product access's `id`
        points at. An access on a workspace not listed here is on a site the org does not
        manage."""
        return [
            Workspace.from_json(item)
            for item in self._pages(f"{self._v2}/workspaces", {"limit": 100}, search=True)
        ]

    def search_directory_user(self, account_id: str) -> DirectoryUser | None:
        """One user with roles and product access, read now through the user search
        (`accountIds`): one request for what the GET (roles, no product access) and the org
        listing (product access) gave between them, so a look-up needs no listing of the
        whole org first. None when the directory does not hold the account; an answer naming
        another account is refused."""
        path = f"{self._users_path()}/search"
        params = {"accountIds": [account_id], "expand": ["platformRoles", "productAccess"]}
        found = [DirectoryUser.from_json(item) for item in self._pages(path, params, search=True)]
        if any(user.account_id != account_id for user in found) or len(found) > 1:
            raise self.http.unexpected(
                "POST", path, f"an answer for another account than {account_id}"
            )
        return found[0] if found else None

    def directory_user(self, account_id: str) -> DirectoryUser:
        """One user, read now: its roles and membership as they are at this moment."""
        path = f"{self._users_path()}/{seg(account_id)}"
        body = self.http.get(path)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("accountId"):
            raise self.http.unexpected("GET", path, "no data.accountId")
        return DirectoryUser.from_json(data)

    def write_directory(self) -> str:
        """The directory a suspend or restore goes to. A configured id is used as it is; with
        `-` the org's directories are listed once: exactly one is used, several are refused
        (a change must not guess which user base it lands in): a run stops there, before
        its first change, rather than failing every target the same way."""
        if self.directory_id != ALL_DIRECTORIES:
            return self.directory_id
        if self._write_directory is None:
            found = self.directories()
            if len(found) != 1:
                ids = ", ".join(d.directory_id for d in found) or "none"
                raise RefusedError(
                    f"the organization has {len(found)} user directories ({ids}): set "
                    "[atlassian].directory_id in the profile to the one to change"
                )
            self._write_directory = found[0].directory_id
        return self._write_directory

    def suspend_access(self, account_id: str) -> None:
        """Suspend the user in the directory: no product access, not billed; restorable."""
        path = f"{self._users_path(self.write_directory())}/{seg(account_id)}/suspend"
        self.http.post(path, json={}, **_SAME_TWICE)
        self._amend(account_id, product_access=[], access_billable=False)

    def restore_access(self, account_id: str) -> None:
        path = f"{self._users_path(self.write_directory())}/{seg(account_id)}/restore"
        self.http.post(path, json={}, **_SAME_TWICE)
        self.refresh()

    def close(self) -> None:
        self.http.close()


__all__ = ["ALL_DIRECTORIES", "AdminApi", "seg"]
