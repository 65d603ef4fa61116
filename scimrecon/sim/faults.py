"""Injected failures, per API prefix: latency, rate limits, 5xx errors, timeouts and outages.

The reliability of the product (retries, backoff, resume after a crash) is only as tested as the
failures it meets; these are the ones the real APIs produce. Every random choice comes from one
seeded generator, so a failing run can be replayed exactly.

Spec (the world's "faults" and PUT /_sim/faults), keys are path prefixes, longest match wins:
    {"/atlassian": {"latency_ms": 0, "jitter_ms": 0, "rate_per_s": 0, "burst": 1,
                    "error_rate": 0.0, "error_statuses": [500, 502, 503],
                    "timeout_rate": 0.0, "timeout_ms": 30000, "timeout_applies": false,
                    "retry_after": true, "down_for_s": 0},
     "seed": 1}

`retry_after`: true (default) sends the bucket's wait, a number sends that many seconds, false
omits the header (real APIs do not always send it). `hints: false` sends no rate-limit header at
all, neither `Retry-After` nor `X-RateLimit-*` (Jira: they "may" come; Graph sends no
`X-RateLimit-*`). `penalty: true` makes a refused call cost a token too, so a retry inside the
wait meets "the same or longer" wait, as Jira documents. `down_for_s` starts an outage when the spec
is applied (world load or PUT /_sim/faults); `down_until` (epoch seconds) ends one at a fixed
time. `timeout_applies`: the slow request still takes
effect although the client has given up (the nasty case for resume logic).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR_STATUSES = (500, 502, 503)
_KNOWN = {
    "latency_ms",
    "jitter_ms",
    "burst",
    "error_statuses",
    "rate_per_s",
    "error_rate",
    "timeout_rate",
    "timeout_ms",
    "timeout_applies",
    "retry_after",
    "hints",
    "penalty",
    "down_for_s",
    "down_until",
}


class FaultSpecError(ValueError):
    """A faults document that cannot be applied; the message names the bad key."""


@dataclass
class Decision:
    """What to do with one request before (or instead of) handling it."""

    status: int | None = None  # answer this status without handling (429/5xx/504)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep this long first (latency or timeout)
    apply: bool = True  # handle the request (False: answer `status` only)
    reason: str = ""


@dataclass
class _Bucket:
    tokens: float
    stamp: float


def validate_spec(spec: Any) -> dict[str, Any]:
    """Check a faults document; raise FaultSpecError naming the first bad key."""
    if not isinstance(spec, Mapping):
        raise FaultSpecError("faults must be a JSON object")
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "seed":
            if not isinstance(value, int) or isinstance(value, bool):
                raise FaultSpecError("faults.seed must be an integer")
            out[key] = value
            continue
        if not isinstance(key, str) or not key.startswith("/"):
            raise FaultSpecError(f"faults key {key!r} must be a path prefix such as '/atlassian'")
        if not isinstance(value, Mapping):
            raise FaultSpecError(f"faults[{key!r}] must be an object")
        for name, item in value.items():
            if name not in _KNOWN:
                raise FaultSpecError(f"faults[{key!r}].{name} is not a known fault")
            if name in ("timeout_applies", "hints", "penalty") or (
                name == "retry_after" and isinstance(item, bool)
            ):
                if not isinstance(item, bool):
                    raise FaultSpecError(f"faults[{key!r}].{name} must be true or false")
            elif name == "error_statuses":
                if (
                    not isinstance(item, list)
                    or not item
                    or not all(
                        isinstance(c, int) and not isinstance(c, bool) and 500 <= c <= 599
                        for c in item
                    )
                ):
                    raise FaultSpecError(f"faults[{key!r}].{name} must list 5xx status codes")
            elif name == "burst" and (
                not isinstance(item, int) or isinstance(item, bool) or item < 1
            ):
                raise FaultSpecError(f"faults[{key!r}].{name} must be an integer >= 1")
            elif not isinstance(item, int | float) or isinstance(item, bool) or item < 0:
                raise FaultSpecError(f"faults[{key!r}].{name} must be a non-negative number")
            elif name in ("error_rate", "timeout_rate") and item > 1:
                raise FaultSpecError(f"faults[{key!r}].{name} must be between 0 and 1")
        out[key] = dict(value)
    return out


class Faults:
    """Decides, request by request, which fault (if any) hits. Not thread-safe: lock outside."""

    def __init__(
        self, spec: Mapping[str, Any] | None, *, seed: int, clock: Callable[[], float]
    ) -> None:
        self._clock = clock
        self._default_seed = seed
        self.spec: dict[str, Any] = {}
        self._down_until: dict[str, float] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._rng = random.Random(seed)
        self.update(spec or {})

    def update(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole spec (buckets and the generator restart, for reproducibility)."""
        clean = validate_spec(spec)
        now = self._clock()
        self._down_until = {
            key: max(float(value.get("down_until") or 0), now + float(value.get("down_for_s") or 0))
            for key, value in clean.items()
            if key != "seed" and (value.get("down_for_s") or value.get("down_until"))
        }
        self.spec = clean
        self._buckets = {}
        self._rng = random.Random(clean.get("seed", self._default_seed))
        return self.spec

    def _rule(self, path: str) -> tuple[str, Mapping[str, Any]] | None:
        best: tuple[str, Mapping[str, Any]] | None = None
        for key, value in self.spec.items():
            if key == "seed" or not isinstance(value, Mapping):
                continue
            if (path == key or path.startswith(key.rstrip("/") + "/")) and (
                best is None or len(key) > len(best[0])
            ):
                best = (key, value)
        return best

    def decide(self, path: str) -> Decision:
        found = self._rule(path)
        if found is None:
            return Decision()
        key, rule = found
        now = self._clock()
        latency = float(rule.get("latency_ms") or 0) / 1000.0
        jitter = float(rule.get("jitter_ms") or 0) / 1000.0
        if jitter:
            latency += self._rng.uniform(0.0, jitter)
        if now < self._down_until.get(key, 0.0):
            return Decision(503, {}, latency, apply=False, reason="down")
        rate = float(rule.get("rate_per_s") or 0)
        headers: dict[str, str] = {}
        if rate > 0:
            capacity = float(rule.get("burst") or max(1.0, rate))
            bucket = self._buckets.setdefault(key, _Bucket(capacity, now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            limit = str(int(rate) if rate == int(rate) else rate)
            if bucket.tokens < 1.0 - 1e-6:  # epoch floats lose a little precision
                wait = (1.0 - bucket.tokens) / rate
                reset = (
                    dt.datetime.fromtimestamp(now + wait, tz=dt.UTC)
                    .isoformat()
                    .replace("+00:00", "Z")
                )
                headers = {
                    "X-RateLimit-Limit": limit,
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset,
                }
                retry_after = rule.get("retry_after", True)
                if retry_after is True:
                    headers["Retry-After"] = str(max(1, math.ceil(wait)))
                elif retry_after is not False:
                    headers["Retry-After"] = str(math.ceil(float(retry_after)))
                if rule.get("penalty", False):  # an early retry waits longer, never less
                    bucket.tokens = max(-capacity, bucket.tokens - 1.0)
                hinted = rule.get("hints", True)
                return Decision(429, headers if hinted else {}, latency, apply=False, reason="rate")
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            if rule.get("hints", True):
                remaining = str(int(bucket.tokens))
                headers = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining}
        error_rate = float(rule.get("error_rate") or 0)
        if error_rate and self._rng.random() < error_rate:
            statuses = list(rule.get("error_statuses") or ERROR_STATUSES)
            return Decision(
                self._rng.choice(statuses), headers, latency, apply=False, reason="error"
            )
        timeout_rate = float(rule.get("timeout_rate") or 0)
        if timeout_rate and self._rng.random() < timeout_rate:
            delay = float(rule.get("timeout_ms", 30000)) / 1000.0
            applies = bool(rule.get("timeout_applies", False))
            # Applied or not, the client sees a gateway timeout: that is the whole point.
            return Decision(504, headers, latency + delay, apply=applies, reason="timeout")
        return Decision(None, headers, latency)
