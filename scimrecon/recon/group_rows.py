"""Merge the rows of an export that lists one row per group membership.

Atlassian's user export with group membership repeats a user once per group ("If they're in
multiple groups, they'll get a row in the CSV for each group they're in",
confluence.atlassian.com/cloud/export-users-833925313.html). Those rows are one user, not
duplicates: every cell but the group must agree, and then they count once. Rows of one user
that disagree on anything else (status, a product, a date) are a broken export, and reading on
would count the user by whichever row came first, so that is an error naming both lines and
the column.

Memory: one small entry a user (a key, a hash of the row, a line number), about 150 bytes;
rows of the same user that follow each other (the usual layout) are merged into one record
with all their groups; a user's rows scattered across the file still count once, with the
groups of its first run of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from scimrecon.errors import InputError
from scimrecon.recon.model import UserRecord


def _fingerprint(row: list[str], group: int) -> int:
    """A hash of every cell but the group, compared with spaces trimmed."""
    return hash(tuple(c.strip() for i, c in enumerate(row) if i != group))


def merge_group_rows(
    rows: Iterable[tuple[int, list[str]]],
    parse: Callable[[list[str], int], UserRecord],
    *,
    group: int,
    headers: tuple[str, ...],
    source: str,
    row_at: Callable[[int], list[str] | None],
) -> Iterator[UserRecord]:
    """Records from (line, row) pairs, one a user; raise InputError on conflicting rows."""
    seen: dict[str, tuple[int, int]] = {}
    pending: UserRecord | None = None
    pending_key = ""

    def conflict(key: str, line: int, row: list[str], first: int) -> InputError:
        old = row_at(first) or []
        for i, header in enumerate(headers):
            if i == group or i >= len(old) or i >= len(row):
                continue
            if old[i].strip() != row[i].strip():
                return InputError(
                    f"{source}:{line}: conflicting rows for user {key!r}: column {header!r} "
                    f"says {row[i].strip()!r} here but {old[i].strip()!r} on line {first} "
                    f"(rows of one user may differ only in the group)"
                )
        return InputError(
            f"{source}:{line}: conflicting rows for user {key!r} (already on line {first})"
        )

    for line, row in rows:
        record = parse(row, line)
        key = record.account_id or record.email.lower()
        fp = _fingerprint(row, group)
        known = seen.get(key)
        if known is not None:
            if known[0] != fp:
                raise conflict(key, line, row, known[1])
            if pending is not None and key == pending_key:
                merged = tuple(dict.fromkeys((*pending.groups, *record.groups)))
                pending = pending._replace(groups=merged)
            continue  # the same user again: merged, counted once
        seen[key] = (fp, line)
        if pending is not None:
            yield pending
        pending, pending_key = record, key
    if pending is not None:
        yield pending
