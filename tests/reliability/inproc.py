"""The real CLI against an in-process simulator on a shared fake clock, for the fault suite.

Backoff, Retry-After, rate limits, 30 s timeouts and outages all cost no wall time this way, and
a seeded fault spec replays exactly. Only the services hook is replaced; the HTTP layer keeps
the product's own retry policy (RetryPolicy() defaults: what users get), not a test's.
A trigger can change the faults when the Nth request matching a pattern arrives, which is how
"an API goes down in the middle of the run" is staged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from scimrecon.cli import run as run_cli
from scimrecon.cli.main import cli
from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.sim.app import SimApp


class FakeClock:
    """One clock for the simulator and the HTTP layer: sleeping moves time, nothing waits."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds)


@dataclass
class Trigger:
    """Apply `faults` when the `nth` request whose "METHOD path" contains `match` arrives."""

    match: str
    nth: int
    faults: dict[str, Any]
    fired_at: float | None = None


class _Middleware:
    """Counts requests for the triggers, then hands every request to the simulator.

    Every request also costs a millisecond of fake time, as a network round trip would: with
    time frozen between sleeps, a retry told to wait 0 s would meet the very same instant.
    """

    def __init__(self, app: SimApp, clock: FakeClock, triggers: Iterable[Trigger]) -> None:
        self.app = app
        self.clock = clock
        self.triggers = list(triggers)
        self.counts = [0] * len(self.triggers)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        what = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
        self.clock.sleep(0.001)
        with self._lock:
            for i, trigger in enumerate(self.triggers):
                if trigger.fired_at is None and trigger.match in what:
                    self.counts[i] += 1
                    if self.counts[i] >= trigger.nth:
                        self.app.set_faults(trigger.faults)
                        trigger.fired_at = self.clock.now()
        return self.app(environ, start_response)


@dataclass
class Env:
    app: SimApp
    clock: FakeClock
    state: Path
    middleware: _Middleware
    services: Callable[[], Services]
    outputs: list[Result] = field(default_factory=list)

    def world(self) -> dict[str, Any]:
        return self.app.world_snapshot()

    def cli(self, *args: str) -> Result:
        """`scimrecon ARGS --state STATE` in-process, with this simulator behind every API."""
        hooks = run_cli.HOOKS
        saved = hooks.services
        hooks.services = lambda state: self.services()
        try:
            argv = [*args]
            if argv[0] in {"run", "resume", "status", "runs", "log", "report", "abort", "undo"}:
                argv += ["--state", str(self.state)]
            result = CliRunner().invoke(cli, argv, prog_name="scimrecon")
        finally:
            hooks.services = saved
        self.outputs.append(result)
        return result

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "1", "--format", "json")
        assert result.exit_code == 0, result.output
        doc: dict[str, Any] = json.loads(result.stdout)
        return doc


def inproc(
    world: dict[str, Any],
    tmp: Path,
    *,
    triggers: Iterable[Trigger] = (),
    seed: int = 1,
    client_skew_s: float = 0.0,
) -> Env:
    """`client_skew_s`: how far the product's wall clock runs ahead of the simulator's."""
    clock = FakeClock()
    app = SimApp(world, seed=seed, clock=clock.now, sleep=clock.sleep)
    middleware = _Middleware(app, clock, triggers)
    transport = httpx.WSGITransport(app=middleware)
    profile = Profile.from_dict(app.profile("http://sim.localhost"))
    secrets = app.secrets()

    def services() -> Services:
        # Product defaults for retries and timeouts; only time itself is fake.
        factory = ApiClientFactory(
            settings=HttpSettings(
                transport=transport,
                sleep=clock.sleep,
                clock=clock.now,
                now=lambda: datetime.fromtimestamp(clock.now() + client_skew_s, UTC),
            ),
            rates={name: profile.rate_for(name) for name in ("atlassian", "jira", "graph")},
        )
        return Services(profile, Secrets(secrets, keyring_lookup=None), factory=factory)

    return Env(app, clock, tmp / "state.db", middleware, services)
