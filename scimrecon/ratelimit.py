"""Client-side rate limits: a token bucket per API, and a sliding window for limits stated so.

Why client-side: a rate-limited API is waited on, not hammered; all clients of one provider in
a process draw from one limiter (`ApiClientFactory`), so their sum stays within its budget.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """A thread-safe token bucket: `rate` tokens per second, at most `burst` saved up.

    The default burst is 1: requests go out evenly spaced, which leaves the provider's own burst
    allowance untouched as a buffer for network jitter. A client that bursts to the provider's
    limit drains that buffer and then meets 429s whenever two requests arrive a little closer
    together than they were sent (measured: bench/bench_connector_rate.py).

    A caller that finds the bucket empty reserves the next token (the count goes negative) and
    sleeps outside the lock, so concurrent callers queue fairly instead of spinning.

    `acquire(ahead=True)` is for a request in a chain that cannot go faster than one after
    another (the next page of a cursor listing): it does not queue behind the callers still
    asleep on their reserved tokens, only behind the last request really sent, and it still
    takes its token, so every later reservation moves back by one. Over any stretch longer
    than the queue (at most `--concurrency` callers asleep) the rate stays `rate`; within it
    the chain adds at most one request per caller asleep, which the provider's own burst
    absorbs (the simulator's: one second's worth).
    Without it a 450-page listing behind 16 busy workers waited for the whole queue at every
    page (decision 104).
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate = float(rate_per_s)
        self.burst = float(burst) if burst is not None else 1.0
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._asleep: list[float] = []  # when the callers still asleep will send (a heap)
        self._last_sent = float("-inf")  # the latest send time not in the future
        self._lock = threading.Lock()

    def acquire(self, *, ahead: bool = False) -> float:
        """Take one token, waiting if needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            while self._asleep and self._asleep[0] <= now:
                self._last_sent = max(self._last_sent, heapq.heappop(self._asleep))
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                wait = 0.0
            elif ahead:  # behind what was really sent, not behind those still asleep
                wait = max(0.0, self._last_sent + 1.0 / self.rate - now)
            else:
                wait = (1.0 - self._tokens) / self.rate
            self._tokens -= 1.0
            if wait > 0 and not ahead:
                heapq.heappush(self._asleep, now + wait)
            else:
                self._last_sent = max(self._last_sent, now + wait)
        if wait > 0:
            self._sleep(wait)
        return wait


class WindowLimiter:
    """At most `limit` calls in any `window_s` seconds (a sliding window).

    Some limits are stated that way (Graph provisionOnDemand: 5 per 10 s), and a token bucket
    with the same average rate would still let a sixth call into a window; this never does.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window = float(window_s)
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._until = 0.0  # no call before this (hold)
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a slot, waiting for the oldest call to leave the window; returns the wait."""
        with self._lock:
            now = self._clock()
            while self._stamps and now - self._stamps[0] >= self.window:
                self._stamps.popleft()
            wait = self._until - now
            if len(self._stamps) >= self.limit:
                wait = max(wait, self._stamps[-self.limit] + self.window - now)
            # reserve the slot at the time the call will really go out
            self._stamps.append(now + max(wait, 0.0))
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def hold(self, seconds: float) -> None:
        """No call for `seconds` from now, in any thread: the server said its window is full
        (a 429), which our own count missed (another process, or someone in the portal)."""
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)
