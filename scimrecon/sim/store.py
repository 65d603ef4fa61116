"""Read and change the fixture world in place, the one representation of simulator state.

The simulator keeps no shadow copy of the world: every handler mutates the plain dict of the
DESIGN.md fixture shape, so `/_sim/world` is a deep copy and always round-trips through the
loader. This module is the only place that knows how to find things in that dict; callers hold
the app's lock while they use it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from scimrecon.identity import identity_key

Record = dict[str, Any]


def fold(value: str | None) -> str:
    """The identity rule's key (NFC, then lower case): userName and emails are matched
    case-insensitively by Atlassian, but a long s never matches a plain s (scimrecon.identity)."""
    return identity_key(value)


#: Index name -> (the world list it covers, the keys one record is filed under).
_INDEXES: dict[str, tuple[str, Callable[[Record], Iterable[Any]]]] = {
    "account": ("accounts", lambda a: (a.get("account_id"),)),
    "email": ("accounts", lambda a: (fold(a.get("email")),)),
    "scim_id": ("scim_users", lambda u: ((u.get("directory"), u.get("id")),)),
    "scim_name": ("scim_users", lambda u: ((u.get("directory"), fold(u.get("userName"))),)),
    "scim_links": ("scim_users", lambda u: (u.get("account_id"),)),
    "scim_emails": (
        "scim_users",
        lambda u: {fold(e.get("value")) for e in u.get("emails") or []},
    ),
}


def _product(entry: Record) -> tuple[str, str | None]:
    """A product access entry's identity: its key on its site."""
    return (str(entry.get("key")), entry.get("site"))


class Store:
    """Lookups, id generation and small invariants over one world dict.

    Lookups go through indexes that are built once and then kept in step by the store's own
    writes (`add`, `editing`, `remove_scim_user`), not rebuilt after every request: with 45,000
    accounts a rebuild costs tens of milliseconds, and a 1,000-target run writes thousands of
    times. Every hit is checked against the record's current keys, so a record edited behind
    the store's back is never returned under its old key; after editing the world directly,
    call `touch()`.
    """

    def __init__(self, world: Record, *, seed: int, clock: Callable[[], float]) -> None:
        self.world = world
        self.clock = clock
        self._rng = random.Random(f"ids:{seed}")
        # name -> (the list the index was built from, key -> records)
        self._indexes: dict[str, tuple[list[Record], dict[Any, list[Record]]]] = {}
        for key in ("accounts", "scim_users", "groups", "directories", "sites"):
            world.setdefault(key, [])

    # -- indexes ----------------------------------------------------------------------------------

    def touch(self) -> None:
        """Forget every index: after the world was edited other than through the store."""
        self._indexes.clear()

    def _index(self, name: str) -> dict[Any, list[Record]]:
        collection, keys = _INDEXES[name]
        items = self.world[collection]
        cached = self._indexes.get(name)
        if cached is not None and cached[0] is items:
            return cached[1]
        index: dict[Any, list[Record]] = {}
        for item in items:
            for key in keys(item):
                index.setdefault(key, []).append(item)
        self._indexes[name] = (items, index)
        return index

    def _find(self, name: str, key: Any) -> list[Record]:
        """Every record filed under `key` that still has it, in world order.

        Edits re-file a record at the end of its bucket; the rare key held by several records
        (one person in two directories) is put back in world order, as a scan would answer.
        """
        collection, keys = _INDEXES[name]
        found = [r for r in self._index(name).get(key, ()) if key in keys(r)]
        if len(found) > 1:
            wanted = {id(r) for r in found}
            found = [r for r in self.world[collection] if id(r) in wanted]
        return found

    def _first(self, name: str, key: Any) -> Record | None:
        found = self._find(name, key)
        return found[0] if found else None

    def _live_indexes(self, collection: str) -> Iterator[tuple[str, dict[Any, list[Record]]]]:
        items = self.world[collection]
        for name, (source, index) in self._indexes.items():
            if _INDEXES[name][0] == collection and source is items:
                yield name, index

    def _file(self, collection: str, record: Record) -> None:
        for name, index in self._live_indexes(collection):
            for key in _INDEXES[name][1](record):
                bucket = index.setdefault(key, [])
                if not any(r is record for r in bucket):
                    bucket.append(record)

    def _unfile(self, collection: str, record: Record) -> None:
        for name, index in self._live_indexes(collection):
            for key in _INDEXES[name][1](record):
                bucket = [r for r in index.get(key, ()) if r is not record]
                if bucket:
                    index[key] = bucket
                else:
                    index.pop(key, None)

    def add(self, collection: str, record: Record) -> None:
        """Append a record to a world list and file it in that list's indexes."""
        self.world[collection].append(record)
        self._file(collection, record)

    @contextmanager
    def editing(self, collection: str, record: Record) -> Iterator[Record]:
        """Change a record's keyed fields (email, userName, emails) inside this block."""
        self._unfile(collection, record)
        try:
            yield record
        finally:
            self._file(collection, record)

    # -- ids and time -------------------------------------------------------------------------

    def new_account_id(self) -> str:
        """A 24-hex Atlassian-style account id, reproducible from the seed."""
        while True:
            candidate = f"{self._rng.getrandbits(96):024x}"
            if self.account(candidate) is None:
                return candidate

    def new_uuid(self) -> str:
        """A UUID-shaped id (SCIM users, groups, Jira bulk tasks), reproducible from the seed."""
        value = f"{self._rng.getrandbits(128):032x}"
        return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)

    def timestamp(self) -> str:
        """Now as an ISO 8601 UTC time to the second (SCIM meta dates)."""
        return self.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def today(self) -> str:
        return self.now().date().isoformat()

    # -- org ------------------------------------------------------------------------------------

    @property
    def org(self) -> Record:
        return self.world.setdefault("org", {})

    def verified_domains(self) -> set[str]:
        return {fold(d) for d in self.org.get("domains") or []}

    def directory(self, directory_id: str) -> Record | None:
        return next((d for d in self.world["directories"] if d.get("id") == directory_id), None)

    def idp_directory_id(self) -> str | None:
        """The directory the IdP pushes into: `idp.directory`, else the first one."""
        idp = self.world.get("idp") or {}
        if idp.get("directory"):
            return str(idp["directory"])
        dirs = self.world["directories"]
        return str(dirs[0]["id"]) if dirs else None

    # -- accounts -------------------------------------------------------------------------------

    def accounts(self) -> list[Record]:
        return self.world["accounts"]

    def account(self, account_id: str | None) -> Record | None:
        if not account_id:
            return None
        return self._first("account", account_id)

    def account_by_email(self, email: str | None) -> Record | None:
        key = fold(email)
        if not key:
            return None
        return self._first("email", key)

    def is_verified_email(self, email: str) -> bool:
        _, _, domain = email.rpartition("@")
        return bool(domain) and fold(domain) in self.verified_domains()

    # -- SCIM users -----------------------------------------------------------------------------

    def scim_users(self, directory_id: str) -> Iterator[Record]:
        return (u for u in self.world["scim_users"] if u.get("directory") == directory_id)

    def scim_user(self, directory_id: str, scim_id: str) -> Record | None:
        return self._first("scim_id", (directory_id, scim_id))

    def scim_user_names(self, directory_id: str) -> set[str]:
        """Every (folded) userName in one directory, read in one pass.

        A provisioning cycle asks "has this IdP user an entry?" for every IdP user; one pass
        here instead of an index lookup each keeps a cycle over 40,500 users near 40 ms, not
        the second that starved every other request of a 1,000-target run.
        """
        return {fold(u.get("userName")) for u in self.scim_users(directory_id)}

    def scim_user_by_name(self, directory_id: str, user_name: str) -> Record | None:
        return self._first("scim_name", (directory_id, fold(user_name)))

    def scim_links(self, account_id: str) -> list[Record]:
        return self._find("scim_links", account_id)

    def scim_users_with_email(self, email: str) -> list[Record]:
        """SCIM entries carrying this address among their emails (any directory)."""
        return self._find("scim_emails", fold(email))

    def remove_scim_user(self, record: Record) -> None:
        """Drop a SCIM record and its group memberships (the account is left to the caller)."""
        items = self.world["scim_users"]
        position = next((i for i, u in enumerate(items) if u is record), None)
        if position is not None:
            del items[position]
        self._unfile("scim_users", record)
        left: list[Record] = []
        for group in self.world["groups"]:
            members = group.get("members") or []
            if record.get("id") in members:
                group["members"] = [m for m in members if m != record.get("id")]
                left.append(group)
        self._regrant([record.get("account_id")], left)

    # -- groups ---------------------------------------------------------------------------------

    def groups(self, directory_id: str) -> Iterator[Record]:
        return (g for g in self.world["groups"] if g.get("directory") == directory_id)

    def group(self, directory_id: str, group_id: str) -> Record | None:
        return next((g for g in self.groups(directory_id) if g.get("id") == group_id), None)

    def group_by_name(self, directory_id: str, name: str) -> Record | None:
        """A directory's group by displayName (case-insensitive, as Atlassian compares)."""
        key = fold(name)
        found = (g for g in self.groups(directory_id) if fold(g.get("displayName")) == key)
        return next(found, None)

    def set_group_members(self, group: Record, members: Iterable[str]) -> None:
        """Give a group these members (SCIM user ids), and its product access with them.

        Atlassian grants product access through groups (a synced group given a product role):
        a member's account has the group's products while a member, and loses those no other
        group of theirs grants when the membership goes. Every membership change goes through
        here or `remove_scim_user`, so the world after a run shows the access it implies.
        """
        before = list(group.get("members") or [])
        group["members"] = list(dict.fromkeys(members))
        changed = set(before) ^ set(group["members"])
        directory = str(group.get("directory"))
        accounts = [(self.scim_user(directory, m) or {}).get("account_id") for m in sorted(changed)]
        self._regrant(accounts, [group])

    def _regrant(self, account_ids: Iterable[str | None], groups: Iterable[Record]) -> None:
        """Bring the accounts' access to the products of `groups` in line with the groups
        their SCIM users are members of now (access to other products is left alone)."""
        products = {_product(p) for g in groups for p in g.get("products") or []}
        if not products:
            return
        for account_id in set(account_ids):
            account = self.account(account_id)
            if account is None or not account.get("managed"):
                continue
            mine = {u.get("id") for u in self.scim_links(str(account_id))}
            granted = {
                _product(p)
                for g in self.world["groups"]
                if mine & set(g.get("members") or [])
                for p in g.get("products") or []
            }
            # A suspended account keeps its access aside (orgs_v2_api): changes go there.
            field = "suspended_access" if "suspended_access" in account else "product_access"
            held = list(account.get(field) or [])
            have = {_product(p) for p in held}
            kept = [p for p in held if _product(p) not in products - granted]
            kept += [{"key": k, "site": s} for k, s in sorted((products & granted) - have)]
            account[field] = kept

    # -- Jira -----------------------------------------------------------------------------------

    @property
    def jira(self) -> Record:
        """The Jira section, or an empty one not added to the world (snapshots stay valid)."""
        jira = self.world.get("jira")
        return jira if isinstance(jira, dict) else {}

    def issue(self, key: str) -> Record | None:
        want = key.upper()
        return next(
            (i for i in self.jira.get("issues") or [] if str(i.get("key")).upper() == want), None
        )

    # -- IdP ------------------------------------------------------------------------------------

    @property
    def idp(self) -> Record:
        """The IdP section, or an empty one that is not added to the world."""
        idp = self.world.get("idp")
        return idp if isinstance(idp, dict) else {}

    def idp_user(self, id_or_upn: str) -> Record | None:
        key = fold(id_or_upn)
        for user in self.idp.get("users") or []:
            if user.get("object_id") == id_or_upn or fold(user.get("userName")) == key:
                return user
        return None
