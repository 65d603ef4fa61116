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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from scimrecon.errors import InputError
from scimrecon.recon.model import UserRecord


def expected_rows(path: Path) -> int:
    """About how many rows an export of this size has, at most (120 bytes a row or more)."""
    try:
        return min(path.stat().st_size // 120, 50_000_000)
    except OSError:
        return 0


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
            self.grow()
        return None

    def grow(self) -> None:
        """Twice the slots, every entry moved (the caller re-reads the arrays)."""
        old = (self.keys, self.fps, self.lines)
        self._make(2 * (self.mask + 1))
        self.used = 0
        for h, fp, line in zip(*old, strict=True):
            if h:
                self.get_or_add(h, fp, line)


class _Reader(Protocol):
    """A csv reader: rows, and the line the last one ended on."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...


def merge_group_rows(
    reader: _Reader,
    parse: Callable[[list[str], int], UserRecord],
    *,
    group: int,
    headers: tuple[str, ...],
    source: str,
    row_at: Callable[[int], list[str] | None],
    expected: int = 0,
) -> Iterator[UserRecord]:
    """Records from the reader's rows (after the header), one a user; raise InputError on
    conflicting rows. `expected` is about how many users there are (to size the table)."""
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
            if old[i] != row[i]:
                return InputError(
                    f"{source}:{line}: conflicting rows for user {key!r}: column {header!r} "
                    f"says {row[i].strip()!r} here but {old[i].strip()!r} on line {first} "
                    f"(rows of one user may differ only in the group)"
                )
        return InputError(
            f"{source}:{line}: conflicting rows for user {key!r} (already on line {first})"
        )

    after = group + 1
    keys, fps, lines, mask = seen.keys, seen.fps, seen.lines, seen.mask
    last = reader.line_num
    for row in reader:
        line, last = last + 1, reader.line_num
        if not row or (not row[0].strip() and not "".join(row).strip()):
            continue  # a blank line, or a row of empty cells (Excel leaves those)
        record = parse(row, line)
        key = record.account_id or record.email.lower()
        fp = hash((*row[:group], *row[after:]))  # every cell but the group's, as written
        # seen.get_or_add(hash(key) or 1, fp, line), inlined: this runs once a row
        h = hash(key) or 1
        i = h & mask
        known: tuple[int, int] | None = None
        while True:
            k = keys[i]
            if k == 0:
                keys[i], fps[i], lines[i] = h, fp, line
                seen.used += 1
                if 2 * seen.used > mask + 1:
                    seen.grow()
                    keys, fps, lines, mask = seen.keys, seen.fps, seen.lines, seen.mask
                break
            if k == h:
                known = fps[i], lines[i]
                break
            i = (i + 1) & mask
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
