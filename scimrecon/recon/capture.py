"""Reading a live org for `sim capture`: every API the playbooks use, read-only, restartable.

The reads go through the same connectors (and so the same rate budgets, retries and redaction)
as a run; nothing here writes to a remote API. What comes back is a *capture*: plain JSON of
what each API said, section by section, which `scimrecon.sim.twin` turns into a fixture world.
Keeping the reading apart from the world-building keeps the arrows one way (the simulator
package never imports a connector) and lets the builder be tested without a network.

A large org takes a while to read, so each finished section is saved to a checkpoint file
beside the output: a capture stopped by Ctrl-C, a dropped connection or a rate-limit storm
starts again where it stopped. The checkpoint holds the reads (names and emails, never a key)
and names the org, the targets and the issue query it was made for; one made for anything else
is not reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scimrecon.connectors.idp.base import UserDirectory
from scimrecon.connectors.jira import jql_quote
from scimrecon.errors import InputError
from scimrecon.http import HttpError
from scimrecon.identity import identity_key
from scimrecon.recon.live import (
    accounts_from_org_users,
    idp_entries_from_users,
    scim_entries_from_users,
)

CHECKPOINT_FORMAT = "scimrecon-capture-checkpoint/1"
#: Account ids per JQL query: keeps each query well under Jira's length limits.
JQL_CHUNK = 50
#: `--issues auto`: the issues whose reporter, assignee or participants are the targets'.
AUTO = "auto"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class Checkpoint:
    """Finished sections of one capture, saved after each so a restart skips them."""

    def __init__(self, path: Path, key: dict[str, Any]) -> None:
        self.path = path
        self.key = key
        self.sections: dict[str, Any] = {}
        self.resumed: list[str] = []
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return
        if (
            isinstance(doc, dict)
            and doc.get("format") == CHECKPOINT_FORMAT
            and doc.get("key") == key
            and isinstance(doc.get("sections"), dict)
        ):
            self.sections = doc["sections"]
            self.resumed = list(self.sections)

    def section(self, name: str, read: Callable[[], Any]) -> Any:
        if name not in self.sections:
            self.sections[name] = read()
            self._save()
        return self.sections[name]

    def _save(self) -> None:
        doc = {"format": CHECKPOINT_FORMAT, "key": self.key, "sections": self.sections}
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: readable by us only
                json.dump(doc, fh, ensure_ascii=False)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def checkpoint_key(services: Any, targets: Sequence[str], issues: str | None) -> dict[str, Any]:
    """What a checkpoint is valid for: this org and directory, these targets, this query."""
    profile = services.profile
    atlassian = profile.require("atlassian", "the Atlassian org admin API")
    digest = hashlib.sha256("\n".join(sorted(map(identity_key, targets))).encode()).hexdigest()
    scim = profile.scim.base_url if profile.scim else None
    return {"org": atlassian.org_id, "scim": scim, "targets": digest, "issues": issues}


def _counted(items: Iterable[Any], label: str, progress: Progress, every: int = 500) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.append(item)
        if len(out) % every == 0:
            progress(f"capture: {label}: {len(out)} read so far")
    progress(f"capture: {label}: {len(out)}")
    return out


def _directory_users(services: Any, progress: Progress) -> dict[str, Any]:
    admin = services.admin
    directories = [asdict(d) for d in admin.directories()]
    users: list[dict[str, Any]] = []
    for d in directories:
        for user in _counted(
            admin.iter_directory_users(d["directory_id"]), f"directory {d['name']}", progress
        ):
            users.append({**asdict(user), "directory": d["directory_id"]})
    return {"directories": directories, "users": users}


def _org_users(services: Any, progress: Progress) -> list[dict[str, Any]]:
    users = _counted(services.admin.iter_org_users(), "managed accounts", progress)
    accounts = list(accounts_from_org_users(users))
    for account, user in zip(accounts, users, strict=True):
        account["last_active"] = user.last_active
    return accounts


def _scim(services: Any, progress: Progress) -> dict[str, Any]:
    scim = services.scim
    read = _counted(scim.iter_users(), "SCIM users", progress)
    users = list(scim_entries_from_users(read))
    for entry, user in zip(users, read, strict=True):  # keep each email's type and primary
        types = list(user.email_types) + [None] * len(user.emails)
        entry["emails"] = [
            {"value": value, **({"type": kind} if kind else {})}
            | {"primary": value == user.primary_email}
            for value, kind in zip(user.emails, types, strict=False)
        ]
    groups = _counted(scim.iter_groups(), "SCIM groups", progress)
    return {"users": users, "groups": groups}


def _idp(services: Any, progress: Progress) -> dict[str, Any] | None:
    cfg = services.profile.idp
    if cfg is None:
        return None
    if cfg.kind == "manual":
        return {"kind": "manual"}
    adapter = services.idp
    if cfg.kind == "okta":
        features = adapter.provisioning()
        progress(f"capture: Okta app {cfg.app_id}: provisioning {features.get('status')}")
        return {"kind": "okta", "app_id": cfg.app_id, "url": cfg.okta_url, "features": features}
    job = adapter.job()
    state = str((job.get("status") or {}).get("code") or "")
    progress(f"capture: Entra synchronization job {job.get('id')}: {state}")
    users: list[dict[str, Any]] = []
    if isinstance(adapter, UserDirectory):
        found = adapter.read_users()
        users = list(idp_entries_from_users(found.users))
        progress(f"capture: Entra users: {len(users)}")
    return {
        "kind": "entra",
        "tenant": cfg.tenant,
        "client_id": cfg.client_id,
        "service_principal": cfg.service_principal,
        "job": {
            "id": str(job.get("id") or adapter.job_id()),
            "state": state or "NotConfigured",
            "rule_id": adapter.rule(),
            "template_id": job.get("templateId"),
        },
        "users": users,
    }


def auto_jql(account_ids: Sequence[str]) -> list[str]:
    """Queries (one per JQL_CHUNK accounts) for every issue these accounts report, are
    assigned, or take part in as JSM request participants."""
    queries = []
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), JQL_CHUNK):
        chunk = ", ".join(jql_quote(i) for i in ids[start : start + JQL_CHUNK])
        queries.append(
            f'reporter in ({chunk}) OR assignee in ({chunk}) OR "Request participants" in ({chunk})'
        )
    return queries


def _participants(jira: Any, key: str) -> list[str]:
    try:
        return jira.participants(key)
    except HttpError as exc:
        if exc.status == 404:  # not a JSM request: it has no participants
            return []
        raise


def _issue_order(key: str) -> tuple[str, int, str]:
    project, _, number = key.rpartition("-")
    return (project, int(number), key) if number.isdigit() else (key, 0, key)


def _issues(
    services: Any, queries: Sequence[str], progress: Progress
) -> list[dict[str, Any]] | None:
    if services.profile.jira is None:
        return None
    jira = services.jira
    found: dict[str, dict[str, Any]] = {}
    for jql in queries:
        for issue in jira.search(jql):
            found.setdefault(
                issue.key,
                {
                    "key": issue.key,
                    "id": issue.id or None,
                    "project": issue.key.rpartition("-")[0],
                    "reporter": issue.reporter,
                    "assignee": issue.assignee,
                },
            )
    issues = [found[k] for k in sorted(found, key=_issue_order)]
    for issue in issues:
        issue["participants"] = _participants(jira, issue["key"])
        if issue["id"] is None:
            issue.pop("id")
    progress(f"capture: Jira issues: {len(issues)}")
    return issues


def jira_site(base_url: str) -> str:
    """`https://acme.atlassian.net` -> `acme`; a simulator's `http://host/jira/acme` -> `acme`."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if host.endswith(".atlassian.net"):
        return host.removesuffix(".atlassian.net")
    path = parts.path.strip("/").rpartition("/")[2]
    return re.sub(r"[^a-z0-9-]", "-", (path or host).lower()).strip("-") or "jira"


def target_account_ids(capture: dict[str, Any], targets: Sequence[str]) -> list[str]:
    """The account ids whose email is a target's (under the identity rule)."""
    wanted = {identity_key(t) for t in targets}
    seen = [*capture["directory"]["users"], *capture["org_users"]]
    return sorted({str(u["account_id"]) for u in seen if identity_key(u.get("email")) in wanted})


def read_capture(
    services: Any,
    *,
    targets: Sequence[str] = (),
    issues: str | None = None,
    checkpoint: Checkpoint,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Everything the twin needs, read now (finished sections from `checkpoint` are reused)."""
    profile = services.profile
    atlassian = profile.require("atlassian", "the Atlassian org admin API")
    if checkpoint.resumed:
        progress(f"capture: resuming; already read: {', '.join(checkpoint.resumed)}")
    started = checkpoint.section("started", lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    capture: dict[str, Any] = {
        "captured_at": started,
        "org": {
            "id": atlassian.org_id,
            "domains": list(atlassian.domains),
            "sites": list(atlassian.sites),
        },
        "directory": checkpoint.section("directory", lambda: _directory_users(services, progress)),
        # where the directory users' product access is: an unmanaged account's access is only
        # readable there, and only a workspace the org lists is on one of its sites
        "workspaces": checkpoint.section(
            "workspaces", lambda: [asdict(w) for w in services.admin.workspaces()]
        ),
        "org_users": checkpoint.section("org_users", lambda: _org_users(services, progress)),
        "scim": None,
        "idp": checkpoint.section("idp", lambda: _idp(services, progress)),
        "issues": None,
        "billing": {k: v for k, v in asdict(profile.billing).items() if v is not None},
    }
    if profile.scim is not None:
        base = profile.scim.base_url.rstrip("/")
        directory = profile.scim.directory_id or base.rpartition("/")[2]
        capture["scim"] = {
            "directory_id": directory,
            **checkpoint.section("scim", lambda: _scim(services, progress)),
        }
    if profile.jira is not None:
        capture["jira"] = {"site": jira_site(profile.jira.base_url), "email": profile.jira.email}
    if issues is not None:
        capture["issues_query"] = issues
        if issues == AUTO:
            ids = target_account_ids(capture, targets)
            capture["issues_for"] = ids
            if targets and not ids:
                progress("capture: no target has an account in the org: no Jira issues read")
            queries = auto_jql(ids)
        else:
            queries = [issues]
        capture["issues"] = checkpoint.section(
            "issues", lambda: _issues(services, queries, progress)
        )
    return capture


def issues_option(value: str | None, targets: Sequence[str]) -> str | None:
    """`--issues` as given, defaulting to `auto` when there are targets (else no issues)."""
    if value is None:
        return AUTO if targets else None
    if value == AUTO and not targets:
        raise InputError("--issues auto needs --targets FILE (whose tickets to read)")
    if value.lower() == "none":
        return None
    return value


__all__ = [
    "AUTO",
    "Checkpoint",
    "auto_jql",
    "checkpoint_key",
    "issues_option",
    "read_capture",
    "target_account_ids",
]
