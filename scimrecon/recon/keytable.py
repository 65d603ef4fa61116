"""A compact set of 64-bit hashes, for refusing duplicate users in a streamed export.

A Python set of a million ints costs about 76 MB; this flat array costs 16-32 MB for the same
million at about the same speed, which is what keeps `analyze` of a million-row export under
its memory budget. It answers "seen this hash before?": a yes is only a suspicion (two keys can
share a hash) that the caller confirms against the file.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from pathlib import Path


def expected_rows(path: Path) -> int:
    """About how many rows an export of this size has, at most (120 bytes a row or more)."""
    try:
        return min(path.stat().st_size // 120, 50_000_000)
    except OSError:
        return 0


class KeyTable:
    """Open addressing over one array of int64; 0 marks an empty slot. The export reader
    adds a block of keys at a time (`add_keys`, whose loop runs once a row); everyone else
    calls `add`."""

    @classmethod
    def for_file(cls, path: Path) -> KeyTable:
        """A table sized once for an export of this size (120 bytes a row or more)."""
        return cls(expected_rows(path))

    def __init__(self, expected: int = 0) -> None:
        size = 1 << 12
        while size < 2 * expected:
            size *= 2
        self._resize(size)
        self.used = 0

    def _resize(self, size: int) -> None:
        self.table = array("q", [0]) * size  # zeros, without a bytes copy beside them
        self.mask = size - 1
        self.limit = size // 2

    def add(self, h: int) -> bool:
        """Record hash `h`; True when it was already there."""
        h = h or 1  # 0 marks an empty slot
        table, mask = self.table, self.mask
        i = h & mask
        while True:
            value = table[i]
            if value == 0:
                table[i] = h
                self.used += 1
                if self.used > self.limit:
                    self.grow()
                return False
            if value == h:
                return True
            i = (i + 1) & mask

    def grow(self) -> None:
        old = self.table
        self._resize(2 * len(old))
        self.used = 0
        for h in old:
            if h:
                self.add(h)

    def add_keys(self, keys: list[str], repeated: Callable[[int], None]) -> None:
        """Record hash(key) for each key; `repeated(n)` for the n-th key when its hash was
        there already (a repeat, or two keys sharing a hash: the caller looks). The loop does
        the least it can for the usual empty slot; the table grows first, for all of them."""
        while self.used + len(keys) > self.limit:
            self.grow()
        self.used += len(keys)  # at most: a hash seen before takes no slot
        table, mask = self.table, self.mask
        for n, h in enumerate(map(hash, keys)):
            i = h & mask
            value = table[i]
            if value or not h:  # a taken slot (or 0, the empty mark): a repeat, or probe on
                h = h or 1
                i = h & mask
                value = table[i]
                while value:
                    if value == h:
                        repeated(n)
                        break
                    i = (i + 1) & mask
                    value = table[i]
                else:
                    table[i] = h
            else:
                table[i] = h
