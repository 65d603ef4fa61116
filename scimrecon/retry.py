"""How hard a call is tried again: the retry policy, and how long a server asks us to wait.

Why apart from the client: the policy is a value connectors and tests choose per API, and
reading `Retry-After` / `X-RateLimit-Reset` is a parser of its own (seconds, HTTP dates, ISO
times, epoch seconds), tested against each vendor's documented headers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded by attempts AND by total time, whichever ends first."""

    attempts: int = 5
    total_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter (uniform in [0, base * 2^(n-1)])."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)

    def throttled(self, attempt: int, rng: random.Random) -> float:
        """The wait after a 429 that says nothing of how long: doubled after each one from at
        least a second, jittered within its upper half (Atlassian's "double the delay after
        each successive 429 ... apply jitter"). Full jitter could retry at once, and Jira
        answers a retry inside the wait with "the same or longer" wait."""
        ceiling = min(self.max_delay, max(self.base_delay, 1.0) * (2 ** (attempt - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(
    headers: Mapping[str, str] | httpx.Headers, now: datetime
) -> tuple[float, str] | None:
    """Seconds the server asks us to wait, from Retry-After (seconds or HTTP date) or
    X-RateLimit-Reset / Okta's X-Rate-Limit-Reset (ISO time, or epoch seconds); None when it
    does not say."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value)), "Retry-After"
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds()), "Retry-After"
    # X-RateLimit-Reset (Atlassian and others: ISO time or epoch seconds); X-Rate-Limit-Reset
    # (Okta: "UTC epoch time (in seconds)", developer.okta.com/docs/reference/rl-best-practices)
    name = "X-RateLimit-Reset" if headers.get("x-ratelimit-reset") else "X-Rate-Limit-Reset"
    reset = headers.get("x-ratelimit-reset") or headers.get("x-rate-limit-reset")
    if reset:
        reset = reset.strip()
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = datetime.fromtimestamp(float(reset), UTC)
            except (ValueError, OverflowError, OSError):
                return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds()), name
    return None
