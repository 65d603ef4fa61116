"""Reprovision throughput against a rate-limited, slow simulator (issue 5's benchmark).

The simulator allows `--rate` requests/s per API (token bucket, 429 beyond) with `--latency-ms`
on every request; the client paces itself to the same rate (profile [limits]). We measure the
request rate achieved on the busiest API (/atlassian: SCIM + org + user management) divided by
the limit, and the speed-up of `--concurrency N` over `--concurrency 1` per target.

Provisioning is left to the IdP's cycle (`--param provision_mode=cycle`, cycle_seconds = 1)
rather than Entra's provisionOnDemand: Microsoft allows 5 on-demand calls per 10 s, which alone
would make 1,000 targets take 33 minutes. That is a real ceiling a large batch meets. The
same limit applies to re-pushing each target's groups (one on-demand call per group, in every
mode: decision 61), so the targets here are in no group (`--with-groups` keeps them in
atlassian-users, and adds 2 s per target of waiting for that limit).

    python bench/bench_reprovision.py --targets 1000   # by hand, about 5 minutes

Concurrency 32 by default: at 100 ms latency each rate-limited API needs at least 5 requests
in flight, three of them are busy at once after `resume`, and a task waiting for a token holds
its slot; at 1,000 targets 16 workers took 1.29x the bound and 32 took 1.24x (decision 104).
`make bench` runs it on 300 targets to keep the whole set under 10 minutes; the 1,000-target
figure is measured by hand and kept in docs/performance.md's
"Measured by hand" section. For each rate-limited API it prints the requests (and per target),
the bound (requests ÷ limit) and wall ÷ bound (issue 14).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import shlex
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from scimrecon.cli import run as run_cli
from scimrecon.cli.main import cli
from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.recon.billable import billable_only_through
from scimrecon.sim.app import SimApp
from scimrecon.sim.generate import generate_world, ungroup
from scimrecon.sim.server import serve_in_thread

TRELLO_SHARE = 220 / 8000  # what the generator gives per account, measured
#: The APIs the simulator limits to `--rate` requests/s (the world's faults below).
RATE_LIMITED = ("/atlassian", "/jira", "/graph")
#: Where `--log-out` writes the simulator's request log of the wide run (None: nowhere).
LOG_OUT: str | None = None


def world_with(
    targets: int, rate: float, latency_ms: float, *, with_groups: bool = False
) -> tuple[dict[str, Any], list[str]]:
    world = generate_world(int(targets / TRELLO_SHARE * 1.25) + 100, seed=7)
    world["idp"]["cycle_seconds"] = 1
    rule = {"latency_ms": latency_ms, "rate_per_s": rate}
    world["faults"] = {"seed": 1, "/atlassian": rule, "/jira": dict(rule), "/graph": dict(rule)}
    scim = {u["userName"] for u in world["scim_users"]}
    # only people the IdP still provisions: the look-up rightly skips the others (leavers)
    assigned = {
        u["userName"]
        for u in world["idp"]["users"]
        if u.get("assigned", True) and u.get("accountEnabled", True)
    }
    emails = [
        a["email"]
        for a in world["accounts"]
        if a["status"] == "active"
        and a["managed"]
        and a["email"] in scim
        and a["email"] in assigned
        and billable_only_through([p["key"] for p in a["product_access"]], ["trello"])
    ]
    if len(emails) < targets:
        raise SystemExit(f"the generated world has only {len(emails)} Trello-only users")
    if not with_groups:
        ungroup(world, emails[:targets])
    return world, emails[:targets]


@contextlib.contextmanager
def served(
    world: dict[str, Any], tmp: Path, own_process: bool
) -> Iterator[tuple[dict[str, Any], dict[str, str], Callable[[], list[dict[str, Any]]]]]:
    """The simulator serving `world`: the raw profile, the secrets and its request log.

    In its own process (`sim serve`, the default) it has a core of its own as a real service
    would: in this process it took ~43 % of the run's CPU (py-spy), which the client then did not
    have (docs/performance.md). `--in-process` keeps the old thread for comparison."""
    if not own_process:
        app = SimApp(world, seed=1)
        with serve_in_thread(app) as url:
            yield app.profile(url), dict(app.secrets()), lambda: app.log
        return
    world_file, profile_file = tmp / "world.json", tmp / "sim.toml"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    command = [sys.executable, "-m", "scimrecon.cli.main", "sim", "serve", "--world"]
    command += [str(world_file), "--seed", "1", "--profile-out", str(profile_file), "-q"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("listening on "):
            raise SystemExit(f"sim serve did not start: {line!r}")
        url = line.split()[-1]
        raw = tomllib.loads(profile_file.read_text(encoding="utf-8"))
        env_text = Path(f"{profile_file}.env").read_text(encoding="utf-8")
        secrets = {}
        for entry in env_text.splitlines():
            name, _, value = entry.removeprefix("export ").partition("=")
            secrets[name] = shlex.split(value)[0] if value else ""
        yield raw, secrets, lambda: httpx.get(f"{url}/_sim/log", timeout=60).json()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def run_once(
    targets: int,
    concurrency: int,
    rate: float,
    latency_ms: float,
    with_groups: bool = False,
    own_process: bool = True,
) -> dict[str, Any]:
    world, emails = world_with(targets, rate, latency_ms, with_groups=with_groups)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with served(world, tmp, own_process) as (raw, secret_values, read_log):
            return _measure(raw, secret_values, read_log, tmp, emails, targets, concurrency, rate)


def _measure(
    raw: dict[str, Any],
    secret_values: dict[str, str],
    read_log: Callable[[], list[dict[str, Any]]],
    tmp: Path,
    emails: list[str],
    targets: int,
    concurrency: int,
    rate: float,
) -> dict[str, Any]:
    target_file = Path(tmp) / "targets.csv"
    with target_file.open("w", newline="") as handle:
        csv.writer(handle).writerows([["email"], *([e] for e in emails)])
    raw["limits"] = {"atlassian": rate, "jira": rate, "graph": rate}
    profile = Profile.from_dict(raw)
    secrets = Secrets(secret_values, keyring_lookup=None)
    run_cli.HOOKS.services = lambda _state: Services(profile, secrets)
    started = time.monotonic()
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "reprovision",
            "--targets",
            str(target_file),
            "--yes",
            "--concurrency",
            str(concurrency),
            "--max-targets",
            str(targets),
            "--param",
            "provision_mode=cycle",
            "--state",
            str(Path(tmp) / "state.db"),
        ],
    )
    elapsed = time.monotonic() - started
    if result.exit_code != 0:
        raise SystemExit(f"run failed ({result.exit_code}): {result.output[-2000:]}")
    log = read_log()
    if LOG_OUT and targets > 1 and concurrency > 1:  # the wide run's, not the serial one's
        Path(LOG_OUT).write_text(json.dumps(log), encoding="utf-8")
    phases = step_phases(Path(tmp) / "state.db")
    hits = [r for r in log if r["path"].startswith("/atlassian")]
    span = max(r["t"] for r in hits) - min(r["t"] for r in hits)
    per_second = Counter(int(r["t"]) for r in hits)
    busy = statistics.median(sorted(per_second.values()))
    by_api = Counter(r["prefix"] for r in log if r["prefix"] in RATE_LIMITED)
    return {
        "by_api": dict(by_api),
        "targets": targets,
        "concurrency": concurrency,
        "seconds": elapsed,
        "per_target_s": elapsed / targets,
        "atlassian_requests": len(hits),
        "atlassian_rps": len(hits) / span,
        "ratio": len(hits) / span / rate,
        "busy_rps": busy,
        "busy_ratio": busy / rate,
        "throttled": sum(1 for r in log if r["status"] == 429),
        "phases": phases,
    }


def step_phases(state_file: Path) -> list[tuple[str, float, float, int]]:
    """Per step: first start and last end in seconds from the run's start, and how many
    target-steps it ran. Where the wall goes beyond the bound is where a step runs alone
    (the state keeps whole seconds, so a phase under a second shows as 0)."""
    with contextlib.closing(sqlite3.connect(state_file)) as db:
        rows = db.execute(
            "SELECT step, MIN(started), MAX(finished), COUNT(*) FROM step_states"
            " WHERE started IS NOT NULL GROUP BY step"
        ).fetchall()
    if not rows:
        return []

    def seconds(stamp: str) -> float:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()

    zero = min(seconds(first) for _, first, _, _ in rows)
    spans = [(s, seconds(a) - zero, seconds(b or a) - zero, n) for s, a, b, n in rows]
    return sorted(spans, key=lambda span: (span[1], span[2]))


def print_phases(result: dict[str, Any]) -> None:
    for step, start, end, count in result["phases"]:
        print(f"  {step:<20} {start:6.0f} s -> {end:6.0f} s ({end - start:4.0f} s, {count} runs)")


def print_bound(result: dict[str, Any], rate: float) -> None:
    """Wall time against the critical-path bound (issue 14): for each rate-limited API, the
    requests it received ÷ its limit is the least time the run could have taken; the largest
    is the bound. Cycle mode makes no on-demand pushes, so Entra's 5-per-10-s ceiling does not
    apply; the IdP's cycle (1 s here) and the 100 ms latency are what the wall adds."""
    wall, targets = result["seconds"], result["targets"]
    bounds = {api: n / rate for api, n in result["by_api"].items()}
    for api in RATE_LIMITED:
        n = result["by_api"].get(api, 0)
        bound = bounds.get(api, 0.0)
        ratio = f"{wall / bound:.2f}" if bound else "-"
        print(
            f"{api}: {n} requests ({n / targets:.2f} per target), bound {bound:.1f} s at "
            f"{rate:.0f}/s, wall ÷ bound {ratio}"
        )
    api, bound = max(bounds.items(), key=lambda item: item[1])
    print(
        f"critical path: {api}, bound {bound:.1f} s; wall {wall:.1f} s = {wall / bound:.2f} x "
        f"the bound for {targets} targets (issue 14's goal at 1,000 targets: <= 1.25)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--serial-targets", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--with-groups", action="store_true", help="keep targets in groups")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the simulator from a thread of this process",
    )
    parser.add_argument("--log-out", help="write the wide run's request log (JSON) here")
    args = parser.parse_args()
    global LOG_OUT
    LOG_OUT = args.log_out
    grouped, own = args.with_groups, not args.in_process
    wide = run_once(args.targets, args.concurrency, args.rate, args.latency_ms, grouped, own)
    print_bound(wide, args.rate)
    print("where the wall goes (steps, from the run's state):")
    print_phases(wide)
    serial = run_once(args.serial_targets, 1, args.rate, args.latency_ms, grouped, own)
    speedup = serial["per_target_s"] / wide["per_target_s"]
    print(
        f"reprovision {wide['targets']} targets, --concurrency {wide['concurrency']}, "
        f"limit {args.rate:.0f}/s per API, {args.latency_ms:.0f} ms latency: "
        f"{wide['seconds']:.0f} s; /atlassian median {wide['busy_rps']:.0f} requests/s in the "
        f"seconds it was used = {wide['busy_ratio']:.2f} of the limit "
        f"(whole-run average {wide['atlassian_rps']:.1f}/s = {wide['ratio']:.2f}, including "
        f"pauses, Jira-only and wait phases; {wide['atlassian_requests']} requests, "
        f"{wide['throttled']} answered 429)"
    )
    print(
        f"reprovision speed-up of --concurrency {wide['concurrency']} over --concurrency 1: "
        f"{speedup:.1f}x ({serial['per_target_s']:.2f} s vs {wide['per_target_s']:.2f} s "
        f"per target; serial run on {serial['targets']} targets, ratio {serial['ratio']:.2f})"
    )


if __name__ == "__main__":
    main()
