"""How close does a connector run to a provider's rate limit, without tripping it?

The simulator is served on a real localhost socket with a token-bucket limit on /atlassian
(429 + Retry-After beyond it). The SCIM connector then looks users up as fast as it may, twice:

1. with the client-side limiter set to the same rate ([limits] atlassian = R): it should run at
   ~R requests/s and meet no 429 at all;
2. without a client-side limiter: the provider's 429s and Retry-After do the pacing, which costs
   throughput (Retry-After is whole seconds) and hammers the provider.

Prints achieved requests/s ÷ limit for each. Run: .venv/bin/python bench/bench_connector_rate.py
[--rate 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.retry import RetryPolicy
from scimrecon.sim.app import SimApp
from scimrecon.sim.server import serve_in_thread
from scimrecon.sim.world import load_world


def run(rate: float, seconds: float, client_limit: bool) -> dict[str, Any]:
    world = load_world("acme-trello")
    world["faults"] = {"/atlassian": {"rate_per_s": rate}, "seed": 1}
    app = SimApp(world, seed=1)
    names = [u["userName"] for u in world["scim_users"]]
    with serve_in_thread(app) as url:
        profile = Profile.from_dict(app.profile(url))
        factory = ApiClientFactory(
            settings=HttpSettings(retry=RetryPolicy(attempts=20, total_seconds=120)),
            rates={"atlassian": rate if client_limit else None},
        )
        with Services(profile, Secrets(app.secrets(), keyring_lookup=None), factory=factory) as s:
            s.scim.find_by_username(names[0])  # connect and warm up outside the clock
            app.log.clear()
            done = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                s.scim.find_by_username(names[done % len(names)])
                done += 1
            elapsed = time.perf_counter() - started
    statuses = [r["status"] for r in app.log]
    achieved = done / elapsed
    return {
        "client_limit": client_limit,
        "lookups": done,
        "seconds": round(elapsed, 2),
        "achieved_per_s": round(achieved, 2),
        "ratio": round(achieved / rate, 3),
        "http_429": statuses.count(429),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="provider limit, requests/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each run")
    args = parser.parse_args()
    print(f"provider limit: {args.rate:g} requests/s on /atlassian; {args.seconds:g} s per run")
    for client_limit in (True, False):
        r = run(args.rate, args.seconds, client_limit)
        label = "client limiter at the limit" if client_limit else "no client limiter        "
        print(
            f"{label}: {r['lookups']} lookups in {r['seconds']} s = {r['achieved_per_s']}/s, "
            f"achieved/limit = {r['ratio']:.3f}, 429 answers = {r['http_429']}"
        )


if __name__ == "__main__":
    main()
