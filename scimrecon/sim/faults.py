"""Injected failures, per API prefix: latency, rate limits, 5xx errors, timeouts and outages.

The reliability of the product (retries, backoff, resume after a crash) is only as tested as the
failures it meets; these are the ones the real APIs produce. Every random choice comes from one
seeded generator, so a failing run can be replayed exactly.

Spec (the world's "faults" and PUT /_sim/faults), keys are path prefixes, longest match wins:
    {"/atlassian": {"latency_ms": 0, "rate_per_s": 0, "error_rate": 0.0, "timeout_rate": 0.0,
                    "timeout_ms": 30000, "timeout_applies": false, "retry_after": true,
                    "down_for_s": 0, "down_until": <epoch seconds>},
     "seed": 1}
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
    "rate_per_s",
    "error_rate",
    "timeout_rate",
    "timeout_ms",
    "timeout_applies",
    "retry_after",
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
            if name in ("retry_after", "timeout_applies"):
                if not isinstance(item, bool):
                    raise FaultSpecError(f"faults[{key!r}].{name} must be true or false")
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
        self._buckets: dict[str, _Bucket] = {}
        self._rng = random.Random(seed)
        self.update(spec or {})

    def update(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole spec (buckets and the generator restart, for reproducibility)."""
        clean = validate_spec(spec)
        now = self._clock()
        for key, value in clean.items():
            if key != "seed" and value.get("down_for_s"):
                value["down_until"] = now + float(value.pop("down_for_s"))
            elif key != "seed":
                value.pop("down_for_s", None)
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
        down_until = float(rule.get("down_until") or 0)
        if now < down_until:
            return Decision(503, {}, latency, apply=False, reason="down")
        rate = float(rule.get("rate_per_s") or 0)
        headers: dict[str, str] = {}
        if rate > 0:
            bucket = self._buckets.setdefault(key, _Bucket(max(1.0, rate), now))
            capacity = max(1.0, rate)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            limit = str(int(rate) if rate == int(rate) else rate)
            if bucket.tokens < 1.0:
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
                if rule.get("retry_after", True):
                    headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return Decision(429, headers, latency, apply=False, reason="rate")
            bucket.tokens -= 1.0
            headers = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": str(int(bucket.tokens))}
        error_rate = float(rule.get("error_rate") or 0)
        if error_rate and self._rng.random() < error_rate:
            return Decision(
                self._rng.choice(ERROR_STATUSES), headers, latency, apply=False, reason="error"
            )
        timeout_rate = float(rule.get("timeout_rate") or 0)
        if timeout_rate and self._rng.random() < timeout_rate:
            delay = float(rule.get("timeout_ms", 30000)) / 1000.0
            applies = bool(rule.get("timeout_applies", False))
            return Decision(
                None if applies else 504, headers, latency + delay, apply=applies, reason="timeout"
            )
        return Decision(None, headers, latency)
