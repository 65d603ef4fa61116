"""A world's referential checks: ids that point nowhere and uniqueness the real APIs enforce.

Separate from the schema checks (validate.py) because they work on meaning, not shape: every
collection is one pass plus set operations, written defensively (non-dict items and wrong types
are skipped) so they can run on a world with shape errors too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scimrecon.identity import identity_key


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the dict items of an array; anything else is a schema error."""
    if type(value) is list:
        for i, item in enumerate(value):
            if type(item) is dict:
                yield i, item


def _field(items: Any, name: str) -> list[Any]:
    """items[i][name] for every item of an array (None where absent or not a dict)."""
    if type(items) is not list:
        return []
    return [item.get(name) if type(item) is dict else None for item in items]


def _strings(values: list[Any], *, fold_case: bool = False) -> list[str | None]:
    if fold_case:
        return [identity_key(v) if type(v) is str else None for v in values]
    return [v if type(v) is str else None for v in values]


def _unique(keys: list[Any], values: list[Any], what: str, where: str, problems: list[str]) -> None:
    """Report every later duplicate of a key against its first occurrence (None keys skipped).

    One set comparison settles the usual case (no duplicates) in C; only a world that has
    duplicates pays for the loop that names them. `where` is a path template such as
    "accounts[{}].email", formatted only for the messages.
    """
    present = [k for k in keys if k is not None]
    if len(set(present)) == len(present):
        return
    first: dict[Any, int] = {}
    for i, key in enumerate(keys):
        if key is None:
            continue
        j = first.setdefault(key, i)
        if j != i:
            problems.append(
                f"{where.format(i)}: duplicate {what} {values[i]!r} (first at {where.format(j)})"
            )


def reference_problems(doc: Any) -> list[str]:
    """Ids that point nowhere and uniqueness the real APIs enforce; one pass per collection.

    Written defensively (non-dict items and wrong types are skipped) so it can run even on a
    world with shape errors, and the user sees every problem in one go.
    """
    if type(doc) is not dict:
        return []
    problems: list[str] = []
    directories = _check_directories(doc, problems)
    accounts = _check_accounts(doc, problems)
    scim_directory = _check_scim_users(doc, directories, accounts, problems)
    _check_groups(doc, directories, scim_directory, problems)
    _check_jira(doc, accounts, problems)
    _check_idp(doc, directories, problems)
    _check_idp_groups(doc, problems)
    return problems


def _check_directories(doc: dict[str, Any], problems: list[str]) -> set[str]:
    ids = _strings(_field(doc.get("directories"), "id"))
    _unique(ids, ids, "directory id", "directories[{}].id", problems)
    return {i for i in ids if i is not None}


def _sites(doc: dict[str, Any], problems: list[str]) -> dict[str, set[str]] | None:
    """site name -> its products, or None when the world does not list sites (no check)."""
    if type(doc.get("sites")) is not list:
        return None
    names = _strings(_field(doc["sites"], "name"))
    _unique(names, names, "site name", "sites[{}].name", problems)
    sites: dict[str, set[str]] = {}
    for _, s in _dicts(doc["sites"]):
        name, products = s.get("name"), s.get("products")
        if type(name) is str and type(products) is list:
            sites[name] = {p for p in products if type(p) is str}
    return sites


def _check_accounts(doc: dict[str, Any], problems: list[str]) -> set[str]:
    raw = doc.get("accounts")
    ids = _strings(_field(raw, "account_id"))
    _unique(ids, ids, "account id", "accounts[{}].account_id", problems)
    emails = _field(raw, "email")
    _unique(
        _strings(emails, fold_case=True),
        emails,
        "email (emails are case-insensitive)",
        "accounts[{}].email",
        problems,
    )
    sites = _sites(doc, problems)
    pairs = {(site, key) for site, keys in (sites or {}).items() for key in keys}
    org = doc.get("org")
    listed = org.get("domains") if type(org) is dict else None
    domains = {d.lower() for d in listed if type(d) is str} if type(listed) is list else set()
    on_domain: dict[str, bool] = {}
    user_dirs = org.get("user_directories") if type(org) is dict else None
    known_dirs = {d.get("id") for _, d in _dicts(user_dirs)} if type(user_dirs) is list else None
    for i, a in _dicts(raw):
        chosen = a.get("user_directory")
        if type(chosen) is str and chosen not in (known_dirs or set()):
            problems.append(
                f"accounts[{i}].user_directory: {chosen!r} is not one of org.user_directories"
            )
        email = a.get("email")
        if domains and a.get("managed") is True and type(email) is str and "@" in email:
            domain = email.rpartition("@")[2].lower()
            if domain not in on_domain:
                on_domain[domain] = any(domain == d or domain.endswith("." + d) for d in domains)
            if not on_domain[domain]:
                problems.append(
                    f"accounts[{i}].managed: true, but {email!r} is not on the org's domains "
                    f"({', '.join(sorted(domains))})"
                )
        if a.get("external") is True and a.get("managed") is True:
            problems.append(
                f"accounts[{i}].external: true, but the account is managed: an external user "
                f"is an account the org does not manage"
            )
        if sites is None:
            continue
        for field in ("product_access", "suspended_access", "suspended_products"):
            entries = a.get(field)
            if type(entries) is not list:
                continue
            for j, p in enumerate(entries):
                if type(p) is dict and (p.get("site"), p.get("key")) not in pairs:
                    _check_site(p, f"accounts[{i}].{field}[{j}]", sites, problems)
    return {i for i in ids if i is not None}


def _check_site(
    entry: Mapping[str, Any], where: str, sites: Mapping[str, set[str]], problems: list[str]
) -> None:
    site, key = entry.get("site"), entry.get("key")
    if type(site) is not str:
        return
    # A site the world does not list is a site the org does not manage: valid, and billable
    # all the same (recon/billable.py, ACCESS-2576); only a listed site's products are known.
    if site in sites and type(key) is str and key not in sites[site]:
        problems.append(f"{where}.key: site {site!r} has no product {key!r}")


def _check_scim_users(
    doc: dict[str, Any], directories: set[str], accounts: set[str], problems: list[str]
) -> dict[str, Any]:
    """Returns SCIM user id -> its directory, for the group checks."""
    raw = doc.get("scim_users")
    ids = _strings(_field(raw, "id"))
    _unique(ids, ids, "SCIM user id", "scim_users[{}].id", problems)
    dirs = _field(raw, "directory")
    names = _field(raw, "userName")
    folded = _strings(names, fold_case=True)
    _unique(
        [(d, n) if n is not None else None for d, n in zip(dirs, folded, strict=True)],
        names,
        "userName in this directory",
        "scim_users[{}].userName",
        problems,
    )
    links = _field(raw, "account_id")
    for i, account_id in enumerate(links):
        if type(account_id) is str and account_id not in accounts:
            problems.append(f"scim_users[{i}].account_id: no account has id {account_id!r}")
    for i, directory in enumerate(dirs):
        if type(directory) is str and directory not in directories:
            problems.append(f"scim_users[{i}].directory: no directory has id {directory!r}")
    linked = [
        (d, a) if type(d) is str and type(a) is str and a in accounts else None
        for d, a in zip(dirs, links, strict=True)
    ]
    present = [k for k in linked if k is not None]
    if len(set(present)) != len(present):
        first: dict[Any, int] = {}
        for i, key in enumerate(linked):
            if key is not None and (j := first.setdefault(key, i)) != i:
                problems.append(
                    f"scim_users[{i}].account_id: account {key[1]!r} is already linked "
                    f"by scim_users[{j}] in the same directory"
                )
    scim_directory: dict[str, Any] = {}
    for scim_id, directory in zip(ids, dirs, strict=True):
        if scim_id is not None:
            scim_directory.setdefault(scim_id, directory)
    return scim_directory


def _check_groups(
    doc: dict[str, Any],
    directories: set[str],
    scim_directory: Mapping[str, Any],
    problems: list[str],
) -> None:
    ids = _strings(_field(doc.get("groups"), "id"))
    _unique(ids, ids, "group id", "groups[{}].id", problems)
    sites = _sites(doc, [])  # duplicate site names are reported once, by the accounts check
    for i, g in _dicts(doc.get("groups")):
        directory = g.get("directory")
        if type(directory) is str and directory not in directories:
            problems.append(f"groups[{i}].directory: no directory has id {directory!r}")
        members = g.get("members")
        for j, m in enumerate(members if type(members) is list else []):
            if type(m) is not str:
                continue
            if m not in scim_directory:
                problems.append(f"groups[{i}].members[{j}]: no SCIM user has id {m!r}")
            elif scim_directory[m] != directory:
                problems.append(
                    f"groups[{i}].members[{j}]: SCIM user {m!r} is in another directory"
                )
        products = g.get("products")
        if sites is not None and type(products) is list:
            for j, p in _dicts(products):
                _check_site(p, f"groups[{i}].products[{j}]", sites, problems)


def _check_jira(doc: dict[str, Any], accounts: set[str], problems: list[str]) -> None:
    jira = doc.get("jira")
    if type(jira) is not dict:
        return
    keys = _strings(_field(jira.get("issues"), "key"))
    _unique(keys, keys, "issue key", "jira.issues[{}].key", problems)
    for i, issue in _dicts(jira.get("issues")):
        key, project = issue.get("key"), issue.get("project")
        if (
            type(key) is str
            and type(project) is str
            and "-" in key
            and key.rsplit("-", 1)[0] != project
        ):
            problems.append(f"jira.issues[{i}].project: {project!r} does not match key {key!r}")
        for field in ("reporter", "assignee"):
            value = issue.get(field)
            if type(value) is str and value not in accounts:
                problems.append(f"jira.issues[{i}].{field}: no account has id {value!r}")
        for name in ("participants", "watchers"):
            ids = issue.get(name)
            for j, p in enumerate(ids if type(ids) is list else []):
                if type(p) is str and p not in accounts:
                    problems.append(f"jira.issues[{i}].{name}[{j}]: no account has id {p!r}")
        _check_history(i, issue, accounts, problems)


def _check_history(i: int, issue: dict[str, Any], accounts: set[str], problems: list[str]) -> None:
    """Comments, worklogs and approvals name accounts that exist; their ids are unique."""
    for name in ("comments", "worklogs"):
        entries = list(_dicts(issue.get(name)))
        ids = _strings(_field(issue.get(name), "id"))
        _unique(ids, ids, f"{name[:-1]} id", f"jira.issues[{i}].{name}[{{}}].id", problems)
        for j, entry in entries:
            author = entry.get("author")
            if type(author) is str and author not in accounts:
                problems.append(
                    f"jira.issues[{i}].{name}[{j}].author: no account has id {author!r}"
                )
    for j, approval in _dicts(issue.get("approvals")):
        approvers = approval.get("approvers")
        for k, a in enumerate(approvers if type(approvers) is list else []):
            if type(a) is str and a not in accounts:
                problems.append(
                    f"jira.issues[{i}].approvals[{j}].approvers[{k}]: no account has id {a!r}"
                )


def _check_idp(doc: dict[str, Any], directories: set[str], problems: list[str]) -> None:
    idp = doc.get("idp")
    if type(idp) is not dict:
        return
    directory = idp.get("directory")
    if type(directory) is str and directory not in directories:
        problems.append(f"idp.directory: no directory has id {directory!r}")
    if idp.get("kind") == "entra":
        for field in ("tenant", "client_id", "client_secret", "service_principal", "job"):
            if field not in idp:
                problems.append(f"idp.{field}: required when idp.kind is 'entra'")
    if idp.get("kind") == "okta" and "okta" not in idp:
        problems.append("idp.okta: required when idp.kind is 'okta'")
    object_ids = _strings(_field(idp.get("users"), "object_id"))
    _unique(object_ids, object_ids, "IdP object_id", "idp.users[{}].object_id", problems)
    names = _field(idp.get("users"), "userName")
    _unique(
        _strings(names, fold_case=True), names, "IdP userName", "idp.users[{}].userName", problems
    )


def _check_idp_groups(doc: dict[str, Any], problems: list[str]) -> None:
    """An IdP user's `groups` name SCIM groups of the directory the IdP pushes into: the IdP
    pushes its groups under their own names, so a name with no such group points nowhere."""
    idp = doc.get("idp")
    if type(idp) is not dict:
        return
    directory = idp.get("directory")
    if type(directory) is not str:
        first = next((d.get("id") for _, d in _dicts(doc.get("directories"))), None)
        directory = first if type(first) is str else None
    names = {
        str(g.get("displayName")).lower()
        for _, g in _dicts(doc.get("groups"))
        if g.get("directory") == directory and type(g.get("displayName")) is str
    }
    for i, user in _dicts(idp.get("users")):
        groups = user.get("groups")
        for j, name in enumerate(groups if type(groups) is list else []):
            if type(name) is str and name.lower() not in names:
                problems.append(
                    f"idp.users[{i}].groups[{j}]: no group named {name!r} in directory "
                    f"{directory!r}, the one the IdP pushes into"
                )
