"""Simulator throughput on loopback, no faults: requests per second, and latency percentiles.

The end-to-end suites and the demo run hundreds of requests against `sim serve`; this says how
many the simulator can take, so a slow suite can be blamed on the right side. The mix is what a
playbook does most: a SCIM filter lookup, a SCIM read, an org users page, a JQL search.

    .venv/bin/python bench/bench_sim.py [--seconds 5] [--clients 4] [--accounts 1000]

The server runs as `scimrecon sim serve` in its own process; clients use keep-alive connections.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote


def bench_world(accounts: int) -> dict[str, Any]:
    """A world with `accounts` linked users (the org users page stays 100 items)."""
    world: dict[str, Any] = {
        "org": {"id": "org-b", "domains": ["bench.example"], "api_key": "org-key-bench"},
        "directories": [{"id": "dir-b", "api_key": "scim-key-bench"}],
        "sites": [{"name": "bench", "products": ["jira-software"]}],
        "accounts": [],
        "scim_users": [],
        "groups": [],
        "jira": {
            "site": "bench",
            "email": "admin@bench.example",
            "api_token": "jira-key-bench",
            "issues": [],
        },
    }
    for i in range(accounts):
        aid = f"{i:024x}"
        email = f"user{i}@bench.example"
        world["accounts"].append(
            {
                "account_id": aid,
                "email": email,
                "name": f"User {i}",
                "status": "active",
                "managed": True,
                "product_access": [
                    {"key": "jira-software", "site": "bench", "last_active": "2025-01-01"}
                ],
            }
        )
        world["scim_users"].append(
            {
                "id": f"s{i}",
                "directory": "dir-b",
                "userName": email,
                "emails": [{"value": email, "primary": True}],
                "active": True,
                "account_id": aid,
            }
        )
        if i % 10 == 0:
            world["jira"]["issues"].append({"key": f"B-{i + 1}", "project": "B", "reporter": aid})
    return world


def _start_server(world: dict[str, Any], tmp: Path) -> tuple[subprocess.Popen[str], str]:
    """`scimrecon sim serve` in its own process, so clients and server do not share a GIL."""
    path = tmp / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimrecon.cli.main",
            "sim",
            "serve",
            "--world",
            str(path),
            "--profile-out",
            str(tmp / "profile.toml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"sim serve did not start: {first!r}")
    return proc, first.removeprefix("listening on ")


def run(seconds: float, clients: int, accounts: int) -> dict[str, float]:
    """Keep-alive clients (stdlib http.client: the cheapest client, so the server is measured)."""
    scim = {"Authorization": "Bearer scim-key-bench"}
    org = {"Authorization": "Bearer org-key-bench"}
    jira = {
        "Authorization": "Basic "
        + base64.b64encode(b"admin@bench.example:jira-key-bench").decode(),
        "Content-Type": "application/json",
    }
    search = json.dumps({"jql": "project = B", "fields": ["reporter"], "maxResults": 50})
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = _start_server(bench_world(accounts), Path(tmp))
        host, _, port = base.removeprefix("http://").partition(":")
        try:
            deadline = time.perf_counter() + seconds

            def worker(n: int) -> None:
                mine: list[float] = []
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                i = n
                while time.perf_counter() < deadline:
                    user = quote(f'userName eq "user{i % accounts}@bench.example"')
                    calls = [
                        ("GET", f"/atlassian/scim/directory/dir-b/Users?filter={user}", None, scim),
                        (
                            "GET",
                            f"/atlassian/scim/directory/dir-b/Users/s{i % accounts}",
                            None,
                            scim,
                        ),
                        ("GET", "/atlassian/admin/v1/orgs/org-b/users", None, org),
                        ("POST", "/jira/bench/rest/api/3/search/jql", search, jira),
                    ]
                    method, url, body, headers = calls[i % len(calls)]
                    started = time.perf_counter()
                    conn.request(method, url, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    mine.append(time.perf_counter() - started)
                    if response.status != 200:
                        failures.append(f"{method} {url} -> {response.status}")
                    i += clients
                conn.close()
                with lock:
                    latencies.extend(mine)

            started = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, first: {failures[0]}")
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()
    result = run(args.seconds, args.clients, args.accounts)
    print(
        f"sim loopback, {args.clients} clients, {args.accounts} accounts, no faults: "
        f"{result['rps']:.0f} requests/s ({result['requests']} in {result['seconds']:.1f} s), "
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
