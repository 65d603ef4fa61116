"""Which users of a streamed export repeat, asked once, after the last row.

The reader keeps only each key's 64-bit hash, 8 bytes a user in one array that grows as it
goes (`array.extend` over a block of keys: one C call), and when the export has been read
sorts the hashes (numpy) and looks for neighbours that are equal; below 1,000 keys a Counter
of them does, cheaper than numpy's import. A hash that repeats is only a suspicion (two keys
can share one): the caller reads the export a second time and compares the keys themselves,
only for the suspected hashes (at most LIMIT: its memory grows with them), and counts them
again: a count that differs means the file changed between the two reads, which is an error,
not a collision.

Why not look up each key as it comes (a hash table, as before, decision 119): that table was a
Python loop a key with a random read of a 16 MB array, 0.42 s of `analyze`'s 3.2 s on the
bench's million rows; storing the hashes costs about 0.09 s and the sort 0.01 s (once numpy is
imported), and the memory
is half (8 MB instead of 16). The price: a repeat is reported when the whole file has been
read, so a file with a repeat and, later, another problem reports the other problem first.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from itertools import islice

#: below this many keys a Counter finds the repeats: cheaper than numpy's import (0.04-0.08 s,
#: 15 MiB), which only the sort of a larger export pays for
SMALL = 1_000
#: at most this many repeated hashes are named to the second read, whose memory grows with
#: them (a key and a line each): an export with more repeated users names one of these
LIMIT = 1_000


class KeyHashes:
    """The hashes of every key added, in one flat array of int64."""

    def __init__(self) -> None:
        self.hashes = array("q")

    def add(self, keys: Iterable[str]) -> None:
        self.hashes.extend(map(hash, keys))

    def repeated(self, small: int = SMALL, limit: int = LIMIT) -> dict[int, int]:
        """Hashes added more than once, with how many times, at most `limit` of them; with
        `small` keys or more, by numpy's sort (in place: call it last)."""
        if len(self.hashes) < small:
            counts = Counter(self.hashes).items()
            return dict(islice(((h, n) for h, n in counts if n > 1), limit))
        import numpy as np  # here: an export of fewer rows needs neither its time nor memory

        ordered = np.frombuffer(self.hashes, dtype=np.int64)  # a view: no copy
        ordered.sort()
        # a hash added k times is equal to its left neighbour k - 1 times
        again, extra = np.unique(ordered[1:][ordered[1:] == ordered[:-1]], return_counts=True)
        return {int(h): int(n) + 1 for h, n in zip(again[:limit], extra[:limit], strict=True)}
