"""User-tier usage as Atlassian shows it: fine below 80 %, a warning from 80 %, over at 100 %.

Integer arithmetic decides the status and the number to remove, so 1,599 of 2,000 is `ok` and
1,600 is `warning` without a float rounding a user across the line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OK = "ok"
WARNING = "warning"
OVER = "over"


@dataclass(frozen=True, slots=True)
class TierUsage:
    """Billable users against the tier. Without a tier only `used` is known (others None)."""

    limit: int | None
    used: int
    percent: float | None
    status: str | None
    remove_to_get_under_80: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def max_under_80(limit: int) -> int:
    """The largest user count that is strictly below 80 % of `limit`."""
    return max(0, (4 * limit - 1) // 5)


def tier_usage(used: int, limit: int | None) -> TierUsage:
    """Place `used` billable users on a tier of `limit` users."""
    if used < 0:
        raise ValueError("used must be >= 0")
    if limit is None:
        return TierUsage(None, used, None, None, None)
    if limit <= 0:
        raise ValueError("tier must be a positive number of users")
    if 5 * used < 4 * limit:
        status = OK
    elif used < limit:
        status = WARNING
    else:
        status = OVER
    return TierUsage(
        limit=limit,
        used=used,
        percent=round(100 * used / limit, 1),
        status=status,
        remove_to_get_under_80=max(0, used - max_under_80(limit)),
    )
