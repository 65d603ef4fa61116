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
from typing import Any

Record = dict[str, Any]


def fold(value: str | None) -> str:
    """Case-insensitive key: userName and emails are matched this way by Atlassian."""
    return (value or "").casefold()


class Store:
    """Lookups, id generation and small invariants over one world dict."""

    def __init__(self, world: Record, *, seed: int, clock: Callable[[], float]) -> None:
        self.world = world
        self.clock = clock
        self._rng = random.Random(f"ids:{seed}")
        self._generation = 0
        self._indexes: dict[str, tuple[tuple[int, int, int], dict[Any, Record]]] = {}
        self._multi: dict[str, tuple[tuple[int, int, int], dict[Any, list[Record]]]] = {}
        for key in ("accounts", "scim_users", "groups", "directories", "sites"):
            world.setdefault(key, [])

    # -- indexes ----------------------------------------------------------------------------------

    def touch(self) -> None:
        """Forget every index: call after any change (the app does, after each write request)."""
        self._generation += 1

    def _index(
        self, name: str, items: list[Record], key: Callable[[Record], Any], *, volatile: bool
    ) -> tuple[dict[Any, Record], bool]:
        """A key -> record map and whether it was built at the current generation.

        Reads dominate (lookups by id, email, userName on every request); scanning thousands of
        records each time would cap the simulator at a few hundred requests a second. Keys that
        never change (ids) are rebuilt only when the list is replaced or grows or shrinks;
        volatile keys (emails, userNames) also when a write happened since, and only when a
        lookup misses or finds a record whose key moved: rebuilding on every write made a
        1,000-target run over a 45,000-account world spend its time rebuilding indexes.
        """
        generation = self._generation if volatile else 0
        stamp = (id(items), len(items))
        cached = self._indexes.get(name)
        if cached is not None and cached[0][:2] == stamp:
            return cached[1], cached[0][2] == generation
        return self._build(name, items, key, stamp, generation), True

    def _build(
        self,
        name: str,
        items: list[Record],
        key: Callable[[Record], Any],
        stamp: tuple[int, int],
        generation: int,
    ) -> dict[Any, Record]:
        index: dict[Any, Record] = {}
        for item in items:
            index.setdefault(key(item), item)
        self._indexes[name] = ((*stamp, generation), index)
        return index

    def _groups(
        self, name: str, items: list[Record], keys: Callable[[Record], Iterable[Any]]
    ) -> dict[Any, list[Record]]:
        """key -> every record with that key (a record may have several): rebuilt after writes."""
        stamp = (id(items), len(items), self._generation)
        cached = self._multi.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        groups: dict[Any, list[Record]] = {}
        for item in items:
            for key in set(keys(item)):
                groups.setdefault(key, []).append(item)
        self._multi[name] = (stamp, groups)
        return groups

    def _lookup(
        self, name: str, items: list[Record], key: Callable[[Record], Any], wanted: Any
    ) -> Record | None:
        """The record whose volatile key is `wanted`, trusting the index only when it agrees."""
        index, fresh = self._index(name, items, key, volatile=True)
        found = index.get(wanted)
        if found is not None and key(found) == wanted:
            return found
        if fresh:
            return None
        index = self._build(name, items, key, (id(items), len(items)), self._generation)
        found = index.get(wanted)
        return found if found is not None and key(found) == wanted else None

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
        index, _ = self._index(
            "account", self.world["accounts"], lambda a: a.get("account_id"), volatile=False
        )
        found = index.get(account_id)
        return found if found is not None and found.get("account_id") == account_id else None

    def account_by_email(self, email: str | None) -> Record | None:
        key = fold(email)
        if not key:
            return None
        return self._lookup("email", self.world["accounts"], lambda a: fold(a.get("email")), key)

    def is_verified_email(self, email: str) -> bool:
        _, _, domain = email.rpartition("@")
        return bool(domain) and fold(domain) in self.verified_domains()

    # -- SCIM users -----------------------------------------------------------------------------

    def scim_users(self, directory_id: str) -> Iterator[Record]:
        return (u for u in self.world["scim_users"] if u.get("directory") == directory_id)

    def scim_user(self, directory_id: str, scim_id: str) -> Record | None:
        index, _ = self._index(
            "scim_id",
            self.world["scim_users"],
            lambda u: (u.get("directory"), u.get("id")),
            volatile=False,
        )
        found = index.get((directory_id, scim_id))
        if found is None or (found.get("directory"), found.get("id")) != (directory_id, scim_id):
            return None
        return found

    def scim_user_by_name(self, directory_id: str, user_name: str) -> Record | None:
        key = (directory_id, fold(user_name))
        return self._lookup(
            "scim_name",
            self.world["scim_users"],
            lambda u: (u.get("directory"), fold(u.get("userName"))),
            key,
        )

    def scim_links(self, account_id: str) -> list[Record]:
        groups = self._groups(
            "scim_links", self.world["scim_users"], lambda u: [u.get("account_id")]
        )
        return list(groups.get(account_id, ()))

    def scim_users_with_email(self, email: str) -> list[Record]:
        """SCIM entries carrying this address among their emails (any directory)."""
        groups = self._groups(
            "scim_emails",
            self.world["scim_users"],
            lambda u: [fold(e.get("value")) for e in u.get("emails") or []],
        )
        return list(groups.get(fold(email), ()))

    def remove_scim_user(self, record: Record) -> None:
        """Drop a SCIM record and its group memberships (the account is left to the caller)."""
        self.world["scim_users"] = [u for u in self.world["scim_users"] if u is not record]
        self.touch()
        for group in self.world["groups"]:
            members = group.get("members") or []
            if record.get("id") in members:
                group["members"] = [m for m in members if m != record.get("id")]

    # -- groups ---------------------------------------------------------------------------------

    def groups(self, directory_id: str) -> Iterator[Record]:
        return (g for g in self.world["groups"] if g.get("directory") == directory_id)

    def group(self, directory_id: str, group_id: str) -> Record | None:
        return next((g for g in self.groups(directory_id) if g.get("id") == group_id), None)

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
