"""Jira's search index, which lags behind writes.

Atlassian documents that `POST /rest/api/3/search/jql` is eventually consistent: "recent updates
might not be immediately visible", and the `reconcileIssues` list (at most 50 issue ids, all of
which must exist) makes the answer consistent for those issues. A simulator whose search saw
every write at once would let a connector "verify" a reassignment with a plain search and pass,
while against Jira the same search still shows the ticket on the old account. So the simulator's
search reads, for each issue, what the index held `lag` seconds ago, unless it is reconciled.

Model: the first write to an issue since it was last indexed remembers the issue as it was
before (the indexed view) and when the index catches up (`now + lag`); later writes within that
window push the catch-up time out. Searches read the indexed view until then.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]

#: Seconds the index lags writes when a world does not say (`jira.index_lag_seconds`).
#: Atlassian gives no figure; a non-zero default keeps the simulator from being kinder than Jira.
DEFAULT_LAG_S = 2.0
RECONCILE_LIMIT = 50


@dataclass
class JiraIndex:
    lag_s: float = DEFAULT_LAG_S
    #: issue key -> (the issue as the index still has it, time the index catches up)
    _stale: dict[str, tuple[Record, float]] = field(default_factory=dict)

    def before_write(self, issue: Record, now: float) -> None:
        """Call before changing `issue`: the index keeps the old view for `lag_s` seconds."""
        if self.lag_s <= 0:
            return
        key = str(issue.get("key"))
        held = self._stale.get(key)
        indexed = held[0] if held is not None and held[1] > now else copy.deepcopy(issue)
        self._stale[key] = (indexed, now + self.lag_s)

    def view(self, issue: Record, now: float, reconciled: bool) -> Record:
        """The issue as a search sees it now."""
        if reconciled:
            return issue
        held = self._stale.get(str(issue.get("key")))
        if held is None:
            return issue
        if held[1] <= now:
            del self._stale[str(issue.get("key"))]
            return issue
        return held[0]


__all__ = ["DEFAULT_LAG_S", "RECONCILE_LIMIT", "JiraIndex"]
