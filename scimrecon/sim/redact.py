"""Pseudonyms for a world that leaves the customer (`sim capture --redact`).

A support engineer needs the *shape* of a customer's org (who is linked to whom, which
addresses collide, which tickets a person holds), not the people. So every person gets one
pseudonym used everywhere they appear: the account, the SCIM entries linked to it, the IdP
users behind those entries, and every one of their addresses (`person7@`, `person7.2@`, ...).
Who is "one person" follows the links the APIs show (an account's SCIM link, a SCIM entry's
externalId = the IdP object id), so a person whose IdP mail drifted from their Atlassian email
still reads as one person with two addresses, and the drift stays visible.

Domains are kept (the managed-account rule and the identity rule depend on them) unless asked
to map them too; a subdomain of a verified domain stays a subdomain of its mapped name.
Account ids, SCIM ids and object ids are opaque and kept, so a customer's state file and
plans still name the same objects.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from scimrecon.identity import identity_key

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


class _People:
    """Union-find over identity keys (emails, userNames): one root per person."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.order: list[str] = []

    def add(self, value: object) -> str | None:
        if not value:
            return None
        key = identity_key(str(value))
        if key not in self.parent:
            self.parent[key] = key
            self.order.append(key)
        return key

    def root(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, *values: object) -> None:
        keys = [k for k in (self.add(v) for v in values) if k is not None]
        for other in keys[1:]:
            a, b = self.root(keys[0]), self.root(other)
            if a != b:
                # the earlier-seen key stays the root, so numbering follows first appearance
                first, second = sorted((a, b), key=self.order.index)
                self.parent[second] = first


def _scim_addresses(user: dict[str, Any]) -> list[Any]:
    return [user.get("userName"), *(e.get("value") for e in user.get("emails") or [])]


def _people(world: dict[str, Any]) -> _People:
    people = _People()
    email_of = {a["account_id"]: a.get("email") for a in world.get("accounts") or []}
    for account in world.get("accounts") or []:
        people.join(account.get("email"))
    scim_by_external: dict[str, list[Any]] = {}
    for user in world.get("scim_users") or []:
        addresses = _scim_addresses(user)
        people.join(email_of.get(user.get("account_id")), *addresses)
        if user.get("externalId"):
            scim_by_external.setdefault(str(user["externalId"]), []).extend(addresses)
    idp = world.get("idp") or {}
    for user in idp.get("users") or []:
        linked = scim_by_external.get(str(user.get("object_id")), [])
        people.join(user.get("userName"), user.get("mail"), *linked)
    people.join((world.get("jira") or {}).get("email"))
    return people


class Pseudonyms:
    """The mapping itself: original address/name -> pseudonym, stable within one world."""

    def __init__(self, world: dict[str, Any], *, map_domains: bool = False) -> None:
        self.people = _people(world)
        roots = [k for k in self.people.order if self.people.root(k) == k]
        self.number = {root: n for n, root in enumerate(roots, start=1)}
        self.addresses: dict[str, str] = {}
        seen: dict[str, int] = {}
        self.verified = sorted(
            {d.lower() for d in (world.get("org") or {}).get("domains") or []}, key=len
        )
        self.map_domains = map_domains
        self.domains: dict[str, str] = {}
        for key in self.people.order:
            n = self.number[self.people.root(key)]
            seen[str(n)] = seen.get(str(n), 0) + 1
            local = f"person{n}" + (f".{seen[str(n)]}" if seen[str(n)] > 1 else "")
            _, at, domain = key.partition("@")
            self.addresses[key] = f"{local}@{self.domain(domain)}" if at else local

    def domain(self, domain: str) -> str:
        domain = domain.lower()
        if not self.map_domains:
            return domain
        if domain not in self.domains:
            base = next(
                (v for v in reversed(self.verified) if domain == v or domain.endswith("." + v)),
                None,
            )
            if base is None:
                self.domains[domain] = f"other{len(self.domains) + 1}.example"
            else:
                if base not in self.domains:
                    self.domains[base] = f"org{self.verified.index(base) + 1}.example"
                self.domains[domain] = domain.removesuffix(base) + self.domains[base]
        return self.domains[domain]

    def address(self, value: Any) -> Any:
        if not value:
            return value
        return self.addresses.get(identity_key(str(value)), value)

    def rewriter(self, world: dict[str, Any]) -> Callable[[str], str]:
        """A function that redacts free text (a state file's cells) the way `redact_world`
        redacts `world`: every address (one the world does not know gets a pseudonym of its
        own) and every person's name."""
        names: dict[str, str] = {}
        for account in world.get("accounts") or []:
            names[str(account.get("name") or "")] = self.name_of(account.get("email"))
        for user in [
            *(world.get("scim_users") or []),
            *((world.get("idp") or {}).get("users") or []),
        ]:
            names.setdefault(str(user.get("displayName") or ""), self.name_of(user.get("userName")))
        known = sorted((n for n in names if len(n) >= 4), key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, known))) if known else None

        def address(match: re.Match[str]) -> str:
            key = identity_key(match[0])
            if key not in self.addresses:
                _, _, domain = key.partition("@")
                self.addresses[key] = f"unknown{len(self.addresses) + 1}@{self.domain(domain)}"
            return self.addresses[key]

        def rewrite(text: str) -> str:
            text = _EMAIL.sub(address, text)
            return pattern.sub(lambda m: names[m[0]], text) if pattern else text

        return rewrite

    def name_of(self, address: Any) -> str:
        key = identity_key(str(address or ""))
        if key in self.people.parent:
            return f"Person {self.number[self.people.root(key)]}"
        return "Someone"


def redact_world(world: dict[str, Any], *, map_domains: bool = False) -> dict[str, Any]:
    """A copy of `world` with every person's names and addresses replaced by pseudonyms."""
    out = copy.deepcopy(world)
    names = Pseudonyms(out, map_domains=map_domains)
    org = out.get("org") or {}
    org["domains"] = sorted({names.domain(d) for d in org.get("domains") or []})
    if "name" in org:
        org["name"] = "redacted org"
    # a directory is often named after the company (trial 7: "Acme Corporation" survived)
    directories = [*(org.get("user_directories") or []), *(out.get("directories") or [])]
    for n, directory in enumerate(d for d in directories if isinstance(d, dict) and "name" in d):
        directory["name"] = f"redacted directory {n + 1}"
    if map_domains:  # a site's name is the customer's own address: NAME.atlassian.net
        _rename_sites(out)
        okta = (out.get("idp") or {}).get("okta")
        if isinstance(okta, dict) and okta.get("domain"):  # NAME.okta.com names them too
            if out["idp"].get("tenant") == okta["domain"]:
                out["idp"]["tenant"] = "org1.okta.example"
            okta["domain"] = "org1.okta.example"
    for account in out.get("accounts") or []:
        account["name"] = names.name_of(account.get("email"))
        account["email"] = names.address(account.get("email"))
    for user in out.get("scim_users") or []:
        user["displayName"] = names.name_of(user.get("userName"))
        user["userName"] = names.address(user.get("userName"))
        for email in user.get("emails") or []:
            email["value"] = names.address(email.get("value"))
        for field in ("name", "nickName", "title"):
            user.pop(field, None)
    idp = out.get("idp") or {}
    for user in idp.get("users") or []:
        user["displayName"] = names.name_of(user.get("userName"))
        user["userName"] = names.address(user.get("userName"))
        if user.get("mail"):
            user["mail"] = names.address(user["mail"])
    jira = out.get("jira") or {}
    if jira.get("email"):
        jira["email"] = names.address(jira["email"])
    for issue in jira.get("issues") or []:
        issue.pop("summary", None)
    return out


#: site names that name no customer: Atlassian's own products, kept as they are
_PRODUCT_SITES = frozenset({"trello"})


def _rename_sites(world: dict[str, Any]) -> None:
    """Every customer site becomes `siteN`, wherever the world names it (its list of sites,
    each product access, the Jira site): the same new name everywhere, so the twin stays whole."""
    renamed: dict[str, str] = {}
    for site in world.get("sites") or []:
        name = str(site.get("name") or "")
        if name and name.lower() not in _PRODUCT_SITES and name not in renamed:
            renamed[name] = f"site{len(renamed) + 1}"

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "site" and isinstance(value, str) and value in renamed:
                    node[key] = renamed[value]
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(world)
    for site in world.get("sites") or []:
        site["name"] = renamed.get(str(site.get("name") or ""), site.get("name"))


__all__ = ["Pseudonyms", "redact_world"]
