"""The part of `report` that says what moved and what could not: per target, tickets moved per
field, group memberships before and after, and what stays on the old account because Jira
cannot reassign it (comments, worklogs, approvals, watches).

Migrating that history is Atlassian's most-voted identity request (ID-240); an admin disabling
the old account must know exactly what remains attributed to it. The JSON carries the lists
(issue keys, group names); the table only counts, and names what is missing.

Older runs lack some of these outputs (a run from before the count step, or from before
memberships were recorded): each part is then None in the JSON and "-" in the table, never 0.
"""

from __future__ import annotations

from typing import Any

import click

from scimrecon.cli.render import table
from scimrecon.cli.terminal import fit_text

#: The ticket fields `jira.reassign` can move, in the order shown.
TICKET_FIELDS = ("reporter", "assignee", "participants")
#: What Jira cannot move, in the order shown (connectors/jira_history.py KINDS).
STAYS = ("comments", "worklogs", "approvals", "watchers")


def moved_by_field(outputs: dict[str, Any]) -> dict[str, int] | None:
    """Tickets moved per field: the step's own `moved_by_field`, else (older runs) its
    `moved_<field>` counts; None when the tickets step has not run."""
    recorded = outputs.get("moved_by_field")
    if isinstance(recorded, dict):
        return {str(k): int(v) for k, v in recorded.items() if isinstance(v, int)}
    found = {
        f: outputs[f"moved_{f}"]
        for f in TICKET_FIELDS
        if isinstance(outputs.get(f"moved_{f}"), int)
    }
    if found or "tickets_moved" in outputs:
        return found
    return None


def memberships(outputs: dict[str, Any]) -> dict[str, Any] | None:
    """Group memberships before and after (names), and which did not come back."""
    before, after = outputs.get("memberships_before"), outputs.get("memberships_after")
    if not isinstance(before, list) and not isinstance(after, list):
        return None
    before_names = sorted(str(g) for g in before) if isinstance(before, list) else None
    after_names = sorted(str(g) for g in after) if isinstance(after, list) else None
    missing = None
    if before_names is not None and after_names is not None:
        missing = sorted(set(before_names) - set(after_names))
    return {"before": before_names, "after": after_names, "missing": missing}


def stays_on_old_account(outputs: dict[str, Any]) -> dict[str, Any] | None:
    """Counts per kind (None: not applicable on the site), the issues, and any note."""
    counts = outputs.get("stays_on_old_account")
    if not isinstance(counts, dict):
        return None
    return {
        "counts": {k: counts.get(k) for k in STAYS},
        "issues": outputs.get("stays_on_old_account_issues") or {},
        "note": outputs.get("stays_on_old_account_note"),
    }


def summary(outputs: dict[str, Any]) -> dict[str, Any]:
    """The JSON keys `report` adds to each target (added keys; nothing existing renamed)."""
    return {
        "moved_by_field": moved_by_field(outputs),
        "memberships": memberships(outputs),
        "stays_on_old_account": stays_on_old_account(outputs),
    }


def _moved_cell(moved: dict[str, int] | None) -> str:
    if moved is None:
        return "-"
    return ", ".join(f"{field} {n}" for field, n in moved.items()) or "0"


def _groups_cell(groups: dict[str, Any] | None) -> str:
    if groups is None:
        return "-"
    before, after = groups["before"], groups["after"]
    text = f"{'?' if before is None else len(before)} → {'?' if after is None else len(after)}"
    if groups["missing"]:
        text += f" ({len(groups['missing'])} missing)"
    return text


def _count(stays: dict[str, Any] | None, kind: str) -> str | int:
    if stays is None:
        return "-"
    value = stays["counts"].get(kind)
    return "n/a" if value is None else value


def echo_table(run_id: str, targets: list[dict[str, Any]]) -> None:
    """A second table under the report, with the columns some target has data for (none at
    all: no table, as for a playbook without these steps)."""
    parts = [t["what_moved"] for t in targets]
    has = {name: any(p[name] is not None for p in parts) for name in parts[0]} if parts else {}
    if not any(has.values()):
        return
    headers = ["target"]
    headers += ["tickets moved"] * has["moved_by_field"]
    headers += ["groups before → after"] * has["memberships"]
    headers += list(STAYS) * has["stays_on_old_account"]
    rows = []
    for t, part in zip(targets, parts, strict=True):
        row: list[Any] = [t["key"]]
        row += [_moved_cell(part["moved_by_field"])] * has["moved_by_field"]
        row += [_groups_cell(part["memberships"])] * has["memberships"]
        if has["stays_on_old_account"]:
            row += [_count(part["stays_on_old_account"], kind) for kind in STAYS]
        rows.append(row)
    click.echo("")
    click.echo("What moved, and what stays on the old account (Jira cannot reassign it):")
    click.echo(table(rows, headers))
    for t, part in zip(targets, parts, strict=True):
        groups, stays = part["memberships"], part["stays_on_old_account"]
        if groups and groups["missing"]:
            click.secho(
                f"  ! {t['key']}: group membership(s) missing after the run: "
                + ", ".join(groups["missing"]),
                fg="red",
            )
        if stays and stays["note"]:
            click.echo(f"  {t['key']}: {stays['note']}")
    if has["stays_on_old_account"]:
        click.echo(
            fit_text(
                "  Comments are counted on the issues the old account watches, reported, was "
                "assigned or logged work on (Jira cannot search comments by author). The "
                f"issues: `scimrecon report {run_id} --format json`."
            )
        )


__all__ = [
    "STAYS",
    "echo_table",
    "memberships",
    "moved_by_field",
    "stays_on_old_account",
    "summary",
]
