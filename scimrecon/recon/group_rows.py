"""Merge the rows of an export that lists one row per group membership.

Atlassian's user export with group membership repeats a user once per group ("If they're in
multiple groups, they'll get a row in the CSV for each group they're in",
confluence.atlassian.com/cloud/export-users-833925313.html). Those rows are one user, not
duplicates: every cell but the group must agree, and then they count once. Rows of one user
that disagree on anything else (status, a product, a date) are a broken export, and reading on
would count the user by whichever row came first, so that is an error naming both lines and
the column.

Memory: three 64-bit numbers a user (a hash of the key, a hash of the row, the first line) in
flat arrays, about 48 bytes, so the usual Directory export with a comma-separated group column
stays as lean as one without. Rows of the same user that follow each other (the usual layout)
are merged into one record with all their groups; a user's rows scattered across the file
still count once, with the groups of its first run of rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator

from scimrecon.errors import InputError
from scimrecon.recon.model import UserRecord


class _Seen:
    """key hash -> (row fingerprint, first line): open addressing over three int64 arrays; a
    key hash of 0 marks an empty slot. Two users whose keys share a 64-bit hash are told apart
    by the caller (it re-reads the first row)."""

    def __init__(self, expected: int) -> None:
        size = 1 << 12
        while size < 2 * expected:
            size *= 2
        self._make(size)
        self.used = 0

    def _make(self, size: int) -> None:
        self.keys = array("q", bytes(8 * size))
        self.fps = array("q", bytes(8 * size))
        self.lines = array("q", bytes(8 * size))
        self.mask = size - 1

    def get_or_add(self, h: int, fp: int, line: int) -> tuple[int, int] | None:
        """The entry already under `h`, or None after adding (fp, line) under it."""
        keys, mask = self.keys, self.mask
        i = h & mask
        while keys[i]:
            if keys[i] == h:
                return self.fps[i], self.lines[i]
            i = (i + 1) & mask
        keys[i], self.fps[i], self.lines[i] = h, fp, line
        self.used += 1
        if 2 * self.used > mask + 1:
            self._grow()
        return None

    def _grow(self) -> None:
        old = (self.keys, self.fps, self.lines)
        self._make(2 * (self.mask + 1))
        self.used = 0
        for h, fp, line in zip(*old, strict=True):
            if h:
                self.get_or_add(h, fp, line)


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
    expected: int = 0,
) -> Iterator[UserRecord]:
    """Records from (line, row) pairs, one a user; raise InputError on conflicting rows.
    `expected` is about how many users there are (to size the table once)."""
    seen = _Seen(expected)
    pending: UserRecord | None = None
    pending_key = ""

    def key_of(row: list[str] | None, line: int) -> str:
        if row is None:
            return ""
        record = parse(row, line)
        return record.account_id or record.email.lower()

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
        known = seen.get_or_add(hash(key) or 1, fp, line)
        if known is not None:
            first_fp, first = known
            # a different row under the same hash: this user's conflicting row, or (once in
            # 2**64) another user whose key shares the hash, which counts as a new user
            if first_fp == fp or key_of(row_at(first), first) == key:
                if first_fp != fp:
                    raise conflict(key, line, row, first)
                if pending is not None and key == pending_key:
                    merged = tuple(dict.fromkeys((*pending.groups, *record.groups)))
                    pending = pending._replace(groups=merged)
                continue  # the same user again: merged, counted once
        if pending is not None:
            yield pending
        pending, pending_key = record, key
    if pending is not None:
        yield pending
